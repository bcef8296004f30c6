"""Per-chunk claims (several senders of one campaign on PostgreSQL) and the shared rate limit.

Revision ID: 0002
Revises: 0001
Create Date: 2026-01-02

``chunks``: one row per claimed chunk (owner, host, pid, expiry, done);
recipients name their chunk by its id. Chunk numbers written before this
revision have no row (they count as left by a run that is gone), and new
ids start above every number already used, so a chunk's reference (sent to
the provider as ``<campaign>-<chunk>``) never repeats within a campaign.
``pacers``: the next free request slot of a campaign's shared rate limit.
Two indexes: the claimable recipients of a campaign, a campaign's events.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

__all__ = ["downgrade", "upgrade"]

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_MAYBE_CLAIMABLE = sa.text("status IN ('pending', 'failed')")


def upgrade() -> None:
    op.create_table(
        "chunks",
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
    op.create_index("chunks_open", "chunks", ["campaign", "done"])
    op.create_table(
        "pacers", sa.Column("key", sa.Text, primary_key=True), sa.Column("next_at", sa.Double, nullable=False)
    )
    op.create_index(
        "recipients_claimable",
        "recipients",
        ["campaign", "address"],
        sqlite_where=_MAYBE_CLAIMABLE,
        postgresql_where=_MAYBE_CLAIMABLE,
    )
    op.create_index("events_campaign", "events", ["campaign", "id"])
    bind = op.get_bind()
    used = bind.execute(sa.text("SELECT coalesce(max(chunk), 0) FROM recipients")).scalar() or 0
    if used and bind.dialect.name == "sqlite":
        bind.execute(sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES ('chunks', :used)"), {"used": used})
    elif used:
        bind.execute(sa.text("SELECT setval(pg_get_serial_sequence('chunks', 'id'), :used)"), {"used": used})


def downgrade() -> None:
    op.drop_index("events_campaign", "events")
    op.drop_index("recipients_claimable", "recipients")
    op.drop_table("pacers")
    op.drop_index("chunks_open", "chunks")
    op.drop_table("chunks")
