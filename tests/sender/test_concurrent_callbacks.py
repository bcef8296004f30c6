"""Two ``voxpipe serve`` processes sharing a PostgreSQL journal take callbacks concurrently and never
move a status backwards: 2,000 MessageBird status reports posted in random order, from several
threads, to both receivers, end in the statuses the same reports give applied one by one in order."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from tests.pgserver import PgServer
from tests.serveprocess import Served
from voxpipe.sender.delivery import apply_update
from voxpipe.sender.hooks import hook_url
from voxpipe.sender.journal import Journal
from voxpipe.sender.journal_schema import upgrade
from voxpipe.sender.providers import Callback
from voxpipe.sender.providers.messagebird import MessageBird
from voxpipe.sender.recipients import Recipient

pytestmark = pytest.mark.slow

PEOPLE = [f"+3161{n:07d}" for n in range(400)]
LATER = ["answered", "failed", "busy", "delivered", "machine", "expired", "calling"]


def _reports(seed: int) -> list[dict[str, str]]:
    """Five status reports per recipient, in the order MessageBird would send them (times one minute apart)."""
    rng = random.Random(seed)
    start = datetime(2026, 3, 1, 9, 0, tzinfo=UTC).timestamp()
    reports = []
    for n, person in enumerate(PEOPLE):
        statuses = ["scheduled", "sent", "calling", *rng.sample(LATER, 2)]
        for k, status in enumerate(statuses):
            at = datetime.fromtimestamp(start + 60 * (5 * n + k), UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
            reports.append({"id": f"msg-{n // 50}", "recipient": person.lstrip("+"), "status": status,
                            "statusDatetime": at, "reference": f"camp-{n // 50}"})  # fmt: skip
    return reports


def _sent(journal: Journal) -> None:
    """The campaign as a send leaves it: every recipient accepted, 50 per MessageBird message."""
    journal.open_campaign("camp", "messagebird", "tts", "f", {})
    journal.add_recipients("camp", [Recipient(p) for p in PEOPLE])
    journal.record("camp", [(p, "accepted", f"msg-{n // 50}", None) for n, p in enumerate(PEOPLE)])


def _final(journal: Journal) -> dict[str, tuple[str, str | None, float | None]]:
    return {r.address: (r.status, r.raw_status, r.status_at) for r in journal.rows("camp")}


def test_2000_callbacks_in_random_order_to_two_receivers_end_as_if_applied_in_order(
    tmp_path: Path, pg_server: PgServer
) -> None:
    reports = _reports(seed=13)
    assert len(reports) == 2000
    expected_journal = Journal(tmp_path / "in-order.db")
    _sent(expected_journal)
    bird = MessageBird()
    for report in reports:  # one at a time, in the order they happened
        for update in bird.parse_callback(
            Callback("GET", "/hooks/messagebird/x", report, query_string=urlencode(report))
        ):
            apply_update(expected_journal, update, source="hook:messagebird")
    expected = _final(expected_journal)
    expected_journal.close()
    assert {s for s, _, _ in expected.values()} >= {"answered", "delivered", "failed", "busy"}  # a real mix

    url = pg_server.url(pg_server.new_database("callbacks"))
    upgrade(url)
    with Journal(url) as journal:
        _sent(journal)
        secret = journal.hook_secret()
    media = tmp_path / "media"
    media.mkdir()
    servers = [Served(media, "--journal", url) for _ in range(2)]  # their logs read as they come
    try:
        shuffled = reports[:]
        random.Random(7).shuffle(shuffled)
        targets = [hook_url(server.url, "messagebird", secret) for server in servers]

        local = threading.local()
        clients: list[httpx.Client] = []

        def post(indexed: tuple[int, dict[str, str]]) -> int:
            n, report = indexed
            if not hasattr(local, "client"):  # one kept-alive client per thread, as a provider's sender would
                local.client = httpx.Client(timeout=60)
                clients.append(local.client)
            return int(local.client.get(targets[n % 2], params=report).status_code)

        with ThreadPoolExecutor(max_workers=12) as pool:
            answers = list(pool.map(post, enumerate(shuffled)))
        for client in clients:
            client.close()
    finally:
        codes = [server.stop() for server in servers]
    logs = [server.log for server in servers]
    assert codes == [0, 0], logs[0][-2000:]
    assert answers == [200] * 2000, logs[0][-2000:]
    with Journal(url) as journal:
        got = _final(journal)
        recorded = len(journal.events("camp"))
    assert got == expected
    assert recorded == 2000  # every report kept as an event, the late ones too
    assert all("Traceback" not in log for log in logs)
