"""``voxpipe prepare``, ``voxpipe engines`` and ``voxpipe profiles``."""

from __future__ import annotations

import itertools
import json
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

from voxpipe.config import Config
from voxpipe.pipeline.batch import BatchReport, iter_prepare
from voxpipe.pipeline.cluster.spec import cluster_problem
from voxpipe.pipeline.engines import engine_infos
from voxpipe.pipeline.load import FetchSettings
from voxpipe.pipeline.manifest import Row, expand_sources
from voxpipe.pipeline.personal import iter_data, prepare_template
from voxpipe.pipeline.preparation import Item, ItemResult, PrepareSettings
from voxpipe.pipeline.profiles import available_profiles, load_profile
from voxpipe.pipeline.redaction import redact_url
from voxpipe.pipeline.templates import Template

from .cmd_review import review_option, write_prepared_review
from .inputs import message_text, read_ssml_file
from .output import (
    StreamedReport,
    check_report_target,
    echo_err,
    error_line,
    forget_in_logs,
    hide_url_passwords,
    redact_errors,
    url_passwords,
    write_report,
)
from .params import FiniteFloat, ItemId, check_audio_url, current_config
from .progress import progress_bar
from .store_options import configured_store, store_flags, store_options

__all__ = ["MAX_SECONDS_LIMIT", "engines", "prepare", "prepare_settings", "profiles"]

_D = PrepareSettings()
MAX_SECONDS_LIMIT = 86_400


class _ClusterAddress(click.ParamType):
    """``tcp://host:port`` or ``local:N``, checked before any work."""

    name = "address"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        problem = cluster_problem(str(value))
        if problem:
            self.fail(f"{redact_url(str(value))!r}: {problem}", param, ctx)
        return str(value).strip()

    def get_metavar(self, param: click.Parameter, *args: Any) -> str:
        return "ADDRESS"


