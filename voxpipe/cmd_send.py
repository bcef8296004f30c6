"""``voxpipe send`` and ``voxpipe providers``.

Provider options and credentials have their own namespace, ``-O NAME=VALUE``
(``-O language=en-us``, ``-O report_url=https://…``), so no provider can add
a flag that collides with one of the command's; each provider declares its
own next to its code, and `voxpipe providers` lists them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from voxpipe.config import Config
from voxpipe.pipeline.retry import RetryPolicy
from voxpipe.pipeline.templates import Template
from voxpipe.sender.dispatch import MODES, ChunkDone, LeaseWait, SendReport, SendSettings
from voxpipe.sender.lease import WAIT_BOUND_S, LeaseSettings
from voxpipe.sender.message import Message
from voxpipe.sender.personal import iter_send_template
from voxpipe.sender.providers import Provider, registry
from voxpipe.sender.recipients import read_recipients
from voxpipe.sender.sending import DEFAULT_JOURNAL, RowDone, iter_send, iter_send_manifest

from .cmd_prepare import prepare_settings
from .inputs import message_text, read_ssml_file
from .output import echo_err, error_line, forget_in_logs, hide_url_passwords, redact_errors, url_passwords
from .params import FiniteFloat, Url, check_audio_url, current_config
from .progress import progress_bar
from .store_options import configured_store, store_flags, store_options

__all__ = ["MAX_RATE", "MAX_TIMEOUT_S", "option_pairs", "providers", "send", "send_settings"]

MAX_RATE = 10_000
MAX_TIMEOUT_S = 3_600
_S = SendSettings()


def _region(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    import phonenumbers

    if value is not None and value.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise click.BadParameter(f"{value!r} is not a region phonenumbers knows (two letters, e.g. NG, GB, UA)")
    return value.upper() if value else None


def option_pairs(values: tuple[str, ...]) -> dict[str, str]:
    """``-O name=value`` pairs as a dict (``report-url`` and ``report_url`` are the same name)."""
    pairs: dict[str, str] = {}
    for text in values:
        name, sep, value = text.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"{text!r}: write NAME=VALUE, e.g. -O language=en-us", param_hint="-O")
        pairs[name.strip().lower().replace("-", "_")] = value
    return pairs


def _options_epilog() -> str:
    lines = ["\b", "Provider options and credentials (-O NAME=VALUE; credentials are better in the environment):"]
    for name, cls in registry().items():
        given = [f"{c.name} (${c.env})" for c in cls.credentials] + [
            f"{o}: {opt.help}" for o, opt in cls.options.items()
        ]
        lines.append(f"  {name}: " + ("; ".join(given) or "none"))
    return "\n".join(lines)


@click.command(epilog=_options_epilog())
@click.argument("manifest", required=False, type=click.Path(path_type=Path))
@click.option("-P", "--provider", "provider_name", required=True, help="Provider (see `voxpipe providers`).")
@click.option(
    "-O", "--provider-option", "provider_options", multiple=True, metavar="NAME=VALUE",
    help="A provider's option or credential, repeatable (listed below).",
)  # fmt: skip
@click.option(
    "--api-url", type=Url(), help="Provider base URL (white-label host, simulator) [default: the provider's]."
)
@click.option("--to", "to", multiple=True, help="A recipient; repeatable.")
@click.option(
    "--recipients", "recipients_file", type=click.Path(path_type=Path),
    help="File of recipients: one per line, or CSV with a to/phone column.",
)  # fmt: skip
@click.option("--default-region", callback=_region, help="Region for national numbers, e.g. NG, GB, UA.")
@click.option("--allow-vanity", is_flag=True, help="Dial letters in numbers as keypad digits (1-800-FLOWERS).")
@click.option("--text", help="Text to say (plain).")
@click.option("--ssml", help="Markup text (for a file of markup use --ssml-file).")
@click.option("--ssml-file", type=click.Path(path_type=Path), help="A file of markup (UTF-8, at most 1 MiB).")
@click.option("--audio", callback=check_audio_url, help="Source audio: a file or an http(s) URL.")
@click.option("--media-url", type=Url(), help="An already hosted audio file, sent as is.")
@click.option(
    "--language",
    help="Language of the text, for say-as words (numbers, dates) in every mode; a provider's voice language "
    "is its option (-O language=...).",
)
@click.option(
    "--mode",
    type=click.Choice(MODES),
    help=f"auto: text as TTS where the provider speaks text, otherwise as audio [default: {_S.mode}].",
)
@click.option(
    "--template",
    type=click.Path(path_type=Path),
    help="Markup with {placeholders}, filled from each row of --data (id, to, placeholders).",
)
@click.option("--data", type=click.Path(path_type=Path), help="Rows for --template (CSV or JSONL).")
@click.option(
    "--sensitive/--not-sensitive",
    default=None,
    help="Treat --template values as secrets [default: when a placeholder is read as digits].",
)
@click.option("--campaign", help="Campaign id [default: derived from the message and recipients].")
@click.option(
    "--journal", "journal_file",
    help=f"Send journal: a path, or postgresql://user@host/db to share it [default: $VOXPIPE_JOURNAL or ./{DEFAULT_JOURNAL}].",
)  # fmt: skip
@click.option(
    "--resend-unknown", is_flag=True, help="Send again recipients whose outcome is unknown (may duplicate a call)."
)
@click.option(
    "--wait", "wait_for_lease", is_flag=True,
    help=f"If another run is sending this campaign, wait for it (at most {WAIT_BOUND_S:g} s) instead of refusing.",
)  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Print the exact requests (credentials redacted); no credentials needed.")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON result on stdout.")
@click.option(
    "--concurrency", type=click.IntRange(1, 64), help=f"Requests in flight at once [default: {_S.concurrency}]."
)
@click.option("--rate", type=FiniteFloat(0.01, MAX_RATE), help=f"Requests per second at most (0.01 to {MAX_RATE:,}).")
@click.option(
    "--retries",
    type=click.IntRange(0, 20),
    help=f"Retries of a request the provider could not have accepted [default: {_S.retry.attempts - 1}].",
)
@click.option(
    "--timeout",
    type=FiniteFloat(0.1, MAX_TIMEOUT_S),
    help=f"Seconds to wait for an answer [default: {_S.timeout_s:g}].",
)
@click.option("-o", "--out", "out_dir", help="Where prepared audio goes (media mode) [default: out].")
@click.option("--engine", help="Speech engine for media mode [default: piper].")
@click.option("--tts-voice", help="Voice of that engine (piper .onnx path).")
@click.option("--allow-private-urls", is_flag=True, help="Allow --audio URLs on private addresses.")
@click.option("--progress/--no-progress", default=None, help="Progress bar [default: on a terminal].")
@store_options
def send(
    manifest: Path | None,
    provider_name: str,
    provider_options: tuple[str, ...],
    to: tuple[str, ...],
    recipients_file: Path | None,
    text: str | None,
    ssml: str | None,
    ssml_file: Path | None,
    audio: str | None,
    media_url: str | None,
    campaign: str | None,
    wait_for_lease: bool,
    resend_unknown: bool,
    allow_vanity: bool,
    dry_run: bool,
    as_json: bool,
    allow_private_urls: bool,
    progress: bool | None,
    template: Path | None,
    data: Path | None,
    sensitive: bool | None,
    **flags: Any,
) -> None:
    """Send a voice message to recipients through a provider.

    Give the message with --text, --ssml, --ssml-file, --audio or --media-url
    and the recipients with --to or --recipients; or give a MANIFEST
    (CSV/JSONL with id, text|ssml|ssml_file|audio|media_url and to) to send
    one message per row, or a --template with --data (rows with id, to and
    the placeholders; rows that say the same share requests). Re-running the same command resumes: accepted
    recipients are never sent again. Exit status 1 when any recipient was
    not accepted.
    """
    name = provider_name.lower()
    given = {f"providers.{name}.{k}": v for k, v in option_pairs(provider_options).items()}
    config = current_config({
        **store_flags(flags),
        **given,
        f"providers.{name}.api_url": flags.pop("api_url"),
        "journal": flags.pop("journal_file"),
        "out": flags.pop("out_dir"),
        "prepare.engine": flags.pop("engine"),
        "prepare.voice": flags.pop("tts_voice"),
        "prepare.language": flags.pop("language"),
        "send.mode": flags.pop("mode"),
        "send.rate": flags.pop("rate"),
        "send.concurrency": flags.pop("concurrency"),
        "send.timeout": flags.pop("timeout"),
        "send.retries": flags.pop("retries"),
        "send.default_region": flags.pop("default_region"),
    })  # fmt: skip
    provider: Provider = config.provider(name)
    passwords = url_passwords(
        config.get(f"providers.{name}.api_url"), media_url, audio, config.get("store.endpoint_url"),
        config.get("store.base_url"), provider.settings.get("report_url"), config.get("journal"),
    )  # fmt: skip
    forget_in_logs([*provider.secrets.values(), *passwords])  # credentials from -O are as secret as the environment's
    settings = send_settings(
        config, resend_unknown=resend_unknown, wait=wait_for_lease, allow_vanity=allow_vanity,
        allow_private_urls=allow_private_urls,
    )  # fmt: skip
    journal = config.get("journal", DEFAULT_JOURNAL)
    if manifest is not None and any((to, recipients_file, text, ssml, ssml_file, audio, media_url)):
        raise click.UsageError("give a MANIFEST or --to/--recipients with a message, not both")
    if (template is None) != (data is None):
        raise click.UsageError("--template and --data go together")
    if template is not None and any((manifest, to, recipients_file, text, ssml, ssml_file, audio, media_url)):
        raise click.UsageError("--template with --data replaces MANIFEST, --to, --recipients and the message flags")
    reports: list[dict[str, Any]] = []
    with configured_store(config) as store:
        if template is not None and data is not None:
            parsed = Template.parse(read_ssml_file(template), sensitive=sensitive)
            for event in iter_send_template(
                provider, parsed, data, store=store, journal=journal, settings=settings, dry_run=dry_run,
                campaign=campaign,
            ):  # fmt: skip
                _progress_line(event)
                if isinstance(event, RowDone):
                    reports.append(event.to_dict())
        elif manifest is not None:
            for event in iter_send_manifest(
                provider, manifest, store=store, journal=journal, settings=settings, dry_run=dry_run, campaign=campaign
            ):
                _progress_line(event)
                if isinstance(event, RowDone):
                    reports.append(event.to_dict())
        else:
            spoken = message_text(text, ssml, ssml_file)
            raws = list(to) + (read_recipients(recipients_file) if recipients_file else [])
            if not raws:
                raise click.UsageError("no recipients: give --to or --recipients")
            message = Message(text=spoken, audio=audio, media_url=media_url, language=settings.prepare.language)
            reports.append(_send_one(provider, message, raws, store, journal, settings, dry_run, campaign, progress))
    many = manifest is not None or template is not None
    _emit(hide_url_passwords(redact_errors(reports), passwords), as_json, dry_run, many)
    if not all(r.get("ok") for r in reports):
        sys.exit(1)


def send_settings(config: Config, **flags: Any) -> SendSettings:
    """Send settings from the configuration (``[send]`` and ``[prepare]``) and the flags that are not configured."""
    retries = config.get("send.retries", _S.retry.attempts - 1)
    return SendSettings(
        concurrency=config.get("send.concurrency", _S.concurrency),
        rate_per_s=config.get("send.rate"),
        retry=RetryPolicy(attempts=retries + 1),
        timeout_s=config.get("send.timeout", _S.timeout_s),
        resend_unknown=flags.get("resend_unknown", False),
        lease=LeaseSettings(wait_s=WAIT_BOUND_S if flags.get("wait") else 0.0),
        mode=config.get("send.mode", _S.mode),
        default_region=config.get("send.default_region"),
        allow_vanity=flags.get("allow_vanity", False),
        prepare=prepare_settings(config, allow_private_urls=flags.get("allow_private_urls", False)),
    )


def _progress_line(event: object) -> None:
    if isinstance(event, LeaseWait):
        echo_err(f"the campaign is being sent by {event.lease.describe()}; waiting for it (at most {WAIT_BOUND_S:g} s)")


def _send_one(
    provider: Provider,
    message: Message,
    raws: list[str],
    store: Any,
    journal: str,
    settings: SendSettings,
    dry_run: bool,
    campaign: str | None,
    progress: bool | None,
) -> dict[str, Any]:
    report: SendReport | None = None
    with progress_bar(len(raws), f"sending via {provider.name}", progress) as advance:
        for event in iter_send(
            provider, message, raws, store=store, journal=journal, settings=settings, dry_run=dry_run, campaign=campaign
        ):
            if isinstance(event, ChunkDone):
                advance(str(event.chunk), True, event.recipients)
            elif isinstance(event, SendReport):
                report = event
            else:
                _progress_line(event)
    assert report is not None
    return {"id": "message", **report.to_dict()}


def _emit(reports: list[dict[str, Any]], as_json: bool, is_dry: bool, many: bool) -> None:
    if as_json:
        shown = reports if many else {k: v for k, v in reports[0].items() if k != "id"}
        click.echo(json.dumps(shown, indent=2, default=str, allow_nan=False))
        return
    for report in reports:
        if "error" in report and "campaign" not in report:
            echo_err(error_line(report["id"], report["error"]))
            continue
        if is_dry:
            click.echo(json.dumps({k: v for k, v in report.items() if many or k != "id"}, indent=2))
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
    """List providers (built in and installed plugins) with their modes, limits, options and credentials."""
    described = [cls.describe() for cls in registry().values()]
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
            click.echo(f"  options (-O NAME=VALUE): {', '.join(d['options'])}")
        extras = [w for w, on in (("look-up after a crash", d["can_look_up"]), ("status look-up", d["can_poll"]),
                                  ("cancel", d["can_cancel"])) if on]  # fmt: skip
        if extras:
            click.echo(f"  supports: {', '.join(extras)}")
