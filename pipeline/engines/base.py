"""What a speech engine is, seen from the pipeline.

An engine turns one run of plain text into :class:`~pipeline.audio.Audio`.
Everything markup-related (pauses, rate, volume, say-as) is done around it by
:mod:`voxpipe.pipeline.synthesis`, so engines stay small and interchangeable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from ..audio import Audio

__all__ = ["Engine", "EngineInfo", "VoiceSettings"]


@dataclass(frozen=True)
class VoiceSettings:
    """Which voice to use; ``None`` means the engine's default."""

    voice: str | None = None
    """piper: a bundled voice name or a path to a .onnx model; gtts: unused."""
    language: str | None = None
    """gtts: the language code (e.g. "en", "uk"); piper: taken from the voice."""
    tld: str = "com"
    """gtts: the Google top-level domain, which picks the accent (com, co.uk, com.au ...)."""
    threads: int | None = None
    """piper: sentences rendered at once, each on one onnxruntime thread (None = every core)."""


@dataclass(frozen=True)
class EngineInfo:
    """What ``voxpipe engines`` prints about an engine."""

    name: str
    description: str
    offline: bool
    licence: str
    voices: tuple[str, ...]
    languages: tuple[str, ...]


class Engine(Protocol):
    """A loaded (or lazily loading) voice of one engine."""

    name: ClassVar[str]

    @property
    def language(self) -> str:
        """BCP-47-ish language of the voice, e.g. ``en-US``; used for say-as."""
        ...

    def identity(self) -> dict[str, Any]:
        """What decides the audio (engine, versions, voice), cheap to compute."""
        ...

    def synthesize(self, text: str) -> Audio:
        """Speak ``text`` (plain, already normalised) at the voice's natural rate."""
        ...

    @staticmethod
    def info() -> EngineInfo:
        """What ``voxpipe engines`` prints about this engine."""
        ...
