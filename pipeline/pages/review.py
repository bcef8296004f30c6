"""The review page of a preparation report: hear and see every message before it is sent.

Reads only the JSON report (``voxpipe prepare --json/--report``) and the
audio files it names; nothing is prepared again. Per item: the id, the text
as written (or the source file), and per artifact a player, a waveform, the
momentary loudness against the profile's target, and the report's facts.
Items that look wrong are flagged (see :func:`flag_items`) and can be sorted
to the top. The page renders rows a page at a time, so a batch of thousands
stays quick.
"""

from __future__ import annotations

import json
import math
import os
import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from ..errors import VoxpipeError
from .audio_facts import AudioFacts, FactSettings, measure_file
from .html import asset, render_page, write_page

__all__ = ["ReviewSettings", "build_review", "flag_items", "load_report", "review_data", "write_review"]

MediaMode = Literal["path", "url"]
# Preparation warnings by what they are about (their wording is in pipeline/preparation.py and mastering.py).
_WARNING_KINDS = (
    (re.compile(r"^the source clips"), "clipping"),
    (re.compile(r"raised by the cap"), "gain cap"),
    (re.compile(r"play-icon budget"), "size budget"),
    (re.compile(r"after \d+ tries"), "loudness miss"),
)
_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class ReviewSettings:
    """What counts as an outlier, and how the page is drawn."""

    rate_ratio: float = 1.35
    """Flag a speaking rate more than this factor above or below the batch median (words per second)."""
    min_rated_items: int = 3
    """A median needs at least this many items with a speaking rate."""
    long_silence_s: float = 2.0
    """Flag a pause inside a message at least this long."""
    loudness_tolerance_lu: float = 1.0
    """Flag a file whose integrated loudness is further than this from its profile's target."""
    peak_tolerance_db: float = 0.1
    """Flag a file whose true peak is more than this above its profile's ceiling."""
    page_size: int = 50
    """Items drawn per page."""
    facts: FactSettings = field(default_factory=FactSettings)
    media: MediaMode = "path"
    """How players find files: by path relative to the page, or by each file's ``media_url`` where it has one."""


def load_report(path: Path) -> dict[str, Any]:
    """A preparation report read from ``path``; one clear error if it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise VoxpipeError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError, numbers past the digit limit
        raise VoxpipeError(f"{path}: not a JSON report: {exc}") from exc
    _check_report(data, str(path))
    return data  # type: ignore[no-any-return]


def _check_report(data: Any, where: str) -> None:
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise VoxpipeError(f"{where}: not a preparation report (a JSON object with an 'items' list)")
    for n, item in enumerate(data["items"], 1):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise VoxpipeError(f"{where}: item {n} is not an object with a string 'id'")
        if not isinstance(item.get("artifacts", []), list) or not all(
            isinstance(a, dict) for a in item.get("artifacts", [])
        ):
            raise VoxpipeError(f"{where}: item {n} ({item['id']!r}): 'artifacts' is not a list of objects")


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _targets() -> Callable[[str], tuple[float, float] | None]:
    """The (LUFS target, true-peak ceiling) of a profile by name; None for one not found here."""
    from ..profiles import load_profile

    known: dict[str, tuple[float, float] | None] = {}

    def target(name: str) -> tuple[float, float] | None:
        if name not in known:
            try:
                profile = load_profile(name)
                known[name] = (profile.lufs, profile.true_peak_dbtp)
            except VoxpipeError:
                known[name] = None
        return known[name]

    return target


def _locate(raw: str, search: tuple[Path, ...]) -> Path | None:
    """The file a report's ``path`` names: as written (absolute, or from the folder prepare ran in),
    else under the report's folder, else by name beside the report."""
    path = Path(raw)
    candidates = [path] if path.is_absolute() else [*(d / path for d in search)]
    candidates += [d / path.name for d in search[1:]]
    return next((c for c in candidates if c.is_file()), None)


