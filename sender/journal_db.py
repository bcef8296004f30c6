"""Where a send journal lives, and the SQLAlchemy engine over it.

A journal location is either a file for **SQLite** (a path, or
``sqlite:///relative/path`` / ``sqlite:////absolute/path``) or a database
on a **PostgreSQL** server (``postgresql://user:password@host:port/db``;
``postgres://`` and ``postgresql+psycopg://`` say the same; the driver is
psycopg 3). Anything else is refused in one line that names it.

SQLite keeps every guarantee it had before SQLAlchemy: the file (and its
-wal/-shm) is created readable by its owner only, in WAL mode with
``synchronous=FULL``, and a write transaction is ``BEGIN IMMEDIATE`` (it
takes the file's write lock before it reads, so a read-compare-write is
atomic across processes). One connection serves a process, behind the
journal's lock. PostgreSQL gets a small pool (one connection per thread
that uses the journal), READ COMMITTED transactions and row locks where a
read decides a write.

Errors from the driver become one line (:func:`describe`), secrets redacted.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.pool import StaticPool

from voxpipe.pipeline.redaction import redact_text, redact_url

from .errors import JournalError

__all__ = [
    "WRITE",
    "JournalLocation",
    "create_private",
    "describe",
    "enable_wal",
    "is_database",
    "make_engine",
    "parse_location",
]

WRITE = "voxpipe_write"
"""Execution option of a connection that writes: SQLite begins it with ``BEGIN IMMEDIATE``."""

_POSTGRES = ("postgresql", "postgres", "postgresql+psycopg")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
# pathlib collapses "//": a URL that went through Path() (as `voxpipe serve` hands it on) reads "postgresql:/...".
_COLLAPSED = re.compile(r"^(postgresql|postgres|postgresql\+psycopg|sqlite):/(?!/)")
_CONNECT_TIMEOUT_S = 10


@dataclass(frozen=True)
class JournalLocation:
    """A parsed journal location: the SQLAlchemy URL, how messages show it, and the SQLite file if it is one."""

    url: sa.URL
    shown: str
    """For messages and logs: the path, or the URL with its password and query values hidden."""
    path: Path | None
    """The SQLite file; None for PostgreSQL."""

    @property
    def is_sqlite(self) -> bool:
        return self.path is not None


def parse_location(where: str | Path) -> JournalLocation:
    """A path, ``sqlite:///path`` or ``postgresql://…``; :class:`JournalError` for anything else."""
    text = str(where)
    if isinstance(where, Path):
        text = _COLLAPSED.sub(lambda m: f"{m.group(1)}://", text)
    scheme = _SCHEME.match(text)
    if scheme is None:
        if not text.strip():
            raise JournalError("journal: an empty path")
        path = Path(text)
        return JournalLocation(sa.URL.create("sqlite", database=str(path)), str(path), path)
    name = scheme.group(1).lower()
    shown = redact_url(text)
    try:
        url = sa.make_url(text)
    except (sa.exc.ArgumentError, ValueError) as exc:
        raise JournalError(f"journal {shown}: not a database URL ({redact_text(str(exc))})") from None
    if name == "sqlite":
        if not url.database:
            raise JournalError(f"journal {shown}: a journal is a file; write sqlite:///path/to/journal.db")
        path = Path(url.database)
        return JournalLocation(sa.URL.create("sqlite", database=str(path)), str(path), path)
    if name in _POSTGRES:
        if not url.database:
            raise JournalError(f"journal {shown}: name the database, as in postgresql://user@host/voxpipe")
        return JournalLocation(url.set(drivername="postgresql+psycopg"), shown, None)
    raise JournalError(f"journal {shown}: not a path, sqlite:/// or postgresql:// URL")


def is_database(where: str | Path) -> bool:
    """Whether ``where`` names a database server (PostgreSQL) rather than an SQLite file."""
    text = _COLLAPSED.sub(lambda m: f"{m.group(1)}://", str(where)) if isinstance(where, Path) else str(where)
    scheme = _SCHEME.match(text)
    return scheme is not None and scheme.group(1).lower() in _POSTGRES


def create_private(path: Path) -> None:
    """Create the journal file readable by its owner only; SQLite gives -wal/-shm the same mode."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass


def make_engine(location: JournalLocation) -> sa.Engine:
    """The engine for ``location``: one shared connection for SQLite, a small pool for PostgreSQL."""
    if location.is_sqlite:
        engine = sa.create_engine(
            location.url,
            poolclass=StaticPool,  # one connection per process; the journal's lock serialises its threads
            connect_args={"check_same_thread": False, "timeout": 30},
        )
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return sa.create_engine(
        location.url,
        pool_size=8,
        max_overflow=24,
        pool_timeout=60,
        pool_pre_ping=True,  # a long-lived receiver outlives server restarts
        connect_args={"connect_timeout": _CONNECT_TIMEOUT_S, "application_name": "voxpipe"},
    )


def _sqlite_connect(dbapi: Any, record: Any) -> None:
    dbapi.isolation_level = None  # the driver's own transaction handling is off: _sqlite_begin says BEGIN
    # FULL: an outcome written before a crash must survive it (NORMAL may lose the last commits).
    dbapi.execute("PRAGMA synchronous=FULL")


def _sqlite_begin(conn: sa.Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE) else "BEGIN")


def enable_wal(conn: sa.Connection) -> None:
    """WAL mode for an SQLite journal (outside any transaction, where SQLite allows the switch)."""
    driver = conn.connection.driver_connection
    assert driver is not None
    driver.execute("PRAGMA journal_mode=WAL")


def describe(exc: BaseException) -> str:
    """One line saying what the database or its driver reported (no SQL, no secrets)."""
    orig = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(orig).splitlines() if line.strip()]
    text = lines[0] if lines else type(orig).__name__
    if len(lines) > 1 and lines[0].endswith(":"):  # psycopg: "connection failed:" then the reason
        text = f"{lines[0]} {lines[1]}"
    return redact_text(" ".join(text.split()))
