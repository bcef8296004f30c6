"""``prepare``: one input (text, markup or source audio) into verified artifacts.

Composes the stages: parse → synthesize, or load; then per profile master →
encode → verify, correcting gain and limiter margin from what the encoded file
measures (lossy codecs shift loudness and overshoot the peak), and shrinking
the Opus bitrate to fit the voice-note size budget. Names are content hashes:
an unchanged input is found on disk and costs neither synthesis nor encoding.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from .artifact import Artifact, atomic_path, content_key, load_sidecar, sha256_file, write_sidecar
from .audio import Audio
from .cluster.spec import parse_cluster
from .encoding import Verified, encode, verify
from .engines import DEFAULT_ENGINE, Engine, VoiceSettings, get_engine
from .errors import AudioInputError, EncodeError, MarkupError, VoxpipeError
from .load import FetchSettings, decode_source, is_url, read_source
from .markup import Pause, Script, normalize, parse
from .markup.values import language_tag
from .mastering import MasterSettings, master
from .profiles import DEFAULT_PROFILES, Profile, load_profile
from .redaction import redact_text, redact_url
from .secret import folder_secret, keyed_digest
from .segments import SPLICE_VERSION, open_cache, synthesize_template
from .store.private import PRIVATE_MARK
from .synthesis import synthesize
from .templates import Template, mask_values

__all__ = [
    "SPEECH_CHARS_PER_SECOND",
    "Item",
    "ItemResult",
    "Plan",
    "PrepareSettings",
    "check_item_id",
    "check_language",
    "check_script_length",
    "cpu_count",
    "described",
    "plan",
    "prepare",
    "prepare_one",
    "produce",
    "result_of",
    "reused",
    "unexpected",
]

_LOG = logging.getLogger(__name__)

# First-try (loudness offset, peak margin) per encoder, so that most files need one
# encode: measured over 16 piper messages, 48 kbps MP3 at 22.05 kHz came out
# 0.42-0.50 LU quiet with peaks 0.35-0.85 dB under; 24 kbps Opus at 16 kHz came
# out 0.25-0.44 LU quiet with peaks from 0.3 dB under to 0.6 dB over a 0.8 dB margin.
_FIRST_TRY_DB = {"libmp3lame": (0.45, 0.1), "libopus": (0.32, 1.1), "pcm_s16le": (0.0, 0.05)}
LUFS_TOLERANCE = 0.3
PEAK_SAFETY_DB = 0.05
MAX_TRIES = 5
# Ids name report rows and may name files downstream: safe file-name characters only.
_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
#: A source clips where this many samples in a row sit at full scale (a flat top; one sample is a peak).
_CLIP_RUN = 3
_FULL_SCALE = 0.999
#: Speech-time estimate for the length check, deliberately fast (people read ~14
#: characters a second), so only a script that is surely too long is refused.
SPEECH_CHARS_PER_SECOND = 25.0


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Item:
    """One thing to prepare: ``text`` (plain or markup) or ``audio`` (path or URL)."""

    id: str
    text: str | None = None
    audio: str | None = None
    engine: str | None = None
    voice: str | None = None
    language: str | None = None
    profiles: tuple[str, ...] | None = None
    template: Template | None = None
    """The template ``text`` was rendered from (with ``values``): reports of a sensitive one show ``****``."""
    values: tuple[tuple[str, str], ...] = ()
    """The checked values ``text`` was rendered with."""

    @property
    def sensitive(self) -> bool:
        return self.template is not None and self.template.sensitive

    @property
    def shown(self) -> str | None:
        """The text as reports and logs may show it."""
        if self.template is not None and self.template.sensitive:
            return self.template.shown(dict(self.values))
        return self.text

    def masked(self, message: str) -> str:
        """``message`` with this item's values hidden, when they are secret."""
        return mask_values(message, [v for _, v in self.values], self.language or "en") if self.sensitive else message


