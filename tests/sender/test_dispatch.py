"""The sender's one retry loop and its pacer."""

from __future__ import annotations

import time

import httpx
import pytest

from pipeline.retry import RetryPolicy
from sender.dispatch import MaybeSent, NotSent, Pacer, exchange
from tests.httpd import Answer, ScriptedServer

FAST = RetryPolicy(attempts=3, base_s=0.01, max_s=0.05)


def test_a_hold_applies_even_without_a_rate() -> None:
    pacer = Pacer(None)
    pacer.hold(0.3)
    started = time.monotonic()
    pacer.wait()
    assert time.monotonic() - started >= 0.25


@pytest.mark.parametrize("answers, safe, outcome", [
    ([Answer(429, headers={"Retry-After": "0"}), Answer(200, b"ok")], False, 200),
    ([Answer(503), Answer(502), Answer(504)], False, NotSent),
    ([Answer(500)], False, MaybeSent),
    ([Answer(500), Answer(200, b"ok")], True, 200),
])
def test_what_is_retried(answers: list[Answer], safe: bool, outcome) -> None:
    queue = iter(answers)
    with ScriptedServer(lambda s: next(queue)) as srv, httpx.Client() as client:
        request = client.build_request("POST", srv.url + "/send")
        if isinstance(outcome, int):
            assert exchange(client, request, Pacer(None), FAST, safe=safe).status_code == outcome
        else:
            with pytest.raises(outcome):
                exchange(client, request, Pacer(None), FAST, safe=safe)
        assert len(srv.seen) == len(answers)