@click.command()
@click.argument("sources", nargs=-1, type=click.Path(path_type=Path))
@click.option("--text", help="Plain text to speak (markup is also accepted).")
@click.option("--ssml", help="Markup text (for a file of markup use --ssml-file).")
@click.option("--ssml-file", type=click.Path(path_type=Path), help="A file of markup (UTF-8, at most 1 MiB).")
@click.option("--audio", "audio", callback=check_audio_url, help="Source audio: a file path or an http(s) URL.")
@click.option(
    "--id", "item_id", type=ItemId(), default="message", show_default=True, help="Id of a --text/--ssml/--audio input."
)
@click.option(
    "-p",
    "--profile",
    "profiles",
    multiple=True,
    help=f"Output profile, repeatable [default: {', '.join(_D.profiles)}].",
)
@click.option("-o", "--out", "out_dir", help=f"Output folder [default: {_D.out_dir}].")
@click.option("--engine", help=f"Speech engine (see `voxpipe engines`) [default: {_D.engine}].")
@click.option("--voice", help="Voice: a bundled piper voice name or a .onnx path.")
@click.option("--language", help="Language for say-as words, and the gtts voice language.")
@click.option("--tld", default=_D.tld, show_default=True, help="gtts: Google domain that picks the accent.")
@click.option("-j", "--jobs", type=click.IntRange(1, 256), help="Worker processes [default: one per core].")
@click.option("--threads", type=click.IntRange(1, 256), help="Inference threads per worker [default: cores / jobs].")
@click.option(
    "--cluster",
    type=_ClusterAddress(),
    help="Prepare on Dask: tcp://host:port (a scheduler; needs an s3:// --store) or local:N (N worker processes) "
    "[default: $VOXPIPE_DASK_SCHEDULER, else this machine's pool].",
)
@click.option("--allow-private-urls", is_flag=True, help="Allow --audio URLs on loopback or private addresses.")
@click.option(
    "--max-seconds",
    type=FiniteFloat(0, MAX_SECONDS_LIMIT, low_open=True),
    help=f"Longest source audio, or text script (pauses + estimated speech) [default: {_D.fetch.max_seconds:g}].",
)
@click.option(
    "--max-chars", type=click.IntRange(1), help=f"Longest text accepted, in characters [default: {_D.max_chars}]."
)
@click.option(
    "--template",
    type=click.Path(path_type=Path),
    help="Markup with {placeholders}, filled from each row of --data (one message per row).",
)
@click.option(
    "--data", type=click.Path(path_type=Path), help="Rows for --template: CSV or JSONL with id + placeholders."
)
@click.option(
    "--sensitive/--not-sensitive",
    default=None,
    help="Treat --template values as secrets [default: when a placeholder is read as digits].",
)
@click.option(
    "--segment-cache/--no-segment-cache",
    default=None,
    help="Assemble --template messages from cached segments, or synthesise each in full [default: cached].",
)
@click.option("--cache-dir", help="Segment cache folder [default: OUT/.segment-cache].")
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
    tld: str,
    threads: int | None,
    allow_private_urls: bool,
    as_json: bool,
    report: Path | None,
    progress: bool | None,
    review: bool,
    template: Path | None,
    data: Path | None,
    sensitive: bool | None,
    **flags: Any,
) -> None:
    """Turn text, markup or audio into mastered MP3 / Ogg-Opus / WAV files.

    SOURCES are manifests (.csv, .jsonl), markup or text files (.ssml, .xml,
    .txt), audio files, or folders of them. Files are named by content: an
    unchanged input is reused, not synthesised again. With --store every file
    is also hosted and gets a media_url a provider can fetch.
    """
    direct = [v for v in (text, ssml, ssml_file, audio) if v is not None]
    if template is not None or data is not None:
        if template is None or data is None:
            raise click.UsageError("--template and --data go together")
        if direct or sources:
            raise click.UsageError("--template with --data replaces SOURCES, --text, --ssml, --ssml-file and --audio")
        if review:
            raise click.UsageError("--review is not available with --template (a page per campaign row would be huge)")
    if template is not None and data is not None:
        config = current_config({**store_flags(flags), **_prepare_flags(flags, profiles)})
        settings = prepare_settings(config, tld=tld, threads=threads, allow_private_urls=allow_private_urls)
        _prepare_template(config, settings, template, data, sensitive, as_json, report, progress)
        return
    if len(direct) > 1:
        raise click.UsageError("give only one of --text, --ssml, --audio or --ssml-file")
    if not direct and not sources:
        raise click.UsageError("nothing to prepare: give SOURCES, --text, --ssml, --ssml-file or --audio")
    config = current_config({**store_flags(flags), **_prepare_flags(flags, profiles)})
    cluster, jobs = config.values.get("prepare.cluster"), config.values.get("prepare.jobs")
    if cluster is not None and jobs is not None and jobs.source == "flag":
        where = "--cluster" if cluster.source == "flag" else f"prepare.cluster from {cluster.source}"
        raise click.UsageError(f"--jobs sets this machine's worker processes; with {where} the cluster's workers run")
    passwords = url_passwords(audio, config.get("store.base_url"), config.get("store.endpoint_url"))
    forget_in_logs(passwords)
    if report is not None:
        check_report_target(report)
    spoken = message_text(text, ssml, ssml_file)
    settings = prepare_settings(config, tld=tld, threads=threads, allow_private_urls=allow_private_urls)
    for name in settings.profiles:
        load_profile(name)  # a bad profile is one line now, not one per item
    rows: list[Row | ItemResult] = list(expand_sources(list(sources)))
    if spoken is not None:
        rows.append(Row(Item(item_id, text=spoken), {"id": item_id}))
    elif audio is not None:
        rows.append(Row(Item(item_id, audio=audio), {"id": item_id}))
    batch: BatchReport | None = None
    with configured_store(config) as store:
        items = sum(isinstance(r, Row) for r in rows)
        with progress_bar(items, "preparing", progress) as advance:
            for event in iter_prepare(rows, settings, store):
                if isinstance(event, BatchReport):
                    batch = event
                else:
                    advance(event.id, event.ok)
    assert batch is not None
    emitted = _emit(batch, as_json, report, passwords)
    if review:
        write_prepared_review(emitted, settings.out_dir)
    if not batch.ok:
        sys.exit(1)