@dataclass(frozen=True)
class PrepareSettings:
    """Batch-wide settings; an item's own engine/voice/language/profiles win."""

    out_dir: Path = Path("out")
    profiles: tuple[str, ...] = DEFAULT_PROFILES
    engine: str = DEFAULT_ENGINE
    voice: str | None = None
    language: str | None = None
    tld: str = "com"
    jobs: int | None = None
    """Worker processes; None = one per core (or one, using every core, for one item)."""
    threads: int | None = None
    """Inference threads per worker; None = cores // workers."""
    fetch: FetchSettings = field(default_factory=FetchSettings)
    """Limits on source audio; its ``max_seconds`` bounds text scripts too."""
    profile_dirs: tuple[Path, ...] = ()
    max_chars: int = 100_000
    """Longest text or markup accepted, in characters (checked before parsing)."""
    segment_cache: bool = True
    """Assemble a template's messages from cached segments (see :mod:`.segments`); False: full synthesis."""
    cache_dir: Path | None = None
    """Where the segment cache lives; None: ``.segment-cache`` in ``out_dir``."""

    @property
    def segments_dir(self) -> Path:
        return self.cache_dir if self.cache_dir is not None else self.out_dir / ".segment-cache"

    cluster: str | None = None
    """Run the items on Dask: ``tcp://host:port`` (a scheduler) or ``local:N``; None = this machine's pool."""

    def __post_init__(self) -> None:
        if isinstance(self.max_chars, bool) or not isinstance(self.max_chars, int) or self.max_chars < 1:
            raise VoxpipeError(f"max_chars must be a whole number of at least 1, not {self.max_chars!r}")
        seconds = self.fetch.max_seconds
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds < float("inf"):
            raise VoxpipeError(f"max_seconds must be a finite number above 0, not {seconds!r}")
        check_language(self.language)
        if self.cluster is not None:
            parse_cluster(self.cluster)


def check_language(language: str | None) -> None:
    """Raise MarkupError unless ``language`` (the text's, for say-as words) is None or a tag like en or en-US."""
    if language is None:
        return
    try:
        language_tag(language)
    except ValueError as exc:
        raise MarkupError(f"`language` {language!r}: {exc}") from None


@dataclass(frozen=True)
class ItemResult:
    id: str
    status: str  # "ok" or "error"
    error: str | None = None
    artifacts: tuple[Artifact, ...] = ()
    warnings: tuple[str, ...] = ()
    text: str | None = None
    """The input as written (text or markup), so a report shows what was said."""
    audio: str | None = None
    """Or the source audio: its path, or its URL without password and query."""
    words: int | None = None
    """Words spoken (say-as read out), for the speaking rate; None for source audio."""
    segments: dict[str, int] | None = None
    """For a template's message made now: segment-cache hits and misses (carriers synthesised)."""
    retried: int = 0
    """Times the item was started again on a cluster because the worker holding it died or left."""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "error": self.error,
            "warnings": list(self.warnings),
            "artifacts": [a.to_dict() for a in self.artifacts],
            "text": self.text,
            "audio": self.audio,
            "words": self.words,
            **({"segments": self.segments} if self.segments is not None else {}),
            "retried": self.retried,
        }


@dataclass(frozen=True)
class Plan:
    """What preparing an item will do, worked out without synthesis or encoding: the checks have passed."""

    item: Item
    profiles: tuple[Profile, ...]
    paths: tuple[Path, ...]
    script: Script | None
    engine: Engine | None
    source: bytes | None
    words: int | None = None


def check_item_id(item_id: object) -> None:
    """Raise VoxpipeError unless ``item_id`` is 1-128 letters, digits, '.', '_', ':', '-',
    starting with a letter or digit (so no '/', no '..', no hidden file)."""
    if not isinstance(item_id, str) or not _ID_RE.fullmatch(item_id):
        shown = repr(item_id) if len(repr(item_id)) <= 60 else repr(item_id)[:57] + "..."
        raise VoxpipeError(
            f"item id {shown}: use 1-128 letters, digits, '.', '_', ':' or '-', starting with a letter or digit"
        )


