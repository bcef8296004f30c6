"""The send journal: the single source of truth of a campaign, in SQLite or PostgreSQL.

Every recipient is written down before anything is sent. A chunk is marked
``in_flight`` (and committed) immediately before its request goes on the
wire, after any rate or back-off wait, and gets its outcome right after, so a
run killed at any moment leaves each recipient in a state that says what to
do next:

- ``pending`` / ``failed``: never accepted; the next run sends them.
- ``in_flight``: the request may have reached the provider; once its
  chunk's claim is gone (the run died) the next run looks it up where the
  provider can be asked (``voxpipe.sender.reconcile``) and otherwise reports
  it ``unknown``, never silently sends it twice.
- ``accepted`` / ``rejected`` / ``unknown``: settled; only ``--resend-unknown``
  sends ``unknown`` again (after a look-up, where there is one).

Who may send (``voxpipe.sender.lease`` explains both): on SQLite one run per
campaign, holding the campaign's lease (table ``leases``), which every claim
checks and renews in the same transaction. On PostgreSQL several runs share
a campaign: each claims the next chunk with ``SELECT … FOR UPDATE SKIP
LOCKED`` and records the claim, with its own expiry, in ``chunks``.

One implementation serves both, on SQLAlchemy Core (:mod:`voxpipe.sender.journal_db`
opens the database, :mod:`voxpipe.sender.journal_schema` holds the tables
and checks their revision). Every write is one transaction; reads that
decide a write lock the rows they read (PostgreSQL) or the file (SQLite,
``BEGIN IMMEDIATE``). Errors from the database are :class:`JournalError`
with one line. An SQLite file is created readable by its owner only: the
journal holds the hook secret.

Callbacks and polls (``voxpipe.sender.delivery``) later move accepted
recipients on to delivery states in the same table.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from .errors import JournalError
from .journal_db import WRITE, create_private, describe, enable_wal, make_engine, parse_location
from .journal_schema import CLAIMABLE, campaigns, check_schema, chunks, events, leases, meta, pacers, recipients
from .recipients import Recipient
from .statuses import Status

__all__ = [
    "Campaign",
    "ChunkClaim",
    "Event",
    "Journal",
    "JournalConflict",
    "Lease",
    "LeaseHeld",
    "LeaseLost",
    "RecipientRow",
    "client_id",
    "is_new_file",
]

_T = TypeVar("_T")
_CONFLICTS = {"40001", "40P01"}  # PostgreSQL: serialization failure, deadlock detected
_INTERRUPTED = "a previous run stopped while this request was on the wire; it may have been accepted"
_IN_DOUBT = sa.or_(
    recipients.c.status == "in_flight", sa.and_(recipients.c.status == "unknown", recipients.c.ref.is_(None))
)


def is_new_file(location: str | Path) -> bool:
    """Whether opening ``location`` would create a new SQLite file (a PostgreSQL URL never does)."""
    where = parse_location(location)
    return where.path is not None and not where.path.exists()


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
    """Who sends a campaign now (SQLite): one run, named by a random owner token, its host and pid."""

    campaign: str
    owner: str
    host: str
    pid: int
    heartbeat: float
    expires: float

    def describe(self) -> str:
        until = datetime.fromtimestamp(self.expires).astimezone().isoformat(timespec="seconds")
        return f"pid {self.pid} on {self.host} (its lease expires at {until} unless renewed)"


@dataclass(frozen=True)
class ChunkClaim:
    """A chunk as claimed: by whom, until when (renewed by its run's heartbeat), and whether it is done."""

    id: int
    campaign: str
    owner: str
    host: str
    pid: int
    claimed_at: float
    expires: float
    done: bool

    def live(self, now: float, host: str) -> bool:
        """Still being sent: not done, not expired, and not left by a process of ``host`` that is gone."""
        return not self.done and self.expires > now and not (self.host == host and not _alive(self.pid))


class LeaseHeld(JournalError):
    """Another live run holds the campaign's lease."""

    def __init__(self, message: str, lease: Lease) -> None:
        super().__init__(message)
        self.lease = lease


class LeaseLost(JournalError):
    """This run's lease (or a chunk's claim) was taken over (it had expired): stop claiming."""


class JournalConflict(JournalError):
    """PostgreSQL chose this transaction as the loser of a deadlock or serialization race: run it again."""


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


def _campaign(row: Any) -> Campaign:
    return Campaign(row[0], row[1], row[2], row[3], json.loads(row[4]), row[5])


def _claim(row: Any) -> ChunkClaim:
    return ChunkClaim(
        int(row.id), row.campaign, row.owner, row.host, row.pid, row.claimed_at, row.expires, bool(row.done)
    )


class Journal:
    """One journal (a file path, ``sqlite:///…`` or ``postgresql://…``); safe to share between threads.

    ``path`` is the SQLite file (for PostgreSQL, a stand-in naming the
    database without its password); ``location`` is what messages show.
    """

    def __init__(self, location: str | Path) -> None:
        where = parse_location(location)
        self.location = where.shown
        self.path = where.path if where.path is not None else Path(where.shown)
        self.name = where.path.name if where.path is not None else str(where.url.database)
        """The file's name, or the database's."""
        self.concurrent_senders = not where.is_sqlite
        """Whether several runs may send one campaign at once (PostgreSQL); SQLite: one at a time."""
        if where.path is not None:
            try:
                where.path.parent.mkdir(parents=True, exist_ok=True)
                create_private(where.path)
            except OSError as exc:
                what = "create its folder" if not where.path.parent.is_dir() else "create it"
                raise JournalError(f"journal {self.location}: cannot {what}: {exc.strerror or exc}") from exc
        self._engine = make_engine(where)
        self._pg = not where.is_sqlite
        self._lock: AbstractContextManager[Any] = threading.RLock() if where.is_sqlite else nullcontext()
        self._local = threading.local()
        try:
            with self._engine.connect() as conn:
                conn.execution_options(**{WRITE: True})
                with conn.begin():
                    check_schema(conn, where, create=where.is_sqlite)
                if where.is_sqlite:  # after the check: a foreign file is left as it was
                    enable_wal(conn)
        except sa.exc.SQLAlchemyError as exc:
            self._engine.dispose()
            raise JournalError(f"journal {self.location}: cannot open: {describe(exc)}") from exc
        except JournalError:
            self._engine.dispose()
            raise

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- connections and transactions ---------------------------------------------

    @property
    def in_transaction(self) -> bool:
        return getattr(self._local, "conn", None) is not None

    @contextmanager
    def _tx(self) -> Iterator[sa.Connection]:
        current: sa.Connection | None = getattr(self._local, "conn", None)
        if current is not None:  # inside transaction(): part of the outer one
            yield current
            return
        with self._lock:
            try:
                with self._engine.connect() as conn:
                    conn.execution_options(**{WRITE: True})
                    with conn.begin():
                        self._local.conn = conn
                        try:
                            yield conn
                        finally:
                            self._local.conn = None
            except sa.exc.SQLAlchemyError as exc:
                raise self._error("cannot write", exc) from exc

    @contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        current: sa.Connection | None = getattr(self._local, "conn", None)
        if current is not None:
            yield current
            return
        with self._lock:
            try:
                with self._engine.connect() as conn:
                    yield conn
            except sa.exc.SQLAlchemyError as exc:
                raise self._error("cannot read", exc) from exc

    def ping(self) -> None:
        """Raise :class:`JournalError` unless the journal answers a query now."""
        with self._read() as conn:
            try:
                conn.execute(sa.text("SELECT 1"))
            except sa.exc.SQLAlchemyError as exc:
                raise self._error("cannot read", exc) from exc

    def _error(self, what: str, exc: sa.exc.SQLAlchemyError) -> JournalError:
        code = getattr(getattr(exc, "orig", None), "sqlstate", None)
        kind = JournalConflict if code in _CONFLICTS else JournalError
        return kind(f"journal {self.location}: {what}: {describe(exc)}")

    def transaction(self) -> Any:
        """One write transaction around several calls (read, compare, write), atomic
        across threads and processes; the methods called inside join it. Yields the
        SQLAlchemy connection."""
        return self._tx()

    def atomically(self, work: Callable[[], _T], attempts: int = 5) -> _T:
        """``work()`` in one transaction; run again (from the start) when PostgreSQL
        rolled it back as the loser of a deadlock. Inside another transaction it just joins it."""
        for attempt in range(1, attempts + 1):
            try:
                with self.transaction():  # the public entry, so a subclass that wraps transactions sees these
                    return work()
            except JournalConflict:
                if self.in_transaction or attempt == attempts:
                    raise
                time.sleep(0.01 * attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _insert(self, table: sa.Table) -> Any:
        """An INSERT that can say ON CONFLICT (both dialects spell it the same way)."""
        return postgresql.insert(table) if self._pg else sqlite.insert(table)

    def _locked(self, query: sa.Select[Any]) -> sa.Select[Any]:
        """Inside a write transaction, lock the recipient rows read (PostgreSQL; SQLite locked the file)."""
        return query.with_for_update(of=recipients) if self._pg and self.in_transaction else query

    # --- campaigns -------------------------------------------------------------

    def open_campaign(
        self, campaign: str, provider: str, mode: str, fingerprint: str, message: dict[str, Any]
    ) -> Campaign:
        """Create the campaign, or check that an existing one is the same message."""
        with self._tx() as db:  # one transaction: two senders of one campaign cannot both insert
            db.execute(
                self._insert(campaigns)
                .values(
                    id=campaign,
                    provider=provider,
                    mode=mode,
                    fingerprint=fingerprint,
                    message=json.dumps(message, sort_keys=True),
                    created_at=time.time(),
                )
                .on_conflict_do_nothing()
            )
            existing = self.campaign(campaign)
        assert existing is not None
        if (existing.provider, existing.fingerprint) != (provider, fingerprint):
            raise JournalError(
                f"campaign {campaign!r} in {self.location} was started with a different "
                f"{'provider' if existing.provider != provider else 'message or options'}; use another `campaign`"
            )
        return existing

    def campaign(self, campaign: str) -> Campaign | None:
        with self._read() as db:
            row = db.execute(sa.select(campaigns).where(campaigns.c.id == campaign)).first()
        return _campaign(row) if row is not None else None

    def campaigns(self) -> list[Campaign]:
        with self._read() as db:
            rows = db.execute(sa.select(campaigns).order_by(campaigns.c.created_at, campaigns.c.id)).all()
        return [_campaign(r) for r in rows]

    def sent_to(self, provider: str, address: str, before: float, window_s: float) -> RecipientRow | None:
        """The latest send of ``provider`` to ``address`` accepted in [before - window, before]."""
        r = recipients.c
        query = (
            sa.select(recipients)
            .join(campaigns, campaigns.c.id == r.campaign)
            .where(
                campaigns.c.provider == provider,
                r.address == address,
                r.sent_at.is_not(None),
                r.sent_at.between(before - window_s, before),
                r.status.not_in(["rejected", "failed", "pending", "in_flight"]),
            )
            .order_by(r.sent_at.desc())
            .limit(1)
        )
        with self._read() as db:
            row = db.execute(self._locked(query)).first()
        return _row(row) if row else None

    # --- recipients --------------------------------------------------------------

    def add_recipients(self, campaign: str, recipients_: list[Recipient]) -> None:
        if not recipients_:
            return
        now = time.time()
        rows = [
            {"campaign": campaign, "address": r.address, "client_id": client_id(campaign, r.address),
             "status": "pending", "updated_at": now}
            for r in recipients_
        ]  # fmt: skip
        with self._tx() as db:
            db.execute(self._insert(recipients).on_conflict_do_nothing(), rows)

    def add_rejected(self, campaign: str, raw: str, reason: str) -> None:
        """A recipient refused before sending (invalid number), kept so reports list it."""
        values: dict[str, Any] = {
            "campaign": campaign, "address": raw, "client_id": client_id(campaign, raw), "status": "rejected",
            "error": reason, "updated_at": time.time(),
        }  # fmt: skip
        reset = {c.name: None for c in recipients.columns if c.nullable and c.name not in values}
        with self._tx() as db:
            db.execute(
                self._insert(recipients)
                .values(values)
                .on_conflict_do_update(
                    index_elements=[recipients.c.campaign, recipients.c.address],
                    set_={**values, **reset, "attempts": 0},
                )
            )

    def settle_interrupted(self, campaign: str, chunks_: Iterable[int] | None = None) -> int:
        """After a crash, where the provider cannot be asked: in-flight recipients become unknown
        (of the given chunks only, when given)."""
        where = [recipients.c.campaign == campaign, recipients.c.status == "in_flight"]
        if chunks_ is not None:
            where.append(recipients.c.chunk.in_(list(chunks_)))
        with self._tx() as db:
            done = db.execute(
                sa.update(recipients).where(*where).values(status="unknown", error=_INTERRUPTED, updated_at=time.time())
            )
            return done.rowcount

    def in_doubt(self, campaign: str) -> list[RecipientRow]:
        """Recipients whose request may have reached the provider: in flight, or unknown without a reference."""
        query = (
            sa.select(recipients)
            .where(recipients.c.campaign == campaign, _IN_DOUBT)
            .order_by(recipients.c.chunk, recipients.c.address)
        )
        with self._read() as db:
            return [_row(r) for r in db.execute(query)]

    def reopen_unknown(self, campaign: str) -> int:
        with self._tx() as db:
            done = db.execute(
                sa.update(recipients)
                .where(recipients.c.campaign == campaign, recipients.c.status == "unknown", recipients.c.ref.is_(None))
                .values(status="pending", updated_at=time.time())
            )
            return done.rowcount

    def sendable(self, campaign: str) -> list[tuple[Recipient, int]]:
        query = (
            sa.select(recipients.c.address, recipients.c.client_id)
            .where(recipients.c.campaign == campaign, CLAIMABLE)
            .order_by(recipients.c.address)
        )
        with self._read() as db:
            return [(Recipient(a), cid) for a, cid in db.execute(query)]

    def has_sendable(self, campaign: str) -> bool:
        query = sa.select(recipients.c.address).where(recipients.c.campaign == campaign, CLAIMABLE).limit(1)
        with self._read() as db:
            return db.execute(query).first() is not None

    def mark_in_flight(self, campaign: str, chunk: int, addresses: list[str]) -> None:
        with self._tx() as db:
            db.execute(
                sa.update(recipients)
                .where(recipients.c.campaign == campaign, recipients.c.address.in_(addresses))
                .values(status="in_flight", chunk=chunk, attempts=recipients.c.attempts + 1, updated_at=time.time())
            )

    def record(
        self,
        campaign: str,
        outcomes: list[tuple[str, str, str | None, str | None]],
        *,
        chunk: int | None = None,
    ) -> None:
        """Outcomes of a chunk: (address, status, ref, error). With ``chunk``, only its
        recipients still in doubt change (a look-up settling a chunk left by a dead run)."""
        if not outcomes:
            return
        now = time.time()
        where = [recipients.c.campaign == campaign, recipients.c.address == sa.bindparam("_address")]
        if chunk is not None:
            where += [recipients.c.chunk == chunk, _IN_DOUBT]
        statement = (
            sa.update(recipients)
            .where(*where)
            .values(status=sa.bindparam("_status"), ref=sa.bindparam("_ref"), error=sa.bindparam("_error"),
                    sent_at=now, status_at=now, updated_at=now)
        )  # fmt: skip
        rows = [{"_address": a, "_status": str(s), "_ref": ref, "_error": e} for a, s, ref, e in outcomes]
        with self._tx() as db:
            db.execute(statement, rows)

    def requeue(
        self, campaign: str, addresses: list[str], error: str | None = None, *, chunk: int | None = None
    ) -> None:
        """Pending again: a look-up showed the provider never took these requests (with ``chunk``:
        only its recipients still in doubt)."""
        if not addresses:
            return
        where = [recipients.c.campaign == campaign, recipients.c.address.in_(addresses)]
        if chunk is not None:
            where += [recipients.c.chunk == chunk, _IN_DOUBT]
        with self._tx() as db:
            db.execute(
                sa.update(recipients).where(*where).values(status="pending", error=error, updated_at=time.time())
            )

    def rows(self, campaign: str) -> list[RecipientRow]:
        query = sa.select(recipients).where(recipients.c.campaign == campaign).order_by(recipients.c.address)
        with self._read() as db:
            return [_row(r) for r in db.execute(query)]

    # --- claims: who sends which chunk ------------------------------------------

    def claim(
        self, campaign: str, owner: str, chunk: int, addresses: list[str], ttl_s: float, *, lease: bool = True
    ) -> None:
        """Mark a chunk in flight (again, after a try that proved nothing was taken), in one
        transaction with the check of ``owner``'s campaign lease (``lease``, SQLite) or of its
        claim on the chunk.

        Raises :class:`LeaseLost` (changing nothing) when the lease or the claim is no longer
        ``owner``'s, or when a recipient of the chunk is no longer sendable.
        """
        now = time.time()
        with self._tx() as db:
            if lease:
                self._renew(db, campaign, owner, now, ttl_s)
            held = db.execute(
                sa.update(chunks)
                .where(chunks.c.id == chunk, chunks.c.owner == owner)
                .values(expires=now + ttl_s, done=False)
            ).rowcount
            taken = sa.select(recipients.c.address).where(
                recipients.c.campaign == campaign, recipients.c.address.in_(addresses), CLAIMABLE
            )
            if self._pg:
                taken = taken.with_for_update(skip_locked=True)
            free = len(db.execute(taken).all())
            if free != len(addresses) or (not held and not lease):
                raise LeaseLost(
                    f"campaign {campaign!r}: recipients of chunk {chunk} were settled by another run; "
                    + ("this run stops sending" if lease else "this run leaves them to it")
                )
            db.execute(
                sa.update(recipients)
                .where(recipients.c.campaign == campaign, recipients.c.address.in_(addresses))
                .values(status="in_flight", chunk=chunk, attempts=recipients.c.attempts + 1, updated_at=now)
            )

    def last_chunk(self, campaign: str) -> int:
        """The highest chunk id claimed so far (every chunk claimed later has a higher one)."""
        with self._read() as db:
            claimed = db.execute(sa.select(sa.func.max(chunks.c.id))).scalar()
            numbered = db.execute(
                sa.select(sa.func.max(recipients.c.chunk)).where(recipients.c.campaign == campaign)
            ).scalar()  # chunks numbered before claims were recorded
        return max(int(claimed or 0), int(numbered or 0))

    def claim_next(
        self,
        campaign: str,
        owner: str,
        host: str,
        pid: int,
        size: int,
        ttl_s: float,
        *,
        lease: bool = True,
        since: int | None = None,
    ) -> tuple[int, list[tuple[Recipient, int]]] | None:
        """Claim the next ``size`` sendable recipients (by address) as a new chunk and mark them in
        flight; ``(chunk id, [(recipient, client id)])``, or None when nothing is left to claim.

        With ``lease`` (SQLite) ``owner``'s campaign lease is checked and renewed in the same
        transaction (:class:`LeaseLost` when it is gone). On PostgreSQL rows another run is
        claiming are skipped (``FOR UPDATE SKIP LOCKED``), so concurrent runs get disjoint chunks.
        Recipients put back to pending by a chunk still claimed (waiting out a back-off) stay its.
        ``since`` (:meth:`last_chunk` when the run started): recipients of chunks claimed after it
        (and failed since) are left for the next run, so a run tries each recipient once.
        """
        now = time.time()
        with self._tx() as db:
            if lease:
                self._renew(db, campaign, owner, now, ttl_s)
            reserved = sa.select(chunks.c.id).where(
                chunks.c.campaign == campaign, chunks.c.done.is_(False), chunks.c.expires > now
            )
            query = (
                sa.select(recipients.c.address, recipients.c.client_id)
                .where(
                    recipients.c.campaign == campaign,
                    CLAIMABLE,
                    sa.or_(
                        recipients.c.chunk.is_(None),
                        sa.and_(
                            recipients.c.chunk.not_in(reserved),
                            sa.true() if since is None else recipients.c.chunk <= since,
                        ),
                    ),
                )
                .order_by(recipients.c.address)
                .limit(size)
            )
            if self._pg:
                query = query.with_for_update(of=recipients, skip_locked=True)
            found = db.execute(query).all()
            if not found:
                return None
            inserted = db.execute(
                chunks.insert().values(campaign=campaign, owner=owner, host=host, pid=pid, claimed_at=now,
                                       expires=now + ttl_s, done=False)
            ).inserted_primary_key  # fmt: skip
            assert inserted is not None
            chunk = int(inserted[0])
            db.execute(
                sa.update(recipients)
                .where(recipients.c.campaign == campaign, recipients.c.address.in_([a for a, _ in found]))
                .values(status="in_flight", chunk=chunk, attempts=recipients.c.attempts + 1, updated_at=now)
            )
        return chunk, [(Recipient(a), cid) for a, cid in found]

    def unclaim(self, campaign: str, chunk: int, addresses: list[str]) -> None:
        """Back to pending: the answer proved the provider took nothing (429, 502-504, no connection).
        The chunk's claim stays, so they wait for its next try, not another run."""
        with self._tx() as db:
            db.execute(
                sa.update(recipients)
                .where(
                    recipients.c.campaign == campaign,
                    recipients.c.address.in_(addresses),
                    recipients.c.status == "in_flight",
                    recipients.c.chunk == chunk,
                )
                .values(status="pending", updated_at=time.time())
            )

    def finish_chunk(self, chunk: int, owner: str | None = None) -> None:
        """The chunk's claim is over: its outcome is recorded (or it was given up). With ``owner``,
        only while the claim is still ``owner``'s (another run may have taken it over)."""
        where = [chunks.c.id == chunk] + ([chunks.c.owner == owner] if owner is not None else [])
        with self._tx() as db:
            db.execute(sa.update(chunks).where(*where).values(done=True, expires=time.time()))

    def renew_claims(self, owner: str, ttl_s: float) -> int:
        """Extend every open chunk claim of ``owner``; how many it still holds."""
        now = time.time()
        with self._tx() as db:
            return db.execute(
                sa.update(chunks).where(chunks.c.owner == owner, chunks.c.done.is_(False)).values(expires=now + ttl_s)
            ).rowcount

    def claims(self, campaign: str) -> list[ChunkClaim]:
        """Every chunk claimed in ``campaign`` (done or not), oldest first."""
        with self._read() as db:
            rows = db.execute(sa.select(chunks).where(chunks.c.campaign == campaign).order_by(chunks.c.id)).all()
        return [_claim(r) for r in rows]

    def open_claims(self, campaign: str) -> list[ChunkClaim]:
        with self._read() as db:
            rows = db.execute(
                sa.select(chunks).where(chunks.c.campaign == campaign, chunks.c.done.is_(False)).order_by(chunks.c.id)
            ).all()
        return [_claim(r) for r in rows]

    def doubtful_chunks(self, campaign: str, host: str) -> list[tuple[int, ChunkClaim | None, list[RecipientRow]]]:
        """Chunks with recipients in doubt whose claim is not live (their run is gone, or they are done):
        ``(chunk, claim or None for a chunk from before claims, rows)``, by chunk."""
        now = time.time()
        with self._read() as db:
            rows = [
                _row(r)
                for r in db.execute(
                    sa.select(recipients)
                    .where(recipients.c.campaign == campaign, _IN_DOUBT, recipients.c.chunk.is_not(None))
                    .order_by(recipients.c.chunk, recipients.c.address)
                )
            ]
            ids = sorted({r.chunk for r in rows if r.chunk is not None})
            claims = {c.id: c for c in map(_claim, db.execute(sa.select(chunks).where(chunks.c.id.in_(ids))).all())}
        found: list[tuple[int, ChunkClaim | None, list[RecipientRow]]] = []
        for chunk in ids:
            claim = claims.get(chunk)
            if claim is None or not claim.live(now, host):
                found.append((chunk, claim, [r for r in rows if r.chunk == chunk]))
        return found

    def take_over(self, claim: ChunkClaim, owner: str, host: str, pid: int, ttl_s: float) -> bool:
        """Claim a chunk as it was seen in ``claim`` (compare and swap): False when someone
        changed it since (its run renewed it, or another run took it over first)."""
        now = time.time()
        with self._tx() as db:
            return bool(
                db.execute(
                    sa.update(chunks)
                    .where(chunks.c.id == claim.id, chunks.c.owner == claim.owner, chunks.c.expires == claim.expires,
                           chunks.c.done.is_(claim.done))
                    .values(owner=owner, host=host, pid=pid, expires=now + ttl_s, done=False)
                ).rowcount
            )  # fmt: skip

    # --- the shared rate limit ----------------------------------------------------

    def take_slot(self, key: str, interval_s: float) -> float:
        """Reserve the next request slot of the pacer ``key`` (slots ``interval_s`` apart, shared by
        every process using this journal); the seconds to wait for it. Times are the database's
        clock on PostgreSQL, so hosts whose clocks differ still share one pace."""
        with self._tx() as db:
            now = self._now(db)
            db.execute(self._insert(pacers).values(key=key, next_at=now).on_conflict_do_nothing())
            slot = db.execute(sa.select(pacers.c.next_at).where(pacers.c.key == key).with_for_update()).scalar_one()
            slot = max(float(slot), now)
            db.execute(sa.update(pacers).where(pacers.c.key == key).values(next_at=slot + interval_s))
        return slot - now

    def hold_slots(self, key: str, seconds: float) -> None:
        """No slot of ``key`` starts in the next ``seconds`` (a 429's Retry-After holds every sender)."""
        with self._tx() as db:
            until = self._now(db) + seconds
            db.execute(self._insert(pacers).values(key=key, next_at=until).on_conflict_do_nothing())
            db.execute(sa.update(pacers).where(pacers.c.key == key, pacers.c.next_at < until).values(next_at=until))

    def _now(self, db: sa.Connection) -> float:
        if not self._pg:
            return time.time()  # one host
        return float(db.execute(sa.select(sa.extract("epoch", sa.func.clock_timestamp()))).scalar_one())

    # --- leases (SQLite: one run per campaign) --------------------------------------

    def lease(self, campaign: str) -> Lease | None:
        with self._read() as db:
            row = db.execute(sa.select(leases).where(leases.c.campaign == campaign)).first()
        return Lease(*row) if row else None

    def take_lease(self, campaign: str, owner: str, host: str, pid: int, ttl_s: float) -> Lease:
        """Take the campaign's lease when it is free, expired, or held by a process of this host that is gone;
        else raise :class:`LeaseHeld`."""
        now = time.time()
        with self._tx() as db:
            row = db.execute(sa.select(leases).where(leases.c.campaign == campaign).with_for_update()).first()
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
            db.execute(
                self._insert(leases)
                .values(mine.__dict__)
                .on_conflict_do_update(index_elements=[leases.c.campaign], set_=mine.__dict__)
            )
        return mine

    def _renew(self, db: sa.Connection, campaign: str, owner: str, now: float, ttl_s: float) -> None:
        renewed = db.execute(
            sa.update(leases)
            .where(leases.c.campaign == campaign, leases.c.owner == owner)
            .values(heartbeat=now, expires=now + ttl_s)
        ).rowcount
        if not renewed:
            raise LeaseLost(
                f"campaign {campaign!r}: another run took over this campaign's lease; this run stops sending"
            )

    def renew_lease(self, campaign: str, owner: str, ttl_s: float) -> bool:
        """Extend ``owner``'s lease and its open chunk claims; False when the lease is no longer ``owner``'s."""
        now = time.time()
        with self._tx() as db:
            try:
                self._renew(db, campaign, owner, now, ttl_s)
            except LeaseLost:
                return False
            db.execute(
                sa.update(chunks).where(chunks.c.owner == owner, chunks.c.done.is_(False)).values(expires=now + ttl_s)
            )
            return True

    def release_lease(self, campaign: str, owner: str) -> None:
        with self._tx() as db:
            db.execute(sa.delete(leases).where(leases.c.campaign == campaign, leases.c.owner == owner))

    # --- delivery updates (callbacks, polls) ----------------------------------

    def find(self, provider: str | None = None, **where: Any) -> list[RecipientRow]:
        """Rows matching every given column, e.g. ``find(ref="abc")``, of ``provider``'s campaigns if given.

        Inside a transaction the rows found are locked until it ends (PostgreSQL), so a
        read-compare-write of a delivery update cannot interleave with another.
        """
        allowed = {"campaign", "address", "client_id", "ref", "status"}
        if not where or set(where) - allowed:
            raise JournalError(f"journal: cannot search by {sorted(set(where) - allowed) or 'nothing'}")
        query = sa.select(recipients).where(*(recipients.c[k] == v for k, v in where.items()))
        if provider is not None:
            query = query.join(campaigns, campaigns.c.id == recipients.c.campaign).where(
                campaigns.c.provider == provider
            )
        query = query.order_by(recipients.c.campaign, recipients.c.address)  # one lock order: no deadlock
        with self._read() as db:
            return [_row(r) for r in db.execute(self._locked(query))]

    def update_delivery(self, campaign: str, address: str, **fields: Any) -> None:
        allowed = {"status", "raw_status", "reason", "duration_s", "dtmf", "cost", "ref", "error", "status_at"}
        if set(fields) - allowed:
            raise JournalError(f"journal: cannot update {sorted(set(fields) - allowed)}")
        if any(isinstance(v, float) and not math.isfinite(v) for v in fields.values()):
            raise JournalError(f"journal: refusing a number that is not finite in {sorted(fields)}")
        values = {k: str(v) if isinstance(v, Status) else v for k, v in fields.items()}
        with self._tx() as db:
            db.execute(
                sa.update(recipients)
                .where(recipients.c.campaign == campaign, recipients.c.address == address)
                .values(**values, updated_at=time.time())
            )

    def add_event(self, campaign: str | None, address: str | None, source: str, payload: Any) -> None:
        text = json.dumps(_finite(payload), sort_keys=True, default=str, allow_nan=False)
        with self._tx() as db:
            db.execute(
                events.insert().values(campaign=campaign, address=address, source=source, payload=text, at=time.time())
            )

    def events(self, campaign: str) -> list[Event]:
        """The campaign's recorded callbacks and look-ups, in the order they arrived."""
        query = (
            sa.select(events.c.campaign, events.c.address, events.c.source, events.c.payload, events.c.at)
            .where(events.c.campaign == campaign)
            .order_by(events.c.id)
        )
        with self._read() as db:
            rows = db.execute(query).all()
        return [Event(c, a, s, json.loads(p), at) for c, a, s, p, at in rows]

    def hook_secret(self) -> str:
        """The per-journal secret in callback URLs (created on first use)."""
        with self._tx() as db:
            db.execute(
                self._insert(meta).values(key="hook_secret", value=secrets.token_urlsafe(18)).on_conflict_do_nothing()
            )
            return str(db.execute(sa.select(meta.c.value).where(meta.c.key == "hook_secret")).scalar_one())


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
