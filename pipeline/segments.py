"""The segment cache: a template's message assembled from audio synthesised once.

A personalised message is mostly the same words with a few values in them.
Each run of speech (text between two pauses) is built from *carriers*: the
run spoken whole, with representative values in place, by the engine that
says where each word is (piper's phoneme durations). The constant words are
cut from the reference carrier, so they keep the intonation of the whole
sentence around a value; each value comes from a carrier that has it in the
same place:

* values read one unit at a time (``digits``, ``characters``, ``telephone``,
  ``spell-out``) from the carrier with that unit in every unit slot: ten
  carriers give every digit in every position of a code;
* other values (names, dates, numbers, free text) as whole phrases, from the
  carrier with that phrase in its slot and the representatives elsewhere.

Cuts fall in the middle of the gap between two words, joined with a short
crossfade; each value's level is matched to the constant speech around it.
Pauses are not touched (runs are joined by :mod:`.synthesis` exactly as for a
full synthesis). A run the engine cannot align (no word positions, or the
phonemizer runs two words together) is synthesised whole and cached by its
text, which is still a hit when the same phrase comes again.

Carriers are stored content-addressed under the cache folder (engine
identity, prosody, text), written atomically, so worker processes share them
and two filling the same entry at once write the same bytes.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from . import dsp
from .audio import Audio
from .engines import Engine
from .errors import MarkupError
from .markup import Pause, Prosody, Script, Speech, normalize, parse
from .markup.normalize import say_digits
from .markup.symbols import EMPHASIS_GAIN_DB
from .synthesis import join_spoken
from .templates import ESCAPES, Field, Template

__all__ = [
    "CROSSFADE_MS",
    "SPLICE_VERSION",
    "UNIT_KINDS",
    "CacheStats",
    "Carrier",
    "Piece",
    "SegmentCache",
    "Spliced",
    "TemplateRun",
    "open_cache",
    "segment_loudness",
    "splice_run",
    "synthesize_template",
    "template_runs",
]

SPLICE_VERSION = 1
"""Part of a spliced artifact's content key: a change to the splicing re-renders."""
UNIT_KINDS = frozenset({"digits", "characters", "spell-out", "telephone"})
CROSSFADE_MS = 6.0
_QUIET_WINDOW_MS = 5.0
_CUT_SLACK_MS = 12.0
_MAX_LEVEL_MATCH_DB = 6.0
_MEMORY_ENTRIES = 128  # ~60 MB of 5-second carriers per process
_MARK = re.compile("\ue000([A-Za-z_][A-Za-z0-9_]*)\ue001")
_REFERENCE_DIGITS = (4, 7, 1, 9, 0, 2, 8, 3, 6, 5)
"""The reference code, repeated as needed: varied digits sound like a code, repeated ones like a list."""
_WORD = re.compile(r"\w(?:.*\w)?")  # a token without the punctuation around it
_REPRESENTATIVE = {"cardinal": "7", "ordinal": "2", "text": "Sam"}


@dataclass(frozen=True)
class Carrier:
    """A run spoken whole: its samples and where each word is."""

    samples: np.ndarray
    rate: int
    words: tuple[tuple[int, int], ...]


@dataclass
class CacheStats:
    """How many carriers were found in the cache and how many had to be synthesised."""

    hits: int = 0
    misses: int = 0

    def to_dict(self) -> dict[str, int]:
        return {"hits": self.hits, "misses": self.misses}


