"""The send journal: SQLite in WAL mode, the single source of truth of a campaign.

Every recipient is written down before anything is sent. A chunk is marked
``in_flight`` (and committed) immediately before its request goes on the
wire, after any rate or back-off wait, and gets its outcome right after, so a
run killed at any moment leaves each recipient in a state that says what to
do next:

- ``pending`` / ``failed``: never accepted; the next run sends them.
- ``in_flight``: the request may have reached the provider; the next run
  looks it up where the provider can be asked (``voxpipe.sender.reconcile``) and
  otherwise reports it ``unknown``, never silently sends it twice.
- ``accepted`` / ``rejected`` / ``unknown``: settled; only ``--resend-unknown``
  sends ``unknown`` again (after a look-up, where there is one).

One run at a time sends a campaign: it holds the campaign's lease (table
``leases``: owner, host, pid, heartbeat, expiry), and every claim of a chunk
checks and renews that lease in the same transaction that marks the chunk in
flight (:meth:`Journal.claim`). The file (and its -wal/-shm) is created
readable by its owner only: it holds the hook secret.

Callbacks and polls (``voxpipe.sender.status``) later move accepted recipients on to
delivery states in the same table.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from .errors import JournalError
from .recipients import Recipient
from .statuses import Status

__all__ = ["Campaign", "Event", "Journal", "Lease", "LeaseHeld", "LeaseLost", "RecipientRow", "client_id"]

SCHEMA = """
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
# A new table, not new columns: journals written before leases existed open unchanged.
CLAIMABLE = "(status = 'pending' OR (status = 'failed' AND raw_status IS NULL))"
"""Recipients a run may send: never accepted (a delivery failure from a callback has a raw status)."""


def client_id(campaign: str, address: str) -> int:
    """Our numeric id for a recipient of a campaign: stable across runs, below 2**48."""
    return int(hashlib.sha256(f"{campaign}\0{address}".encode()).hexdigest()[:12], 16)


@dataclass(frozen=True)
class Campaign:
    id: str
    provider: str
    mode: str
    fingerprint: str
    message: dict[str, Any]
    created_at: float


@dataclass(frozen=True)
class Event:
    """One callback or look-up as recorded (``payload`` is what it said; ``at`` when it arrived)."""

    campaign: str | None
    address: str | None
    source: str
    payload: Any
    at: float


@dataclass(frozen=True)
class Lease:
    """Who sends a campaign now: one run, named by a random owner token, its host and pid."""

    campaign: str
    owner: str
    host: str
    pid: int
    heartbeat: float
    expires: float

    def describe(self) -> str:
        until = datetime.fromtimestamp(self.expires).astimezone().isoformat(timespec="seconds")
        return f"pid {self.pid} on {self.host} (its lease expires at {until} unless renewed)"


class LeaseHeld(JournalError):
    """Another live run holds the campaign's lease."""

    def __init__(self, message: str, lease: Lease) -> None:
        super().__init__(message)
        self.lease = lease


class LeaseLost(JournalError):
    """This run's lease was taken over (it had expired): it must stop claiming chunks."""


@dataclass(frozen=True)
class RecipientRow:
    campaign: str
    address: str
    client_id: int
    status: Status
    chunk: int | None
    ref: str | None
    error: str | None
    raw_status: str | None
    reason: str | None
    duration_s: float | None
    dtmf: str | None
    cost: str | None
    attempts: int
    sent_at: float | None
    status_at: float | None
    updated_at: float

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "campaign"}


_NUMBERS = ("duration_s", "sent_at", "status_at")


def _row(values: Any) -> RecipientRow:
    row = RecipientRow(*values)
    object.__setattr__(row, "status", Status(row.status))
    bad: dict[str, Any] = {
        k: None for k in _NUMBERS if isinstance(getattr(row, k), float) and not math.isfinite(getattr(row, k))
    }
    return replace(row, **bad) if bad else row  # an older voxpipe could store inf; reports are JSON, which has none


