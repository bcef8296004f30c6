"""``voxpipe journal upgrade``: bring a send journal's schema to this voxpipe's revision."""

from __future__ import annotations

import click

from .output import forget_in_logs, url_passwords
from .params import current_config

__all__ = ["journal", "upgrade"]


@click.group()
def journal() -> None:
    """Manage the send journal (an SQLite file, or a PostgreSQL database shared by several hosts)."""


@journal.command()
@click.option(
    "--journal",
    "journal_file",
    help="The journal: a path, sqlite:///path or postgresql://user@host/db [default: $VOXPIPE_JOURNAL or ./voxpipe-journal.db].",
)
def upgrade(journal_file: str | None) -> None:
    """Upgrade the journal's schema to this voxpipe's (creating it where there is none).

    A journal written by an older voxpipe is refused until this has run; back
    it up first (the upgrade is one transaction: it applies whole or not at
    all). A PostgreSQL database gets its tables here, before the first send.
    A journal of a newer voxpipe is refused.
    """
    from voxpipe.sender.journal_db import parse_location
    from voxpipe.sender.journal_schema import upgrade as upgrade_schema
    from voxpipe.sender.sending import DEFAULT_JOURNAL

    location = current_config({"journal": journal_file}).get("journal", DEFAULT_JOURNAL)
    forget_in_logs(url_passwords(location))
    shown = parse_location(location).shown
    before, after = upgrade_schema(location)
    if before is None:
        click.echo(f"journal {shown}: created at schema {after}")
    elif before == after:
        click.echo(f"journal {shown}: already at schema {after}")
    else:
        click.echo(f"journal {shown}: upgraded from schema {before} to {after}")