class SegmentCache:
    """Carriers on disk under ``directory`` (shared by processes) with the most recent ones in memory."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.stats = CacheStats()
        self._memory: dict[str, Carrier] = {}

    def carrier(self, engine: Engine, prosody: Prosody, text: str, *, aligned: bool) -> Carrier:
        """The run ``text`` spoken by ``engine``, from the cache or synthesised now (and kept)."""
        key = _key(engine, prosody, text, aligned)
        found = self._memory.get(key) or self._load(key)
        if found is not None:
            self.stats.hits += 1
        else:
            self.stats.misses += 1
            found = _speak(engine, text, aligned)
            self._store(key, found)
        if len(self._memory) >= _MEMORY_ENTRIES:
            self._memory.pop(next(iter(self._memory)))
        self._memory[key] = found
        return found

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.npz"

    def _load(self, key: str) -> Carrier | None:
        try:
            with np.load(self._path(key)) as data:
                return Carrier(
                    data["samples"].astype(np.float32),
                    int(data["rate"]),
                    tuple((int(a), int(b)) for a, b in data["words"]),
                )
        except (OSError, ValueError, KeyError):  # absent, or torn by a crash: made again
            return None

    def _store(self, key: str, carrier: Carrier) -> None:
        path = self._path(key)
        tmp: str | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".part")
            with os.fdopen(fd, "wb") as out:
                words = np.array(carrier.words, dtype=np.int64).reshape(-1, 2)
                np.savez(out, samples=carrier.samples, rate=np.int64(carrier.rate), words=words)
            os.replace(tmp, path)  # atomic: a reader sees the whole entry or none
            tmp = None
        except OSError:
            pass  # an unwritable cache costs speed, not the message
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)


def _key(engine: Engine, prosody: Prosody, text: str, aligned: bool) -> str:
    blob = json.dumps(
        {"v": SPLICE_VERSION, "engine": engine.identity(), "prosody": asdict(prosody), "text": text, "a": aligned},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _speak(engine: Engine, text: str, aligned: bool) -> Carrier:
    words_of = getattr(engine, "synthesize_words", None)
    if aligned and words_of is not None:
        audio, words = words_of(text)
        return Carrier(audio.samples, audio.rate, tuple(words))
    audio = engine.synthesize(text)
    return Carrier(audio.samples, audio.rate, ())


_OPEN: dict[str, SegmentCache] = {}


def open_cache(directory: Path) -> SegmentCache:
    """This process's cache for ``directory`` (one per folder, so its memory and counts carry over)."""
    key = str(Path(directory).resolve())
    if key not in _OPEN:
        _OPEN[key] = SegmentCache(Path(directory))
    return _OPEN[key]


# --------------------------------------------------------------------------- the template's runs


@dataclass(frozen=True)
class Piece:
    """Words of one run: constant text (``field`` None) or one placeholder's value."""

    words: tuple[str, ...]
    field: Field | None = None

    @property
    def units(self) -> bool:
        return self.field is not None and self.field.kind in UNIT_KINDS


@dataclass(frozen=True)
class TemplateRun:
    """Speech between two pauses, with one prosody, as constant and value pieces."""

    pieces: tuple[Piece, ...]
    prosody: Prosody
    emphasis: str | None = None

    def text(self) -> str:
        return _text(tuple(p.words for p in self.pieces))


def template_runs(template: Template, values: Mapping[str, str], language: str) -> list[TemplateRun | Pause] | None:
    """The message as runs of pieces, or None where the template's shape does not allow splicing
    (a placeholder sharing its ``<say-as>`` with other text)."""
    marked = parse(template.marked())
    lang = marked.language or language
    parts: list[TemplateRun | Pause] = []
    for seg in marked.segments:
        if isinstance(seg, Pause):
            if parts and isinstance(parts[-1], Pause):
                parts[-1] = Pause(parts[-1].ms + seg.ms, parts[-1].strength)
            else:
                parts.append(seg)
            continue
        pieces = _pieces(seg, template, values, lang)
        if pieces is None:
            return None
        last = parts[-1] if parts else None
        if isinstance(last, TemplateRun) and (last.prosody, last.emphasis) == (seg.prosody, seg.emphasis):
            parts[-1] = replace(last, pieces=last.pieces + pieces)
        else:
            parts.append(TemplateRun(pieces, seg.prosody, seg.emphasis))
    return [p for p in parts if isinstance(p, Pause) or any(_spoken(w) for q in p.pieces for w in q.words)]


def _pieces(seg: Speech, template: Template, values: Mapping[str, str], language: str) -> tuple[Piece, ...] | None:
    chunks = _MARK.split(seg.text)  # text, name, text, name, ..., text
    if len(chunks) == 1:
        return (Piece(_words(seg, language)),)
    if seg.say_as is not None and (chunks[0].strip() or chunks[-1].strip() or len(chunks) > 3):
        return None  # <say-as>PIN {code}</say-as>: the value is not a unit of its own
    fields = {f.name: f for f in template.fields if f.kind == (seg.say_as or "text")}
    pieces: list[Piece] = []
    for i, chunk in enumerate(chunks):
        if i % 2:
            field_ = fields.get(chunk)
            if field_ is None:
                return None
            pieces.append(Piece(_words(replace(seg, text=values[chunk]), language), field_))
        elif chunk:
            pieces.append(Piece(_words(replace(seg, text=chunk, say_as=None, say_as_format=None), language)))
    return tuple(pieces)


