"""Our markup (a parsed :class:`~pipeline.markup.Script`) written in a provider's TTS body.

- ``plain``: normalised text, pauses as punctuation (AlphaSMS and any
  provider without markup).
- ``messagebird``: MessageBird's documented "voice body": ``<break
  time="500ms"/>`` (``1s`` when whole seconds), ``<prosody rate="-10%">``
  (relative percent) and commas between digits ("1, 8, 3, 4"), which the docs
  give as the way to add small delays. What it cannot express (volume,
  pitch, emphasis) is kept as plain text: the words stay, the markup goes.
  ``&``, ``<`` and ``>`` in text are escaped so the body is unambiguous.

Both raise :class:`voxpipe.pipeline.errors.MarkupError` for a say-as value that
cannot be read (as the pipeline does).
"""

from __future__ import annotations

import math
import re
from dataclasses import replace

from voxpipe.pipeline.markup import Pause, Script, Speech, normalize, spell_digits, to_plain_text

__all__ = ["SPELLED", "break_tag", "messagebird_body", "plain_text", "rate_percent"]

SPELLED = frozenset({"digits", "telephone", "characters", "spell-out"})
"""interpret-as values MessageBird gets as characters separated by commas."""

_SPACE = re.compile(r"\s+")
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def plain_text(script: Script, language: str = "en") -> str:
    """The script as plain text (say-as as words, pauses as punctuation)."""
    return to_plain_text(script, language)


def break_tag(ms: int) -> str:
    """``<break time="1s"/>`` for whole seconds, else milliseconds."""
    value = f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"
    return f'<break time="{value}"/>'


def rate_percent(rate: float) -> str | None:
    """``0.9`` -> ``"-10%"``, ``1.25`` -> ``"+25%"``; None when it rounds to no change."""
    delta = (rate - 1.0) * 100
    pct = int(math.copysign(math.floor(abs(delta) + 0.5), delta))  # half away from zero
    return f"{pct:+d}%" if pct else None


def _spell(script: Script) -> Script:
    """Digits and characters spelled with commas; ``written`` keeps the original so
    ``normalize`` separates the result from touching words as it does for <sub>."""
    segments = []
    for seg in script.segments:
        if isinstance(seg, Speech) and seg.say_as in SPELLED:
            spelled = spell_digits(seg.text)
            if spelled:  # nothing to spell ("-"): normalize says it in words or raises
                seg = replace(seg, text=spelled, say_as=None, say_as_format=None, written=seg.text)
        segments.append(seg)
    return Script(tuple(segments), script.language)


class _Body:
    """Accumulates body parts, keeping at most one <prosody> open.

    Pauses wait in ``pending`` (adjacent ones add up) so a break at a change
    of rate lands between the tags, not inside the one that ends.
    """

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.rate: str | None = None
        self.pending: int | None = None

    def pause(self, ms: int) -> None:
        self.pending = (self.pending or 0) + ms

    def speech(self, text: str, rate: float) -> None:
        text = text.translate(_ESCAPES)
        pct = rate_percent(rate)
        if pct != self.rate and text.strip():
            self.close()
            self.flush()
            if pct:
                stripped = text.lstrip()
                self.parts.append(text[: len(text) - len(stripped)])  # spaces stay outside the tag
                self.parts.append(f'<prosody rate="{pct}">')
                text = stripped
            self.rate = pct
        self.flush()
        self.parts.append(text)

    def flush(self) -> None:
        if self.pending is not None:
            # A 0 ms break (strength="none") only keeps the words apart.
            self.parts.append(break_tag(self.pending) if self.pending > 0 else " ")
            self.pending = None

    def close(self) -> None:
        if self.rate is None:
            return
        last = self.parts[-1]
        self.parts[-1] = last.rstrip()
        self.parts.append("</prosody>" + last[len(last.rstrip()) :])
        self.rate = None

    def text(self) -> str:
        self.close()
        self.flush()
        return _SPACE.sub(" ", "".join(self.parts)).strip()


def messagebird_body(script: Script, language: str = "en") -> str:
    """The script in MessageBird's voice-body markup (see the module docstring)."""
    body = _Body()
    for seg in normalize(_spell(script), language).segments:
        if isinstance(seg, Pause):
            body.pause(seg.ms)
        else:
            body.speech(seg.text, seg.prosody.rate)
    return body.text()