def check_script_length(script: Script, language: str, max_seconds: float) -> None:
    """Refuse, before any synthesis, a script whose pauses plus estimated speech exceed ``max_seconds``.

    Speech is estimated at :data:`SPEECH_CHARS_PER_SECOND` (after say-as is
    expanded into words), slowed by the script's own rate.
    """
    pauses = speech = 0.0
    for seg in normalize(script, language).segments:
        if isinstance(seg, Pause):
            pauses += seg.ms / 1000
        else:
            speech += len(seg.text.strip()) / SPEECH_CHARS_PER_SECOND / seg.prosody.rate
    if pauses + speech > max_seconds:
        raise MarkupError(
            f"the script runs at least {pauses + speech:.0f} s ({pauses:.0f} s of written pauses, "
            f"about {speech:.0f} s of speech); the limit is {max_seconds:g} s"
        )


def plan(item: Item, settings: PrepareSettings = PrepareSettings()) -> Plan:
    """Check ``item`` (id, text limits, markup, profiles, voice; source audio is read) and name its files."""
    check_item_id(item.id)
    check_language(item.language)
    if (item.text is None) == (item.audio is None):
        raise VoxpipeError("give exactly one of text or audio")
    profiles = tuple(load_profile(p, settings.profile_dirs) for p in (item.profiles or settings.profiles))
    if item.text is not None:
        if len(item.text) > settings.max_chars:
            raise MarkupError(f"the text has {len(item.text):,} characters; the limit is {settings.max_chars:,}")
        script = parse(item.text)
        engine = get_engine(
            item.engine or settings.engine,
            VoiceSettings(
                voice=item.voice or settings.voice,
                language=item.language or settings.language,
                tld=settings.tld,
                threads=settings.threads,
            ),
        )
        base: dict[str, Any] = {
            "script": script.to_dict(),
            "language": item.language or settings.language,
            "engine": engine.identity(),
        }
        if item.template is not None and settings.segment_cache:  # spliced audio differs from a full synthesis
            base["segments"] = SPLICE_VERSION
        language = script.language or item.language or settings.language or engine.language
        check_script_length(script, language, settings.fetch.max_seconds)
        source = None
        words: int | None = _spoken_words(script, language)
    else:
        assert item.audio is not None
        script, engine = None, None
        source = read_source(item.audio, settings.fetch)
        base = {"audio": hashlib.sha256(source).hexdigest()}
        words = None
    # A secret's file name must not let anyone who knows the template compute it from the code.
    key = partial(keyed_digest, folder_secret(settings.out_dir)) if item.sensitive else (lambda k: k)
    mark = PRIVATE_MARK if item.sensitive else ""  # stores and the server keep these apart (short-lived URLs)
    paths = tuple(
        settings.out_dir / f"{p.name}-{key(content_key({**base, 'profile': p.settings()}))[:24]}{mark}.{p.extension}"
        for p in profiles
    )
    return Plan(item, profiles, paths, script, engine, source, words)


def _spoken_words(script: Script, language: str) -> int:
    return sum(len(seg.text.split()) for seg in normalize(script, language).segments if not isinstance(seg, Pause))


def described(result: ItemResult, item: Item, plan: Plan | None) -> ItemResult:
    """``result`` with what was asked for (text or source) and the words spoken, for reports."""
    audio = redact_url(item.audio) if item.audio is not None and is_url(item.audio) else item.audio
    error = item.masked(result.error) if result.error else result.error
    return replace(result, text=item.shown, audio=audio, words=plan.words if plan else None, error=error)


def _clipping_warnings(audio: Audio) -> tuple[str, ...]:
    """A warning when the source has flat tops at full scale: mastering lowers them but cannot undo them."""
    at_full = np.abs(audio.samples) >= _FULL_SCALE
    if np.count_nonzero(at_full) < _CLIP_RUN:
        return ()
    edges = np.flatnonzero(np.diff(np.concatenate(([0], at_full.view(np.int8), [0]))))
    lengths = edges[1::2] - edges[::2]
    runs = lengths[lengths >= _CLIP_RUN]
    if not len(runs):
        return ()
    return (
        f"the source clips: {int(runs.sum())} samples at full scale in {len(runs)} places "
        "(mastering lowers the level but cannot undo the distortion)",
    )


def reused(plan: Plan) -> list[Artifact | None]:
    """Each planned artifact that is on disk already (from an earlier run), else None."""
    return [load_sidecar(path) for path in plan.paths]


