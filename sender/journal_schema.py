"""The journal's tables, their schema versions, and upgrades by Alembic.

The tables below are the schema at :data:`HEAD`. Each change to them is an
Alembic revision shipped inside the package (``migrations/versions``);
:data:`REVISIONS` lists them in order, and a test checks it against
Alembic's own history. The database records its revision in the table
:data:`VERSION_TABLE` (not Alembic's default name, so a database shared
with another application's migrations stays apart).

Opening a journal checks its revision (:func:`check_schema`) without
importing Alembic:

- no voxpipe tables: a new SQLite file gets the schema at once (as before);
  a PostgreSQL database is refused until ``voxpipe journal upgrade``
  creates it (a URL that names the wrong database must not fill it with
  tables, and the user who sends need not be allowed to create them);
- an older revision, or an SQLite journal from before revisions existed
  (it has ``campaigns`` but no version table): refused with one line saying
  to run ``voxpipe journal upgrade``; never upgraded silently;
- a revision this voxpipe does not know: written by a newer voxpipe, refused;
- tables that are not a journal's: refused.

:func:`upgrade` runs the missing revisions in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from .errors import JournalError
from .journal_db import WRITE, JournalLocation, create_private, describe, enable_wal, make_engine, parse_location

__all__ = [
    "CLAIMABLE",
    "HEAD",
    "MIGRATIONS",
    "REVISIONS",
    "VERSION_TABLE",
    "SchemaState",
    "check_schema",
    "create_schema",
    "schema_state",
    "upgrade",
]

REVISIONS = ("0001", "0002")
"""Every schema revision, oldest first: 0001 is the journal of voxpipe 0.1 (no version table), 0002
adds per-chunk claims and the shared rate limit."""
HEAD = REVISIONS[-1]
VERSION_TABLE = "voxpipe_schema_version"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
"""Alembic's script folder (env.py and versions/), shipped as package data."""

metadata = sa.MetaData()
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite: INTEGER PRIMARY KEY AUTOINCREMENT

