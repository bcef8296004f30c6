"""The ``voxpipe`` command: a thin click layer over the pipeline and sender libraries.

Any :class:`~pipeline.errors.VoxpipeError` becomes one line on stderr and exit
status 1; usage errors are one line too and exit 2 (click's convention). A
traceback means a bug. Every error line and every log line goes through the
redactor (:mod:`voxpipe.pipeline.redaction`, :mod:`voxpipe.log_redaction`): URL
passwords, query strings, hook secrets and credentials never reach stderr.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import click

from voxpipe.pipeline.errors import VoxpipeError
from voxpipe.pipeline.redaction import redact_text

from .log_redaction import RedactingFilter
from .output import REDACTOR_KEY

__all__ = ["cli", "main"]

# Secrets the environment may hold besides the providers' credentials (boto3's chain).
_SECRET_ENV = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


def _one_line(exc: click.ClickException) -> str:
    text = " ".join(exc.format_message().split())
    if isinstance(exc, click.UsageError) and exc.ctx is not None:
        text += f" (see '{exc.ctx.command_path} --help')"
    return f"Error: {redact_text(text)}"


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except VoxpipeError as exc:
            raise click.ClickException(redact_text(str(exc))) from exc

    def main(
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Click's standalone mode, except that an error is one redacted line (no usage block)."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except click.ClickException as exc:
            click.echo(_one_line(exc), err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


def _environment_secrets() -> list[str]:
    from voxpipe.sender.providers import REGISTRY

    names = [c.env for cls in REGISTRY.values() for c in cls.credentials] + list(_SECRET_ENV)
    return [os.environ[n] for n in names if os.environ.get(n)]


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv for debug).")
@click.version_option(package_name="voxpipe")
@click.pass_context
def cli(ctx: click.Context, verbose: int) -> None:
    """Prepare, host and send voice messages."""
    level = logging.WARNING - 10 * min(verbose, 2)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])  # does nothing where a host program set logging up
    redactor = RedactingFilter(_environment_secrets())
    for existing in logging.getLogger().handlers:  # ours, or the host program's: every one gets the filter
        existing.addFilter(redactor)
    ctx.meta[REDACTOR_KEY] = redactor
    logging.captureWarnings(True)  # library warnings go through the same redacting handler


def _register() -> None:
    from . import cmd_prepare, cmd_review, cmd_send, cmd_status, cmd_store

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
    cli.add_command(cmd_review.review)


_register()


def main() -> None:
    cli(prog_name="voxpipe")
