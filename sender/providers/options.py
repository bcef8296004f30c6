"""Validators for provider options: each takes the text a user gave and returns the wire value.

A validator raises ValueError with what it expected; the provider turns that
into one line naming the option and the value.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from voxpipe.pipeline.urlcheck import url_problem

from .wire import parse_time

__all__ = ["boolean", "choice", "http_url", "int_range", "language_tag", "matching", "rfc3339_time"]

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def choice(*allowed: str, what: str = "choose") -> Callable[[str], str]:
    """One of ``allowed`` (case and ``_``/``-`` ignored)."""

    def parse(value: str) -> str:
        word = value.strip().lower().replace("_", "-")
        if word not in allowed:
            raise ValueError(f"{what} one of {', '.join(allowed)}")
        return word

    return parse


def int_range(lo: int, hi: int) -> Callable[[str], int]:
    """A whole number from ``lo`` to ``hi``."""

    def parse(value: str) -> int:
        text = str(value).strip()
        if not text.isdecimal() or len(text) > 9 or not lo <= int(text) <= hi:
            raise ValueError(f"a whole number from {lo} to {hi}")
        return int(text)

    return parse


def matching(pattern: str, what: str, drop: str = "") -> Callable[[str], str]:
    """The value (stripped, without ``drop`` characters) must match ``pattern``."""

    def parse(value: str) -> str:
        cleaned = re.sub(f"[{drop}]", "", value) if drop else value.strip()
        if not re.fullmatch(pattern, cleaned):
            raise ValueError(what)
        return cleaned

    return parse


def rfc3339_time(value: str) -> str:
    """RFC 3339 (zone required), normalised to ``Y-m-d\\TH:i:sP`` with whole seconds."""
    text = value.strip()
    if not _RFC3339.fullmatch(text):
        raise ValueError(
            "not an RFC 3339 date and time with a zone, e.g. 2026-03-05T10:00:00+01:00 or 2026-03-05T09:00:00Z"
        )
    try:
        when = parse_time(text)
    except ValueError as exc:
        raise ValueError(f"not a valid date and time ({exc})") from None
    return when.replace(microsecond=0).isoformat()


def boolean(value: str) -> bool:
    word = str(value).strip().lower()
    if word not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
        raise ValueError("true or false")
    return word in ("1", "true", "yes", "on")


def http_url(value: str) -> str:
    """An http(s) URL whose host and port parse."""
    if not re.fullmatch(r"https?://[^\s/]+\S*", value.strip()):
        raise ValueError("an http(s) URL")
    problem = url_problem(value.strip())
    if problem:
        raise ValueError(problem)
    return value.strip()


def language_tag(value: str) -> str:
    """``uk-UA``, ``en_us`` ... as ``ll-CC``."""
    m = re.fullmatch(r"([A-Za-z]{2,3})[-_]([A-Za-z]{2})", value.strip())
    if not m:
        raise ValueError("a language tag like uk-UA or en-US")
    return f"{m.group(1).lower()}-{m.group(2).upper()}"
