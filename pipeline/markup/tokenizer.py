"""Split markup into text and tag tokens, by hand rather than with an XML parser.

Voice-message text is typed by people, not generated, so a bare ``&``, ``<``
or ``>`` used as an ordinary character ("Tom & Jerry", "a < b", "5 > 3")
must be read as text. The rule: ``<`` opens markup only when a letter, ``/``
or ``!`` follows it; ``&`` is an entity only when it spells a known one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import MarkupError
from . import symbols

__all__ = ["EndTag", "StartTag", "Text", "Token", "decode_entities", "locate", "markup_error", "prepare", "tokenize"]


@dataclass(frozen=True)
class Text:
    """Character data with entities decoded; ``offset`` is where it starts."""

    text: str
    offset: int


@dataclass(frozen=True)
class StartTag:
    """``<name attr="v">`` or, with ``empty``, ``<name attr="v"/>``."""

    name: str
    attrs: tuple[tuple[str, str], ...]
    empty: bool
    offset: int


@dataclass(frozen=True)
class EndTag:
    """``</name>``."""

    name: str
    offset: int


Token = Text | StartTag | EndTag

_ENTITY = re.compile(r"&(?:([A-Za-z]+)|#([0-9]+)|#[xX]([0-9A-Fa-f]+));")
_NAME = re.compile(r"[^\W\d_][\w.:-]*")
_ATTR = re.compile(r"""([^\W\d][\w.:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_END_REST = re.compile(r"\s*>")
_XML_DECL = re.compile(r"\s*<\?xml[\s?]")


CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""Control characters no text to speak contains (tab and line ends excepted); engines choke on NUL."""


def prepare(text: str) -> str:
    """Line ends made ``\\n`` and a byte-order mark dropped, so columns agree."""
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def locate(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of ``offset`` in prepared ``text``."""
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def decode_entities(text: str) -> str:
    """Decode the five XML entities and numeric references; leave any other ``&``."""

    def one(m: re.Match[str]) -> str:
        name, dec, hexa = m.groups()
        if name is not None:
            return symbols.ENTITIES.get(name, m.group(0))
        code = int(dec) if dec is not None else int(hexa, 16)
        # An impossible code point, or a control character, is kept as typed, like an unknown name.
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF or CONTROL.fullmatch(chr(code)):
            return m.group(0)
        return chr(code)

    return _ENTITY.sub(one, text)


def markup_error(text: str, offset: int, message: str) -> MarkupError:
    """A MarkupError at ``offset`` of ``text`` (line and column counted from 1)."""
    line, column = locate(text, offset)
    return MarkupError(message, line, column)


def _unknown_tag(text: str, offset: int, shown: str) -> MarkupError:
    return markup_error(text, offset, f"unknown tag {shown}; expected one of {', '.join(symbols.TAGS)}")


def _skip_declaration(text: str) -> int:
    """Offset after a leading ``<?xml ...?>``, or 0 if there is none."""
    m = _XML_DECL.match(text)
    if not m:
        return 0
    start = text.index("<?xml")
    end = text.find("?>", start)
    if end < 0:
        raise markup_error(text, start, "unterminated XML declaration <?xml; expected ?>")
    return end + 2


def _start_tag(text: str, at: int) -> tuple[StartTag, int]:
    m = _NAME.match(text, at + 1)
    assert m is not None  # the caller saw a letter after "<"
    name = m.group(0)
    if name not in symbols.TAGS:
        raise _unknown_tag(text, at, f"<{name}>")
    attrs: dict[str, str] = {}
    i = m.end()
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if text.startswith("/>", i):
            return StartTag(name, tuple(attrs.items()), True, at), i + 2
        if text.startswith(">", i):
            return StartTag(name, tuple(attrs.items()), False, at), i + 1
        if i >= len(text):
            raise markup_error(text, at, f"unterminated tag <{name}; expected > or />")
        a = _ATTR.match(text, i)
        if not a:
            raise markup_error(text, at, f'malformed attribute in <{name}>; expected name="value", > or />')
        key = a.group(1)
        if key in attrs:
            raise markup_error(text, at, f"duplicate attribute {key} on <{name}>")
        value = a.group(2) if a.group(2) is not None else a.group(3)
        attrs[key] = decode_entities(value)
        i = a.end()


def _end_tag(text: str, at: int) -> tuple[EndTag, int]:
    m = _NAME.match(text, at + 2)
    if not m:
        raise markup_error(text, at, "malformed closing tag; expected </name>")
    name = m.group(0)
    if name not in symbols.TAGS:
        raise _unknown_tag(text, at, f"</{name}>")
    rest = _END_REST.match(text, m.end())
    if not rest:
        raise markup_error(text, at, f"malformed closing tag </{name}; expected </{name}>")
    return EndTag(name, at), rest.end()


def _comment_end(text: str, at: int) -> int:
    if not text.startswith("<!--", at):
        raise markup_error(text, at, "unsupported declaration <!; expected a comment <!-- ... -->")
    end = text.find("-->", at + 4)
    if end < 0:
        raise markup_error(text, at, "unterminated comment <!--; expected -->")
    return end + 3


def tokenize(text: str) -> list[Token]:
    """Tokens of prepared ``text`` (see :func:`prepare`); comments are dropped.

    Raises :class:`MarkupError` for markup that cannot be read: an unknown
    tag, an unterminated tag or comment, a malformed attribute.
    """
    tokens: list[Token] = []
    pos = _skip_declaration(text)
    chunk_start = pos
    search = pos

    def flush(end: int) -> None:
        # Adjacent literal runs (split by a comment) stay separate tokens;
        # the parser joins text anyway.
        if end > chunk_start:
            tokens.append(Text(decode_entities(text[chunk_start:end]), chunk_start))

    while True:
        at = text.find("<", search)
        if at < 0:
            flush(len(text))
            return tokens
        nxt = text[at + 1 : at + 2]
        if nxt == "/":
            flush(at)
            end, chunk_start = _end_tag(text, at)
            tokens.append(end)
        elif nxt == "!":
            flush(at)
            chunk_start = _comment_end(text, at)
        elif _NAME.match(text, at + 1):
            flush(at)
            start, chunk_start = _start_tag(text, at)
            tokens.append(start)
        elif text.startswith("<?xml", at):
            raise markup_error(text, at, "XML declaration <?xml ...?> in the middle; expected it first or not at all")
        # else: "<" followed by a space, digit, "=", ... is an ordinary character.
        search = chunk_start if chunk_start > at else at + 1
