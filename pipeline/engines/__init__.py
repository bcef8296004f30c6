"""Speech engines by name: an explicit registry, loaded lazily."""

from __future__ import annotations

from collections.abc import Callable

from ..errors import SynthesisError
from .base import Engine, EngineInfo, VoiceSettings

__all__ = ["DEFAULT_ENGINE", "ENGINES", "Engine", "EngineInfo", "VoiceSettings", "engine_infos", "get_engine"]

DEFAULT_ENGINE = "piper"


def _piper(settings: VoiceSettings) -> Engine:
    from .piper_engine import PiperEngine

    return PiperEngine(settings)


def _gtts(settings: VoiceSettings) -> Engine:
    from .gtts_engine import GttsEngine

    return GttsEngine(settings)


ENGINES: dict[str, Callable[[VoiceSettings], Engine]] = {"piper": _piper, "gtts": _gtts}


def get_engine(name: str | None, settings: VoiceSettings = VoiceSettings()) -> Engine:
    key = (name or DEFAULT_ENGINE).lower()
    if key not in ENGINES:
        raise SynthesisError(f"unknown engine {name!r} (known: {', '.join(ENGINES)})")
    return ENGINES[key](settings)


def engine_infos() -> list[EngineInfo]:
    from . import gtts_engine, piper_engine

    return [piper_engine.info(), gtts_engine.info()]
