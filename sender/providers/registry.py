"""Providers by name, found through the ``voxpipe.providers`` entry-point group.

voxpipe registers its own four providers there (see ``pyproject.toml``); a
third-party distribution adds one the same way, with no change to voxpipe::

    [project.entry-points."voxpipe.providers"]
    acme = "acme_voice:AcmeVoice"

The entry point's name is the provider's name on the command line and must
equal the class's ``name``. A plugin
that fails to load is reported once and left out; it never stops voxpipe.
"""

from __future__ import annotations

import functools
import logging
from importlib.metadata import entry_points

from ..errors import ConfigError
from .provider import Provider

__all__ = ["GROUP", "provider_class", "registry"]

GROUP = "voxpipe.providers"
_LOG = logging.getLogger(__name__)


@functools.cache
def registry() -> dict[str, type[Provider]]:
    """Every installed provider class by name (voxpipe's own first, then plugins, each name once)."""
    found: dict[str, type[Provider]] = {}
    points = sorted(entry_points(group=GROUP), key=lambda ep: (not ep.value.startswith("voxpipe."), ep.name))
    for point in points:
        name = point.name.lower()
        if name in found:
            _LOG.warning("provider %s from %s is ignored: the name is taken", name, point.value)
            continue
        try:
            cls = point.load()
        except Exception as exc:  # noqa: BLE001 - a broken plugin is left out, voxpipe goes on
            _LOG.warning("provider %s (%s) cannot be loaded: %s: %s", name, point.value, type(exc).__name__, exc)
            continue
        if not (isinstance(cls, type) and issubclass(cls, Provider)):
            _LOG.warning("provider %s (%s) is not a voxpipe Provider class; left out", name, point.value)
            continue
        if getattr(cls, "name", None) != name:  # journals record cls.name and look the class up by it
            _LOG.warning("provider %s (%s) calls itself %r; left out", name, point.value, getattr(cls, "name", None))
            continue
        found[name] = cls
    return found


def provider_class(name: str) -> type[Provider]:
    """The provider class called ``name``; ConfigError listing the known ones otherwise."""
    known = registry()
    try:
        return known[name.lower()]
    except KeyError:
        raise ConfigError(f"unknown provider {name!r} (known: {', '.join(known) or 'none'})") from None
