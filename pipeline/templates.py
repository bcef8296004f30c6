"""Templates: markup with named placeholders, filled per row with values that stay text.

```
Your Northwind code is <say-as interpret-as="digits">{code}</say-as>.
Again: <say-as interpret-as="digits">{code}</say-as>.
```

A placeholder is ``{name}`` in the text of the markup (never inside a tag);
``{{`` and ``}}`` write a brace. A value is text, never markup: its ``<``,
``&`` and quotes are escaped before it meets the markup, so ``</say-as><break
time="10s"/>`` is spoken, not obeyed. Each placeholder has the kind of the
``<say-as>`` around it (``digits``, ``cardinal``, ``date`` ...) or ``text``,
and every value is checked against its kind before anything is synthesised:
letters in ``digits`` fail that row with one line naming the row and field.

A template with a ``digits`` placeholder (a one-time code) is *sensitive*
unless told otherwise: reports and logs show its values as ``****``.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import MarkupError, VoxpipeError
from .markup import normalize, parse
from .markup.normalize import say_digits
from .markup.tokenizer import CONTROL, EndTag, StartTag, Text, markup_error, prepare, tokenize

__all__ = [
    "ESCAPES",
    "MASK",
    "MAX_VALUE_CHARS",
    "RESERVED_COLUMNS",
    "Field",
    "RenderedRow",
    "Template",
    "TemplateError",
    "mask_values",
    "render_row",
    "render_rows",
]

MASK = "****"
MAX_VALUE_CHARS = 1000
"""Longest value a placeholder takes (a name or an address, not a letter)."""
RESERVED_COLUMNS = frozenset({"id", "to", "language"})
"""Data columns that are not placeholders: the row's id, its recipients (sending), the text's language."""

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]{0,63})\}")
_SAMPLE = {"digits": "0", "telephone": "0", "cardinal": "1", "ordinal": "1", "characters": "A", "spell-out": "A"}
ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


class TemplateError(VoxpipeError):
    """A template that cannot be used (bad markup, a placeholder inside a tag)."""


@dataclass(frozen=True)
class Field:
    """One placeholder: its name and how the markup around it reads it."""

    name: str
    kind: str
    """``text``, or the ``interpret-as`` of the ``<say-as>`` around it."""
    format: str | None = None
    """The ``format`` of a date."""


@dataclass(frozen=True)
class RenderedRow:
    """A row made into markup: ``text`` to speak, ``shown`` for reports (values masked when sensitive)."""

    id: str
    where: str
    text: str
    shown: str
    values: Mapping[str, str]
    """The checked value of each placeholder."""
    fields: Mapping[str, Any]
    """The row as read (with ``to`` and ``language`` when present)."""


@dataclass(frozen=True)
class Template:
    """A parsed template; :meth:`render` fills it, checking each value against its field."""

    source: str
    fields: tuple[Field, ...]
    sensitive: bool

    @classmethod
    def parse(cls, source: str, *, sensitive: bool | None = None) -> Template:
        """Read ``source``; ``sensitive`` defaults to whether a ``digits`` placeholder is present."""
        text = prepare(source)
        fields: dict[tuple[str, str, str | None], Field] = {}
        say_as: list[tuple[str, str | None]] = []
        for token in tokenize(text):
            if isinstance(token, StartTag) and token.name == "say-as" and not token.empty:
                attrs = dict(token.attrs)
                say_as.append((attrs.get("interpret-as", ""), attrs.get("format")))
            elif isinstance(token, EndTag) and token.name == "say-as" and say_as:
                say_as.pop()
            elif isinstance(token, Text):
                kind, fmt = say_as[-1] if say_as else ("text", None)
                for match in _PLACEHOLDER.finditer(token.text):
                    if match.group(1):
                        field = Field(match.group(1), kind, fmt)
                        fields.setdefault((field.name, field.kind, field.format), field)
        names = {m.group(1) for m in _PLACEHOLDER.finditer(text) if m.group(1)}
        in_text = {f.name for f in fields.values()}
        if names - in_text:
            offset = text.index("{" + sorted(names - in_text)[0] + "}")
            raise TemplateError(
                str(markup_error(text, offset, f"placeholder {{{sorted(names - in_text)[0]}}} inside a tag"))
            )
        if not fields:
            raise TemplateError("the template has no {placeholder}: use --text or --ssml for a fixed message")
        template = cls(
            source, tuple(fields.values()), sensitive if sensitive is not None else _has_digits(fields.values())
        )
        try:  # the markup itself, filled with a harmless value of each kind
            parse(
                template._fill(
                    {
                        f.name: _SAMPLE.get(f.kind, _sample_date(f.format) if f.kind == "date" else "x")
                        for f in template.fields
                    }
                )
            )
        except MarkupError as exc:
            raise TemplateError(f"template: {exc}") from exc
        return template

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.name for f in self.fields))

    def check(self, values: Mapping[str, Any], language: str = "en") -> dict[str, str]:
        """Every field's value as text; ValueError naming the field and what is wrong."""
        checked: dict[str, str] = {}
        for field in self.fields:
            raw = values.get(field.name)
            if raw is None:
                raise ValueError(f"{field.name}: missing (the template speaks it)")
            if isinstance(raw, bool) or not isinstance(raw, (str, int)):
                raise ValueError(f"{field.name}: must be text, not {type(raw).__name__}")
            value = str(raw).strip()
            if not value:
                raise ValueError(f"{field.name}: empty")
            if len(value) > MAX_VALUE_CHARS:
                raise ValueError(f"{field.name}: {len(value):,} characters; at most {MAX_VALUE_CHARS:,}")
            if CONTROL.search(value) or "\n" in value or "\r" in value:
                raise ValueError(f"{field.name}: holds a line break or control character")
            if field.kind != "text":
                _check_kind(field, value, language, self.sensitive)
            checked[field.name] = value
        return checked

    def render(self, values: Mapping[str, Any], language: str = "en") -> str:
        """The markup with every placeholder replaced by its (escaped, checked) value."""
        return self._fill(self.check(values, language))

    def shown(self, values: Mapping[str, str]) -> str:
        """What a report or log may show: the values, or ``****`` for each when the template is sensitive."""
        return self._fill(dict.fromkeys(self.names, MASK) if self.sensitive else values)

    def marked(self) -> str:
        """The template with each placeholder as ``\\ue000name\\ue001`` (private-use marks that survive parsing)."""
        return self._fill({n: f"\ue000{n}\ue001" for n in self.names})

    def _fill(self, values: Mapping[str, str]) -> str:
        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name is None:
                return match.group(0)[0]  # {{ or }}
            return values[name].translate(ESCAPES)

        return _PLACEHOLDER.sub(one, self.source)