def _create_private(path: Path) -> None:
    """Create the journal file readable by its owner only; SQLite gives -wal/-shm the same mode."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass


class Journal:
    """One SQLite file; safe to share between the sending threads of one process."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _create_private(self.path)
            self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=30)
            tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if tables and "campaigns" not in tables:
                self._db.close()
                raise JournalError(f"journal {self.path}: an SQLite file of something else, not a voxpipe journal")
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: an outcome written before a crash must survive it (NORMAL may lose the last commits).
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(SCHEMA)
        except sqlite3.Error as exc:
            raise JournalError(f"journal {self.path}: cannot open: {exc}") from exc
        except OSError as exc:
            what = "create its folder" if not self.path.parent.is_dir() else "create it"
            raise JournalError(f"journal {self.path}: cannot {what}: {exc.strerror or exc}") from exc
        self._lock = threading.RLock()
        self._depth = 0  # nesting of transaction() on the thread holding the lock

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._depth:  # inside transaction(): part of the outer one
                self._depth += 1
                try:
                    yield self._db
                finally:
                    self._depth -= 1
                return
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:  # e.g. another process held the lock past the 30 s timeout
                raise JournalError(f"journal {self.path}: cannot write: {exc}") from exc
            self._depth = 1
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            finally:
                self._depth = 0

    def transaction(self) -> Any:
        """One write transaction around several calls (read, compare, write), atomic
        across threads and processes; the methods called inside join it."""
        return self._tx()

    # --- campaigns -------------------------------------------------------------

    def open_campaign(
        self, campaign: str, provider: str, mode: str, fingerprint: str, message: dict[str, Any]
    ) -> Campaign:
        """Create the campaign, or check that an existing one is the same message."""
        with self._tx() as db:  # one transaction: two senders of one campaign cannot both insert
            db.execute(
                "INSERT OR IGNORE INTO campaigns VALUES (?, ?, ?, ?, ?, ?)",
                (campaign, provider, mode, fingerprint, json.dumps(message, sort_keys=True), time.time()),
            )
            existing = self.campaign(campaign)
        assert existing is not None
        if (existing.provider, existing.fingerprint) != (provider, fingerprint):
            raise JournalError(
                f"campaign {campaign!r} in {self.path} was started with a different "
                f"{'provider' if existing.provider != provider else 'message or options'}; use another `campaign`"
            )
        return existing

    def campaign(self, campaign: str) -> Campaign | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM campaigns WHERE id = ?", (campaign,)).fetchone()
        if row is None:
            return None
        return Campaign(row[0], row[1], row[2], row[3], json.loads(row[4]), row[5])

    def sent_to(self, provider: str, address: str, before: float, window_s: float) -> RecipientRow | None:
        """The latest send of ``provider`` to ``address`` accepted in [before - window, before]."""
        with self._lock:
            row = self._db.execute(
                "SELECT r.* FROM recipients r JOIN campaigns c ON c.id = r.campaign "
                "WHERE c.provider = ? AND r.address = ? AND r.sent_at IS NOT NULL AND r.sent_at BETWEEN ? AND ? "
                "AND r.status NOT IN ('rejected', 'failed', 'pending', 'in_flight') ORDER BY r.sent_at DESC LIMIT 1",
                (provider, address, before - window_s, before),
            ).fetchone()
        return _row(row) if row else None

    def campaigns(self) -> list[Campaign]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM campaigns ORDER BY created_at").fetchall()
        return [Campaign(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5]) for r in rows]

    # --- recipients --------------------------------------------------------------

    def add_recipients(self, campaign: str, recipients: list[Recipient]) -> None:
        now = time.time()
        with self._tx() as db:
            db.executemany(
                "INSERT OR IGNORE INTO recipients (campaign, address, client_id, status, updated_at) VALUES (?, ?, ?, 'pending', ?)",
                [(campaign, r.address, client_id(campaign, r.address), now) for r in recipients],
            )

    def add_rejected(self, campaign: str, raw: str, reason: str) -> None:
        """A recipient refused before sending (invalid number), kept so reports list it."""
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO recipients (campaign, address, client_id, status, error, updated_at) "
                "VALUES (?, ?, ?, 'rejected', ?, ?)",
                (campaign, raw, client_id(campaign, raw), reason, time.time()),
            )

    def settle_interrupted(self, campaign: str) -> int:
        """After a crash, where the provider cannot be asked: in-flight recipients become unknown."""
        with self._tx() as db:
            cur = db.execute(
                "UPDATE recipients SET status = 'unknown', error = ?, updated_at = ? WHERE campaign = ? AND status = 'in_flight'",
                (
                    "a previous run stopped while this request was on the wire; it may have been accepted",
                    time.time(),
                    campaign,
                ),
            )
            return cur.rowcount

    def in_doubt(self, campaign: str) -> list[RecipientRow]:
        """Recipients whose request may have reached the provider: in flight, or unknown without a reference."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM recipients WHERE campaign = ? AND (status = 'in_flight' OR (status = 'unknown' AND ref IS NULL)) "
                "ORDER BY chunk, address",
                (campaign,),
            ).fetchall()
        return [_row(r) for r in rows]

    def reopen_unknown(self, campaign: str) -> int:
        with self._tx() as db:
            cur = db.execute(
                "UPDATE recipients SET status = 'pending', updated_at = ? WHERE campaign = ? AND status = 'unknown' AND ref IS NULL",
                (time.time(), campaign),
            )
            return cur.rowcount

    def sendable(self, campaign: str) -> list[tuple[Recipient, int]]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT address, client_id FROM recipients WHERE campaign = ? AND {CLAIMABLE} ORDER BY address",
                (campaign,),
            ).fetchall()
        return [(Recipient(a), cid) for a, cid in rows]

    def mark_in_flight(self, campaign: str, chunk: int, addresses: list[str]) -> None:
        now = time.time()
        with self._tx() as db:
            db.executemany(
                "UPDATE recipients SET status = 'in_flight', chunk = ?, attempts = attempts + 1, updated_at = ? "
                "WHERE campaign = ? AND address = ?",
                [(chunk, now, campaign, a) for a in addresses],
            )

    def claim(self, campaign: str, owner: str, chunk: int, addresses: list[str], ttl_s: float) -> None:
        """Mark a chunk in flight, in one transaction with the check (and renewal) of ``owner``'s lease.

        Raises :class:`LeaseLost` (changing nothing) when the lease is no longer
        ``owner``'s, or when a recipient of the chunk is no longer sendable.
        """
        now = time.time()
        with self._tx() as db:
            renewed = db.execute(
                "UPDATE leases SET heartbeat = ?, expires = ? WHERE campaign = ? AND owner = ?",
                (now, now + ttl_s, campaign, owner),
            ).rowcount
            if not renewed:
                raise LeaseLost(
                    f"campaign {campaign!r}: another run took over this campaign's lease; this run stops sending"
                )
            marked = 0
            for address in addresses:
                marked += db.execute(
                    "UPDATE recipients SET status = 'in_flight', chunk = ?, attempts = attempts + 1, updated_at = ? "
                    f"WHERE campaign = ? AND address = ? AND {CLAIMABLE}",
                    (chunk, now, campaign, address),
                ).rowcount
            if marked != len(addresses):
                raise LeaseLost(
                    f"campaign {campaign!r}: recipients of chunk {chunk} were settled by another run; this run stops sending"
                )

    def unclaim(self, campaign: str, chunk: int, addresses: list[str]) -> None:
        """Back to pending: the answer proved the provider took nothing (429, 502-504, no connection)."""
        with self._tx() as db:
            db.executemany(
                "UPDATE recipients SET status = 'pending', updated_at = ? WHERE campaign = ? AND address = ? AND status = 'in_flight' AND chunk = ?",
                [(time.time(), campaign, a, chunk) for a in addresses],
            )

    def record(self, campaign: str, outcomes: list[tuple[str, str, str | None, str | None]]) -> None:
        """Outcomes of a chunk: (address, status, ref, error)."""
        now = time.time()
        with self._tx() as db:
            db.executemany(
                "UPDATE recipients SET status = ?, ref = ?, error = ?, sent_at = ?, status_at = ?, updated_at = ? "
                "WHERE campaign = ? AND address = ?",
                [(status, ref, error, now, now, now, campaign, address) for address, status, ref, error in outcomes],
            )

    def requeue(self, campaign: str, addresses: list[str], error: str | None = None) -> None:
        """Pending again: a look-up showed the provider never took these requests."""
        with self._tx() as db:
            db.executemany(
                "UPDATE recipients SET status = 'pending', error = ?, updated_at = ? WHERE campaign = ? AND address = ?",
                [(error, time.time(), campaign, a) for a in addresses],
            )

    # --- leases ---------------------------------------------------------------

    def lease(self, campaign: str) -> Lease | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM leases WHERE campaign = ?", (campaign,)).fetchone()
        return Lease(*row) if row else None

    def take_lease(self, campaign: str, owner: str, host: str, pid: int, ttl_s: float) -> Lease:
        """Take the campaign's lease when it is free, expired, or held by a process of this host that is gone;
        else raise :class:`LeaseHeld`."""
        now = time.time()
        with self._tx() as db:
            row = db.execute("SELECT * FROM leases WHERE campaign = ?", (campaign,)).fetchone()
            held = Lease(*row) if row else None
            if (
                held is not None
                and held.owner != owner
                and held.expires > now
                and not (held.host == host and not _alive(held.pid))
            ):
                raise LeaseHeld(
                    f"campaign {campaign} is being sent by {held.describe()}; run again later, or `wait` for it",
                    held,
                )
            mine = Lease(campaign, owner, host, pid, now, now + ttl_s)
            db.execute("INSERT OR REPLACE INTO leases VALUES (?, ?, ?, ?, ?, ?)", tuple(mine.__dict__.values()))
        return mine

    def renew_lease(self, campaign: str, owner: str, ttl_s: float) -> bool:
        """Extend ``owner``'s lease; False when it is no longer ``owner``'s."""
        now = time.time()
        with self._tx() as db:
            return bool(
                db.execute(
                    "UPDATE leases SET heartbeat = ?, expires = ? WHERE campaign = ? AND owner = ?",
                    (now, now + ttl_s, campaign, owner),
                ).rowcount
            )

    def release_lease(self, campaign: str, owner: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM leases WHERE campaign = ? AND owner = ?", (campaign, owner))

    def rows(self, campaign: str) -> list[RecipientRow]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM recipients WHERE campaign = ? ORDER BY address", (campaign,)
            ).fetchall()
        return [_row(r) for r in rows]

    # --- delivery updates (callbacks, polls) ----------------------------------

    def find(self, provider: str | None = None, **where: Any) -> list[RecipientRow]:
        """Rows matching every given column, e.g. ``find(ref="abc")``, of ``provider``'s campaigns if given."""
        allowed = {"campaign", "address", "client_id", "ref", "status"}
        if not where or set(where) - allowed:
            raise JournalError(f"journal: cannot search by {sorted(set(where) - allowed) or 'nothing'}")
        clause = " AND ".join(f"r.{k} = ?" for k in where)
        values = tuple(where.values())
        if provider is not None:
            clause += " AND c.provider = ?"
            values += (provider,)
        with self._lock:
            rows = self._db.execute(
                f"SELECT r.* FROM recipients r JOIN campaigns c ON c.id = r.campaign WHERE {clause}", values
            ).fetchall()
        return [_row(r) for r in rows]

    def update_delivery(self, campaign: str, address: str, **fields: Any) -> None:
        allowed = {"status", "raw_status", "reason", "duration_s", "dtmf", "cost", "ref", "error", "status_at"}
        if set(fields) - allowed:
            raise JournalError(f"journal: cannot update {sorted(set(fields) - allowed)}")
        if any(isinstance(v, float) and not math.isfinite(v) for v in fields.values()):
            raise JournalError(f"journal: refusing a number that is not finite in {sorted(fields)}")
        sets = ", ".join(f"{k} = ?" for k in fields)
        with self._tx() as db:
            db.execute(
                f"UPDATE recipients SET {sets}, updated_at = ? WHERE campaign = ? AND address = ?",
                (*fields.values(), time.time(), campaign, address),
            )

    def add_event(self, campaign: str | None, address: str | None, source: str, payload: Any) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO events (campaign, address, source, payload, at) VALUES (?, ?, ?, ?, ?)",
                (
                    campaign,
                    address,
                    source,
                    json.dumps(_finite(payload), sort_keys=True, default=str, allow_nan=False),
                    time.time(),
                ),
            )

    def events(self, campaign: str) -> list[Event]:
        """The campaign's recorded callbacks and look-ups, in the order they arrived."""
        with self._lock:
            rows = self._db.execute(
                "SELECT campaign, address, source, payload, at FROM events WHERE campaign = ? ORDER BY id", (campaign,)
            ).fetchall()
        return [Event(c, a, s, json.loads(p), at) for c, a, s, p, at in rows]

    def hook_secret(self) -> str:
        """The per-journal secret in callback URLs (created on first use)."""
        with self._tx() as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'hook_secret'").fetchone()
            if row:
                return str(row[0])
            value = secrets.token_urlsafe(18)
            db.execute("INSERT INTO meta VALUES ('hook_secret', ?)", (value,))
            return value


def _alive(pid: int) -> bool:
    """Whether process ``pid`` of this host still exists (one of another user counts)."""
    if pid <= 0:  # not a process id (0 and negatives name process groups): cannot tell, so wait for the expiry
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float as None: the journal and reports hold JSON, which has no NaN."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
