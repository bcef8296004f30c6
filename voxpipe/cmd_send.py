"""``voxpipe send`` and ``voxpipe providers``.

Provider options and credential flags are generated from the provider
classes, so each is declared once, next to the provider that uses it.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from voxpipe.pipeline.engines import DEFAULT_ENGINE
from voxpipe.pipeline.errors import ManifestError, MarkupError, VoxpipeError
from voxpipe.pipeline.manifest import read_records, row_text
from voxpipe.pipeline.preparation import ItemResult, PrepareSettings
from voxpipe.pipeline.retry import RetryPolicy
from voxpipe.pipeline.urlcheck import url_problem
from voxpipe.sender.dispatch import (
    ChunkDone,
    LeaseWait,
    SendReport,
    SendSettings,
    campaign_id,
    dry_run,
    http_client,
)
from voxpipe.sender.dispatch import (
    send as send_chunks,
)
from voxpipe.sender.errors import ConfigError, RecipientError
from voxpipe.sender.journal import Journal
from voxpipe.sender.lease import WAIT_BOUND_S, LeaseSettings
from voxpipe.sender.message import Message, build_payload, resolve_mode
from voxpipe.sender.providers import REGISTRY, Provider, provider_class
from voxpipe.sender.recipients import normalize_recipients, read_recipients, split_recipients

from .credentials import credential_options, given_credentials
from .inputs import message_text
from .output import echo_err, error_line, forget_in_logs, hide_url_passwords, redact_errors, url_passwords
from .params import FiniteFloat, Url, check_audio_url
from .progress import progress_bar
from .store_options import store_options, store_settings

DEFAULT_JOURNAL = "voxpipe-journal.db"
MAX_RATE = 10_000
MAX_TIMEOUT_S = 3_600
_S = SendSettings()


def _provider_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    helps: dict[str, list[str]] = {}
    for cls in REGISTRY.values():
        for name, option in cls.options.items():
            helps.setdefault(name, []).append(f"{cls.name}: {option.help}")
    for name in sorted(helps, reverse=True):
        kind = (
            Url() if name.endswith("_url") else None
        )  # a bad port or IPv6 literal is one line here, not a failed send
        fn = click.option(f"--{name.replace('_', '-')}", f"opt_{name}", type=kind, help="; ".join(helps[name]))(fn)
    return credential_options(REGISTRY.values())(fn)


def _region(value: str | None) -> str | None:
    import phonenumbers

    if value is not None and value.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise click.BadParameter(f"{value!r} is not a region phonenumbers knows (two letters, e.g. NG, GB, UA)")
    return value.upper() if value else None


def journal_path(value: str | None) -> Path:
    return Path(value or os.environ.get("VOXPIPE_JOURNAL") or DEFAULT_JOURNAL)


@click.command()
@click.argument("manifest", required=False, type=click.Path(path_type=Path))
@click.option("-P", "--provider", "provider_name", required=True, help="Provider (see `voxpipe providers`).")
@click.option(
    "--api-url", type=Url(), help="Provider base URL (white-label host, simulator) [default: the provider's]."
)
@click.option("--to", "to", multiple=True, help="A recipient; repeatable.")
@click.option(
    "--recipients",
    "recipients_file",
    type=click.Path(path_type=Path),
    help="File of recipients: one per line, or CSV with a to/phone column.",
)
@click.option(
    "--default-region", callback=lambda _c, _p, v: _region(v), help="Region for national numbers, e.g. NG, GB, UA."
)
@click.option("--text", help="Text to say (plain).")
@click.option("--ssml", help="Markup text (for a file of markup use --ssml-file).")
@click.option("--ssml-file", type=click.Path(path_type=Path), help="A file of markup (UTF-8, at most 1 MiB).")
@click.option("--audio", callback=check_audio_url, help="Source audio: a file or an http(s) URL.")
@click.option("--media-url", type=Url(), help="An already hosted audio file, sent as is.")
@click.option(
    "--allow-vanity", is_flag=True, help="Dial letters in numbers as keypad digits (1-800-FLOWERS); refused otherwise."
)
@click.option(
    "--mode",
    type=click.Choice(["auto", "tts", "media"]),
    default="auto",
    show_default=True,
    help="auto: text as TTS where the provider speaks text, otherwise as audio.",
)
@click.option("--campaign", help="Campaign id [default: derived from the message and recipients].")
@click.option(
    "--journal", "journal_file", help=f"Send journal (SQLite) [default: $VOXPIPE_JOURNAL or ./{DEFAULT_JOURNAL}]."
)
@click.option(
    "--resend-unknown", is_flag=True, help="Send again recipients whose outcome is unknown (may duplicate a call)."
)
@click.option(
    "--wait",
    "wait_for_lease",
    is_flag=True,
    help=f"If another run is sending this campaign, wait for it (at most {WAIT_BOUND_S:g} s) instead of refusing.",
)
@click.option("--dry-run", is_flag=True, help="Print the exact requests (credentials redacted) and send nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON result on stdout.")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    default=_S.concurrency,
    show_default=True,
    help="Requests in flight at once.",
)
@click.option("--rate", type=FiniteFloat(0.01, MAX_RATE), help=f"Requests per second at most (0.01 to {MAX_RATE:,}).")
@click.option(
    "--retries",
    type=click.IntRange(0, 20),
    default=_S.retry.attempts - 1,
    show_default=True,
    help="Retries of a request the provider could not have accepted.",
)
@click.option(
    "--timeout",
    type=FiniteFloat(0.1, MAX_TIMEOUT_S),
    default=_S.timeout_s,
    show_default=True,
    help=f"Seconds to wait for an answer (0.1 to {MAX_TIMEOUT_S:,}).",
)
@click.option(
    "-o",
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=PrepareSettings().out_dir,
    show_default=True,
    help="Where prepared audio goes (media mode).",
)
@click.option("--engine", default=DEFAULT_ENGINE, show_default=True, help="Speech engine for media mode.")
@click.option("--tts-voice", help="Voice of that engine (piper .onnx path).")
@click.option("--allow-private-urls", is_flag=True, help="Allow --audio URLs on private addresses.")
@click.option("--progress/--no-progress", default=None, help="Progress bar [default: on a terminal].")
@store_options
@_provider_options
def send(
    manifest: Path | None,
    provider_name: str,
    api_url: str | None,
    to: tuple[str, ...],
    recipients_file: Path | None,
    default_region: str | None,
    text: str | None,
    ssml: str | None,
    ssml_file: Path | None,
    audio: str | None,
    media_url: str | None,
    allow_vanity: bool,
    mode: str,
    campaign: str | None,
    journal_file: str | None,
    resend_unknown: bool,
    wait_for_lease: bool,
    dry_run: bool,
    as_json: bool,
    concurrency: int,
    rate: float | None,
    retries: int,
    timeout: float,
    out_dir: Path,
    engine: str,
    tts_voice: str | None,
    allow_private_urls: bool,
    progress: bool | None,
    store: str | None,
    **rest: Any,
) -> None:
    """Send a voice message to recipients through a provider.

    Give the message with --text, --ssml, --ssml-file, --audio or --media-url
    and the recipients with --to or --recipients; or give a MANIFEST
    (CSV/JSONL with id, text|ssml|ssml_file|audio|media_url and to) to send
    one message per row.
    Re-running the same command resumes: accepted recipients are never sent
    again. Exit status 1 when any recipient was not accepted.
    """
    from voxpipe.pipeline.load import FetchSettings

    store_args = {
        k: rest.pop(k)
        for k in ("base_url", "url_mode", "expires_s", "endpoint_url", "region", "verify_url", "upload_workers")
    }
    options = {k[4:]: v for k, v in rest.items() if k.startswith("opt_") and v is not None}
    credentials = given_credentials(rest)
    cls = provider_class(provider_name)
    provider = cls(base_url=api_url, credentials=credentials, options=options)
    passwords = url_passwords(
        api_url, media_url, audio, store_args["endpoint_url"], store_args["base_url"], options.get("report_url")
    )
    forget_in_logs(
        [*provider.secrets.values(), *passwords]
    )  # flag-given credentials are as secret as the environment's
    hosting = store_settings(store, **store_args)
    settings = SendSettings(
        concurrency=concurrency,
        rate_per_s=rate,
        retry=RetryPolicy(attempts=retries + 1),
        timeout_s=timeout,
        resend_unknown=resend_unknown,
        lease=LeaseSettings(wait_s=WAIT_BOUND_S if wait_for_lease else 0.0),
    )
    prep = PrepareSettings(
        out_dir=out_dir, engine=engine, voice=tts_voice, fetch=FetchSettings(allow_private=allow_private_urls)
    )
    jobs = _jobs(
        manifest, to, recipients_file, text, ssml, ssml_file, audio, media_url, options.get("language"), campaign
    )
    reports: list[dict[str, Any]] = []
    failed = False
    with contextlib.ExitStack() as stack:
        store_obj = None
        if hosting is not None:
            from voxpipe.pipeline.store import open_store

            store_obj = stack.enter_context(open_store(*hosting))
        # One journal and one connection pool for every row of a manifest; a dry run needs neither.
        journal = None if dry_run else stack.enter_context(Journal(journal_path(journal_file)))
        client = None if dry_run else stack.enter_context(http_client(settings))
        for job in jobs:
            try:
                if job.message is None:
                    raise ConfigError(job.error or "bad row")
                report = _send_one(
                    provider,
                    job.message,
                    job.recipients,
                    default_region,
                    allow_vanity,
                    mode,
                    prep,
                    store_obj,
                    settings,
                    journal,
                    client,
                    job.campaign,
                    progress,
                )
            except VoxpipeError as exc:
                if manifest is None:
                    raise
                reports.append({"id": job.id, "error": str(exc)})
                failed = True
                continue
            report["id"] = job.id
            reports.append(report)
            failed = failed or not report.get("ok", True)
    _emit(hide_url_passwords(redact_errors(reports), passwords), as_json, dry_run, manifest is not None)
    if failed:
        sys.exit(1)


@dataclass(frozen=True)
class _Job:
    """One message to send: from the options, or from one manifest row (which may be bad)."""

    id: str
    message: Message | None
    recipients: list[str]
    campaign: str | None
    error: str | None = None


def _jobs(
    manifest: Path | None,
    to: tuple[str, ...],
    recipients_file: Path | None,
    text: str | None,
    ssml: str | None,
    ssml_file: Path | None,
    audio: str | None,
    media_url: str | None,
    language: str | None,
    campaign: str | None,
) -> list[_Job]:
    if manifest is not None:
        if any((to, recipients_file, text, ssml, ssml_file, audio, media_url)):
            raise click.UsageError("give a MANIFEST or --to/--recipients with a message, not both")
        return _manifest_jobs(manifest, language, campaign)
    spoken = message_text(text, ssml, ssml_file)
    raws = list(to) + (read_recipients(recipients_file) if recipients_file else [])
    if not raws:
        raise click.UsageError("no recipients: give --to or --recipients")
    message = Message(text=spoken, audio=audio, media_url=media_url, language=language)
    return [_Job("message", message, raws, campaign)]


def _manifest_jobs(path: Path, language: str | None, campaign: str | None) -> list[_Job]:
    """One job per row (id, text|ssml|audio|media_url, to); a bad row is a job that fails alone."""
    jobs = []
    for record in read_records(path, "send"):
        if isinstance(record, ItemResult):
            jobs.append(_Job(record.id, None, [], None, record.error))
            continue
        where, row = record
        job_id = str(row.get("id") or where)
        wrong = [
            k
            for k in ("text", "ssml", "ssml_file", "audio", "media_url", "language")
            if row.get(k) and not isinstance(row[k], str)
        ]
        if wrong:
            jobs.append(_Job(job_id, None, [], None, f"{where}: {', '.join(wrong)} must be a string"))
            continue
        problems = {k: url_problem(row[k]) for k in ("audio", "media_url") if row.get(k) and "://" in row[k]}
        broken = [f"{k} {row[k]}: {problem}" for k, problem in problems.items() if problem]
        if broken:
            jobs.append(_Job(job_id, None, [], None, f"{where}: {broken[0]}"))
            continue
        to = row.get("to") or ""
        if not isinstance(to, (str, list)) or (isinstance(to, list) and not all(isinstance(t, str) for t in to)):
            jobs.append(_Job(job_id, None, [], None, f"{where}: to must be a string or a list of strings"))
            continue
        raws = list(to) if isinstance(to, list) else split_recipients(to)
        try:
            message = Message(
                text=row_text(row, path.parent) or None,
                audio=row.get("audio") or None,
                media_url=row.get("media_url") or None,
                language=row.get("language") or language,
            )
        except (ConfigError, ManifestError, MarkupError) as exc:
            jobs.append(
                _Job(job_id, None, raws, None, f"{where}: {exc}" if isinstance(exc, ManifestError) else str(exc))
            )
            continue
        jobs.append(_Job(job_id, message, raws, f"{campaign}-{job_id}" if campaign else None))
    return jobs


def _send_one(
    provider: Provider,
    message: Message,
    raws: list[str],
    default_region: str | None,
    allow_vanity: bool,
    mode: str,
    prep: PrepareSettings,
    store: Any,
    settings: SendSettings,
    journal: Journal | None,
    client: Any,
    campaign: str | None,
    progress: bool | None,
) -> dict[str, Any]:
    """Send one message; with no journal (a dry run) only show the requests."""
    is_dry = journal is None
    if not raws:
        raise ConfigError("no recipients")
    chosen = resolve_mode(provider, message, mode)
    valid, rejected = normalize_recipients(
        raws, default_region, chats=provider.recipient_form == "whatsapp", allow_vanity=allow_vanity
    )
    if not valid:  # before any synthesis or request: there is nobody to send to
        more = f" (and {len(rejected) - 1} more)" if len(rejected) > 1 else ""
        raise RecipientError(f"no valid recipient: {rejected[0].reason}{more}")
    payload = build_payload(provider, message, chosen, prep, store, upload=not is_dry)
    campaign = campaign or campaign_id(provider, chosen, message, valid)
    if is_dry:
        return {
            "campaign": campaign,
            "provider": provider.name,
            "mode": chosen.value,
            "ok": not rejected,
            "requests": dry_run(provider, payload, valid, campaign),
            "rejected": [{"recipient": r.raw, "error": r.reason} for r in rejected],
        }
    assert journal is not None
    report: SendReport | None = None
    with progress_bar(len(valid), f"sending via {provider.name}", progress) as advance:
        for event in send_chunks(provider, message, payload, valid, rejected, journal, client, settings, campaign):
            if isinstance(event, ChunkDone):
                advance(str(event.chunk), True, event.recipients)
            elif isinstance(event, LeaseWait):
                click.echo(f"campaign {campaign} is being sent by {event.lease.describe()}; waiting for it "
                           f"(at most {WAIT_BOUND_S:g} s)", err=True)  # fmt: skip
            else:
                report = event
    assert report is not None
    data = report.to_dict()
    data["ok"] = report.ok
    data["journal"] = str(journal.path)
    return data


def _emit(reports: list[dict[str, Any]], as_json: bool, is_dry: bool, many: bool) -> None:
    if as_json:
        click.echo(json.dumps(reports if many else reports[0], indent=2, default=str))
        return
    for report in reports:
        if "error" in report and "campaign" not in report:
            echo_err(error_line(report["id"], report["error"]))
            continue
        if is_dry:
            click.echo(json.dumps(report, indent=2))
            continue
        for row in report["recipients"]:
            detail = row.get("error") or ""
            click.echo(f"{row['status']:<9} {row['address']:<22} {row.get('ref') or '-':<34} {detail}".rstrip())
        counts = ", ".join(f"{v} {k}" for k, v in sorted(report["counts"].items()))
        echo_err(f"campaign {report['campaign']} via {report['provider']} ({report['mode']}): {counts}")
        if report.get("stopped"):
            echo_err(f"campaign {report['campaign']}: {report['stopped']}")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
def providers(as_json: bool) -> None:
    """List providers with their modes, limits and required settings."""
    described = [cls.describe() for cls in REGISTRY.values()]
    if as_json:
        click.echo(json.dumps(described, indent=2))
        return
    for d in described:
        click.echo(f"{d['name']}: {d['title']}")
        media = f"; media: {d['media_profile']} profile by {d['media_by']}" if d["media_by"] else ""
        body = f"; body <= {d['max_body_chars']} chars ({d['dialect']} markup)" if d["dialect"] else ""
        click.echo(f"  modes: {', '.join(d['modes'])}{media}{body}")
        click.echo(f"  recipients: {d['recipients']}, at most {d['max_recipients']} per request")
        click.echo(f"  needs: {', '.join(d['credentials']) or 'nothing'}; base URL {d['default_base_url']}")
        if d["options"]:
            click.echo(f"  options: {', '.join('--' + o.replace('_', '-') for o in d['options'])}")
        extras = [w for w, on in (("idempotent resend of TTS", d["idempotent"]), ("cancel", d["can_cancel"])) if on]
        if extras:
            click.echo(f"  supports: {', '.join(extras)}")
