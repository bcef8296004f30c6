"""``voxpipe status``, ``voxpipe hooks`` and ``voxpipe cancel``: where every message stands.

Statuses come from callbacks (``voxpipe serve`` receives them into the
journal) and from look-ups (``--refresh``, for the providers that answer
them). Credentials come from the same variables and flags as ``voxpipe
send`` and are never printed; the hook secret is shown only by ``voxpipe
hooks``, whose job it is.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from voxpipe.sender import tracking
from voxpipe.sender.dispatch import SendSettings, http_client
from voxpipe.sender.errors import ConfigError
from voxpipe.sender.hooks import hook_url
from voxpipe.sender.journal import Campaign, Journal, RecipientRow
from voxpipe.sender.providers import REGISTRY, Provider, provider_class
from voxpipe.sender.status import STATUSES

from .cmd_review import status_html_options, write_status_html
from .cmd_send import journal_path
from .credentials import credential_options, given_credentials
from .output import echo_err, forget_in_logs
from .params import FiniteFloat, Url

MAX_WATCH_S = 30 * 86_400
MAX_INTERVAL_S = 3_600
MAX_RATE = 10_000

_CLIENT = SendSettings(timeout_s=30)


def _existing_journal(journal_file: str | None) -> Path:
    path = journal_path(journal_file)
    if not path.is_file():
        raise ConfigError(f"no journal at {path} (send something first, or pass --journal)")
    return path


def _campaigns(journal: Journal, ids: tuple[str, ...]) -> list[Campaign]:
    found = []
    for cid in ids:
        campaign = journal.campaign(cid)
        if campaign is None:
            raise ConfigError(f"no campaign {cid!r} in {journal.path}")
        found.append(campaign)
    return found if ids else journal.campaigns()


# --------------------------------------------------------------------------- status


@click.command()
@click.option(
    "--campaign", "campaign_ids", multiple=True, help="Only this campaign; repeatable [default: every campaign]."
)
@click.option("--journal", "journal_file", help="Send journal [default: $VOXPIPE_JOURNAL or ./voxpipe-journal.db].")
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
@credential_options(cls for cls in REGISTRY.values() if cls.can_poll or cls.can_cancel)
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
    html_file: Path | None,
    mask_numbers: bool,
    **rest: Any,
) -> None:
    """Show every campaign's recipients with their delivery status.

    One table per campaign: counts per status, then each recipient with its
    status, the provider's raw status, reason, duration, DTMF, cost and
    reference. Statuses arrive by callback (see `voxpipe hooks`) or, with
    --refresh, are looked up where the provider allows it.
    """
    path = _existing_journal(journal_file)
    with Journal(path) as journal:
        campaigns = _campaigns(journal, campaign_ids)
        ids = [c.id for c in campaigns]
        refreshed: dict[str, tracking.RefreshResult] = {}
        failed = False
        unconfigured = False
        if refresh or watch:
            providers, unconfigured = _look_up_providers(journal, campaigns, api_url, given_credentials(rest))
            with http_client(_CLIENT) as client:
                said: set[str] = set()

                def step() -> None:
                    nonlocal failed
                    results = tracking.refresh(journal, providers, client, ids, rate_per_s=rate)
                    failed = False
                    for result in results:
                        refreshed[result.campaign] = result
                        notes = result.errors + ([result.skipped] if result.skipped else [])
                        failed = failed or bool(result.errors)
                        for note in notes:
                            if note not in said:
                                said.add(note)
                                echo_err(f"refresh {result.campaign}: {note}")

                if watch:
                    done = tracking.wait_final(journal, ids, step, timeout_s=timeout, interval_s=interval)
                else:
                    step()
        reports = [_report(c, journal.rows(c.id), refreshed.get(c.id)) for c in campaigns]
        if html_file is not None:
            write_status_html(journal, campaigns, html_file, mask_numbers)
    if as_json:
        click.echo(
            json.dumps(reports, indent=2, default=str, allow_nan=False)
        )  # JSON has no NaN/Infinity; the journal reads none
    else:
        _print_tables(reports, path)
    if watch and not done:
        waiting = sum(r["open"] for r in reports)
        echo_err(f"timed out after {timeout:g} s: {waiting} recipient(s) still without a final status")
        sys.exit(1)
    if (failed or unconfigured) and not watch:
        sys.exit(1)


def _look_up_providers(
    journal: Journal, campaigns: list[Campaign], api_url: str | None, credentials: dict[str, str]
) -> tuple[dict[str, Provider], bool]:
    """A configured provider for every provider with recipients to look up, and whether one had to be
    left out (no credentials): it is skipped with a warning, so the others are still looked up."""
    providers: dict[str, Provider] = {}
    unconfigured = False
    for campaign in campaigns:
        if campaign.provider in providers or not tracking.pollable(campaign.provider, campaign.mode):
            continue
        if tracking.open_rows(journal, campaign.id):
            cls = provider_class(campaign.provider)
            try:
                providers[cls.name] = cls(
                    base_url=api_url,
                    credentials={c.name: credentials[c.name] for c in cls.credentials if c.name in credentials},
                )
                forget_in_logs(providers[cls.name].secrets.values())
            except ConfigError as exc:  # one provider without credentials must not stop the others' look-ups
                echo_err(f"warn   {exc}: not looking up its campaigns")
                unconfigured = True
    return providers, unconfigured


def _report(campaign: Campaign, rows: list[RecipientRow], refreshed: tracking.RefreshResult | None) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    order = {s: i for i, s in enumerate(STATUSES)}
    report = {
        "campaign": campaign.id,
        "provider": campaign.provider,
        "mode": campaign.mode,
        "created_at": datetime.fromtimestamp(campaign.created_at, UTC).isoformat(timespec="seconds"),
        "counts": dict(sorted(counts.items(), key=lambda kv: order.get(kv[0], len(order)))),
        "final": not any(tracking.awaiting(r) for r in rows),
        "open": sum(tracking.awaiting(r) for r in rows),
        "recipients": [r.to_dict() for r in rows],
    }
    if refreshed is not None:
        report["refresh"] = {k: v for k, v in refreshed.__dict__.items() if k not in ("campaign", "provider")}
    return report


def _print_tables(reports: list[dict[str, Any]], path: Path) -> None:
    if not reports:
        click.echo(f"no campaigns in {path}", err=True)
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
    if not base.startswith(("http://", "https://")) or "?" in base or "#" in base or not base.split("://", 1)[1]:
        raise click.BadParameter(
            "an http(s) URL without a query, like https://voice.example.com", param_hint="--public-url"
        )
    path = journal_path(journal_file)
    with Journal(path) as journal:
        secret = journal.hook_secret()
    listed = [{"provider": cls.name, "method": cls.callback_method, "url": hook_url(base, cls.name, secret), "configure": cls.callback_setup}
              for cls in REGISTRY.values()]  # fmt: skip
    if as_json:
        click.echo(json.dumps(listed, indent=2, allow_nan=False))
        return
    for item in listed:
        click.echo(f"{item['provider']}: {item['url']}")
        click.echo(f"  {item['method']}; configure: {item['configure']}")
    echo_err(f"(run `voxpipe serve DIR --journal {path}` behind {base}; the URLs carry this journal's secret)")


# --------------------------------------------------------------------------- cancel


@click.command("cancel")
@click.option("--campaign", "campaign_id", required=True, help="The campaign to withdraw.")
@click.option("--journal", "journal_file", help="Send journal [default: $VOXPIPE_JOURNAL or ./voxpipe-journal.db].")
@click.option(
    "--api-url", type=Url(), help="Provider base URL (white-label host, simulator) [default: the provider's]."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")
@credential_options(cls for cls in REGISTRY.values() if cls.can_poll or cls.can_cancel)
def cancel(campaign_id: str, journal_file: str | None, api_url: str | None, as_json: bool, **rest: Any) -> None:
    """Withdraw a campaign's messages that have not been called yet.

    MessageBird deletes messages that are still scheduled; their recipients
    become `cancelled`. A message already calling is too late. Providers
    that cannot withdraw a message say so before anything is sent. Exit
    status 1 when anything could not be cancelled.
    """
    with Journal(_existing_journal(journal_file)) as journal:
        campaign = journal.campaign(campaign_id)
        if campaign is None:
            raise ConfigError(f"no campaign {campaign_id!r} in {journal.path}")
        cls = provider_class(campaign.provider)
        tracking.check_cancel(journal, campaign_id, cls)  # before asking for credentials
        provider = cls(base_url=api_url, credentials=given_credentials(rest))
        forget_in_logs(provider.secrets.values())
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
