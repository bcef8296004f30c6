"""Reading what providers send: JSON answers and callbacks, numbers, times.

Everything here is strict about numbers (no NaN, no infinity, no 4,300-digit
integers) and about nesting, because a provider's answer or a forged
callback must never put an infinity in the journal or crash the receiver:
each helper raises ValueError with the reason, which becomes a 400 for a
callback and an ``unknown`` outcome for an answer.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import httpx

from .types import Callback

__all__ = ["callback_data", "dict_at", "finite", "json_object", "list_at", "maybe_json", "parse_time", "read_json"]


def callback_data(callback: Callback) -> Any:
    """A callback's data: its JSON or form body, or its query when it has no body."""
    body = callback.body.strip()
    if not body:
        return dict(callback.query)
    ctype = callback.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype == "application/x-www-form-urlencoded":
        try:
            return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            raise ValueError("the form body is not UTF-8") from None
    try:
        return read_json(body)
    except ValueError as exc:
        raise ValueError(f"the body is not JSON voxpipe accepts ({exc})") from None


def read_json(data: bytes | str) -> Any:
    """JSON from a provider (an answer or a callback), with only finite numbers.

    ValueError for invalid JSON, ``NaN``/``Infinity``, a number that overflows
    (``1e400``), an integer over Python's 4300 digits, or nesting too deep.
    """
    try:
        return json.loads(data, parse_constant=_not_a_number, parse_float=_finite_float)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _not_a_number(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:20]}{'...' if len(text) > 20 else ''} is out of range")
    return value


def finite(value: Any, what: str) -> float:
    """A provider's number (JSON number or numeric string) as a finite float; ValueError naming ``what`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{what} {_short(value)} is not a number")
    try:
        number = float(value)
    except (ValueError, OverflowError):
        raise ValueError(f"{what} {_short(value)} is not a finite number") from None
    if not math.isfinite(number):
        raise ValueError(f"{what} {_short(value)} is not a finite number")
    return number


def _short(value: Any) -> str:
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**30 else f"<{value.bit_length()}-bit integer>"
    return text if len(text) <= 40 else text[:37] + "..."


def parse_time(value: Any) -> datetime:
    """An ISO 8601 / RFC 3339 time ("Z" or "z" for UTC; a time without a zone is read as UTC)."""
    text = str(value).strip()
    when = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in ("Z", "z") else text)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def list_at(data: Mapping[str, Any], key: str) -> list[Any]:
    """``data[key]`` when it is a JSON array, else an empty list."""
    value = data.get(key)
    return value if isinstance(value, list) else []


def dict_at(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    """``data[key]`` when it is a JSON object, else an empty dict."""
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def json_object(response: httpx.Response) -> dict[str, Any]:
    """The response body as a JSON object, or {} when it is anything else (or holds a non-finite number)."""
    try:
        body = read_json(response.content)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def maybe_json(body: str) -> Any:
    """``body`` parsed when it is JSON, else the text itself (for showing a request)."""
    try:
        return json.loads(body)
    except ValueError:
        return body
