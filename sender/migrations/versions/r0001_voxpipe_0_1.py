"""The journal of voxpipe 0.1: campaigns, recipients, events, meta and the campaign lease.

Revision ID: 0001
Revises:
Create Date: 2026-01-01

voxpipe 0.1 created these tables itself and wrote no version. On such an
SQLite journal this revision creates only what is missing (journals from
before the lease have no ``leases`` table); on an empty database it creates
everything.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

__all__ = ["downgrade", "upgrade"]

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    present = set(sa.inspect(op.get_bind()).get_table_names())
    if "campaigns" not in present:
        op.create_table(
            "campaigns",
            sa.Column("id", sa.Text, primary_key=True),
            sa.Column("provider", sa.Text, nullable=False),
            sa.Column("mode", sa.Text, nullable=False),
            sa.Column("fingerprint", sa.Text, nullable=False),
            sa.Column("message", sa.Text, nullable=False),
            sa.Column("created_at", sa.Double, nullable=False),
        )
    if "recipients" not in present:
        op.create_table(
            "recipients",
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
        op.create_index("recipients_ref", "recipients", ["ref"])
        op.create_index("recipients_client_id", "recipients", ["client_id"])
    if "events" not in present:
        op.create_table(
            "events",
            sa.Column("id", _ID, primary_key=True, autoincrement=True),
            sa.Column("campaign", sa.Text),
            sa.Column("address", sa.Text),
            sa.Column("source", sa.Text, nullable=False),
            sa.Column("payload", sa.Text, nullable=False),
            sa.Column("at", sa.Double, nullable=False),
            sqlite_autoincrement=True,
        )
    if "meta" not in present:
        op.create_table(
            "meta", sa.Column("key", sa.Text, primary_key=True), sa.Column("value", sa.Text, nullable=False)
        )
    if "leases" not in present:
        op.create_table(
            "leases",
            sa.Column("campaign", sa.Text, primary_key=True),
            sa.Column("owner", sa.Text, nullable=False),
            sa.Column("host", sa.Text, nullable=False),
            sa.Column("pid", sa.Integer, nullable=False),
            sa.Column("heartbeat", sa.Double, nullable=False),
            sa.Column("expires", sa.Double, nullable=False),
        )


def downgrade() -> None:
    for table in ("leases", "meta", "events", "recipients", "campaigns"):
        op.drop_table(table)
