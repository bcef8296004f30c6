"""Speech engines by name, found through the ``voxpipe.engines`` entry-point group.

voxpipe registers ``piper`` (offline, the default) and ``gtts`` there; a
third-party distribution adds an engine the same way::

    [project.entry-points."voxpipe.engines"]
    espeak = "acme_espeak:EspeakEngine"

An engine class takes a :class:`VoiceSettings`, has a ``name`` and a static
``info()`` (see :class:`Engine`). Modules load when an engine is first asked
for, so listing them costs nothing until then.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points

from ..errors import SynthesisError
from .base import Engine, EngineInfo, VoiceSettings

__all__ = [
    "DEFAULT_ENGINE",
    "GROUP",
    "REGISTERED",
    "Engine",
    "EngineInfo",
    "VoiceSettings",
    "engine_class",
    "engine_infos",
    "get_engine",
    "register_engine",
]

DEFAULT_ENGINE = "piper"
GROUP = "voxpipe.engines"
_LOG = logging.getLogger(__name__)

REGISTERED: dict[str, Callable[[VoiceSettings], Engine]] = {}
"""Engines added at run time by :func:`register_engine`; they win over installed ones of the same name."""


def register_engine(name: str, factory: Callable[[VoiceSettings], Engine]) -> None:
    """Make ``factory`` the engine called ``name`` in this process (a program that brings its own voice
    without packaging it as a plugin). Worker processes of a local batch do not see it: use ``jobs=1``;
    a batch on a Dask cluster sends it to every worker (``factory`` must pickle with cloudpickle)."""
    REGISTERED[name.lower()] = factory


@functools.cache
def _points() -> dict[str, EntryPoint]:
    found: dict[str, EntryPoint] = {}
    ordered = sorted(
        entry_points(group=GROUP),
        key=lambda ep: (not ep.value.startswith("voxpipe."), ep.name != DEFAULT_ENGINE, ep.name),
    )
    for point in ordered:
        found.setdefault(point.name.lower(), point)
    return found


@functools.cache
def engine_class(name: str) -> type[Engine]:
    """The engine class registered as ``name``; SynthesisError naming the known ones otherwise."""
    point = _points().get(name.lower())
    if point is None:
        raise SynthesisError(f"unknown engine {name!r} (known: {', '.join(_points())})")
    try:
        cls: type[Engine] = point.load()
    except Exception as exc:
        raise SynthesisError(f"engine {name} ({point.value}) cannot be loaded: {type(exc).__name__}: {exc}") from exc
    return cls


def get_engine(name: str | None, settings: VoiceSettings = VoiceSettings()) -> Engine:
    """A voice of the engine ``name`` (default :data:`DEFAULT_ENGINE`)."""
    key = (name or DEFAULT_ENGINE).lower()
    if key in REGISTERED:
        return REGISTERED[key](settings)
    return engine_class(key)(settings)  # type: ignore[call-arg]


def engine_infos() -> list[EngineInfo]:
    """What every installed engine says about itself (one that fails to load is left out, with a warning)."""
    infos = []
    for name in _points():
        try:
            infos.append(engine_class(name).info())
        except SynthesisError as exc:
            _LOG.warning("%s", exc)
    return infos