def _words(seg: Speech, language: str) -> tuple[str, ...]:
    spoken = normalize(Script((seg,)), language).segments
    return tuple(" ".join(s.text for s in spoken if isinstance(s, Speech)).split())


def _spoken(token: str) -> bool:
    return any(c.isalnum() for c in token)


def _representative(field_: Field, language: str) -> tuple[str, ...]:
    if field_.kind == "date":
        parts = {"y": "2026", "m": "3", "d": "4"}
        sample = "-".join(parts[c] for c in (field_.format or "ymd"))
    else:
        sample = _REPRESENTATIVE.get(field_.kind, "0")
    speech = Speech(sample.translate(ESCAPES), say_as=None if field_.kind == "text" else field_.kind)
    speech = replace(speech, say_as_format=field_.format)
    return _words(speech, language)


# --------------------------------------------------------------------------- splicing


@dataclass(frozen=True)
class _Slot:
    """Where one stretch of the message comes from: a carrier (by its words) and which of its tokens."""

    layout: tuple[tuple[str, ...], ...]  # the carrier's tokens, piece by piece
    piece: int
    first: int  # token index within the piece
    last: int
    region: int = -1  # the value piece it belongs to (-1: constant speech)


def _units(tokens: tuple[str, ...], unit: str) -> tuple[str, ...]:
    """Every spoken token replaced by ``unit``, keeping the punctuation around it ("four," -> "zero,")."""
    return tuple(_WORD.sub(lambda _: _core(unit), t, count=1) if _spoken(t) else t for t in tokens)


def _core(token: str) -> str:
    found = _WORD.search(token)
    return found.group(0) if found else token


@functools.cache  # asked once per digit slot of every message
def _digit_words(language: str) -> tuple[str, ...] | None:
    words = tuple(_core(w) for w in say_digits("0123456789", language).split())  # without the commas between
    return words if len(words) == 10 else None


def _layout(
    run: TemplateRun, language: str, *, shift: int = 0, unit: str | None = None, phrase: int | None = None
) -> tuple[tuple[str, ...], ...]:
    """A carrier's tokens: the constant words, with representatives for the values.

    Digits take the reference code's digits (:data:`_REFERENCE_DIGITS`, varied so the sequence sounds
    like a code) plus ``shift``: the ten shifts give every digit in every position. Other unit values
    take ``unit`` in every unit slot; phrase values their kind's representative, except piece
    ``phrase``, which keeps the row's own words.
    """
    digits = _digit_words(language)
    counter = 0
    layout: list[tuple[str, ...]] = []
    for i, piece in enumerate(run.pieces):
        if piece.field is None or i == phrase:
            layout.append(piece.words)
        elif piece.field.kind == "digits" and digits is not None:
            tokens: list[str] = []
            for token in piece.words:
                if _spoken(token):
                    digit = digits[(_REFERENCE_DIGITS[counter % 10] + shift) % 10]
                    tokens.append(_WORD.sub(digit.replace("\\", r"\\"), token, count=1))
                    counter += 1
                else:
                    tokens.append(token)
            layout.append(tuple(tokens))
        elif piece.units:
            layout.append(_units(piece.words, unit or next(iter(_representative(piece.field, language)), "zero")))
        else:
            layout.append(_representative(piece.field, language))
    return tuple(layout)


def _slots(run: TemplateRun, language: str) -> list[_Slot] | None:
    """Where each stretch of the run comes from; None when a value has a word no carrier can give."""
    reference = _layout(run, language)
    digits = _digit_words(language)
    slots: list[_Slot] = []
    counter = 0
    for i, piece in enumerate(run.pieces):
        if piece.field is None:
            slots.append(_Slot(reference, i, 0, len(piece.words) - 1))
        elif piece.field.kind == "digits" and digits is not None:
            for j, token in enumerate(piece.words):
                if not _spoken(token):
                    continue
                if _core(token) not in digits:
                    return None
                shift = (digits.index(_core(token)) - _REFERENCE_DIGITS[counter % 10]) % 10
                slots.append(_Slot(_layout(run, language, shift=shift), i, j, j, region=i))
                counter += 1
        elif piece.units:  # each unit from the carrier with that unit in every unit slot
            for j, token in enumerate(piece.words):
                if _spoken(token):
                    slots.append(_Slot(_layout(run, language, unit=_core(token)), i, j, j, region=i))
        else:
            slots.append(_Slot(_layout(run, language, phrase=i), i, 0, len(piece.words) - 1, region=i))
    return slots


