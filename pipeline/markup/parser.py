"""Markup text -> :class:`~pipeline.markup.script.Script`.

Three steps, each small: :func:`~pipeline.markup.tokenizer.tokenize` reads
tokens, :class:`_Builder` checks nesting and attributes and emits a flat list
of speech and pauses, and :func:`_assemble` tidies whitespace and merges
neighbours into the final segments.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TypeVar

from ..errors import MarkupError
from . import symbols, values
from .script import Pause, Prosody, Script, Segment, Speech
from .tokenizer import CONTROL, EndTag, StartTag, Text, markup_error, prepare, tokenize

__all__ = ["parse"]

_SPACE = re.compile(r"\s+")
_T = TypeVar("_T")


def _tidy(x: float) -> float:
    # Rounded so nested factors (1.1 * 1.1) give stable, content-addressable
    # numbers; "+ 0.0" turns -0.0 into 0.0 for the same reason.
    return round(x, 4) + 0.0


@dataclass(frozen=True)
class _Context:
    """What the enclosing tags put in effect, before clamping."""

    rate: float = 1.0
    volume_db: float = 0.0
    pitch_st: float = 0.0
    emphasis: str | None = None
    in_s: bool = False
    in_p: bool = False

    def speech(self, text: str, **extra: str | None) -> Speech:
        rate = min(max(self.rate, symbols.RATE_MIN), symbols.RATE_MAX)
        # Nested changes add up; like the rate, the sum is clamped to what renders.
        volume = min(max(self.volume_db, -symbols.VOLUME_MAX_DB), symbols.VOLUME_MAX_DB)
        pitch = min(max(self.pitch_st, -symbols.PITCH_MAX_ST), symbols.PITCH_MAX_ST)
        prosody = Prosody(_tidy(rate), _tidy(volume), _tidy(pitch))
        return Speech(text, prosody, emphasis=self.emphasis, **extra)


@dataclass
class _Frame:
    """An open tag: where it is, what it sets, and text it collects."""

    tag: StartTag
    attrs: dict[str, str]
    outer: _Context
    inner: _Context
    text: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.tag.name


@dataclass(frozen=True)
class _Pause:
    ms: int
    strength: str | None
    explicit: bool
    """From <break> (kept at the edges, summed) rather than from <s>/<p>."""


_Item = Speech | _Pause


class _Builder:
    """Walks the tokens once, keeping a stack of open tags."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.items: list[_Item] = []
        self.stack: list[_Frame] = []
        self.speak = "none"  # -> "open" -> "closed"
        self.content_before_speak = False
        self.language: str | None = None

    # -- helpers -----------------------------------------------------------

    def error(self, offset: int, message: str) -> MarkupError:
        return markup_error(self.text, offset, message)

    def value(self, tag: StartTag, attr: str, read: Callable[[str], _T]) -> _T:
        raw = dict(tag.attrs)[attr]
        try:
            return read(raw)
        except ValueError as exc:
            shown = raw if len(raw) <= 60 else raw[:40] + "..." + raw[-10:]
            message = f'bad value "{shown}" for {attr} on <{tag.name}>; expected {exc}'
            raise self.error(tag.offset, message) from None

    def choice(self, tag: StartTag, attr: str, allowed: tuple[str, ...]) -> str:
        def read(raw: str) -> str:
            if raw not in allowed:
                raise ValueError(f"one of {', '.join(allowed)}")
            return raw

        return self.value(tag, attr, read)

    @property
    def context(self) -> _Context:
        return self.stack[-1].inner if self.stack else _Context()

    def structural(self, name: str) -> None:
        strength = symbols.STRUCTURAL_PAUSE[name]
        self.items.append(_Pause(symbols.BREAK_STRENGTH_MS[strength], name, explicit=False))

    # -- tokens ------------------------------------------------------------

    def on_text(self, token: Text) -> None:
        top = self.stack[-1] if self.stack else None
        spoken = token.text.strip()
        if top is not None and top.name == "break":
            if spoken:
                raise self.error(top.tag.offset, "<break> must be empty; expected <break/>")
            return
        if spoken and self.speak == "closed":
            lead = len(token.text) - len(token.text.lstrip())
            raise self.error(token.offset + lead, "text after </speak>; expected end of input")
        if spoken and self.speak == "none":
            self.content_before_speak = True
        if top is not None and top.name in symbols.TEXT_ONLY_TAGS:
            top.text.append(token.text)
        else:
            self.items.append(self.context.speech(token.text))

    def on_start(self, tag: StartTag) -> None:
        top = self.stack[-1] if self.stack else None
        if top is not None and top.name == "break":
            raise self.error(top.tag.offset, "<break> must be empty; expected <break/>")
        if top is not None and top.name in symbols.TEXT_ONLY_TAGS:
            raise self.error(tag.offset, f"tag <{tag.name}> not allowed inside <{top.name}>; expected text")
        if self.speak == "closed":
            raise self.error(tag.offset, f"tag <{tag.name}> after </speak>; expected end of input")
        self.check_attributes(tag)
        frame = _Frame(tag, dict(tag.attrs), self.context, self.context)
        getattr(self, "open_" + tag.name.replace("-", "_"))(frame)
        if tag.name != "speak" and self.speak == "none":
            self.content_before_speak = True
        if tag.empty:
            self.close(frame)
        else:
            self.stack.append(frame)

    def on_end(self, tag: EndTag) -> None:
        if not self.stack:
            raise self.error(tag.offset, f"closing tag </{tag.name}> without an opening <{tag.name}>")
        top = self.stack[-1]
        if top.name != tag.name:
            if top.name == "break":
                raise self.error(top.tag.offset, "<break> must be empty; expected <break/>")
            raise self.error(tag.offset, f"mismatched closing tag </{tag.name}>; expected </{top.name}>")
        self.stack.pop()
        self.close(top)

    def finish(self) -> None:
        if self.stack:
            top = self.stack[-1]
            expected = "<break/>" if top.name == "break" else f"</{top.name}>"
            raise self.error(top.tag.offset, f"unclosed tag <{top.name}>; expected {expected}")

    def check_attributes(self, tag: StartTag) -> None:
        allowed = symbols.TAG_ATTRIBUTES[tag.name]
        for key, _ in tag.attrs:
            # xmlns:foo is how SSML generators declare vendor prefixes.
            if key in allowed or (tag.name == "speak" and key.startswith("xmlns:")):
                continue
            expected = f"one of {', '.join(allowed)}" if allowed else "no attributes"
            raise self.error(tag.offset, f"unknown attribute {key} on <{tag.name}>; expected {expected}")

    # -- tags --------------------------------------------------------------

    def open_speak(self, frame: _Frame) -> None:
        tag = frame.tag
        if self.speak != "none":
            raise self.error(tag.offset, "second <speak>; expected only one, wrapping the whole text")
        if self.stack or self.content_before_speak:
            raise self.error(tag.offset, "<speak> must wrap the whole text; expected it before any text or tag")
        self.speak = "open"
        if "xml:lang" in frame.attrs:
            self.language = self.value(tag, "xml:lang", values.language_tag)

    def open_break(self, frame: _Frame) -> None:
        tag = frame.tag
        if "time" in frame.attrs and "strength" in frame.attrs:
            raise self.error(tag.offset, "<break> has both time and strength; expected one of them")
        if "time" in frame.attrs:
            self.items.append(_Pause(self.value(tag, "time", values.break_ms), None, explicit=True))
        elif "strength" in frame.attrs:
            ms = self.value(tag, "strength", values.strength_ms)
            self.items.append(_Pause(ms, frame.attrs["strength"], explicit=True))
        else:
            self.items.append(_Pause(symbols.BREAK_STRENGTH_MS["medium"], "medium", explicit=True))

    def open_prosody(self, frame: _Frame) -> None:
        tag = frame.tag
        if not frame.attrs:
            expected = ", ".join(symbols.TAG_ATTRIBUTES["prosody"])
            raise self.error(tag.offset, f"<prosody> without attributes; expected at least one of {expected}")
        ctx = frame.outer
        if "rate" in frame.attrs:
            ctx = replace(ctx, rate=ctx.rate * self.value(tag, "rate", values.rate_factor))
        if "volume" in frame.attrs:
            ctx = replace(ctx, volume_db=ctx.volume_db + self.value(tag, "volume", values.volume_db))
        if "pitch" in frame.attrs:
            ctx = replace(ctx, pitch_st=ctx.pitch_st + self.value(tag, "pitch", values.pitch_st))
        frame.inner = ctx

    def open_say_as(self, frame: _Frame) -> None:
        tag = frame.tag
        if "interpret-as" not in frame.attrs:
            raise self.error(
                tag.offset,
                f"missing attribute interpret-as on <say-as>; expected one of {', '.join(symbols.INTERPRET_AS)}",
            )
        kind = self.choice(tag, "interpret-as", symbols.INTERPRET_AS)
        if "format" in frame.attrs:
            if kind != "date":
                raise self.error(
                    tag.offset,
                    f'attribute format on <say-as interpret-as="{kind}">; expected it only with interpret-as="date"',
                )
            self.choice(tag, "format", symbols.DATE_FORMATS)

    def open_sub(self, frame: _Frame) -> None:
        tag = frame.tag
        if "alias" not in frame.attrs:
            raise self.error(tag.offset, "missing attribute alias on <sub>; expected the text to say")
        alias = frame.attrs["alias"]
        if not alias.strip():
            raise self.error(tag.offset, f'bad value "{alias}" for alias on <sub>; expected the text to say')

    def open_s(self, frame: _Frame) -> None:
        if frame.outer.in_s:
            raise self.error(frame.tag.offset, "tag <s> not allowed inside <s>; expected text or inline tags")
        self.structural("s")
        frame.inner = replace(frame.outer, in_s=True)

    def open_p(self, frame: _Frame) -> None:
        outer = frame.outer
        if outer.in_s or outer.in_p:
            where = "s" if outer.in_s else "p"
            raise self.error(
                frame.tag.offset, f"tag <p> not allowed inside <{where}>; expected text, <s> or inline tags"
            )
        self.structural("p")
        frame.inner = replace(outer, in_p=True)

    def open_emphasis(self, frame: _Frame) -> None:
        level = "moderate"
        if "level" in frame.attrs:
            level = self.choice(frame.tag, "level", symbols.EMPHASIS_LEVELS)
        frame.inner = replace(frame.outer, emphasis=level)

    def close(self, frame: _Frame) -> None:
        name = frame.name
        if name == "speak":
            self.speak = "closed"
        elif name in ("s", "p"):
            self.structural(name)
        elif name in symbols.TEXT_ONLY_TAGS:
            self.close_text_only(frame)

    def close_text_only(self, frame: _Frame) -> None:
        raw = _SPACE.sub(" ", "".join(frame.text))
        value = raw.strip()
        if not value:
            expected = "text to interpret" if frame.name == "say-as" else "the written text"
            raise self.error(frame.tag.offset, f"empty <{frame.name}>; expected {expected}")
        if frame.name == "say-as":
            kind = frame.attrs["interpret-as"]
            digits = sum(ch.isdigit() for ch in value)
            if kind in ("cardinal", "ordinal") and digits > symbols.MAX_SAY_AS_DIGITS:
                raise self.error(
                    frame.tag.offset,
                    f'<say-as interpret-as="{kind}"> holds a {digits}-digit number; '
                    f"expected at most {symbols.MAX_SAY_AS_DIGITS} digits (use digits to read it out)",
                )
            atom = frame.outer.speech(
                value, say_as=frame.attrs["interpret-as"], say_as_format=frame.attrs.get("format")
            )
        else:
            alias = _SPACE.sub(" ", frame.attrs["alias"]).strip()
            atom = frame.outer.speech(alias, written=value)
        # Whitespace typed inside the tag separates words outside it.
        if raw[0] == " ":
            self.items.append(frame.outer.speech(" "))
        self.items.append(atom)
        if raw[-1] == " ":
            self.items.append(frame.outer.speech(" "))


