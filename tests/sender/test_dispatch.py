"""The sender's one retry loop and its pacer."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.httpd import Answer, ScriptedServer
from voxpipe.pipeline.retry import RetryPolicy
from voxpipe.sender.dispatch import MaybeSent, NotSent, Pacer, exchange

FAST = RetryPolicy(attempts=3, base_s=0.01, max_s=0.05)


def test_a_hold_applies_even_without_a_rate() -> None:
    pacer = Pacer(None)
    pacer.hold(0.3)
    started = time.monotonic()
    pacer.wait()
    assert time.monotonic() - started >= 0.25


@pytest.mark.parametrize(
    "answers, safe, outcome",
    [
        ([Answer(429, headers={"Retry-After": "0"}), Answer(200, b"ok")], False, 200),
        ([Answer(503), Answer(502), Answer(504)], False, NotSent),
        ([Answer(500)], False, MaybeSent),
        ([Answer(500), Answer(200, b"ok")], True, 200),
    ],
)
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


@pytest.mark.parametrize(
    "answers, calls, outcome",
    [
        (
            [Answer(503), Answer(429, headers={"Retry-After": "0"}), Answer(200, b"ok")],
            ["wire", "not sent", "wire", "not sent", "wire"],
            200,
        ),
        ([Answer(500)], ["wire"], MaybeSent),  # may have been taken: stays claimed
        ([Answer(502)] * 3, ["wire", "not sent"] * 3, NotSent),
    ],
)
def test_a_request_is_claimed_right_before_each_try_and_released_when_nothing_was_taken(
    answers, calls, outcome
) -> None:
    queue = iter(answers)
    seen: list[str] = []
    with ScriptedServer(lambda s: next(queue)) as srv, httpx.Client() as client:
        request = client.build_request("POST", srv.url + "/send")
        hooks = {"on_wire": lambda: seen.append("wire"), "on_not_sent": lambda: seen.append("not sent")}
        if isinstance(outcome, int):
            assert exchange(client, request, Pacer(None), FAST, **hooks).status_code == outcome
        else:
            with pytest.raises(outcome):
                exchange(client, request, Pacer(None), FAST, **hooks)
    assert seen == calls


def test_a_chunk_waiting_out_a_back_off_is_pending_not_in_flight(tmp_path) -> None:
    import threading

    from tests.simulators import NineBitsSim
    from voxpipe.sender.dispatch import SendSettings, http_client, send
    from voxpipe.sender.journal import Journal
    from voxpipe.sender.message import Message
    from voxpipe.sender.providers import Mode, Payload
    from voxpipe.sender.providers.ninebits import NineBits
    from voxpipe.sender.recipients import Recipient

    people = [Recipient("+2348020000001"), Recipient("+2348020000002")]
    settings = SendSettings(retry=RetryPolicy(attempts=3, base_s=0.01, max_s=30))
    with (
        NineBitsSim(token="t", fetch_media=False) as sim,
        Journal(tmp_path / "j.db") as journal,
        Journal(tmp_path / "j.db") as reader,
    ):
        sim.inject("429", retry_after=3)  # nothing taken; come back in 3 s
        nine = NineBits(base_url=sim.base_url, credentials={"token": "t"})
        payload = Payload(Mode.MEDIA, media_url="http://127.0.0.1:9/a.mp3")
        events: list = []
        with http_client(settings) as client:
            run = threading.Thread(
                target=lambda: events.extend(
                    send(
                        nine,
                        Message(media_url=payload.media_url),
                        payload,
                        people,
                        [],
                        journal,
                        client,
                        settings,
                        "camp",
                    )
                )
            )
            run.start()
            deadline = time.monotonic() + 2.5  # well inside the 3 s back-off
            states: set[str] = set()
            while time.monotonic() < deadline and states != {"pending"}:
                states = {r.status for r in reader.rows("camp")} if sim.status_counts()[429] else set()
                time.sleep(0.02)
            assert states == {"pending"}  # released during the wait: a crash now leaves them unsent, not in doubt
            assert {r.attempts for r in reader.rows("camp")} == {1}
            run.join(30)
    assert {(r.status, r.attempts) for r in events[-1].rows} == {("accepted", 2)}
    assert set(sim.accepted_counts().values()) == {1}