def prepare_one(item: Item, settings: PrepareSettings = PrepareSettings()) -> ItemResult:
    """Prepare one item; raises :class:`VoxpipeError` (or ``OSError`` for the output folder) when it cannot.

    For a caller with one thing to prepare; :func:`prepare` is the same with
    the error in the result, as a batch wants it.
    """
    planned = plan(item, settings)
    found = reused(planned)
    if all(found):
        return described(result_of(item.id, [a for a in found if a]), item, planned)
    stats = open_cache(settings.segments_dir).stats if item.template and settings.segment_cache else None
    before = stats.to_dict() if stats else {}
    audio = _source_audio(planned, settings)
    notes = _clipping_warnings(audio) if planned.source is not None else ()
    artifacts = [
        have or produce(audio, profile, path, source_warnings=notes)
        for have, profile, path in zip(found, planned.profiles, planned.paths, strict=True)
    ]
    result = described(result_of(item.id, artifacts), item, planned)
    if stats is not None:
        result = replace(result, segments={k: v - before[k] for k, v in stats.to_dict().items()})
    return result


def prepare(item: Item, settings: PrepareSettings = PrepareSettings()) -> ItemResult:
    """Prepare one item; errors come back in the result, never as exceptions."""
    try:
        return prepare_one(item, settings)
    except AudioInputError as exc:  # mastering's "silent" names no file: say which source it was
        source = redact_text(item.audio) if item.audio else ""
        said = str(exc)
        result = ItemResult(item.id, "error", error=said if said.startswith(source) else f"{source}: {said}")
    except VoxpipeError as exc:
        result = ItemResult(item.id, "error", error=str(exc))
    except OSError as exc:  # the output folder: missing rights, a file in the way, a full disk
        where = exc.filename or settings.out_dir
        result = ItemResult(item.id, "error", error=f"cannot write {where}: {exc.strerror or exc}")
    except Exception as exc:  # noqa: BLE001 - a bug or a library surprise fails this item, not the batch
        result = unexpected(item.id, exc)
    return described(result, item, None)


def unexpected(item_id: str, exc: BaseException) -> ItemResult:
    """A failed result for an error nobody expected (a bug): its type and first line, redacted."""
    _LOG.debug("unexpected error preparing %s", item_id, exc_info=True)
    reason = redact_text(str(exc).splitlines()[0] if str(exc) else "")[:300]
    return ItemResult(item_id, "error", error=f"unexpected error: {type(exc).__name__}: {reason}".rstrip(": "))


def result_of(item_id: str, artifacts: list[Artifact]) -> ItemResult:
    """A successful result carrying the artifacts' warnings once each."""
    warnings = tuple(dict.fromkeys(w for a in artifacts for w in a.warnings))
    return ItemResult(item_id, "ok", artifacts=tuple(artifacts), warnings=warnings)


def _source_audio(plan: Plan, settings: PrepareSettings) -> Audio:
    if plan.script is not None:
        assert plan.engine is not None
        item = plan.item
        if item.template is not None and settings.segment_cache:
            cache = open_cache(settings.segments_dir)
            spliced = synthesize_template(item.template, dict(item.values), plan.engine, cache, language=item.language)
            if spliced is not None:
                return spliced
        return synthesize(plan.script, plan.engine, language=item.language)
    assert plan.source is not None and plan.item.audio is not None
    return decode_source(plan.source, plan.item.audio, settings.fetch)


def _encode_within_budget(audio: Audio, profile: Profile, dest: Path) -> int | None:
    """Encode at the profile's bitrate, or lower (down to its minimum) to fit the size budget.

    VBR sizes are only roughly predictable, so the bitrate is predicted from
    the duration, then scaled by how far the actual file overshoots.
    """
    kbps = profile.bitrate_kbps
    floor = profile.min_bitrate_kbps or kbps
    budget = profile.size_budget_bytes
    if kbps and budget and floor:
        kbps = max(floor, min(kbps, int(budget * 8 / 1000 / max(audio.duration, 0.1) / 1.04)))
    encode(audio, profile, dest, bitrate_kbps=kbps)
    while kbps and budget and floor and kbps > floor and dest.stat().st_size > budget:
        kbps = max(floor, min(kbps - 1, int(kbps * budget / dest.stat().st_size * 0.98)))
        encode(audio, profile, dest, bitrate_kbps=kbps)
    return kbps


