"""Attribute values of the markup, each read by one small pure function.

Every function takes the attribute text and returns a number, or raises
``ValueError`` whose message says what was expected; the parser adds the
tag, attribute and position to make the :class:`MarkupError`.
"""

from __future__ import annotations

import math
import re

from . import symbols

__all__ = ["break_ms", "language_tag", "pitch_st", "rate_factor", "strength_ms", "volume_db"]

_NUMBER = r"(?:\d+(?:\.\d+)?|\.\d+)"
_TIME = re.compile(rf"({_NUMBER})(ms|s)", re.IGNORECASE)
_PERCENT = re.compile(rf"([+-]?)({_NUMBER})%")
_PLAIN = re.compile(_NUMBER)
_DB = re.compile(rf"([+-]?{_NUMBER})dB", re.IGNORECASE)
_ST = re.compile(rf"([+-]?{_NUMBER})st")
_LANG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*")


def _finite(value: float, expected: str) -> float:
    if not math.isfinite(value):
        raise ValueError(expected)
    return value


def _within(value: float, limit: float, unit: str) -> float:
    if not -limit <= value <= limit:
        raise ValueError(f"a change of at most {limit:g}{unit} either way")
    return value


def _labels(table: dict[str, float] | dict[str, int]) -> str:
    return ", ".join(table)


def break_ms(value: str) -> int:
    """``time`` of <break>: ``500ms``, ``2s``, ``1.5s`` -> milliseconds (at most 10 s)."""
    m = _TIME.fullmatch(value.strip())
    if not m:
        raise ValueError("a duration like 500ms or 2s")
    amount = _finite(float(m.group(1)), "a duration like 500ms or 2s")
    ms = amount * 1000 if m.group(2).lower() == "s" else amount
    if ms > symbols.MAX_PAUSE_MS:
        raise ValueError(f"at most {symbols.MAX_PAUSE_MS // 1000}s")
    return round(ms)


def strength_ms(value: str) -> int:
    """``strength`` of <break> -> milliseconds, from the break-strength table."""
    if value not in symbols.BREAK_STRENGTH_MS:
        raise ValueError(f"one of {_labels(symbols.BREAK_STRENGTH_MS)}")
    return symbols.BREAK_STRENGTH_MS[value]


def rate_factor(value: str) -> float:
    """``rate`` of <prosody> -> speed multiplier.

    Labels; ``85%`` (absolute, 0.85); ``+20%``/``-10%`` (relative, 1.2/0.9);
    a plain number ``1.2``. Clamping to 0.5..2.0 happens after nesting.
    """
    v = value.strip()
    expected = f"one of {_labels(symbols.RATE_LABELS)}, N%, +N%, -N% or a number"
    if v in symbols.RATE_LABELS:
        return symbols.RATE_LABELS[v]
    if m := _PERCENT.fullmatch(v):
        sign, amount = m.group(1), float(m.group(2)) / 100
        factor = 1 + amount if sign == "+" else 1 - amount if sign == "-" else amount
    elif _PLAIN.fullmatch(v):
        factor = float(v)
    else:
        raise ValueError(expected)
    if factor <= 0:
        raise ValueError("a rate above zero")
    if factor > 100:  # clamped to RATE_MAX anyway; past this it is a typo (or infinity)
        raise ValueError("a rate of at most 100 (10000%)")
    return factor


def volume_db(value: str) -> float:
    """``volume`` of <prosody> -> gain in dB: labels or ``+3dB``/``-2dB``."""
    v = value.strip()
    if v in symbols.VOLUME_LABELS_DB:
        return symbols.VOLUME_LABELS_DB[v]
    if m := _DB.fullmatch(v):
        return _within(_finite(float(m.group(1)), "a finite number of dB"), symbols.VOLUME_MAX_DB, "dB")
    hint = " (silent is not supported; use <break>)" if v == "silent" else ""
    raise ValueError(f"one of {_labels(symbols.VOLUME_LABELS_DB)}, +NdB or -NdB{hint}")


def pitch_st(value: str) -> float:
    """``pitch`` of <prosody> -> semitones: labels, ``+2st``/``-1st``, ``+10%``/``-10%``."""
    v = value.strip()
    expected = f"one of {_labels(symbols.PITCH_LABELS_ST)}, +Nst, -Nst, +N% or -N%"
    if v in symbols.PITCH_LABELS_ST:
        return symbols.PITCH_LABELS_ST[v]
    if m := _ST.fullmatch(v):
        return _within(_finite(float(m.group(1)), "a finite number of semitones"), symbols.PITCH_MAX_ST, "st")
    m = _PERCENT.fullmatch(v)
    # An unsigned percent would be an absolute pitch, which has no meaning
    # without knowing the voice's base pitch.
    if not m or not m.group(1):
        raise ValueError(expected)
    ratio = 1 + float(m.group(2)) / 100 if m.group(1) == "+" else 1 - float(m.group(2)) / 100
    if ratio <= 0:
        raise ValueError("a pitch change above -100%")
    return _within(12 * math.log2(_finite(ratio, "a finite percentage")), symbols.PITCH_MAX_ST, "st")


def language_tag(value: str) -> str:
    """``xml:lang`` of <speak>: a language tag such as ``en``, ``en-US``."""
    v = value.strip()
    if not _LANG.fullmatch(v):
        raise ValueError("a language tag like en or en-US")
    return v
