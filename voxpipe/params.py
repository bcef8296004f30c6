"""Option types shared by every command: finite numbers in range, URLs that parse, safe ids.

click's ``FloatRange`` lets ``nan`` through (every comparison with it is
false) and ``inf`` where there is no upper bound; ``--rate nan`` once
disabled rate limiting. A bad value is refused here, as one line naming the
option, before any work.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import click

from voxpipe.config import Config, load_config
from voxpipe.pipeline.manifest import ID_RULE, valid_id
from voxpipe.pipeline.urlcheck import url_problem

__all__ = ["FiniteFloat", "ItemId", "Url", "check_audio_url", "current_config"]


class FiniteFloat(click.ParamType):
    """A finite float within ``[low, high]`` (``low_open``: strictly above ``low``)."""

    name = "number"

    def __init__(self, low: float, high: float, *, low_open: bool = False) -> None:
        self.low, self.high, self.low_open = low, high, low_open

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, float) and math.isfinite(value):
            number = value
        else:
            try:
                number = float(value)
            except (TypeError, ValueError):
                self.fail(f"{value!r} is not a number", param, ctx)
            if not math.isfinite(number):
                self.fail(f"{value!r} is not a finite number", param, ctx)
        too_low = number <= self.low if self.low_open else number < self.low
        if too_low or number > self.high:
            bound = ">" if self.low_open else ">="
            self.fail(f"{value} is not in the range {bound} {self.low:g} and <= {self.high:g}", param, ctx)
        return number

    def get_metavar(self, param: click.Parameter, *args: Any) -> str:
        return "NUMBER"


class Url(click.ParamType):
    """An http(s) URL whose host and port parse (see :func:`url_problem`); the value is kept as given."""

    name = "url"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        if not str(value).lower().startswith(("http://", "https://")):
            self.fail(f"{value!r}: must be an http:// or https:// URL", param, ctx)
        problem = url_problem(str(value))
        if problem:
            self.fail(f"{value}: {problem}", param, ctx)
        return str(value)

    def get_metavar(self, param: click.Parameter, *args: Any) -> str:
        return "URL"


def check_audio_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """--audio is a path or a URL; a URL must parse (a bad port or IPv6 literal is one line here)."""
    if value is not None and "://" in value:
        problem = url_problem(value)
        if problem:
            raise click.BadParameter(f"{value}: {problem}", ctx, param)
    return value


class ItemId(click.ParamType):
    """An item id: also a file-name part, so no separators or dot-dot."""

    name = "id"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        if not valid_id(str(value)):
            self.fail(f"{value!r}: an id is {ID_RULE}", param, ctx)
        return str(value)


def current_config(flags: Mapping[str, Any] | None = None) -> Config:
    """The configuration of this run (``--config``, ``$VOXPIPE_CONFIG`` or ``./voxpipe.toml``, the
    environment), with the command's given flags on top."""
    ctx = click.get_current_context()
    return load_config(ctx.find_root().meta.get("voxpipe.config_file")).with_flags(flags or {})
