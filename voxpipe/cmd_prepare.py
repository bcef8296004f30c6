"""``voxpipe prepare``, ``voxpipe engines`` and ``voxpipe profiles``."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

from voxpipe.pipeline.engines import DEFAULT_ENGINE, engine_infos
from voxpipe.pipeline.load import FetchSettings
from voxpipe.pipeline.manifest import Row, expand_sources
from voxpipe.pipeline.preparation import Item, ItemResult, PrepareSettings, prepare_many
from voxpipe.pipeline.profiles import DEFAULT_PROFILES, available_profiles, load_profile

from .cmd_review import review_option, write_prepared_review
from .inputs import message_text
from .output import (
    check_report_target,
    echo_err,
    error_line,
    forget_in_logs,
    hide_url_passwords,
    redact_errors,
    url_passwords,
    write_report,
)
from .params import FiniteFloat, ItemId, check_audio_url
from .progress import progress_bar
from .store_options import store_options, store_settings

_DEFAULTS = PrepareSettings()
MAX_SECONDS_LIMIT = 86_400


@click.command()
@click.argument("sources", nargs=-1, type=click.Path(path_type=Path))
@click.option("--text", help="Plain text to speak (markup is also accepted).")
@click.option("--ssml", help="Markup text (for a file of markup use --ssml-file).")
@click.option("--ssml-file", type=click.Path(path_type=Path), help="A file of markup (UTF-8, at most 1 MiB).")
@click.option("--audio", "audio", callback=check_audio_url, help="Source audio: a file path or an http(s) URL.")
@click.option(
    "--id",
    "item_id",
    type=ItemId(),
    default="message",
    show_default=True,
    help="Id of a --text/--ssml/--ssml-file/--audio input.",
)
@click.option(
    "-p",
    "--profile",
    "profiles",
    multiple=True,
    help=f"Output profile, repeatable [default: {', '.join(DEFAULT_PROFILES)}].",
)
@click.option(
    "-o",
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=_DEFAULTS.out_dir,
    show_default=True,
    help="Output folder.",
)
@click.option("--engine", default=DEFAULT_ENGINE, show_default=True, help="Speech engine (see `voxpipe engines`).")
@click.option("--voice", help="Voice: a bundled piper voice name or a .onnx path.")
@click.option("--language", help="Language for say-as words, and the gtts voice language.")
@click.option("--tld", default=_DEFAULTS.tld, show_default=True, help="gtts: Google domain that picks the accent.")
@click.option("-j", "--jobs", type=click.IntRange(1, 256), help="Worker processes [default: one per core].")
@click.option("--threads", type=click.IntRange(1, 256), help="Inference threads per worker [default: cores / jobs].")
@click.option("--allow-private-urls", is_flag=True, help="Allow --audio URLs on loopback or private addresses.")
@click.option(
    "--max-seconds",
    type=FiniteFloat(0, MAX_SECONDS_LIMIT, low_open=True),
    default=FetchSettings().max_seconds,
    show_default=True,
    help=f"Longest source audio, or text script (pauses + estimated speech), accepted (at most {MAX_SECONDS_LIMIT} s).",
)
@click.option(
    "--max-chars",
    type=click.IntRange(1),
    default=_DEFAULTS.max_chars,
    show_default=True,
    help="Longest text or markup accepted, in characters.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the JSON report on stdout.")
@click.option("--report", type=click.Path(path_type=Path), help="Write the JSON report to this file.")
@click.option("--progress/--no-progress", default=None, help="Progress bar [default: on a terminal].")
@review_option
@store_options
def prepare(
    sources: tuple[Path, ...],
    text: str | None,
    ssml: str | None,
    ssml_file: Path | None,
    audio: str | None,
    item_id: str,
    profiles: tuple[str, ...],
    out_dir: Path,
    engine: str,
    voice: str | None,
    language: str | None,
    tld: str,
    jobs: int | None,
    threads: int | None,
    allow_private_urls: bool,
    max_seconds: float,
    max_chars: int,
    as_json: bool,
    report: Path | None,
    progress: bool | None,
    review: bool,
    store: str | None,
    **store_args: Any,
) -> None:
    """Turn text, markup or audio into mastered MP3 / Ogg-Opus / WAV files.

    SOURCES are manifests (.csv, .jsonl), markup or text files (.ssml, .xml,
    .txt), audio files, or folders of them. Files are named by content: an
    unchanged input is reused, not synthesised again. With --store every file
    is also hosted and gets a media_url a provider can fetch.
    """
    direct = [v for v in (text, ssml, ssml_file, audio) if v is not None]
    if len(direct) > 1:
        raise click.UsageError("give only one of --text, --ssml, --audio or --ssml-file")
    if not direct and not sources:
        raise click.UsageError("nothing to prepare: give SOURCES, --text, --ssml, --ssml-file or --audio")
    passwords = url_passwords(audio, store_args.get("base_url"), store_args.get("endpoint_url"))
    forget_in_logs(passwords)
    if report is not None:
        check_report_target(report)
    spoken = message_text(text, ssml, ssml_file)
    for name in profiles:
        load_profile(name)
    hosting = store_settings(store, **store_args)
    target = None
    if hosting is not None:
        from voxpipe.pipeline.store import open_store

        target = open_store(*hosting)  # a bad store location fails here, before any work
    settings = PrepareSettings(
        out_dir=out_dir,
        profiles=profiles or DEFAULT_PROFILES,
        engine=engine,
        voice=voice,
        language=language,
        tld=tld,
        jobs=jobs,
        threads=threads,
        fetch=FetchSettings(allow_private=allow_private_urls, max_seconds=max_seconds),
        max_chars=max_chars,
    )
    rows: list[Row | ItemResult] = list(expand_sources(list(sources)))
    if spoken is not None:
        rows.append(Row(Item(item_id, text=spoken), {"id": item_id}))
    elif audio is not None:
        rows.append(Row(Item(item_id, audio=audio), {"id": item_id}))
    started = time.perf_counter()
    try:
        results = run_prepare(rows, settings, progress)
        timing = {"prepare_s": round(time.perf_counter() - started, 3)}
        if target is not None:
            from voxpipe.pipeline.store import publish

            started = time.perf_counter()
            results = publish(results, target)
            timing["upload_s"] = round(time.perf_counter() - started, 3)
    finally:
        if target is not None:
            target.close()
    data = emit_report(results, as_json, report, {"timing": timing}, passwords)
    if review:
        write_prepared_review(data, out_dir)
    if any(not r.ok for r in results):
        sys.exit(1)


def run_prepare(rows: list[Row | ItemResult], settings: PrepareSettings, progress: bool | None) -> list[ItemResult]:
    """Prepare every row, drawing progress; results come back in input order."""
    items = [r.item for r in rows if isinstance(r, Row)]
    done: dict[str, ItemResult] = {}
    with progress_bar(len(items), "preparing", progress) as advance:
        for result in prepare_many(items, settings):
            done[result.id] = result
            advance(result.id, result.ok)
    return [done[r.item.id] if isinstance(r, Row) else r for r in rows]


def emit_report(
    results: list[ItemResult],
    as_json: bool,
    report: Path | None,
    extra: dict[str, Any] | None = None,
    passwords: Iterable[str] = (),
) -> dict[str, Any]:
    data = {
        "items": hide_url_passwords([redact_errors(r.to_dict()) for r in results], passwords),
        "summary": {
            "items": len(results),
            "ok": sum(r.ok for r in results),
            "error": sum(not r.ok for r in results),
            **(extra or {}),
        },
    }
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        _print_results(results, data["summary"])
    if report:
        write_report(report, json.dumps(data, indent=2) + "\n")
    return data


def _print_results(results: list[ItemResult], s: dict[str, Any]) -> None:
    width = max((len(r.id) for r in results if r.ok), default=0)
    for r in results:
        if not r.ok:
            echo_err(error_line(r.id, r.error))
            continue
        for a in r.artifacts:
            state = "reused" if a.reused else "ok"
            url = f"  {a.media_url}" if a.media_url else ""
            click.echo(
                hide_url_passwords(
                    f"{state:<6} {r.id:<{width}}  {a.profile:<9} {a.path}  {a.duration_s:.1f} s  "
                    f"{a.lufs:.1f} LUFS  {a.true_peak_dbtp:.1f} dBTP  {a.bytes // 1024} KB{url}"
                )
            )
        for w in r.warnings:
            echo_err(f"warn   {r.id}: {w}")
    if len(results) > 1:  # one input: its own line says it all
        click.echo(f"{s['ok']} of {s['items']} prepared, {s['error']} failed", err=True)


@click.command()
def engines() -> None:
    """List speech engines with their voices and languages."""
    for info in engine_infos():
        mode = "offline" if info.offline else "online"
        click.echo(f"{info.name}  ({mode}; {info.licence})")
        click.echo(f"  {info.description}")
        click.echo(f"  voices:    {'; '.join(info.voices)}")
        langs = ", ".join(info.languages)
        click.echo(click.wrap_text(langs, 96, initial_indent="  languages: ", subsequent_indent=" " * 13))


@click.command()
def profiles() -> None:
    """List output profiles (presets in assets/profiles, plus $VOXPIPE_PROFILES_DIR)."""
    for name in available_profiles():
        p = load_profile(name)
        rate = f"{p.bitrate_kbps} kbps" if p.bitrate_kbps else "PCM"
        click.echo(
            f"{p.name:<9} {p.container}/{p.codec} {p.sample_rate} Hz {rate}, {p.lufs:g} LUFS, "
            f"<= {p.true_peak_dbtp:g} dBTP, lead/tail {p.lead_ms}/{p.tail_ms} ms  {p.mime}"
        )
        if p.description:
            click.echo(f"          {p.description}")
