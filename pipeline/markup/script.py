"""The parsed form of markup: a flat, typed list of segments.

A :class:`Script` is what every engine renders and what every provider
dialect is translated from. Speech keeps its say-as hint un-normalised so a
provider that speaks digits its own way can still see them; ``normalize``
(see :mod:`voxpipe.pipeline.markup.normalize`) turns hints into words for engines.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Pause", "Prosody", "Script", "Segment", "Speech"]


@dataclass(frozen=True)
class Prosody:
    """Prosody in effect for a run of speech (nested tags already combined)."""

    rate: float = 1.0
    """Speed multiplier, clamped to 0.5..2.0 (1.25 = 25% faster)."""
    volume_db: float = 0.0
    """Gain relative to the surrounding speech."""
    pitch_st: float = 0.0
    """Pitch shift in semitones."""


@dataclass(frozen=True)
class Speech:
    """Text to be spoken with one prosody."""

    text: str
    prosody: Prosody = field(default_factory=Prosody)
    say_as: str | None = None
    """interpret-as of an enclosing <say-as>: digits, characters, spell-out,
    telephone, cardinal, ordinal, date; None for ordinary text."""
    say_as_format: str | None = None
    """format of a <say-as interpret-as="date"> (e.g. mdy, dmy, ymd)."""
    written: str | None = None
    """For <sub alias="...">: the written form; ``text`` holds the alias."""
    emphasis: str | None = None
    """level of an enclosing <emphasis>: strong, moderate, reduced, none."""


@dataclass(frozen=True)
class Pause:
    """Silence of an exact length between speech."""

    ms: int
    strength: str | None = None
    """The break strength or structural cause (``"s"``, ``"p"``) if not a time."""


Segment = Speech | Pause


@dataclass(frozen=True)
class Script:
    """A whole message: speech and pauses in order."""

    segments: tuple[Segment, ...]
    language: str | None = None
    """xml:lang of <speak>, if given."""

    def to_dict(self) -> dict[str, Any]:
        """Canonical JSON-able form (used for content addressing)."""
        return {
            "language": self.language,
            "segments": [{"type": type(s).__name__.lower(), **asdict(s)} for s in self.segments],
        }

    @property
    def speech(self) -> list[Speech]:
        return [s for s in self.segments if isinstance(s, Speech)]

    @property
    def is_empty(self) -> bool:
        return not any(s.text.strip() for s in self.speech)
