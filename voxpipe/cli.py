"""The ``voxpipe`` command: a thin click layer over the library.

Each command parses its flags, merges them over the configuration file and
the environment (:mod:`voxpipe.config`), calls one library function and
prints. Commands are imported when they run, so ``voxpipe prepare`` does not
load the sender, nor ``voxpipe send`` the media server.

Any :class:`~voxpipe.pipeline.errors.VoxpipeError` becomes one line on
stderr and exit status 1; usage errors are one line too and exit 2. A
traceback means a bug. Library messages name parameters in backquotes
(`` `media_url` ``); here they become the flags a user typed. Every error
line and every log line goes through the redactor: URL passwords, query
strings, hook secrets and credentials never reach stderr.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from typing import Any

import click

from voxpipe.pipeline.errors import VoxpipeError
from voxpipe.pipeline.redaction import redact_text

from .log_redaction import RedactingFilter
from .output import REDACTOR_KEY, flag_names

__all__ = ["COMMANDS", "LazyGroup", "cli", "main"]

# Secrets the environment may hold besides the providers' credentials (boto3's chain).
_SECRET_ENV = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")

COMMANDS = {
    "prepare": "voxpipe.cmd_prepare:prepare",
    "engines": "voxpipe.cmd_prepare:engines",
    "profiles": "voxpipe.cmd_prepare:profiles",
    "send": "voxpipe.cmd_send:send",
    "providers": "voxpipe.cmd_send:providers",
    "status": "voxpipe.cmd_status:status",
    "hooks": "voxpipe.cmd_status:hooks",
    "cancel": "voxpipe.cmd_status:cancel",
    "serve": "voxpipe.cmd_store:serve",
    "storage": "voxpipe.cmd_store:storage",
    "store": "voxpipe.cmd_store:store_group",
    "config": "voxpipe.cmd_config:config",
    "review": "voxpipe.cmd_review:review",
    "journal": "voxpipe.cmd_journal:journal",
}
"""Command name -> ``module:attribute``; loaded on use."""


def _one_line(exc: click.ClickException) -> str:
    text = " ".join(exc.format_message().split())
    if isinstance(exc, click.UsageError) and exc.ctx is not None:
        text += f" (see '{exc.ctx.command_path} --help')"
    return f"Error: {redact_text(text)}"


class LazyGroup(click.Group):
    """Commands loaded on use; a library error becomes one redacted line with flag names."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attr = target.partition(":")
        command: click.Command = getattr(importlib.import_module(module), attr)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except VoxpipeError as exc:
            raise click.ClickException(flag_names(redact_text(str(exc)))) from exc

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
    from voxpipe.sender.providers import registry

    names = [c.env for cls in registry().values() for c in cls.credentials] + list(_SECRET_ENV)
    return [os.environ[n] for n in names if os.environ.get(n)]


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv for debug).")
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    help="Configuration file [default: $VOXPIPE_CONFIG, or ./voxpipe.toml if there is one].",
)
@click.version_option(package_name="voxpipe")
@click.pass_context
def cli(ctx: click.Context, verbose: int, config_file: str | None) -> None:
    """Prepare, host and send voice messages."""
    level = logging.WARNING - 10 * min(verbose, 2)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])  # does nothing where a host program set logging up
    redactor = RedactingFilter(_environment_secrets())
    for existing in logging.getLogger().handlers:  # ours, or the host program's: every one gets the filter
        existing.addFilter(redactor)
    ctx.meta[REDACTOR_KEY] = redactor
    ctx.meta["voxpipe.config_file"] = config_file
    logging.captureWarnings(True)  # library warnings go through the same redacting handler


def main() -> None:
    cli(prog_name="voxpipe")
