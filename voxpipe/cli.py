"""The ``voxpipe`` command: a thin click layer over the pipeline and sender libraries.

Any :class:`~pipeline.errors.VoxpipeError` becomes one line on stderr and exit
status 1; usage errors exit 2 (click's convention). A traceback means a bug.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from pipeline.errors import VoxpipeError

__all__ = ["cli", "main"]


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except VoxpipeError as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv for debug).")
@click.version_option(package_name="voxpipe")
def cli(verbose: int) -> None:
    """Prepare, host and send voice messages."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def _register() -> None:
    from . import cmd_prepare, cmd_send, cmd_status, cmd_store

    cli.add_command(cmd_prepare.prepare)
    cli.add_command(cmd_store.serve)
    cli.add_command(cmd_store.storage)
    cli.add_command(cmd_send.send)
    cli.add_command(cmd_send.providers)
    cli.add_command(cmd_status.status)
    cli.add_command(cmd_status.hooks)
    cli.add_command(cmd_status.cancel)
    cli.add_command(cmd_prepare.engines)
    cli.add_command(cmd_prepare.profiles)


_register()


def main() -> None:
    cli(prog_name="voxpipe")
