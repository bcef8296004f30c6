"""Several ``voxpipe send`` processes on one campaign, sharing a PostgreSQL journal.

Real processes against the simulators over real HTTP and a real PostgreSQL
server: they split the campaign's chunks (``FOR UPDATE SKIP LOCKED``), call
nobody twice, leave a killed process' chunk ``unknown`` for the next run,
and share the campaign's rate limit.
"""

from __future__ import annotations

import json
import signal
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from tests.cli import voxpipe
from tests.pgserver import PgServer
from tests.simulators import MessageBirdSim, NineBitsSim
from voxpipe.sender.journal import Journal
from voxpipe.sender.journal_schema import upgrade

from .test_exactly_once import KEYS, numbers, send_args, send_requests, start, wait_until

pytestmark = pytest.mark.slow


@pytest.fixture
def shared_journal(pg_server: PgServer) -> str:
    url = pg_server.url(pg_server.new_database("senders"))
    upgrade(url)
    return url


def hold_the_start(journal: str, campaign: str, seconds: float = 8.0) -> None:
    """Every sender of ``campaign`` waits on its shared pacer this long before its first request, so all
    of them are up and claiming together (what senders started on several hosts at once would do)."""
    with Journal(journal) as opened:
        opened.hold_slots(f"campaign:{campaign}", seconds)


def on_the_wire(sim: NineBitsSim) -> int:
    """Send requests the simulator has received and not answered yet."""
    return sum(1 for r in list(sim.requests) if r.method == "POST" and r.status is None)


def finish(procs: list[subprocess.Popen[str]]) -> list[tuple[int, dict, str]]:
    done = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        done.append((proc.returncode, json.loads(out) if out.strip() else {}, err))
    return done


def test_three_senders_split_a_campaign_and_call_everyone_exactly_once(tmp_path: Path, shared_journal: str) -> None:
    recipients = tmp_path / "to.txt"
    recipients.write_text("\n".join(numbers("9bits", 3000)) + "\n")
    hold_the_start(shared_journal, "split")
    with NineBitsSim(token=KEYS["9bits"]["VOXPIPE_9BITS_TOKEN"], fetch_media=False, latency_s=5) as sim:
        args = send_args("9bits", sim.base_url, recipients, shared_journal, "--concurrency", "1", "--campaign", "split")
        procs = [start(args, "9bits") for _ in range(3)]
        # One request in flight per process at most: three at once means three processes each hold a chunk.
        wait_until(lambda: on_the_wire(sim) == 3, "three chunks on the wire at once", timeout=120)
        results = finish(procs)
        counts = sim.accepted_counts()
    for code, report, err in results:
        assert code == 0, err
        assert report["counts"] == {"accepted": 3000}  # each waited for the others: its report is the whole campaign
    assert len(counts) == 3000 and set(counts.values()) == {1}
    assert send_requests(sim) == 3
    with Journal(shared_journal) as journal:
        claims = journal.claims("split")
        rows = journal.rows("split")
    assert sorted(c.pid for c in claims) == sorted(p.pid for p in procs)  # one chunk each
    assert all(c.done for c in claims) and Counter(r.chunk for r in rows) == Counter({c.id: 1000 for c in claims})


def test_a_sender_killed_mid_run_leaves_its_chunk_unknown_and_a_rerun_calls_nobody_twice(
    tmp_path: Path, shared_journal: str
) -> None:
    recipients = tmp_path / "to.txt"
    recipients.write_text("\n".join(numbers("9bits", 3000)) + "\n")
    hold_the_start(shared_journal, "killed")
    with NineBitsSim(token=KEYS["9bits"]["VOXPIPE_9BITS_TOKEN"], fetch_media=False, latency_s=5) as sim:
        args = send_args(
            "9bits", sim.base_url, recipients, shared_journal, "--concurrency", "1", "--campaign", "killed"
        )
        procs = [start(args, "9bits") for _ in range(3)]
        victim = procs[1]
        try:
            wait_until(lambda: on_the_wire(sim) == 3, "three chunks on the wire at once", timeout=120)
            victim.send_signal(signal.SIGKILL)  # its request is on the wire; 9bits will take it all the same
            victim.wait(timeout=30)  # reaped, as init reaps an orphan: a zombie's pid would still look alive
        finally:
            sim.latency_s = 0.0
        results = finish(procs)
        survivors = [r for p, r in zip(procs, results, strict=True) if p is not victim]
        for code, report, err in survivors:
            assert code == 1, err  # the killed run's chunk is not settled
            assert report["counts"] == {"accepted": 2000, "in_flight": 1000}
        assert sim.wait_for_accepted(3000, timeout=30)  # the killed run's request was accepted after it died
        with Journal(shared_journal) as journal:
            killed = {c.id for c in journal.claims("killed") if c.pid == victim.pid}

        rerun = voxpipe(*args, env=KEYS["9bits"])
        counts = sim.accepted_counts()
    assert rerun.returncode == 1, rerun.stderr
    assert json.loads(rerun.stdout)["counts"] == {"accepted": 2000, "unknown": 1000}
    assert len(counts) == 3000 and set(counts.values()) == {1}  # nobody called twice
    assert send_requests(sim) == 3  # the rerun sent nothing: 9bits cannot be asked, so the chunk stays in doubt
    with Journal(shared_journal) as journal:
        unknown = [r for r in journal.rows("killed") if r.status == "unknown"]
    assert len(killed) == 1 and {r.chunk for r in unknown} == killed
    assert {r.error for r in unknown} == {
        "a previous run stopped while this request was on the wire; it may have been accepted"
    }


def test_three_senders_at_rate_10_make_10_requests_a_second_between_them(tmp_path: Path, shared_journal: str) -> None:
    people = numbers("messagebird", 3000)  # 60 requests of 50
    recipients = tmp_path / "to.txt"
    recipients.write_text("\n".join(people) + "\n")
    hold_the_start(shared_journal, "paced")
    with MessageBirdSim(access_key=KEYS["messagebird"]["VOXPIPE_MESSAGEBIRD_KEY"]) as sim:
        args = send_args("messagebird", sim.base_url, recipients, shared_journal, "--rate", "10", "--campaign", "paced")
        procs = [start(args, "messagebird") for _ in range(3)]
        results = finish(procs)
        posts = sorted(r.at for r in sim.requests if r.method == "POST")
        counts = sim.accepted_counts()
    for code, report, err in results:
        assert code == 0, err
        assert report["counts"] == {"accepted": 3000}
    assert len(counts) == 3000 and set(counts.values()) == {1}
    with Journal(shared_journal) as journal:
        senders = Counter(c.pid for c in journal.claims("paced"))
    assert set(senders) == {p.pid for p in procs}  # all three sent
    assert len(posts) == 60
    # Paced together: 60 requests take at least 5.9 s (three pacers of their own would take about 2 s)...
    assert posts[-1] - posts[0] >= 5.9 - 0.5
    # ...and no second holds more than the 10 of the rate (plus a little jitter in the requests' travel).
    busiest = max(sum(1 for t in posts if start_at <= t < start_at + 1.0) for start_at in posts)
    assert busiest <= 13