def produce(audio: Audio, profile: Profile, path: Path, source_warnings: tuple[str, ...] = ()) -> Artifact:
    """Master, encode and verify ``audio`` for ``profile`` into ``path`` (atomically);
    ``source_warnings`` (about the input) go with the artifact, so a reuse still reports them."""
    offset, margin = _FIRST_TRY_DB.get(profile.codec, (0.0, 0.5))
    settings = MasterSettings(gain_offset_db=offset, ceiling_margin_db=margin)
    warnings: list[str] = []
    with atomic_path(path) as tmp:
        mastered = master(audio, profile, settings)
        kbps = _encode_within_budget(mastered.audio, profile, tmp)
        for tries in range(1, MAX_TRIES + 1):
            got = verify(tmp, profile)
            _check_duration(path, got, mastered.audio.duration)
            short = profile.lufs - got.lufs
            over = got.true_peak_dbtp - (profile.true_peak_dbtp - PEAK_SAFETY_DB)
            capped = mastered.gain_limited
            if over <= 0 and (abs(short) <= LUFS_TOLERANCE or capped):
                break
            if tries == MAX_TRIES:
                warnings.append(
                    f"{profile.name}: encoded file measures {got.lufs:.1f} LUFS / {got.true_peak_dbtp:.1f} dBTP "
                    f"after {MAX_TRIES} tries (target {profile.lufs:g} LUFS, ceiling {profile.true_peak_dbtp:g} dBTP)"
                )
                break
            settings = replace(
                settings,
                gain_offset_db=settings.gain_offset_db + (0.0 if capped else short),
                ceiling_margin_db=settings.ceiling_margin_db + max(0.0, over + 0.1),
            )
            mastered = master(audio, profile, settings)
            encode(mastered.audio, profile, tmp, bitrate_kbps=kbps)
        size = tmp.stat().st_size
        _check_size(profile, size, got, kbps, warnings)
        digest = sha256_file(tmp)
    artifact = Artifact(
        path=path,
        profile=profile.name,
        mime=profile.mime,
        sha256=digest,
        bytes=size,
        duration_s=got.duration_s,
        sample_rate=got.sample_rate,
        channels=got.channels,
        lufs=got.lufs,
        true_peak_dbtp=got.true_peak_dbtp,
        container=got.container,
        codec=got.codec,
        bitrate_kbps=kbps,
        warnings=(*source_warnings, *mastered.warnings, *warnings),
    )
    write_sidecar(artifact)
    return artifact


def _check_duration(path: Path, got: Verified, expected_s: float) -> None:
    # Codecs pad a frame or two; more than that means a truncated or broken file.
    if abs(got.duration_s - expected_s) > 0.1 + 0.01 * expected_s:
        raise EncodeError(f"verifying {path.name}: decodes to {got.duration_s:.2f} s, expected {expected_s:.2f} s")


def _check_size(profile: Profile, size: int, got: Verified, kbps: int | None, warnings: list[str]) -> None:
    if profile.max_bytes and size > profile.max_bytes:
        raise EncodeError(
            f"{profile.name}: {size} bytes for {got.duration_s:.0f} s is over the profile's "
            f"{profile.max_bytes}-byte limit; shorten the message"
        )
    if profile.size_budget_bytes and kbps and profile.bitrate_kbps and kbps < profile.bitrate_kbps:
        warnings.append(
            f"{profile.name}: {got.duration_s:.0f} s note: bitrate lowered from {profile.bitrate_kbps} "
            f"to {kbps} kbps to stay under the {profile.size_budget_bytes // 1024} KB play-icon budget"
        )
    if profile.size_budget_bytes and size > profile.size_budget_bytes:
        warnings.append(
            f"{profile.name}: {size // 1024} KB is over the {profile.size_budget_bytes // 1024} KB "
            "play-icon budget even at the lowest bitrate; WhatsApp will show it as a file download"
        )
