"""``voxpipe status``, ``voxpipe hooks`` and ``voxpipe cancel``: where every message stands.

Statuses come from callbacks (``voxpipe serve`` receives them into the
journal) and from look-ups (``--refresh``, for the providers that answer
them). Credentials come from the same places as for ``voxpipe send`` (the
environment, the configuration file, ``-O NAME=VALUE``) and are never
printed; the hook secret is shown only by ``voxpipe hooks``, whose job it is.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from voxpipe.config import Config
from voxpipe.sender import tracking
from voxpipe.sender.dispatch import SendSettings, http_client
from voxpipe.sender.errors import ConfigError
from voxpipe.sender.hooks import hook_url
from voxpipe.sender.journal import Journal, is_new_file
from voxpipe.sender.providers import Provider, provider_class, registry
from voxpipe.sender.sending import DEFAULT_JOURNAL

from .cmd_review import status_html_options, write_status_html
from .cmd_send import option_pairs
from .output import echo_err, forget_in_logs
from .params import FiniteFloat, Url, current_config

__all__ = ["cancel", "hooks", "status"]

MAX_WATCH_S = 30 * 86_400
MAX_INTERVAL_S = 3_600
MAX_RATE = 10_000

_CLIENT = SendSettings(timeout_s=30)
_OPTION = click.option(
    "-O", "--provider-option", "provider_options", multiple=True, metavar="NAME=VALUE",
    help="A credential for look-ups (e.g. -O key=...), given to every provider that takes it.",
)  # fmt: skip


def _config(journal_file: str | None, api_url: str | None, options: tuple[str, ...]) -> Config:
    pairs = option_pairs(options)
    flags: dict[str, Any] = {"journal": journal_file}
    for name, cls in registry().items():  # as the shared --key flag did: each provider that takes the name
        taken = {c.name for c in cls.credentials}
        flags.update({f"providers.{name}.{k}": v for k, v in pairs.items() if k in taken})
        flags[f"providers.{name}.api_url"] = api_url
    return current_config(flags)


def _existing_journal(config: Config) -> str:
    location: str = config.get("journal", DEFAULT_JOURNAL)
    if is_new_file(location):
        raise ConfigError(f"no journal at {location} (send something first, or pass --journal)")
    return location


def _provider(config: Config, name: str) -> Provider:
    provider: Provider = config.provider(name)
    forget_in_logs(provider.secrets.values())
    return provider


# --------------------------------------------------------------------------- status


@click.command()
@click.option(
    "--campaign", "campaign_ids", multiple=True, help="Only this campaign; repeatable [default: every campaign]."
)
@click.option("--journal", "journal_file", help=f"Send journal [default: $VOXPIPE_JOURNAL or ./{DEFAULT_JOURNAL}].")
@click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")
@click.option(
    "--refresh", is_flag=True, help="First look up recipients that are not final (MessageBird; AlphaSMS text calls)."
)
@click.option("--watch", is_flag=True, help="Refresh until every recipient is final; exit 1 at --timeout.")
@click.option(
    "--timeout",
    type=FiniteFloat(0, MAX_WATCH_S),
    default=600,
    show_default=True,
    help="Seconds --watch waits (at most 30 days).",
)
@click.option(
    "--interval",
    type=FiniteFloat(0.05, MAX_INTERVAL_S),
    default=10,
    show_default=True,
    help="Seconds between --watch rounds (0.05 to 3,600).",
)
@click.option(
    "--api-url",
    type=Url(),
    help="Provider base URL for look-ups (white-label host, simulator) [default: the provider's].",
)
@click.option("--rate", type=FiniteFloat(0.01, MAX_RATE), help="Look-up requests per second at most (0.01 to 10,000).")
@status_html_options
@_OPTION
def status(
    campaign_ids: tuple[str, ...],
    journal_file: str | None,
    as_json: bool,
    refresh: bool,
    watch: bool,
    timeout: float,
    interval: float,
    api_url: str | None,
    rate: float | None,
    provider_options: tuple[str, ...],
    html_file: Path | None,
    mask_numbers: bool,
) -> None:
    """Show every campaign's recipients with their delivery status.

    One table per campaign: counts per status, then each recipient with its
    status, the provider's raw status, reason, duration, DTMF, cost and
    reference. Statuses arrive by callback (see `voxpipe hooks`) or, with
    --refresh, are looked up where the provider allows it.
    """
    config = _config(journal_file, api_url, provider_options)
    done = True
    with Journal(_existing_journal(config)) as journal:
        campaigns = tracking.campaigns_named(journal, campaign_ids)
        ids = [c.id for c in campaigns]
        refreshed: dict[str, tracking.RefreshResult] = {}
        failed = unconfigured = False
        if refresh or watch:
            providers, problems = tracking.look_up_providers(journal, campaigns, lambda name: _provider(config, name))
            for problem in problems:
                echo_err(f"warn   {problem}")
            unconfigured = bool(problems)
            with http_client(_CLIENT) as client:
                said: set[str] = set()

                def step() -> None:
                    nonlocal failed
                    results = tracking.refresh(journal, providers, client, ids, rate_per_s=rate)
                    failed = False
                    for result in results:
                        refreshed[result.campaign] = result
                        failed = failed or bool(result.errors)
                        for note in result.errors + ([result.skipped] if result.skipped else []):
                            if note not in said:
                                said.add(note)
                                echo_err(f"refresh {result.campaign}: {note}")

                if watch:
                    done = tracking.wait_final(journal, ids, step, timeout_s=timeout, interval_s=interval)
                else:
                    step()
        reports = [tracking.campaign_report(journal, c, refreshed.get(c.id)) for c in campaigns]
        if html_file is not None:
            write_status_html(journal, campaigns, html_file, mask_numbers)
    if as_json:
        click.echo(json.dumps(reports, indent=2, default=str, allow_nan=False))  # the journal holds no NaN/Infinity
    else:
        _print_tables(reports, journal.location)
    if watch and not done:
        waiting = sum(r["open"] for r in reports)
        echo_err(f"timed out after {timeout:g} s: {waiting} recipient(s) still without a final status")
        sys.exit(1)
    if (failed or unconfigured) and not watch:
        sys.exit(1)


def _print_tables(reports: list[dict[str, Any]], where: str) -> None:
    if not reports:
        click.echo(f"no campaigns in {where}", err=True)
    for n, report in enumerate(reports):
        counts = ", ".join(f"{v} {k}" for k, v in report["counts"].items())
        state = "all final" if report["final"] else f"{report['open']} not final"
        if n:
            click.echo("")
        click.echo(f"campaign {report['campaign']} via {report['provider']} ({report['mode']}): {counts} ({state})")
        table = [("ADDRESS", "STATUS", "RAW", "REASON", "DURATION", "DTMF", "COST", "REF")]
        for r in report["recipients"]:
            duration = "" if r["duration_s"] is None else f"{r['duration_s']:g}s"
            table.append((r["address"], r["status"], r["raw_status"] or "", r["reason"] or r["error"] or "", duration,
                          r["dtmf"] or "", r["cost"] or "", r["ref"] or ""))  # fmt: skip
        widths = [max(len(str(line[i])) for line in table) for i in range(len(table[0]))]
        for line in table:
            click.echo("  " + "  ".join(str(cell).ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())


# --------------------------------------------------------------------------- hooks


@click.command()
@click.option(
    "--public-url",
    type=Url(),
    required=True,
    help="Where providers reach `voxpipe serve` (e.g. https://voice.example.com).",
)
@click.option("--journal", "journal_file", help="Send journal whose secret the URLs carry (created if missing).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")
def hooks(public_url: str, journal_file: str | None, as_json: bool) -> None:
    """Print each provider's callback URL and where to configure it.

    `voxpipe serve --journal FILE` receives them. The last part of each URL
    is the journal's secret: give the URLs to the providers only.
    """
    base = public_url.strip().rstrip("/")
    if "?" in base or "#" in base:
        raise click.BadParameter(
            "an http(s) URL without a query, like https://voice.example.com", param_hint="--public-url"
        )
    with Journal(current_config({"journal": journal_file}).get("journal", DEFAULT_JOURNAL)) as journal:
        secret = journal.hook_secret()
    listed = [
        {"provider": cls.name, "method": cls.callback_method, "url": hook_url(base, cls.name, secret), "configure": cls.callback_setup}
        for cls in registry().values()
    ]  # fmt: skip
    if as_json:
        click.echo(json.dumps(listed, indent=2, allow_nan=False))
        return
    for item in listed:
        click.echo(f"{item['provider']}: {item['url']}")
        click.echo(f"  {item['method']}; configure: {item['configure']}")
    echo_err(
        f"(run `voxpipe serve DIR --journal {journal.location}` behind {base}; the URLs carry this journal's secret)"
    )


# --------------------------------------------------------------------------- cancel


@click.command("cancel")
@click.option("--campaign", "campaign_id", required=True, help="The campaign to withdraw.")
@click.option("--journal", "journal_file", help=f"Send journal [default: $VOXPIPE_JOURNAL or ./{DEFAULT_JOURNAL}].")
@click.option(
    "--api-url", type=Url(), help="Provider base URL (white-label host, simulator) [default: the provider's]."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")
@_OPTION
def cancel(
    campaign_id: str, journal_file: str | None, api_url: str | None, as_json: bool, provider_options: tuple[str, ...]
) -> None:
    """Withdraw a campaign's messages that have not been called yet.

    MessageBird deletes messages that are still scheduled; their recipients
    become `cancelled`. A message already calling is too late. Providers
    that cannot withdraw a message say so before anything is sent. Exit
    status 1 when anything could not be cancelled.
    """
    config = _config(journal_file, api_url, provider_options)
    with Journal(_existing_journal(config)) as journal:
        campaign = journal.campaign(campaign_id)
        if campaign is None:
            raise ConfigError(f"no campaign {campaign_id!r} in {journal.location}")
        tracking.check_cancel(journal, campaign_id, provider_class(campaign.provider))  # before asking for credentials
        provider = _provider(config, campaign.provider)
        provider.require_credentials()
        with http_client(_CLIENT) as client:
            results = tracking.cancel(journal, campaign_id, provider, client)
    if as_json:
        click.echo(json.dumps([r.__dict__ for r in results], indent=2, allow_nan=False))
    elif not results:
        click.echo(f"nothing to cancel: every recipient of {campaign_id} is final or was never sent", err=True)
    for r in [] if as_json else results:
        click.echo(f"{r.status:<10} {r.ref}  {len(r.recipients)} recipient(s): {r.detail}")
    if any(r.status != "cancelled" for r in results):
        sys.exit(1)