def _media_src(found: Path | None, raw: str, url: str | None, page_dir: Path, mode: MediaMode) -> str | None:
    if mode == "url" and url and urlsplit(url).scheme in ("http", "https"):
        return url
    if found is None:  # a player pointing nowhere would only log errors
        return None
    try:
        relative = os.path.relpath(found.resolve(), page_dir.resolve())
    except ValueError:  # another drive (Windows)
        return None
    return "/".join(quote(part) for part in Path(relative).parts)


def _artifact(
    raw: dict[str, Any],
    search: tuple[Path, ...],
    page_dir: Path,
    settings: ReviewSettings,
    target: Callable[[str], tuple[float, float] | None],
    measured: dict[Path, AudioFacts | str],
) -> tuple[dict[str, Any], AudioFacts | None]:
    path = _text(raw.get("path")) or ""
    profile = _text(raw.get("profile")) or ""
    found = _locate(path, search) if path else None
    facts: AudioFacts | None = None
    problem = None
    if found is None:
        problem = "file not found" if path else "no path in the report"
    else:
        key = found.resolve()
        if key not in measured:
            try:
                measured[key] = measure_file(found, settings.facts)
            except VoxpipeError as exc:
                measured[key] = str(exc)
        got = measured[key]
        facts, problem = (got, None) if isinstance(got, AudioFacts) else (None, got)
    goal = target(profile)
    return {
        "profile": profile,
        "name": Path(path).name,
        "src": _media_src(found, path, _text(raw.get("media_url")), page_dir, settings.media) if path else None,
        "mime": _text(raw.get("mime")),
        "duration_s": _num(raw.get("duration_s")),
        "lufs": _num(raw.get("lufs")),
        "true_peak_dbtp": _num(raw.get("true_peak_dbtp")),
        "bytes": _num(raw.get("bytes")),
        "bitrate_kbps": _num(raw.get("bitrate_kbps")),
        "sample_rate": _num(raw.get("sample_rate")),
        "reused": raw.get("reused") is True,
        "target_lufs": goal[0] if goal else None,
        "ceiling_dbtp": goal[1] if goal else None,
        "facts": facts.to_dict() if facts else None,
        "problem": problem,
    }, facts


def _words(item: dict[str, Any]) -> tuple[float | None, bool]:
    """(words spoken, whether it is only a count of the written words)."""
    words = _num(item.get("words"))
    if words is not None:
        return words, False
    text = _text(item.get("text"))
    return (float(len(_TAG.sub(" ", text).split())), True) if text else (None, False)


def _warning_kind(text: str) -> str:
    return next((kind for pattern, kind in _WARNING_KINDS if pattern.search(text)), "warning")


def flag_items(items: list[dict[str, Any]], settings: ReviewSettings = ReviewSettings()) -> float | None:
    """Give every item its ``flags`` (kind, detail) and return the batch's median speaking rate."""
    rates = [i["wps"] for i in items if i.get("wps")]
    median = statistics.median(rates) if len(rates) >= settings.min_rated_items else None
    for item in items:
        flags: list[list[str]] = []
        if item["status"] != "ok":
            flags.append(["failed", item.get("error") or "failed"])
        flags += [[_warning_kind(w), w] for w in item["warnings"]]
        wps = item.get("wps")
        if median and wps and not 1 / settings.rate_ratio <= wps / median <= settings.rate_ratio:
            pace = "fast" if wps > median else "slow"
            flags.append(["rate", f"{pace}: {wps:.1f} words/s against a batch median of {median:.1f}"])
        for a in item["artifacts"]:
            flags += _artifact_flags(a, settings)
        item["flags"] = flags
    return median