def _mergeable(a: Speech, b: Speech) -> bool:
    # A say-as or sub is one value to convert; gluing two would change it.
    plain = a.say_as is None and b.say_as is None and a.written is None and b.written is None
    return plain and a.prosody == b.prosody and a.emphasis == b.emphasis


def _tidy_phrase(phrase: list[Speech]) -> list[Speech]:
    """Collapse whitespace across a run of speech with no pause in it."""
    heads: list[Speech] = []
    texts: list[list[str]] = []  # joined once at the end: no quadratic concatenation
    after_space = True  # a phrase starts as if after a space: leading blanks go
    for sp in phrase:
        text = _SPACE.sub(" ", sp.text)
        if after_space:
            text = text.lstrip(" ")
        if not text:
            continue
        if heads and _mergeable(heads[-1], sp):
            texts[-1].append(text)
        else:
            heads.append(sp)
            texts.append([text])
        after_space = text.endswith(" ")
    out = [replace(sp, text="".join(t)) for sp, t in zip(heads, texts, strict=True)]
    while out:
        text = out[-1].text.rstrip(" ")
        if text:
            out[-1] = replace(out[-1], text=text)
            break
        out.pop()
    return out


def _merge_pauses(run: list[_Pause], edge: bool) -> Pause | None:
    """One pause for a run of adjacent ones; None if nothing is left of it.

    Breaks add up (the author asked for each); a structural pause only
    guarantees a minimum, so it merges by taking the longer. At the edges of
    the script only breaks count: a leading break is wanted lead silence.
    """
    breaks = [p for p in run if p.explicit]
    structural = [] if edge else [p for p in run if not p.explicit]
    if not breaks and not structural:
        return None
    total = min(sum(p.ms for p in breaks), symbols.MAX_PAUSE_MS)
    longest = max(structural, key=lambda p: p.ms, default=None)
    if longest is not None and (not breaks or longest.ms > total):
        return Pause(longest.ms, longest.strength)
    return Pause(total, breaks[0].strength if len(breaks) == 1 else None)


