"""Alembic's environment for the journal: runs on the connection :func:`voxpipe.sender.journal_schema.upgrade`
hands over, inside its transaction (so a failed upgrade changes nothing).

To write a new revision: ``alembic -c <an ini with script_location = sender/migrations> revision -m "..."``,
then add its id to ``journal_schema.REVISIONS`` and its tables to the metadata there.
"""

from __future__ import annotations

from alembic import context

from voxpipe.sender.journal_schema import VERSION_TABLE, metadata

__all__: list[str] = []

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("journal migrations run through `voxpipe journal upgrade`, on its connection")
context.configure(connection=connection, target_metadata=metadata, version_table=VERSION_TABLE)
with context.begin_transaction():
    context.run_migrations()