def _artifact_flags(a: dict[str, Any], settings: ReviewSettings) -> list[list[str]]:
    flags = []
    name = a["profile"] or a["name"]
    if a["problem"]:
        flags.append(["missing", f"{name}: {a['problem']}"])
    facts = a["facts"]
    if facts and facts["longest_silence_s"] >= settings.long_silence_s:
        start, length = max(facts["silences"], key=lambda s: s[1])
        flags.append(["silence", f"{name}: {length:.1f} s of silence at {start:.1f} s"])
    lufs, target = a["lufs"], a["target_lufs"]
    if lufs is not None and target is not None and abs(lufs - target) > settings.loudness_tolerance_lu:
        flags.append(["loudness", f"{name}: {lufs:.1f} LUFS against a target of {target:g}"])
    peak, ceiling = a["true_peak_dbtp"], a["ceiling_dbtp"]
    if peak is not None and ceiling is not None and peak > ceiling + settings.peak_tolerance_db:
        flags.append(["loudness", f"{name}: true peak {peak:.1f} dBTP over the {ceiling:g} dBTP ceiling"])
    return flags


def review_data(
    report: dict[str, Any],
    page_path: Path,
    report_dir: Path | None = None,
    settings: ReviewSettings = ReviewSettings(),
    title: str | None = None,
) -> dict[str, Any]:
    """Everything the page shows, as JSON-able data (also what the browser tests read)."""
    _check_report(report, "the report")
    page_dir = page_path.parent
    search = (Path.cwd(), *([report_dir] if report_dir else []))
    target = _targets()
    measured: dict[Path, AudioFacts | str] = {}
    items = []
    for n, raw in enumerate(report["items"]):
        artifacts, first = [], None
        for a in raw.get("artifacts") or []:
            shown, facts = _artifact(a, search, page_dir, settings, target, measured)
            artifacts.append(shown)
            first = first or facts
        words, estimated = _words(raw)
        wps = words / first.speech_s if words and first and first.speech_s > 0.2 else None
        items.append(
            {
                "n": n,
                "id": raw["id"],
                "status": "ok" if raw.get("status") == "ok" else "error",
                "error": _text(raw.get("error")),
                "warnings": [w for w in raw.get("warnings") or [] if isinstance(w, str)],
                "text": _text(raw.get("text")),
                "audio": _text(raw.get("audio")),
                "words": words,
                "words_estimated": estimated,
                "wps": round(wps, 2) if wps else None,
                "duration_s": first.duration_s if first else _num((raw.get("artifacts") or [{}])[0].get("duration_s")),
                "artifacts": artifacts,
            }
        )
    median = flag_items(items, settings)
    ok = [i for i in items if i["status"] == "ok"]
    files = [a for i in items for a in i["artifacts"]]
    return {
        "title": title or "Review",
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "summary": {
            "items": len(items),
            "ok": len(ok),
            "failed": len(items) - len(ok),
            "flagged": sum(1 for i in ok if i["flags"]),
            "audio_s": round(sum(i["duration_s"] or 0 for i in ok), 1),
            "files": len(files),
            "bytes": int(sum(a["bytes"] or 0 for a in files)),
            "reused": sum(1 for a in files if a["reused"]),
            "median_wps": round(median, 2) if median else None,
        },
        "settings": {
            "page_size": settings.page_size,
            "long_silence_s": settings.long_silence_s,
            "rate_ratio": settings.rate_ratio,
            "loudness_tolerance_lu": settings.loudness_tolerance_lu,
            "media": settings.media,
        },
        "items": items,
    }


def _page(data: dict[str, Any]) -> str:
    style = asset("page.css") + asset("review.css")
    return render_page(data["title"], data, script=asset("review.js"), style=style, media=True)


def build_review(
    report: dict[str, Any],
    page_path: Path,
    report_dir: Path | None = None,
    settings: ReviewSettings = ReviewSettings(),
    title: str | None = None,
) -> str:
    """The review page of ``report`` as HTML, with media paths relative to ``page_path``."""
    return _page(review_data(report, page_path, report_dir, settings, title))


def write_review(
    report: dict[str, Any],
    page_path: Path,
    report_dir: Path | None = None,
    settings: ReviewSettings = ReviewSettings(),
    title: str | None = None,
) -> dict[str, Any]:
    """Write the review page of ``report`` to ``page_path`` (whole or not at all); returns its summary."""
    data = review_data(report, page_path, report_dir, settings, title)
    write_page(page_path, _page(data))
    return data["summary"]  # type: ignore[no-any-return]