def _assemble(items: list[_Item]) -> tuple[Segment, ...]:
    tidied: list[_Item] = []
    phrase: list[Speech] = []
    for item in items:
        if isinstance(item, Speech):
            phrase.append(item)
        else:
            tidied += _tidy_phrase(phrase)
            tidied.append(item)
            phrase = []
    tidied += _tidy_phrase(phrase)

    segments: list[Segment] = []
    run: list[_Pause] = []
    for item in tidied:
        if isinstance(item, _Pause):
            run.append(item)
            continue
        if run and (pause := _merge_pauses(run, edge=not segments)) is not None:
            segments.append(pause)
        run = []
        segments.append(item)
    if run and (pause := _merge_pauses(run, edge=True)) is not None:
        segments.append(pause)
    return tuple(segments)


def parse(text: str) -> Script:
    """Parse markup into a :class:`Script`.

    Raises :class:`~pipeline.errors.MarkupError` naming the line and column
    of the offending tag, or ``"nothing to say"`` if no speech is left.
    """
    prepared = prepare(text)
    control = CONTROL.search(prepared)
    if control:
        raise markup_error(prepared, control.start(), f"control character U+{ord(control.group()):04X} in the text")
    builder = _Builder(prepared)
    for token in tokenize(prepared):
        if isinstance(token, Text):
            builder.on_text(token)
        elif isinstance(token, StartTag):
            builder.on_start(token)
        else:
            builder.on_end(token)
    builder.finish()
    segments = _assemble(builder.items)
    if not any(isinstance(s, Speech) for s in segments):
        raise MarkupError("nothing to say")
    return Script(segments, builder.language)
