"""The journal on both backends: its schema revisions and upgrades, the checks when it opens,
the per-chunk claims (FOR UPDATE SKIP LOCKED on PostgreSQL), the shared pacer, and errors
from the database as one line.

PostgreSQL is a real server (``pg_server``); SQLite journals of voxpipe 0.1 are made here
with the DDL that release ran.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.cli import voxpipe
from tests.pgserver import LOCKED_PASSWORD, LOCKED_ROLE, PgServer
from tests.simulators import MessageBirdSim
from voxpipe.pipeline.markup import parse
from voxpipe.pipeline.retry import RetryPolicy
from voxpipe.sender.dispatch import SendSettings, http_client, send
from voxpipe.sender.errors import JournalError
from voxpipe.sender.journal import ChunkClaim, Journal, JournalConflict
from voxpipe.sender.journal_db import make_engine, parse_location
from voxpipe.sender.journal_schema import HEAD, MIGRATIONS, REVISIONS, create_schema, upgrade
from voxpipe.sender.message import Message, fingerprint
from voxpipe.sender.providers import Chunk, Mode, Payload
from voxpipe.sender.providers.messagebird import MessageBird
from voxpipe.sender.recipients import Recipient

FAST = SendSettings(retry=RetryPolicy(attempts=3, base_s=0.01, max_s=0.1), timeout_s=5)
MB_KEY = "mb-Secret-key"
PEOPLE = [f"+3161234{n:04d}" for n in range(6)]

# The DDL voxpipe 0.1 ran on every open (sender/journal.py before revisions existed), verbatim.
VOXPIPE_0_1_SCHEMA = """
CREATE TABLE IF NOT EXISTS campaigns (
    id TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    mode TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    message TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS recipients (
    campaign TEXT NOT NULL REFERENCES campaigns(id),
    address TEXT NOT NULL,
    client_id INTEGER NOT NULL,
    status TEXT NOT NULL,
    chunk INTEGER,
    ref TEXT,
    error TEXT,
    raw_status TEXT,
    reason TEXT,
    duration_s REAL,
    dtmf TEXT,
    cost TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    sent_at REAL,
    status_at REAL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (campaign, address)
);
CREATE INDEX IF NOT EXISTS recipients_ref ON recipients(ref);
CREATE INDEX IF NOT EXISTS recipients_client_id ON recipients(client_id);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign TEXT,
    address TEXT,
    source TEXT NOT NULL,
    payload TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS leases (
    campaign TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    heartbeat REAL NOT NULL,
    expires REAL NOT NULL
);
"""


def _bird(sim: MessageBirdSim) -> MessageBird:
    return MessageBird(base_url=sim.base_url, credentials={"key": MB_KEY})


def _send(journal: Journal, provider: MessageBird, people: list[str], campaign: str = "camp") -> dict[str, str]:
    payload = Payload(Mode.TTS, script=parse("Hello"))
    with http_client(FAST) as client:
        events = list(
            send(provider, Message(text="Hello"), payload, [Recipient(p) for p in people], [], journal, client, FAST,
                 campaign)
        )  # fmt: skip
    return {r.address: r.status for r in events[-1].rows}


def _voxpipe_0_1_journal(path: Path, sim: MessageBirdSim) -> None:
    """What voxpipe 0.1 left after a crash: chunk 1 accepted, chunk 2 in flight (MessageBird took it), the rest pending."""
    provider = _bird(sim)
    with httpx.Client(timeout=5) as client:  # the request of chunk 2 reached MessageBird before the crash
        accepted = client.send(provider.build(Chunk("camp", 2, (Recipient(PEOPLE[2]), Recipient(PEOPLE[3]))), _tts()))
        assert accepted.status_code == 201
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(VOXPIPE_0_1_SCHEMA)
    fp = fingerprint(provider, Mode.TTS, Message(text="Hello"))
    db.execute("INSERT INTO campaigns VALUES ('camp', 'messagebird', 'tts', ?, '{}', 1.0)", (fp,))
    rows = [(PEOPLE[0], "accepted", 1, "m-old"), (PEOPLE[1], "accepted", 1, "m-old"), (PEOPLE[2], "in_flight", 2, None),
            (PEOPLE[3], "in_flight", 2, None), (PEOPLE[4], "pending", None, None), (PEOPLE[5], "pending", None, None)]  # fmt: skip
    db.executemany(
        "INSERT INTO recipients (campaign, address, client_id, status, chunk, ref, attempts, updated_at) "
        "VALUES ('camp', ?, 7, ?, ?, ?, 1, ?)",
        [(a, s, c, ref, time.time()) for a, s, c, ref in rows],
    )
    db.execute("INSERT INTO events (campaign, address, source, payload, at) VALUES ('camp', ?, 'hook:x', '{}', 1.0)",
               (PEOPLE[0],))  # fmt: skip
    db.execute("INSERT INTO meta VALUES ('hook_secret', 'the-old-secret')")
    db.commit()
    db.close()


def _tts() -> Payload:
    return Payload(Mode.TTS, script=parse("Hello"))


def _table(path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute(sql).fetchall()


# --------------------------------------------------------------------------- upgrades


def test_a_journal_of_voxpipe_0_1_is_refused_until_upgraded_then_resumes_without_calling_anyone_twice(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    with MessageBirdSim(access_key=MB_KEY) as sim:
        _voxpipe_0_1_journal(path, sim)
        before = _table(path, "SELECT * FROM recipients ORDER BY address")
        with pytest.raises(JournalError) as refused:
            Journal(path)
        assert str(refused.value) == (
            f"journal {path}: its schema 0001 (unversioned) is older than this voxpipe's {HEAD}; "
            "back it up, then run `voxpipe journal upgrade` on it"
        )
        sent = voxpipe("send", "-P", "messagebird", "--api-url", sim.base_url, "--text", "Hello", "--to", PEOPLE[4],
                       "--journal", str(path), env={"VOXPIPE_MESSAGEBIRD_KEY": MB_KEY})  # fmt: skip
        assert sent.returncode == 1 and sent.stderr == f"Error: {refused.value}\n"
        assert _table(path, "SELECT * FROM recipients ORDER BY address") == before  # never upgraded silently
        assert sim.requests_count == 1  # chunk 2 before the crash; nothing since

        up = voxpipe("journal", "upgrade", "--journal", str(path))
        assert (up.returncode, up.stdout) == (0, f"journal {path}: upgraded from schema 0001 to {HEAD}\n"), up.stderr
        again = voxpipe("journal", "upgrade", "--journal", str(path))
        assert again.stdout == f"journal {path}: already at schema {HEAD}\n"
        assert _table(path, "SELECT * FROM recipients ORDER BY address") == before  # every row kept as it was

        with Journal(path) as journal:
            assert journal.hook_secret() == "the-old-secret"  # callback URLs given to providers still work
            assert [e.address for e in journal.events("camp")] == [PEOPLE[0]]
            statuses = _send(journal, _bird(sim), PEOPLE)
            claims = journal.claims("camp")
    assert statuses == dict.fromkeys(PEOPLE, "accepted")  # chunk 2 looked up by its reference, found, not resent
    assert sim.accepted_counts() == Counter({p.lstrip("+"): 1 for p in PEOPLE[2:]})
    # New chunks are numbered past the old ones: references (camp-<chunk>) never repeat within a campaign.
    assert [c.id for c in claims] == [3] and {d.client_ref for d in sim.accepted} == {"camp-2", "camp-3"}
    assert _table(path, "PRAGMA journal_mode") == [("wal",)]


def test_a_new_journal_and_an_upgraded_one_have_the_same_schema(
    journal_at: str, tmp_path: Path, pg_server: PgServer
) -> None:
    """create_all (a new SQLite journal) and the migrations from nothing build the same tables."""
    if journal_at.startswith("postgresql"):
        migrated = journal_at  # the fixture ran the migrations
        built = pg_server.url(pg_server.new_database())
        engine = make_engine(parse_location(built))
        with engine.begin() as conn:
            create_schema(conn)
        engine.dispose()
    else:
        migrated = str(tmp_path / "migrated.db")
        assert upgrade(migrated) == (None, HEAD)
        built = journal_at
        Journal(built).close()
    assert _schema(migrated) == _schema(built)


def _schema(where: str) -> dict[str, object]:
    engine = make_engine(parse_location(where))
    try:
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            found: dict[str, object] = {}
            for table in sorted(inspector.get_table_names()):
                columns = [
                    (c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                    for c in inspector.get_columns(table)
                ]
                indexes = sorted(
                    (i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in inspector.get_indexes(table)
                )
                keys = [(f["constrained_columns"], f["referred_table"]) for f in inspector.get_foreign_keys(table)]
                found[table] = (columns, inspector.get_pk_constraint(table)["constrained_columns"], indexes, keys)  # fmt: skip
            return found
    finally:
        engine.dispose()


def test_the_revision_list_is_alembics_history() -> None:
    from alembic.script import ScriptDirectory

    history = [s.revision for s in ScriptDirectory(str(MIGRATIONS)).walk_revisions()]
    assert tuple(reversed(history)) == REVISIONS


def test_a_journal_of_a_newer_voxpipe_is_refused_and_left_as_it_is(journal_at: str) -> None:
    Journal(journal_at).close()
    engine = make_engine(parse_location(journal_at))
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE voxpipe_schema_version SET version_num = '0099'"))
    shown = parse_location(journal_at).shown
    message = (
        f"journal {shown}: its schema 0099 was written by a newer voxpipe (this one knows up to {HEAD}); "
        "use that voxpipe or a newer one"
    )
    with pytest.raises(JournalError) as opening:
        Journal(journal_at)
    with pytest.raises(JournalError) as upgrading:
        upgrade(journal_at)
    assert str(opening.value) == str(upgrading.value) == message
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM voxpipe_schema_version")).scalar() == "0099"
    engine.dispose()


def test_an_empty_postgresql_database_gets_its_schema_only_from_upgrade(pg_server: PgServer) -> None:
    name = pg_server.new_database()
    url = pg_server.url(name)
    shown = parse_location(url).shown
    with pytest.raises(
        JournalError, match=r"the database has no voxpipe journal yet; create it with `voxpipe journal upgrade`$"
    ):
        Journal(url)
    assert pg_server.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", name) == [(0,)]
    made = voxpipe("journal", "upgrade", "--journal", url)
    assert (made.returncode, made.stdout) == (0, f"journal {shown}: created at schema {HEAD}\n"), made.stderr
    with Journal(url) as journal:
        assert journal.campaigns() == [] and journal.concurrent_senders


def test_a_database_with_tables_named_like_a_journals_is_not_taken_for_one(pg_server: PgServer) -> None:
    name = pg_server.new_database()
    pg_server.execute(
        "CREATE TABLE campaigns (id int, title text); INSERT INTO campaigns VALUES (1, 'spring sale')", name
    )
    url = pg_server.url(name)
    for attempt in (lambda: Journal(url), lambda: upgrade(url)):
        with pytest.raises(JournalError, match=r"tables named like a journal's \(campaigns\) that no voxpipe made$"):
            attempt()
    assert pg_server.execute("SELECT * FROM campaigns", name) == [(1, "spring sale")]
    assert pg_server.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", name) == [(1,)]


@pytest.mark.parametrize(
    "location, says",
    [
        ("mysql://u:hunter2@db/voxpipe", r"^journal mysql://u:\*\*\*@db/voxpipe: not a path, sqlite:/// or postgresql:// URL$"),
        ("sqlite://", r"^journal sqlite://: a journal is a file; write sqlite:///path/to/journal.db$"),
        ("postgresql://u@db", r"^journal postgresql://u@db: name the database, as in postgresql://user@host/voxpipe$"),
        ("postgresql://u:hunter2@127.0.0.1:1/voxpipe",
         r"^journal postgresql://u:\*\*\*@127.0.0.1:1/voxpipe: cannot open: connection failed: .*port 1 failed: Connection refused$"),
    ],
)  # fmt: skip
def test_a_location_that_cannot_be_a_journal_is_one_line(location: str, says: str) -> None:
    with pytest.raises(JournalError) as refused:
        Journal(location)
    assert "\n" not in str(refused.value) and "hunter2" not in str(refused.value)
    assert __import__("re").search(says, str(refused.value)), str(refused.value)


def test_wrong_credentials_are_one_line_without_the_password(pg_server: PgServer) -> None:
    name = pg_server.new_database()
    upgrade(pg_server.url(name))
    with pytest.raises(JournalError) as refused:
        Journal(pg_server.url(name, LOCKED_ROLE, "not-" + LOCKED_PASSWORD))
    assert str(refused.value).startswith(
        f"journal postgresql://{LOCKED_ROLE}:***@/{name}?…: cannot open: connection failed: "
    )
    assert str(refused.value).endswith(f'password authentication failed for user "{LOCKED_ROLE}"')
    assert LOCKED_PASSWORD not in str(refused.value)


def test_sqlite_paths_and_urls_name_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    with Journal(f"sqlite:///{path}") as journal:
        journal.open_campaign("c", "9bits", "media", "f", {})
        assert (journal.location, journal.path, journal.concurrent_senders) == (str(path), path, False)
    with Journal(path) as journal:
        assert [c.id for c in journal.campaigns()] == ["c"]
    assert path.stat().st_mode & 0o777 == 0o600


# --------------------------------------------------------------------------- claims


def _campaign(journal: Journal, n: int) -> list[str]:
    people = [f"+2348020{i:06d}" for i in range(n)]
    journal.open_campaign("camp", "9bits", "media", "f", {})
    journal.add_recipients("camp", [Recipient(p) for p in people])
    return people


def test_concurrent_claims_skip_rows_being_claimed_instead_of_waiting(pg_server: PgServer) -> None:
    url = pg_server.url(pg_server.new_database())
    upgrade(url)
    with Journal(url) as first, Journal(url) as second:
        people = _campaign(first, 10)
        claimed: dict[str, object] = {}
        inside = threading.Event()
        release = threading.Event()

        def slow_claim() -> None:
            with first.transaction():  # the claim is made, its transaction not committed yet: its rows stay locked
                claimed["first"] = first.claim_next("camp", "a", "host-a", 1, 4, 60, lease=False)
                inside.set()
                release.wait(30)

        holder = threading.Thread(target=slow_claim)
        holder.start()
        assert inside.wait(30)
        started = time.monotonic()
        claimed["second"] = second.claim_next("camp", "b", "host-b", 2, 4, 60, lease=False)
        waited = time.monotonic() - started
        release.set()
        holder.join(30)
        assert waited < 20  # it did not wait for the other transaction (that would be until release, 30 s)
        third = second.claim_next("camp", "c", "host-c", 3, 4, 60, lease=False)
    (first_id, first_rows), (second_id, second_rows) = claimed["first"], claimed["second"]  # type: ignore[misc]
    addresses = [[r.address for r, _ in rows] for rows in (first_rows, second_rows, third[1])]  # type: ignore[index]
    assert addresses == [people[0:4], people[4:8], people[8:10]]  # disjoint, in address order
    assert len({first_id, second_id, third[0]}) == 3  # type: ignore[index]


def test_a_dead_runs_chunk_is_taken_over_by_one_run_only(journal_at: str) -> None:
    with Journal(journal_at) as a, Journal(journal_at) as b:
        _campaign(a, 3)
        chunk, _ = a.claim_next("camp", "dead", "other-host", 4242, 3, ttl_s=0.2, lease=False) or (0, [])
        time.sleep(0.3)  # its run stopped renewing it
        (found,) = [(i, c) for i, c, _ in a.doubtful_chunks("camp", "this-host")]
        assert found[0] == chunk and isinstance(found[1], ChunkClaim) and found[1].owner == "dead"
        seen = found[1]
        results: list[bool] = []
        threads = [
            threading.Thread(target=lambda j=j, o=o: results.append(j.take_over(seen, o, "this-host", os.getpid(), 60)))
            for j, o in ((a, "one"), (b, "two"))
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sorted(results) == [False, True]
        assert a.doubtful_chunks("camp", "this-host") == []  # the winner's claim is live
        (claim,) = a.open_claims("camp")
        assert claim.owner in ("one", "two") and claim.live(time.time(), "this-host")


def test_a_chunk_put_back_while_it_waits_out_a_back_off_stays_its_own(journal_at: str) -> None:
    with Journal(journal_at) as journal:
        people = _campaign(journal, 4)
        chunk, rows = journal.claim_next("camp", "a", "h", os.getpid(), 2, 60, lease=False) or (0, [])
        journal.unclaim("camp", chunk, [r.address for r, _ in rows])  # a 429: nothing taken, pending again
        other = journal.claim_next("camp", "b", "h", os.getpid(), 4, 60, lease=False)
        assert other is not None and [r.address for r, _ in other[1]] == people[2:]  # not the ones waiting
        journal.claim("camp", "a", chunk, people[:2], 60, lease=False)  # the retry takes them back
        assert [(r.status, r.chunk, r.attempts) for r in journal.rows("camp")[:2]] == [("in_flight", chunk, 2)] * 2


def test_a_claim_taken_over_is_noticed_by_its_retry(journal_at: str) -> None:
    from voxpipe.sender.journal import LeaseLost

    with Journal(journal_at) as journal:
        people = _campaign(journal, 2)
        chunk, _ = journal.claim_next("camp", "slow", "h", os.getpid(), 2, 60, lease=False) or (0, [])
        journal.unclaim("camp", chunk, people)
        (claim,) = journal.open_claims("camp")
        assert journal.take_over(claim, "other", "h", os.getpid(), 60)
        with pytest.raises(
            LeaseLost, match=r"recipients of chunk \d+ were settled by another run; this run leaves them to it$"
        ):
            journal.claim("camp", "slow", chunk, people, 60, lease=False)
        assert {r.status for r in journal.rows("camp")} == {"pending"}


# --------------------------------------------------------------------------- the shared pacer


def test_the_pacer_slots_are_shared_by_every_connection(journal_at: str) -> None:
    interval = 0.25
    with Journal(journal_at) as a, Journal(journal_at) as b:
        started = time.monotonic()
        waits = [(a if n % 2 else b).take_slot("campaign:x", interval) for n in range(8)]
        elapsed = time.monotonic() - started
        assert waits == sorted(waits)  # each slot after the last, whichever connection took it
        assert waits[-1] >= 7 * interval - elapsed  # eight slots a quarter second apart, not two sets of four
        a.hold_slots("campaign:x", 5.0)  # a 429's Retry-After
        assert b.take_slot("campaign:x", interval) >= 5.0 - (time.monotonic() - started)
        assert a.take_slot("campaign:other", interval) <= 0.0  # another campaign's pace is its own


# --------------------------------------------------------------------------- concurrency on PostgreSQL


def test_a_transaction_that_loses_a_deadlock_is_run_again(pg_server: PgServer) -> None:
    url = pg_server.url(pg_server.new_database())
    upgrade(url)
    with Journal(url) as setup:
        setup.open_campaign("camp", "9bits", "media", "f", {})
        setup.add_recipients("camp", [Recipient("+2348020000001"), Recipient("+2348020000002")])
    both = threading.Barrier(2, timeout=30)
    runs: Counter[str] = Counter()

    def writer(name: str, order: list[str]) -> None:
        with Journal(url) as journal:

            def work() -> None:
                runs[name] += 1
                journal.update_delivery("camp", order[0], reason=name)
                if runs[name] == 1:
                    both.wait()  # each holds its first row: the second update of one of them deadlocks
                journal.update_delivery("camp", order[1], reason=name)

            journal.atomically(work)

    a = threading.Thread(target=writer, args=("a", ["+2348020000001", "+2348020000002"]))
    b = threading.Thread(target=writer, args=("b", ["+2348020000002", "+2348020000001"]))
    a.start(), b.start()
    a.join(60), b.join(60)
    assert sorted(runs.values()) == [1, 2]  # PostgreSQL rolled one back; it ran again and went through
    with Journal(url) as journal:
        reasons = {r.reason for r in journal.rows("camp")}
    assert len(reasons) == 1  # each transaction wrote both rows whole: the last one's reason on both


def test_atomically_inside_a_transaction_lets_the_outer_one_decide(pg_server: PgServer) -> None:
    url = pg_server.url(pg_server.new_database())
    upgrade(url)
    with Journal(url) as journal, journal.transaction():
        calls = []

        def work() -> None:
            calls.append(1)
            raise JournalConflict("lost a deadlock")

        with pytest.raises(JournalConflict):
            journal.atomically(work)
        assert calls == [1]  # not retried inside: the outer transaction is already rolled back on the server


def test_events_keep_their_payloads_on_both_backends(journal_at: str) -> None:
    with Journal(journal_at) as journal:
        journal.open_campaign("camp", "wawp", "media", "f", {"text": "é"})
        journal.add_event("camp", "+1", "hook:wawp", {"ack": 3, "huge": float("inf"), "nested": [1.5, "ü"]})
        (event,) = journal.events("camp")
        assert (event.source, event.payload) == ("hook:wawp", {"ack": 3, "huge": None, "nested": [1.5, "ü"]})
        assert journal.campaign("camp").message == {"text": "é"}  # type: ignore[union-attr]
        assert json.loads(json.dumps(event.payload)) == event.payload
