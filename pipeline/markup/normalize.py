"""Say-as hints turned into words, and scripts flattened to plain text.

One pure ``str -> str`` function per interpret-as (``say_digits``,
``say_characters``, ``say_telephone``, ``say_cardinal``, ``say_ordinal``,
``say_date``), in the spirit of gTTS pre-processors, so each is tested as a
table of inputs and outputs. Numbers are spoken by ``num2words``.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from decimal import Decimal
from functools import lru_cache

from num2words import CONVERTER_CLASSES, num2words

from ..errors import MarkupError
from . import symbols
from .script import Pause, Script, Segment, Speech

__all__ = [
    "SAY_AS",
    "date_format",
    "normalize",
    "number_language",
    "say_cardinal",
    "say_characters",
    "say_date",
    "say_digits",
    "say_ordinal",
    "say_telephone",
    "spell_digits",
    "to_plain_text",
]

_SPACE = re.compile(r"\s+")
_WHOLE = r"\d{1,3}(?:,\d{3})+|\d+"  # 1234 or 1,234 (thousands commas as in en)
_NUMBER = re.compile(rf"([+-]?)({_WHOLE})(\.\d+)?")
_PHONE = re.compile(r"\+?[\d\s().\-/]+")
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DATE_SPLIT = re.compile(r"[\s/.,\-]+")
_SENTENCE_END = re.compile(r"[.!?\u2026][\"')\]\u201d\u2019]*$")
_CLAUSE_END = re.compile(r"[,;:.!?\u2026][\"')\]\u201d\u2019]*$")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,;:.!?])")


def _bad(kind: str, value: str, problem: str) -> MarkupError:
    shown = value if len(value) <= 500 else value[:40] + "..." + value[-10:]
    return MarkupError(f'say-as {kind}: "{shown}" {problem}')


@lru_cache(maxsize=64)
def number_language(language: str) -> str:
    """num2words ``lang`` for a language tag: ``en-US`` -> ``en``, ``pt-BR`` -> ``pt_BR``.

    A language num2words lacks falls back to ``en``, so something is spoken.
    """
    parts = re.split(r"[-_]", language.strip())
    primary = parts[0].lower()
    if len(parts) > 1 and f"{primary}_{parts[1].upper()}" in CONVERTER_CLASSES:
        return f"{primary}_{parts[1].upper()}"
    return primary if primary in CONVERTER_CLASSES else "en"


def _words_language(language: str) -> str:
    """Key into the word tables of :mod:`symbols` (primary subtag of the number language)."""
    return number_language(language).split("_")[0]


@lru_cache(maxsize=256)
def _n2w(value: int | Decimal, lang: str, to: str = "cardinal") -> str:
    try:
        words = str(num2words(value, lang=lang, to=to))
    except NotImplementedError:
        # Some num2words languages lack ordinals or years; English beats silence.
        words = str(num2words(value, lang="en", to=to))
    # "one thousand, two hundred": the comma would make engines pause mid-number.
    return words.replace(",", "")


def _digit(ch: str, language: str) -> str:
    return _n2w(int(ch), number_language(language))


def say_digits(text: str, language: str = "en") -> str:
    """``"1834"`` -> ``"one, eight, three, four"``; other characters stay as separators.

    A comma between two digits gives each its own short pause, as a code is
    read out on the phone (and as the providers' TTS dialects send it): it is
    clearer, and it lets a template's codes be assembled from single digits.
    """
    tokens: list[tuple[str, bool]] = []  # (word, is a digit)
    other = ""
    for ch in text:
        if ch.isdecimal() or ch.isspace():
            if other:
                tokens.append((other, False))
                other = ""
            if ch.isdecimal():
                tokens.append((_digit(ch, language), True))
        else:
            other += ch
    if other:
        tokens.append((other, False))
    if not any(ch.isdecimal() for ch in text):
        raise _bad("digits", text, "has no digits")
    out = ""
    for i, (word, digit) in enumerate(tokens):
        if i:
            out += ", " if digit and tokens[i - 1][1] else " "
        out += word
    return out


def say_characters(text: str, language: str = "en") -> str:
    """``"ABC-12"`` -> ``"A B C dash one two"``: one word per character, letters as capitals."""
    names = symbols.CHARACTER_NAMES.get(_words_language(language), {})
    words: list[str] = []
    for ch in text:
        if ch.isspace():
            continue
        if ch.isdecimal():
            words.append(_digit(ch, language))
        elif ch.isalpha():
            words.append(ch.upper())
        else:
            words.append(names.get(ch, ch))
    if not words:
        raise _bad("characters", text, "has nothing to spell")
    return " ".join(words)


def say_telephone(text: str, language: str = "en") -> str:
    """``"+1 (555) 010-0199"`` -> ``"plus one, five five five, zero one zero, zero one nine nine"``.

    Each digit group is read digit by digit; commas between groups give the
    pauses people make when they read a number out.
    """
    value = text.strip()
    if not _PHONE.fullmatch(value) or not re.search(r"\d", value):
        raise _bad("telephone", text, "is not a phone number")
    groups = re.findall(r"\d+", value)
    spoken = ", ".join(" ".join(_digit(d, language) for d in g) for g in groups)
    if value.startswith("+"):
        spoken = f"{symbols.PLUS_WORD.get(_words_language(language), '+')} {spoken}"
    return spoken


def say_cardinal(text: str, language: str = "en") -> str:
    """``"1,234"``, ``"-5"``, ``"3.5"`` -> words."""
    value = text.strip().replace("\u2212", "-")  # a typographic minus is a minus
    m = _NUMBER.fullmatch(value)
    if not m:
        raise _bad("cardinal", text, "is not a number")
    sign, whole, fraction = m.groups()
    digits = whole.replace(",", "")
    try:
        number: int | Decimal = Decimal(sign + digits + fraction) if fraction else int(sign + digits)
        return _n2w(number, number_language(language))
    except (OverflowError, ValueError, ArithmeticError):  # ValueError: over Python's 4,300-digit int limit
        raise _bad("cardinal", text, "is too large to say") from None


def say_ordinal(text: str, language: str = "en") -> str:
    """``"21"`` or ``"21st"`` -> ``"twenty-first"``."""
    value = _without_ordinal_suffix(text.strip(), language)
    if not re.fullmatch(_WHOLE, value):
        raise _bad("ordinal", text, "is not a whole number")
    try:
        return _n2w(int(value.replace(",", "")), number_language(language), "ordinal")
    except (OverflowError, ValueError):  # ValueError: over Python's 4,300-digit int limit
        raise _bad("ordinal", text, "is too large to say") from None


def date_format(language: str) -> str:
    """Field order assumed for a date without ``format`` (``mdy`` for en, ``dmy`` for en-GB)."""
    tag = language.strip().lower().replace("_", "-")
    table = symbols.DATE_DEFAULT_FORMAT
    return table.get(tag) or table.get(tag.split("-")[0]) or table["*"]


def _month(part: str, language: str) -> int | None:
    if part.isdecimal():
        return int(part) if len(part) <= 4 else None
    names = symbols.MONTH_NAMES.get(_words_language(language), symbols.MONTH_NAMES["en"])
    for number, name in enumerate(names, 1):
        # Full names and three-letter abbreviations: "March", "mar", "Mar."
        if part.lower().rstrip(".") in (name.lower(), name[:3].lower()):
            return number
    return None


def _without_ordinal_suffix(value: str, language: str) -> str:
    """``"21st"`` -> ``"21"`` (the suffix only after a digit)."""
    for suffix in symbols.ORDINAL_SUFFIXES.get(_words_language(language), ()):
        if value.lower().endswith(suffix) and value[: -len(suffix)][-1:].isdecimal():
            return value[: -len(suffix)]
    return value


def _year(part: str, language: str) -> int | None:
    return int(part) if part.isdecimal() and len(part) <= 4 else None


def _day(part: str, language: str) -> int | None:
    part = _without_ordinal_suffix(part, language)
    return int(part) if part.isdecimal() and len(part) <= 4 else None


def _date_fields(text: str, fmt: str, language: str) -> dict[str, int] | None:
    """``{"d": .., "m": .., "y": ..}`` for the fields of ``fmt``, or None if invalid."""
    value = text.strip()
    if iso := _ISO_DATE.fullmatch(value):
        fields = {"y": int(iso.group(1)), "m": int(iso.group(2)), "d": int(iso.group(3))}
    else:
        parts = [p for p in _DATE_SPLIT.split(value) if p]
        if len(parts) != len(fmt):
            return None
        read: dict[str, Callable[[str, str], int | None]] = {"d": _day, "m": _month, "y": _year}
        fields = {}
        for key, part in zip(fmt, parts, strict=False):
            number = read[key](part, language)
            if number is None:
                return None
            fields[key] = number
    month, year, day = fields.get("m"), fields.get("y"), fields.get("d")
    if month is not None and not 1 <= month <= 12:
        return None
    if year is not None and year < 1:
        return None
    if day is not None:
        # Without a year, February 29 is allowed (2000 was a leap year).
        last = calendar.monthrange(year or 2000, month)[1] if month else 31
        if not 1 <= day <= last:
            return None
    return fields


def say_date(text: str, format: str | None = None, language: str = "en") -> str:
    """``"2026-03-05"`` or ``"03/05/2026"`` (mdy) -> ``"March fifth, twenty twenty-six"``.

    ``format`` is the order of the fields as written (mdy, dmy, ymd, md, dm,
    ym, my, d, m, y); an ISO ``YYYY-MM-DD`` date is accepted whatever it says.
    Languages without month names in :mod:`symbols` get the numbers in order.
    """
    fmt = format or date_format(language)
    if fmt not in symbols.DATE_FORMATS:
        raise _bad("date", text, f"has unknown format {fmt}; expected one of {', '.join(symbols.DATE_FORMATS)}")
    fields = _date_fields(text, fmt, language)
    if fields is None:
        raise _bad("date", text, f"is not a valid {fmt} date")
    lang = number_language(language)
    year = _n2w(fields["y"], lang, "year") if "y" in fields else None
    day = _n2w(fields["d"], lang, "ordinal") if "d" in fields else None
    months = symbols.MONTH_NAMES.get(_words_language(language))
    if months is None:
        words = {"d": day, "m": _n2w(fields.get("m", 0), lang), "y": year}
        order = "ymd" if _ISO_DATE.fullmatch(text.strip()) else fmt
        return " ".join(words[k] or "" for k in order if k in fields)
    month = months[fields["m"] - 1] if "m" in fields else None
    if month and day:
        return f"{month} {day}, {year}" if year else f"{month} {day}"
    if month:
        return f"{month} {year}" if year else month
    if day:
        return f"the {day}"
    return year or ""


SAY_AS: dict[str, Callable[[Speech, str], str]] = {
    "digits": lambda s, lang: say_digits(s.text, lang),
    "characters": lambda s, lang: say_characters(s.text, lang),
    "spell-out": lambda s, lang: say_characters(s.text, lang),
    "telephone": lambda s, lang: say_telephone(s.text, lang),
    "cardinal": lambda s, lang: say_cardinal(s.text, lang),
    "ordinal": lambda s, lang: say_ordinal(s.text, lang),
    "date": lambda s, lang: say_date(s.text, s.say_as_format, lang),
}
"""interpret-as -> converter of one say-as segment."""


def _touches(left: str, right: str) -> bool:
    return left[-1:].isalnum() and right[:1].isalnum()


def normalize(script: Script, language: str = "en") -> Script:
    """A script with every say-as turned into words and every sub into its alias.

    ``script.language`` (from ``xml:lang``) wins over ``language``. Converted
    words get a space where they would otherwise run into a neighbouring word;
    neighbours with the same prosody and emphasis are merged.
    Raises :class:`MarkupError` for a value its interpret-as cannot read.
    """
    lang = script.language or language
    segs = script.segments
    out: list[Pause | tuple[Speech, list[str]]] = []  # speech texts joined at the end
    for i, seg in enumerate(segs):
        if isinstance(seg, Pause):
            out.append(seg)
            continue
        text = seg.text
        if seg.say_as is not None:
            convert = SAY_AS.get(seg.say_as)
            if convert is None:
                raise MarkupError(f"say-as {seg.say_as}: unknown interpret-as; expected one of {', '.join(SAY_AS)}")
            text = convert(seg, lang)
        if seg.say_as is not None or seg.written is not None:
            before = segs[i - 1] if i > 0 else None
            after = segs[i + 1] if i + 1 < len(segs) else None
            if isinstance(before, Speech) and _touches(before.text, text):
                text = " " + text
            if isinstance(after, Speech) and _touches(text, after.text):
                text += " "
        last = out[-1] if out else None
        if isinstance(last, tuple) and (last[0].prosody, last[0].emphasis) == (seg.prosody, seg.emphasis):
            last[1].append(text)
        else:
            out.append((seg, [text]))
    segments: list[Segment] = [
        item
        if isinstance(item, Pause)
        else Speech(_SPACE.sub(" ", "".join(item[1])), item[0].prosody, emphasis=item[0].emphasis)
        for item in out
    ]
    return Script(tuple(segments), script.language)


def _pause_mark(text: str, ms: int) -> str:
    """Punctuation standing in for a pause after ``text``."""
    if ms >= symbols.BREAK_STRENGTH_MS["strong"]:
        return " " if _SENTENCE_END.search(text) else ". "
    if ms > 0:
        return " " if _CLAUSE_END.search(text) else ", "
    return " "


def to_plain_text(script: Script, language: str = "en") -> str:
    """Normalised text with pauses as punctuation, for engines without markup.

    A pause of 600 ms or more ends a sentence, a shorter one is a comma, 0 ms
    is a space; pauses before the first or after the last words are dropped.
    """
    parts: list[str] = []
    pending: int | None = None
    for seg in normalize(script, language).segments:
        if isinstance(seg, Pause):
            pending = seg.ms + (pending or 0)
            continue
        if pending is not None and parts:
            # Only the end of the text so far decides the mark: look at the tail.
            while not parts[-1].strip():
                parts.pop()
            parts[-1] = parts[-1].rstrip()
            parts.append(_pause_mark("".join(parts[-2:]), pending))
        pending = None
        if seg.text.strip() or parts:
            parts.append(seg.text)
    return _SPACE_BEFORE_PUNCT.sub(r"\1", _SPACE.sub(" ", "".join(parts))).strip()


def spell_digits(text: str, sep: str = ", ") -> str:
    """``"1834"`` -> ``"1, 8, 3, 4"``: numerals one by one, for providers that read numerals.

    Letters are kept too (``"AB1"`` -> ``"A, B, 1"``); spaces and punctuation are dropped.
    """
    return sep.join(ch for ch in text if ch.isalnum())