def mask_values(message: str, values: Iterable[str], language: str = "en") -> str:
    """``message`` with every ``values`` entry replaced by ``****``: as written, escaped, and, for a
    number, as its digits with separators between (``4, 8, 3``) or read out (``four eight three``)."""
    for value in sorted(values, key=len, reverse=True):
        forms = [re.escape(value), re.escape(value.translate(ESCAPES))]
        digits = [c for c in value if c.isdecimal()]
        if len(digits) >= 2:
            forms.append(r"(?<![0-9])" + r"[^0-9A-Za-z]{0,3}".join(digits) + r"(?![0-9])")
            with contextlib.suppress(MarkupError, ValueError):
                words = re.findall(r"[^\s,]+", say_digits("".join(digits), language))
                forms.append(r"\b" + r"[^A-Za-z0-9]{1,3}".join(map(re.escape, words)) + r"\b")
        message = re.sub("|".join(forms), MASK, message, flags=re.IGNORECASE)
    return message


def _has_digits(fields: Iterable[Field]) -> bool:
    return any(f.kind == "digits" for f in fields)


def _sample_date(fmt: str | None) -> str:
    parts = {"y": "2026", "m": "1", "d": "2"}
    return "-".join(parts[c] for c in (fmt or "ymd"))


def _check_kind(field: Field, value: str, language: str, secret: bool) -> None:
    if field.kind == "digits" and not re.fullmatch(r"[0-9](?:[0-9 ]*[0-9])?", value):
        raise ValueError(f"{field.name}: {'the value' if secret else _short(value)} is not digits")
    fmt = f' format="{field.format}"' if field.format else ""
    markup = f'<say-as interpret-as="{field.kind}"{fmt}>{value.translate(ESCAPES)}</say-as>'
    try:
        normalize(parse(markup), language)
    except MarkupError as exc:
        reason = exc.reason.replace(f"say-as {field.kind}: ", "")
        if secret:
            reason = reason.replace(value, MASK)
        raise ValueError(f"{field.name}: {reason} (read as {field.kind})") from None


def _short(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:37] + "...")


def render_row(
    template: Template, where: str, fields: Mapping[str, Any], *, language: str = "en"
) -> RenderedRow | tuple[str, str]:
    """One row (``where`` it was read, its columns) filled into ``template``.

    A :class:`RenderedRow`, or ``(row id or where, "where: field: reason")``
    for a row that cannot be used: no ``id``, a column the template does not
    have, a missing, empty or ill-fitting value.
    """
    raw_id = fields.get("id")
    row_id = str(raw_id).strip() if isinstance(raw_id, (str, int)) and not isinstance(raw_id, bool) else ""
    label = row_id or where
    if not row_id:
        return label, f"{where}: id: missing"
    allowed = set(template.names) | RESERVED_COLUMNS
    unknown = sorted(k for k in fields if k not in allowed)
    if unknown:
        return label, f"{where}: {unknown[0]}: not a placeholder of the template (it has {', '.join(template.names)})"
    row_language = fields.get("language")
    try:
        values = template.check(fields, row_language if isinstance(row_language, str) and row_language else language)
    except ValueError as exc:
        return label, f"{where}: {exc}"
    return RenderedRow(row_id, where, template._fill(values), template.shown(values), values, fields)


def render_rows(
    template: Template, rows: Iterable[tuple[str, Mapping[str, Any]]], *, language: str = "en"
) -> Iterator[RenderedRow | tuple[str, str]]:
    """:func:`render_row` over ``rows``, one at a time (nothing is held back)."""
    for where, fields in rows:
        yield render_row(template, where, fields, language=language)