def _text(layout: tuple[tuple[str, ...], ...]) -> str:
    """The carrier's text: tokens with spaces, punctuation on the word before it ("two." not "two .")."""
    out = ""
    for token in (t for words in layout for t in words):
        out += token if (out and not _spoken(token)) else (" " + token if out else token)
    return out


def _word_count(layout: tuple[tuple[str, ...], ...]) -> int:
    return sum(_spoken(t) for words in layout for t in words)


def _word_index(layout: tuple[tuple[str, ...], ...], piece: int, token: int) -> int:
    """Index among the spoken words of the word at ``token`` of ``piece``."""
    return _word_count(layout[:piece]) + sum(_spoken(t) for t in layout[piece][:token])


def _quietest(samples: np.ndarray, start: int, end: int, rate: int) -> int:
    """The middle of the quietest few milliseconds between ``start`` and ``end``: where a cut is least heard."""
    window = max(1, int(rate * _QUIET_WINDOW_MS / 1000))
    start, end = max(0, start), min(len(samples), end)
    if end - start <= window:
        return (start + end) // 2
    energy = np.convolve(samples[start:end].astype(np.float64) ** 2, np.ones(window), mode="valid")
    return start + int(np.argmin(energy)) + window // 2


def _cut(carrier: Carrier, left: int) -> int:
    """The cut between word ``left`` and the next, found in the audio around the gap the durations give."""
    slack = int(carrier.rate * _CUT_SLACK_MS / 1000)  # the durations are right to a frame or so
    gap_start, gap_end = carrier.words[left][1], carrier.words[left + 1][0]
    return _quietest(carrier.samples, gap_start - slack, gap_end + slack, carrier.rate)


def _cut_before(carrier: Carrier, index: int) -> int:
    return 0 if index <= 0 else _cut(carrier, index - 1)


def _cut_after(carrier: Carrier, index: int) -> int:
    return len(carrier.samples) if index >= len(carrier.words) - 1 else _cut(carrier, index)


@dataclass(frozen=True)
class Spliced:
    """A run assembled from carriers, with where it was cut: for checking seams."""

    audio: Audio
    joins: tuple[int, ...]
    """Sample index of each cut (the middle of its crossfade)."""
    regions: tuple[int, ...]
    """Per stretch between two cuts: the value's region number, or -1 for constant speech."""


def splice_run(run: TemplateRun, engine: Engine, cache: SegmentCache, language: str) -> Spliced | None:
    """The run assembled from carriers; None when a carrier's words do not line up with its text."""
    # (carrier tokens, region, first word, last word); neighbouring words of one carrier are one stretch.
    spans: list[tuple[tuple[tuple[str, ...], ...], int, int, int]] = []
    slots = _slots(run, language)
    if slots is None:
        return None
    for slot in slots:
        first = _word_index(slot.layout, slot.piece, slot.first)
        last = _word_index(slot.layout, slot.piece, slot.last + 1) - 1
        if last < first:
            continue  # punctuation only: it lives in the gaps
        if spans and spans[-1][:2] == (slot.layout, slot.region) and spans[-1][3] + 1 == first:
            spans[-1] = (slot.layout, slot.region, spans[-1][2], last)
        else:
            spans.append((slot.layout, slot.region, first, last))
    stretches: list[tuple[np.ndarray, int]] = []  # (samples, region)
    margins: list[tuple[int, int]] = []  # samples kept beyond each cut, for the crossfades
    rate = 0
    for n, (layout, region, first, last) in enumerate(spans):
        carrier = cache.carrier(engine, Prosody(), _text(layout), aligned=True)
        if len(carrier.words) != _word_count(layout):
            return None
        rate = carrier.rate
        half = int(rate * CROSSFADE_MS / 2000)
        start, end = _cut_before(carrier, first), _cut_after(carrier, last)
        lead = min(start, half) if n > 0 else 0
        trail = min(len(carrier.samples) - end, half) if n < len(spans) - 1 else 0
        stretches.append((carrier.samples[start - lead : end + trail], region))
        margins.append((lead, trail))
    if not stretches:
        return None
    samples, joins = _join(_level_matched(stretches, rate), margins)
    return Spliced(Audio(samples, rate), joins, tuple(r for _, r in stretches))