campaigns = sa.Table(
    "campaigns",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("provider", sa.Text, nullable=False),
    sa.Column("mode", sa.Text, nullable=False),
    sa.Column("fingerprint", sa.Text, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
)
recipients = sa.Table(  # column order = RecipientRow's fields
    "recipients",
    metadata,
    sa.Column("campaign", sa.Text, sa.ForeignKey("campaigns.id"), nullable=False),
    sa.Column("address", sa.Text, nullable=False),
    sa.Column("client_id", sa.BigInteger, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("chunk", sa.BigInteger),
    sa.Column("ref", sa.Text),
    sa.Column("error", sa.Text),
    sa.Column("raw_status", sa.Text),
    sa.Column("reason", sa.Text),
    sa.Column("duration_s", sa.Double),
    sa.Column("dtmf", sa.Text),
    sa.Column("cost", sa.Text),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("sent_at", sa.Double),
    sa.Column("status_at", sa.Double),
    sa.Column("updated_at", sa.Double, nullable=False),
    sa.PrimaryKeyConstraint("campaign", "address"),
)
CLAIMABLE = sa.or_(
    recipients.c.status == "pending", sa.and_(recipients.c.status == "failed", recipients.c.raw_status.is_(None))
)
"""Recipients a run may send: never accepted (a delivery failure from a callback has a raw status)."""
_MAYBE_CLAIMABLE = recipients.c.status.in_(["pending", "failed"])
sa.Index("recipients_ref", recipients.c.ref)
sa.Index("recipients_client_id", recipients.c.client_id)
sa.Index(  # finding the next chunk does not walk past everything already sent
    "recipients_claimable",
    recipients.c.campaign,
    recipients.c.address,
    sqlite_where=_MAYBE_CLAIMABLE,
    postgresql_where=_MAYBE_CLAIMABLE,
)
events = sa.Table(
    "events",
    metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("campaign", sa.Text),
    sa.Column("address", sa.Text),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("at", sa.Double, nullable=False),
    sqlite_autoincrement=True,
)
sa.Index("events_campaign", events.c.campaign, events.c.id)
meta = sa.Table(
    "meta",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
leases = sa.Table(  # SQLite: the one run that sends a campaign (voxpipe.sender.lease)
    "leases",
    metadata,
    sa.Column("campaign", sa.Text, primary_key=True),
    sa.Column("owner", sa.Text, nullable=False),
    sa.Column("host", sa.Text, nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("heartbeat", sa.Double, nullable=False),
    sa.Column("expires", sa.Double, nullable=False),
)
chunks = sa.Table(  # one row per claimed chunk: who sends it, until when the claim holds
    "chunks",
    metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("campaign", sa.Text, nullable=False),
    sa.Column("owner", sa.Text, nullable=False),
    sa.Column("host", sa.Text, nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("claimed_at", sa.Double, nullable=False),
    sa.Column("expires", sa.Double, nullable=False),
    sa.Column("done", sa.Boolean, nullable=False, server_default=sa.false()),
    sqlite_autoincrement=True,
)
sa.Index("chunks_open", chunks.c.campaign, chunks.c.done)
pacers = sa.Table(  # the next free request slot of a campaign's shared rate limit
    "pacers",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("next_at", sa.Double, nullable=False),
)
_version = sa.Table(VERSION_TABLE, sa.MetaData(), sa.Column("version_num", sa.String(32), primary_key=True))
_OURS = frozenset(metadata.tables)


@dataclass(frozen=True)
class SchemaState:
    """What a database holds: its revision (None: unversioned or empty) and its tables."""

    revision: str | None
    tables: frozenset[str]


def schema_state(conn: sa.Connection) -> SchemaState:
    tables = frozenset(sa.inspect(conn).get_table_names())
    revision = conn.execute(sa.select(_version.c.version_num)).scalar() if VERSION_TABLE in tables else None
    return SchemaState(revision, tables)


def _verdict(state: SchemaState, location: JournalLocation) -> str:
    """One of current, empty (no journal yet) or older; raises :class:`JournalError` for what cannot be upgraded."""
    where = f"journal {location.shown}"
    if state.revision == HEAD:
        return "current"
    if state.revision is None:
        if location.is_sqlite:
            if not state.tables:
                return "empty"
            if "campaigns" in state.tables:
                return "older"  # voxpipe 0.1 wrote no version
            raise JournalError(f"{where}: an SQLite file of something else, not a voxpipe journal")
        if not state.tables & _OURS:  # a shared database may hold other applications' tables
            return "empty"
        found = ", ".join(sorted(state.tables & _OURS))
        raise JournalError(f"{where}: the database has tables named like a journal's ({found}) that no voxpipe made")
    if state.revision not in REVISIONS:
        raise JournalError(
            f"{where}: its schema {state.revision} was written by a newer voxpipe (this one knows up to {HEAD}); "
            "use that voxpipe or a newer one"
        )
    return "older"


def check_schema(conn: sa.Connection, location: JournalLocation, *, create: bool) -> None:
    """Raise :class:`JournalError` unless the database holds a journal this voxpipe can use as is.

    ``create``: give an empty database the schema (SQLite files on first use).
    """
    state = schema_state(conn)
    verdict = _verdict(state, location)
    if verdict == "current":
        return
    if verdict == "empty" and create:
        create_schema(conn)
        return
    where = f"journal {location.shown}"
    if verdict == "empty":
        raise JournalError(
            f"{where}: the database has no voxpipe journal yet; create it with `voxpipe journal upgrade`"
        )
    older = state.revision or f"{REVISIONS[0]} (unversioned)"
    raise JournalError(
        f"{where}: its schema {older} is older than this voxpipe's {HEAD}; "
        "back it up, then run `voxpipe journal upgrade` on it"
    )


def create_schema(conn: sa.Connection) -> None:
    """The schema at HEAD in an empty database, stamped with its revision (what every migration adds up to)."""
    metadata.create_all(conn)
    _version.create(conn)
    conn.execute(_version.insert().values(version_num=HEAD))


def upgrade(where: str | Path) -> tuple[str | None, str]:
    """Bring the journal at ``where`` to :data:`HEAD` (creating it where there is none).

    Returns ``(revision before, revision after)``; ``None`` before means it
    was created now. Refuses, changing nothing, a journal of a newer
    voxpipe and a database of something else.
    """
    location = parse_location(where)
    if location.path is not None:
        _prepare_file(location)
    engine = make_engine(location)
    try:
        with engine.connect() as conn:
            conn.execution_options(**{WRITE: True})
            with conn.begin():
                state = schema_state(conn)
                verdict = _verdict(state, location)  # raises for a newer voxpipe's or something else's
                if verdict == "current":
                    return HEAD, HEAD
                _run_migrations(conn)
            if location.is_sqlite:
                enable_wal(conn)
        return (state.revision or REVISIONS[0]) if verdict == "older" else None, HEAD
    except sa.exc.SQLAlchemyError as exc:
        raise JournalError(f"journal {location.shown}: cannot upgrade: {describe(exc)}") from exc
    finally:
        engine.dispose()


def _prepare_file(location: JournalLocation) -> None:
    assert location.path is not None
    try:
        location.path.parent.mkdir(parents=True, exist_ok=True)
        create_private(location.path)
    except OSError as exc:
        what = "create its folder" if not location.path.parent.is_dir() else "create it"
        raise JournalError(f"journal {location.shown}: cannot {what}: {exc.strerror or exc}") from exc


def _run_migrations(conn: sa.Connection) -> None:
    """Alembic's upgrade to head on ``conn``, inside the caller's transaction."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    command.upgrade(config, "head")