def _prepare_template(
    config: Config,
    settings: PrepareSettings,
    template_path: Path,
    data: Path,
    sensitive: bool | None,
    as_json: bool,
    report: Path | None,
    progress: bool | None,
) -> None:
    """Stream: each row's line and report entry are written as it completes, so memory stays flat."""
    passwords = url_passwords(config.get("store.base_url"), config.get("store.endpoint_url"))
    forget_in_logs(passwords)
    if report is not None:
        check_report_target(report)
    for name in settings.profiles:
        load_profile(name)
    template = Template.parse(read_ssml_file(template_path), sensitive=sensitive)
    rows = iter_data(data)
    first = next(rows)  # an unreadable file or header is one line now, before any work
    counts = {"items": 0, "ok": 0, "error": 0}
    started = time.perf_counter()
    with configured_store(config) as store, progress_bar(None, "preparing", progress) as advance:
        streamed = StreamedReport(report, to_stdout=as_json)
        try:
            for result in prepare_template(template, itertools.chain([first], rows), settings, store):
                advance(result.id, result.ok)
                counts["items"] += 1
                counts["ok" if result.ok else "error"] += 1
                streamed.add(hide_url_passwords(redact_errors(result.to_dict()), passwords))
                if not as_json:
                    _print_results([result], counts, summary=False)
        except BaseException:
            streamed.discard()
            raise
        streamed.close({**counts, "timing": {"prepare_s": round(time.perf_counter() - started, 3)}})
    if not as_json:
        click.echo(f"{counts['ok']} of {counts['items']} prepared, {counts['error']} failed", err=True)
    if counts["error"]:
        sys.exit(1)


def _prepare_flags(flags: dict[str, Any], profiles: tuple[str, ...]) -> dict[str, Any]:
    return {
        "out": flags.pop("out_dir"),
        "prepare.engine": flags.pop("engine"),
        "prepare.voice": flags.pop("voice"),
        "prepare.language": flags.pop("language"),
        "prepare.jobs": flags.pop("jobs"),
        "prepare.max_seconds": flags.pop("max_seconds"),
        "prepare.max_chars": flags.pop("max_chars"),
        "prepare.profiles": list(profiles) or None,
        "prepare.segment_cache": flags.pop("segment_cache", None),
        "prepare.cache_dir": flags.pop("cache_dir", None),
        "prepare.cluster": flags.pop("cluster"),
    }


def prepare_settings(config: Config, **extra: Any) -> PrepareSettings:
    """Preparation settings from the configuration (``out``, ``[prepare]``), plus flags that are not configured."""
    return PrepareSettings(
        out_dir=Path(config.get("out", _D.out_dir)),
        profiles=tuple(config.get("prepare.profiles", _D.profiles)),
        engine=config.get("prepare.engine", _D.engine),
        voice=config.get("prepare.voice"),
        language=config.get("prepare.language"),
        tld=extra.get("tld", _D.tld),
        jobs=config.get("prepare.jobs"),
        threads=extra.get("threads"),
        fetch=FetchSettings(
            allow_private=extra.get("allow_private_urls", False),
            max_seconds=config.get("prepare.max_seconds", _D.fetch.max_seconds),
        ),
        max_chars=config.get("prepare.max_chars", _D.max_chars),
        segment_cache=config.get("prepare.segment_cache", _D.segment_cache),
        cache_dir=Path(config.get("prepare.cache_dir")) if config.get("prepare.cache_dir") else None,
        cluster=config.get("prepare.cluster"),
    )


def _emit(batch: BatchReport, as_json: bool, report: Path | None, passwords: Iterable[str]) -> dict[str, Any]:
    data = batch.to_dict()
    data["items"] = hide_url_passwords([redact_errors(item) for item in data["items"]], passwords)
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        _print_results(list(batch.results), data["summary"])
    if report:
        write_report(report, json.dumps(data, indent=2) + "\n")
    return data


def _print_results(results: list[ItemResult], s: dict[str, Any], *, summary: bool = True) -> None:
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
    if summary and len(results) > 1:  # one input: its own line says it all
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
