"""Providers by name: an explicit registry (no import-time discovery)."""

from __future__ import annotations

from ..errors import ConfigError
from .alphasms import AlphaSms
from .base import Chunk, Credential, LookupPage, Mode, Option, Outcome, Payload, Provider
from .messagebird import MessageBird
from .ninebits import NineBits
from .wawp import Wawp

__all__ = [
    "REGISTRY",
    "Chunk",
    "Credential",
    "LookupPage",
    "Mode",
    "Option",
    "Outcome",
    "Payload",
    "Provider",
    "provider_class",
]

REGISTRY: dict[str, type[Provider]] = {cls.name: cls for cls in (NineBits, MessageBird, Wawp, AlphaSms)}


def provider_class(name: str) -> type[Provider]:
    try:
        return REGISTRY[name.lower()]
    except KeyError:
        raise ConfigError(f"unknown provider {name!r} (known: {', '.join(REGISTRY)})") from None