def segment_loudness(samples: np.ndarray, rate: int) -> float | None:
    """Loudness (LUFS, 100 ms gating blocks) of a stretch of speech; None when too short or silent."""
    import pyloudnorm

    if len(samples) < rate // 10:
        return None
    value = float(pyloudnorm.Meter(rate, block_size=0.1).integrated_loudness(samples.astype(np.float64)))
    return value if np.isfinite(value) else None


def _level_matched(stretches: list[tuple[np.ndarray, int]], rate: int) -> list[np.ndarray]:
    """Each value's stretches gained as one so that the value is as loud as the constant speech next to it."""
    out = [s for s, _ in stretches]
    regions = sorted({r for _, r in stretches if r >= 0})
    for region in regions:
        members = [i for i, (_, r) in enumerate(stretches) if r == region]
        level = segment_loudness(np.concatenate([out[i] for i in members]), rate)
        around = [
            segment_loudness(out[i], rate)
            for i in (members[0] - 1, members[-1] + 1)
            if 0 <= i < len(out) and stretches[i][1] < 0
        ]
        known = [v for v in around if v is not None]
        if level is None or not known:
            continue
        gain_db = float(np.clip(np.mean(known) - level, -_MAX_LEVEL_MATCH_DB, _MAX_LEVEL_MATCH_DB))
        for i in members:
            out[i] = (out[i] * 10 ** (gain_db / 20)).astype(np.float32)
    return out


def _join(stretches: list[np.ndarray], margins: list[tuple[int, int]]) -> tuple[np.ndarray, tuple[int, ...]]:
    """Stretches end to end, crossfaded (raised cosine) across each cut over the samples kept beyond it:
    two stretches cut from one carrier at one point join back into the carrier's own samples.
    Also returns where each cut landed."""
    result = stretches[0]
    joins: list[int] = []
    for i in range(1, len(stretches)):
        nxt = stretches[i]
        both = min(margins[i - 1][1], margins[i][0])  # the same margin on both sides of the cut
        result = result[: len(result) - (margins[i - 1][1] - both)]
        nxt = nxt[margins[i][0] - both :]
        joins.append(len(result) - both)
        n = 2 * both
        if n < 2:  # nothing kept beyond the cut (the very start or end of a carrier)
            result = np.concatenate([result, nxt])
            continue
        ramp = (0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, n))).astype(np.float32)
        mixed = result[-n:] * (1 - ramp) + nxt[:n] * ramp
        result = np.concatenate([result[:-n], mixed, nxt[n:]])
    return result.astype(np.float32), tuple(joins)


def _speak_run(run: TemplateRun, engine: Engine, cache: SegmentCache, language: str) -> Audio:
    audio = None
    if any(p.field is not None for p in run.pieces) and hasattr(engine, "synthesize_words"):
        spliced = splice_run(run, engine, cache, language)
        audio = spliced.audio if spliced is not None else None
    if audio is None:  # constant speech, or a run that cannot be spliced: whole, cached by its text
        carrier = cache.carrier(engine, Prosody(), run.text(), aligned=False)
        audio = Audio(carrier.samples, carrier.rate)
    audio = dsp.time_stretch(audio, run.prosody.rate, run.prosody.pitch_st)
    return audio.gain(run.prosody.volume_db + EMPHASIS_GAIN_DB.get(run.emphasis or "none", 0.0))


def synthesize_template(
    template: Template, values: Mapping[str, str], engine: Engine, cache: SegmentCache, *, language: str | None = None
) -> Audio | None:
    """The message for ``values`` assembled from cached carriers; None when the template cannot be spliced
    (the caller then synthesises the rendered markup in full)."""
    lang = language or engine.language
    try:
        runs = template_runs(template, values, lang)
    except MarkupError:
        return None
    if runs is None:
        return None
    spoken: list[Audio | Pause] = [r if isinstance(r, Pause) else _speak_run(r, engine, cache, lang) for r in runs]
    return join_spoken(spoken, engine.name)
