"""Exactly once across processes: the campaign lease, claims after the pacer's
wait, and look-ups instead of guesses after a crash.

The multi-process tests run the real ``voxpipe send`` in subprocesses
against in-process simulators over real HTTP and kill them with SIGKILL.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.cli import REPO, voxpipe
from tests.simulators import AlphaSmsSim, MessageBirdSim, NineBitsSim
from voxpipe.pipeline.markup import parse
from voxpipe.pipeline.retry import RetryPolicy
from voxpipe.sender.dispatch import ChunkDone, LeaseWait, SendReport, SendSettings, http_client, send
from voxpipe.sender.errors import JournalError
from voxpipe.sender.journal import Journal, LeaseHeld
from voxpipe.sender.journal_schema import HEAD, upgrade
from voxpipe.sender.lease import LeaseSettings
from voxpipe.sender.message import Message, fingerprint
from voxpipe.sender.providers import Mode, Payload
from voxpipe.sender.providers.messagebird import MessageBird
from voxpipe.sender.providers.ninebits import NineBits
from voxpipe.sender.recipients import Recipient

KEYS = {
    "messagebird": {"VOXPIPE_MESSAGEBIRD_KEY": "mb-Secret-key"},
    "alphasms": {"VOXPIPE_ALPHASMS_KEY": "alpha-Secret-key"},
    "9bits": {"VOXPIPE_9BITS_TOKEN": "9b-Secret-token"},
}
FAST = RetryPolicy(attempts=4, base_s=0.01, max_s=0.2)
HOST = socket.gethostname()


def numbers(provider: str, n: int) -> list[str]:
    prefix = {"messagebird": "+3161", "alphasms": "+38097", "9bits": "+23480"}[provider]
    return [f"{prefix}{i:07d}" if provider != "9bits" else f"{prefix}{20000000 + i}" for i in range(n)]


def simulator(provider: str, **kw: object):
    env = KEYS[provider]
    if provider == "messagebird":
        return MessageBirdSim(access_key=env["VOXPIPE_MESSAGEBIRD_KEY"], **kw)
    if provider == "alphasms":
        # Takes a repeated id as a new call: a resend that hoped for "Duplicate id" calls twice here.
        return AlphaSmsSim(key=env["VOXPIPE_ALPHASMS_KEY"], accept_repeated_ids=True, **kw)
    return NineBitsSim(token=env["VOXPIPE_9BITS_TOKEN"], fetch_media=False, **kw)


def send_args(provider: str, base_url: str, recipients: Path, journal: Path | str, *extra: str) -> list[str]:
    message = (
        ["--media-url", "http://127.0.0.1:9/alert.mp3"]
        if provider == "9bits"
        else ["--text", "The water is off at noon."]
    )
    return ["send", "-P", provider, "--api-url", base_url, *message, "--recipients", str(recipients),
            "--journal", str(journal), "--json", "--no-progress", *extra]  # fmt: skip


def start(args: list[str], provider: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "voxpipe", *args], cwd=REPO, env={**os.environ, **KEYS[provider]},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def wait_until(condition, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.02)


def journal_statuses(path: Path) -> Counter[str]:
    """Recipients per status, read as another process would (nothing while the run is still creating the file)."""
    if not path.exists():
        return Counter()
    with sqlite3.connect(path) as db:
        try:
            return Counter(dict(db.execute("SELECT status, count(*) FROM recipients GROUP BY status").fetchall()))
        except sqlite3.OperationalError:  # the schema is not written yet
            return Counter()


def send_requests(sim) -> int:
    if isinstance(sim, AlphaSmsSim):
        return sum(1 for r in sim.requests if json.loads(r.body)["data"][0]["type"] == "voice")
    return sum(1 for r in sim.requests if r.method == "POST")


# --------------------------------------------------------------------------- two processes, one campaign


def test_a_second_run_refuses_with_one_line_or_waits_and_finds_nothing_left(tmp_path: Path) -> None:
    recipients = tmp_path / "to.txt"
    recipients.write_text("\n".join(numbers("messagebird", 600)) + "\n")
    journal = tmp_path / "j.db"
    with simulator("messagebird", latency_s=2.0) as sim:  # slow enough that the first run is busy throughout (12 x 2 s)
        args = send_args("messagebird", sim.base_url, recipients, journal)
        first = start(args, "messagebird")
        others: list[subprocess.Popen[str]] = []
        try:
            wait_until(lambda: sim.requests_count >= 1, "the first run's first request")
            second = start(args, "messagebird")
            waiting = start([*args, "--wait"], "messagebird")
            others += [second, waiting]
            assert waiting.stderr is not None
            line = waiting.stderr.readline()
            assert f"is being sent by pid {first.pid} on {HOST}" in line and "waiting for it (at most 600 s)" in line
            _, refused = second.communicate(timeout=120)
            lines = refused.strip().splitlines()
            assert second.returncode == 1 and len(lines) == 1, refused
            assert (
                lines[0].startswith("Error: campaign c-")
                and f" is being sent by pid {first.pid} on {HOST} (its lease expires at " in lines[0]
            )
            assert lines[0].endswith("unless renewed); run again later, or --wait for it")
            sim.latency_s = 0.0  # let the first run finish
            out, err = waiting.communicate(timeout=120)
            assert waiting.returncode == 0, err
        finally:
            sim.latency_s = 0.0
            first.communicate(timeout=120)
            for proc in others:  # only left running when an assertion failed
                if proc.poll() is None:
                    proc.kill()
                    proc.communicate(timeout=30)
        assert first.returncode == 0
        counts = sim.accepted_counts()
        assert len(counts) == 600 and set(counts.values()) == {1}  # nobody called twice
        assert send_requests(sim) == 12  # 600 recipients in chunks of 50, all from the first run
    report = json.loads(out)
    assert report["counts"] == {"accepted": 600}  # the waiting run found nothing left to send


# --------------------------------------------------------------------------- killed while waiting on --rate


def test_killed_while_waiting_on_the_rate_leaves_the_unsent_pending_and_a_rerun_sends_them_once(tmp_path: Path) -> None:
    recipients = tmp_path / "to.txt"
    recipients.write_text("\n".join(numbers("9bits", 3000)) + "\n")
    journal = tmp_path / "j.db"
    with simulator("9bits") as sim:
        args = send_args("9bits", sim.base_url, recipients, journal)
        proc = start([*args, "--rate", "0.2", "--concurrency", "4"], "9bits")  # one request every 5 s; three chunks
        try:
            wait_until(lambda: journal_statuses(journal)["accepted"] == 1000, "the first chunk's outcome")
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=30)
        sent = set(sim.accepted_counts())
        with Journal(journal) as j:
            rows = j.rows(j.campaigns()[0].id)
        never_sent = [r for r in rows if r.address.lstrip("+") not in sent]
        assert len(never_sent) == 2000 and {r.status for r in never_sent} == {"pending"}  # not in flight, not unknown
        assert {r.attempts for r in never_sent} == {0}
        rerun = voxpipe(*args, env=KEYS["9bits"])
        counts = sim.accepted_counts()
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads(rerun.stdout)["counts"] == {"accepted": 3000}
    assert len(counts) == 3000 and set(counts.values()) == {1}


# --------------------------------------------------------------------------- killed mid-run: looked up, not resent


@pytest.mark.parametrize("provider", ["alphasms", "messagebird"])
def test_killed_mid_request_then_rerun_calls_nobody_twice(tmp_path: Path, provider: str) -> None:
    recipients = tmp_path / "to.txt"
    recipients.write_text("\n".join(numbers(provider, 600)) + "\n")
    journal = tmp_path / "j.db"
    with simulator(provider, latency_s=0.1) as sim:
        args = send_args(provider, sim.base_url, recipients, journal)
        proc = start([*args, "--concurrency", "1"], provider)
        try:
            assert sim.wait_for_accepted(150, timeout=60)
            sim.inject("slow", seconds=2.0)  # the next request is accepted only after the kill
            wait_until(lambda: any(r.fault == "slow" for r in sim.requests), "a request on the wire")
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=30)
        in_flight = journal_statuses(journal)["in_flight"]
        assert in_flight == 50  # the killed run left that chunk in flight...
        before = len(sim.accepted)
        assert sim.wait_for_accepted(before + 50, timeout=10)  # ...and the provider took it after the kill
        sim.latency_s = 0.0
        rerun = voxpipe(*args, env=KEYS[provider])
        counts = sim.accepted_counts()
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads(rerun.stdout)["counts"] == {
        "accepted": 600
    }  # the chunk in doubt was looked up: accepted, not unknown
    assert len(counts) == 600 and set(counts.values()) == {1}  # and not sent again


# --------------------------------------------------------------------------- the lease in one process

MB_KEY = KEYS["messagebird"]["VOXPIPE_MESSAGEBIRD_KEY"]


def _bird(sim: MessageBirdSim) -> MessageBird:
    return MessageBird(base_url=sim.base_url, credentials={"key": MB_KEY})


def _run(provider, journal: Journal, recipients: list[Recipient], settings: SendSettings) -> list:
    payload = Payload(Mode.TTS, script=parse("Hello"))
    with http_client(settings) as client:
        return list(send(provider, Message(text="Hello"), payload, recipients, [], journal, client, settings, "camp"))


def test_a_dead_owner_on_another_host_blocks_until_its_lease_expires_then_its_chunk_is_looked_up(
    tmp_path: Path,
) -> None:
    people = [Recipient(n) for n in numbers("messagebird", 60)]
    with simulator("messagebird") as sim, Journal(tmp_path / "j.db") as journal:
        _run(_bird(sim), journal, people[:50], SendSettings(retry=FAST))  # chunk 1 accepted...
        journal.mark_in_flight("camp", 1, [p.address for p in people[:50]])  # ...but its answer was lost in a crash
        journal.add_recipients("camp", people[50:])
        journal.take_lease(
            "camp", "dead-owner", "other-host", 4242, ttl_s=1.0
        )  # a pid we cannot check: wait for expiry
        with pytest.raises(LeaseHeld) as refused:
            _run(_bird(sim), journal, people, SendSettings(retry=FAST))
        assert "is being sent by pid 4242 on other-host (its lease expires at " in str(refused.value)
        events = _run(
            _bird(sim), journal, people, SendSettings(retry=FAST, lease=LeaseSettings(wait_s=30, poll_s=0.05))
        )
        assert isinstance(events[0], LeaseWait) and events[0].lease.host == "other-host"
        report = events[-1]
        assert isinstance(report, SendReport) and report.counts == {"accepted": 60}
        assert journal.lease("camp") is None  # released at the end
    assert sim.accepted_counts() == Counter({p.digits: 1 for p in people})
    assert send_requests(sim) == 2  # chunk 1 once (looked up afterwards), then the 10 new ones


def test_a_lease_left_by_a_dead_process_of_this_host_is_taken_at_once(tmp_path: Path) -> None:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    ).stdout
    with simulator("messagebird") as sim, Journal(tmp_path / "j.db") as journal:
        journal.take_lease("camp", "killed-run", HOST, int(gone), ttl_s=3600)
        events = _run(_bird(sim), journal, [Recipient("+31612345678")], SendSettings(retry=FAST))
    assert not any(isinstance(e, LeaseWait) for e in events) and events[-1].counts == {"accepted": 1}


def test_the_heartbeat_keeps_the_lease_and_a_run_that_lost_it_stops_claiming(tmp_path: Path) -> None:
    people = [Recipient(n) for n in numbers("messagebird", 300)]  # six chunks
    settings = SendSettings(concurrency=1, retry=FAST, lease=LeaseSettings(ttl_s=0.5, heartbeat_s=0.05))
    with simulator("messagebird", latency_s=0.4) as sim, Journal(tmp_path / "j.db") as journal:
        events: list = []
        runner = threading.Thread(target=lambda: events.extend(_run(_bird(sim), journal, people, settings)))
        runner.start()
        with Journal(tmp_path / "j.db") as other:
            assert sim.wait_for_accepted(100, timeout=30)  # two chunks: longer than the lease's 0.5 s
            with pytest.raises(LeaseHeld):  # renewed by the heartbeat, so still held
                other.take_lease("camp", "intruder", "other-host", 1, ttl_s=60)
            with other.transaction() as db:  # as if the lease had expired and another run took it over
                db.execute(text("UPDATE leases SET owner = 'intruder', host = 'other-host', expires = :t WHERE campaign = 'camp'"),
                           {"t": time.time() + 60})  # fmt: skip
        runner.join(60)
        report = events[-1]
    assert (
        isinstance(report, SendReport)
        and report.stopped == "another run took over this campaign's lease; this run stopped sending"
    )
    assert report.counts["pending"] >= 100  # it stopped claiming: what it had not sent is left to the lease's holder
    done = [e for e in events if isinstance(e, ChunkDone)]
    counts = sim.accepted_counts()
    assert set(counts.values()) == {1} and len(counts) == report.counts["accepted"]
    assert len(done) == send_requests(sim) <= 3  # chunks are claimed one at a time: none after the lease was lost
    assert sum(e.accepted for e in done) == report.counts["accepted"]


# --------------------------------------------------------------------------- the journal file

OLD_SCHEMA = """
CREATE TABLE campaigns (id TEXT PRIMARY KEY, provider TEXT NOT NULL, mode TEXT NOT NULL, fingerprint TEXT NOT NULL,
                        message TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE recipients (campaign TEXT NOT NULL REFERENCES campaigns(id), address TEXT NOT NULL, client_id INTEGER NOT NULL,
    status TEXT NOT NULL, chunk INTEGER, ref TEXT, error TEXT, raw_status TEXT, reason TEXT, duration_s REAL, dtmf TEXT,
    cost TEXT, attempts INTEGER NOT NULL DEFAULT 0, sent_at REAL, status_at REAL, updated_at REAL NOT NULL,
    PRIMARY KEY (campaign, address));
CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, campaign TEXT, address TEXT, source TEXT NOT NULL,
                     payload TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def test_a_journal_written_before_leases_is_upgraded_on_request_and_resumes(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    message = Message(media_url="http://127.0.0.1:9/a.mp3")
    payload = Payload(Mode.MEDIA, media_url=message.media_url)
    people = [Recipient("+2348020000001"), Recipient("+2348020000002"), Recipient("+2348020000003")]
    with simulator("9bits") as sim:
        nine = NineBits(base_url=sim.base_url, credentials={"token": KEYS["9bits"]["VOXPIPE_9BITS_TOKEN"]})
        with sqlite3.connect(path) as db:  # as an older voxpipe left it: no leases table, one chunk in flight
            db.executescript(OLD_SCHEMA)
            db.execute(
                "INSERT INTO campaigns VALUES ('camp', '9bits', 'media', ?, '{}', 1.0)",
                (fingerprint(nine, Mode.MEDIA, message),),
            )
            db.executemany(
                "INSERT INTO recipients (campaign, address, client_id, status, chunk, ref, duration_s, attempts, updated_at) "
                "VALUES ('camp', ?, 1, ?, 1, ?, ?, 1, 1.0)",
                [("+2348020000001", "accepted", "r1", float("inf")), ("+2348020000002", "in_flight", None, None)],
            )
        with pytest.raises(
            JournalError, match=r"old\.db: its schema 0001 \(unversioned\) is older than this voxpipe's"
        ):
            Journal(path)  # never upgraded silently
        assert upgrade(path) == ("0001", HEAD)
        with Journal(path) as journal, http_client(SendSettings()) as client:
            events = list(send(nine, message, payload, people, [], journal, client, SendSettings(retry=FAST), "camp"))
        counts = sim.accepted_counts()
    rows = {r.address: r for r in events[-1].rows}
    assert (
        rows["+2348020000001"].status == "accepted" and rows["+2348020000001"].duration_s is None
    )  # an old inf is not shown
    assert rows["+2348020000002"].status == "unknown"  # 9bits cannot be asked: in flight stays in doubt, not resent
    assert rows["+2348020000003"].status == "accepted" and counts == Counter({"2348020000003": 1})


def test_the_journal_and_its_wal_and_shm_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        with Journal(tmp_path / "deep" / "j.db") as journal:
            journal.hook_secret()
            modes = {s: (tmp_path / "deep" / f"j.db{s}").stat().st_mode & 0o777 for s in ("", "-wal", "-shm")}
    finally:
        os.umask(old)
    assert modes == {"": 0o600, "-wal": 0o600, "-shm": 0o600}


def test_voxpipe_send_creates_a_private_journal(tmp_path: Path) -> None:
    with simulator("messagebird") as sim:
        proc = voxpipe("send", "-P", "messagebird", "--api-url", sim.base_url, "--text", "Hi", "--to", "+31612345678",
                       "--journal", str(tmp_path / "j.db"), env=KEYS["messagebird"])  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "j.db").stat().st_mode & 0o777 == 0o600
