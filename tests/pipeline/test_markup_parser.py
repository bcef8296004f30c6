"""Markup -> Script: every tag and attribute form, merging rules, and every error."""

from __future__ import annotations

import importlib
import json
import math
import re

import pytest

import voxpipe.pipeline.markup as markup
from voxpipe.pipeline.errors import MarkupError
from voxpipe.pipeline.markup import Pause, Prosody, Script, Speech, parse, symbols, values
from voxpipe.pipeline.markup.tokenizer import decode_entities, locate, prepare

TAGS = "speak, break, prosody, say-as, sub, s, p, emphasis"
INTERPRET = "digits, characters, spell-out, telephone, cardinal, ordinal, date"


def sp(text: str, **kw: object) -> Speech:
    return Speech(text, **kw)  # type: ignore[arg-type]


def pr(rate: float = 1.0, volume_db: float = 0.0, pitch_st: float = 0.0) -> Prosody:
    return Prosody(rate, volume_db, pitch_st)


# -- text, bare characters, entities, declarations, comments ----------------

TEXT_CASES = [
    ("Hello world", "Hello world"),
    ("  Hello \n\t world  ", "Hello world"),
    ("one\r\ntwo\rthree", "one two three"),
    ("\ufeffHi", "Hi"),
    ("Tom & Jerry", "Tom & Jerry"),
    ("a < b", "a < b"),
    ("5 > 3", "5 > 3"),
    ("x<3", "x<3"),
    ("a <= b", "a <= b"),
    ("a << b >> c", "a << b >> c"),
    ("<3 you", "<3 you"),
    ("a <? b", "a <? b"),
    ("AT&T costs 5$ & more", "AT&T costs 5$ & more"),
    ("&amp;", "&"),
    ("&lt;speak&gt;", "<speak>"),
    ("&quot;hi&quot; &apos;x&apos;", "\"hi\" 'x'"),
    ("&#65;&#x42;&#X43;", "ABC"),
    ("&nbsp; &foo; & amp;", "&nbsp; &foo; & amp;"),
    ("&#0; &#xD800; &#x110000;", "&#0; &#xD800; &#x110000;"),
    ("fish &amp chips", "fish &amp chips"),
    ("Hel<!-- a comment -->lo", "Hello"),
    ("a <!-- <break/> <foo> --> b", "a b"),
    ('<?xml version="1.0" encoding="UTF-8"?>\n<speak>Hi</speak>', "Hi"),
    ('  <?xml version="1.0"?>Hi', "Hi"),
    (" <!-- c -->\n<speak>Hi</speak>\n <!-- d --> ", "Hi"),
    ("<speak>  Hi  there  </speak>", "Hi there"),
]


@pytest.mark.parametrize(("_in", "_out"), TEXT_CASES)
def test_text(_in: str, _out: str) -> None:
    assert parse(_in).segments == (sp(_out),)


# -- structure: pauses, s/p, merging ----------------------------------------

M = Pause(250, "medium")

SEGMENT_CASES = [
    ("Hello<break/>world", (sp("Hello"), M, sp("world"))),
    ("Hello <break/> world", (sp("Hello"), M, sp("world"))),
    ("Hello<break></break>world", (sp("Hello"), M, sp("world"))),
    ("Hello<break> <!-- x --> </break>world", (sp("Hello"), M, sp("world"))),
    ('a<break time="500ms"/>b', (sp("a"), Pause(500), sp("b"))),
    ('a<break time="2s"/>b', (sp("a"), Pause(2000), sp("b"))),
    ('a<break time="1.5s"/>b', (sp("a"), Pause(1500), sp("b"))),
    ('a<break time=".25s"/>b', (sp("a"), Pause(250), sp("b"))),
    ('a<break time="0ms"/>b', (sp("a"), Pause(0), sp("b"))),
    ('a<break time="10s"/>b', (sp("a"), Pause(10000), sp("b"))),
    ('a<break time="10000ms"/>b', (sp("a"), Pause(10000), sp("b"))),
    ("a<break time=' 2S '/>b", (sp("a"), Pause(2000), sp("b"))),
    ('a<break strength="none"/>b', (sp("a"), Pause(0, "none"), sp("b"))),
    ('a<break strength="x-weak"/>b', (sp("a"), Pause(0, "x-weak"), sp("b"))),
    ('a<break strength="weak"/>b', (sp("a"), Pause(250, "weak"), sp("b"))),
    ('a<break strength="medium"/>b', (sp("a"), Pause(250, "medium"), sp("b"))),
    ('a<break strength="strong"/>b', (sp("a"), Pause(600, "strong"), sp("b"))),
    ('a<break strength="x-strong"/>b', (sp("a"), Pause(1000, "x-strong"), sp("b"))),
    # explicit breaks add up, whitespace between them is dropped, the sum is clamped
    ('a<break time="300ms"/><break time="400ms"/>b', (sp("a"), Pause(700), sp("b"))),
    ('a <break time="300ms"/> \n <break strength="weak"/> b', (sp("a"), Pause(550), sp("b"))),
    ('a<break time="6s"/><break time="6s"/>b', (sp("a"), Pause(10000), sp("b"))),
    # <s> and <p> put pauses only between speech
    ("<s>A</s><s>B</s>", (sp("A"), Pause(600, "s"), sp("B"))),
    ("<p>A</p><p>B</p>", (sp("A"), Pause(1000, "p"), sp("B"))),
    ("<p><s>A</s> <s>B</s></p>\n<p><s>C</s></p>", (sp("A"), Pause(600, "s"), sp("B"), Pause(1000, "p"), sp("C"))),
    ("Intro <p>Para</p> outro", (sp("Intro"), Pause(1000, "p"), sp("Para"), Pause(1000, "p"), sp("outro"))),
    ("A<s/>B", (sp("A"), Pause(600, "s"), sp("B"))),
    ("<p>Hi</p>", (sp("Hi"),)),
    ("<speak><p><s>Hi</s></p></speak>", (sp("Hi"),)),
    # a structural pause next to another pause: the longer wins (a tie goes to the break)
    ('<s>A</s><break time="2s"/><s>B</s>', (sp("A"), Pause(2000), sp("B"))),
    ('<s>A</s><break time="200ms"/><s>B</s>', (sp("A"), Pause(600, "s"), sp("B"))),
    ('<s>A</s><break strength="strong"/><s>B</s>', (sp("A"), Pause(600, "strong"), sp("B"))),
    ('<p>A<break time="1s"/></p><p>B</p>', (sp("A"), Pause(1000), sp("B"))),
    ('<p>A</p><break time="6s"/><break time="6s"/><p>B</p>', (sp("A"), Pause(10000), sp("B"))),
    # edges: breaks are kept (wanted lead/tail silence), structural pauses dropped
    ('<break time="1s"/>Hi<break time="2s"/>', (Pause(1000), sp("Hi"), Pause(2000))),
    (" <break/> Hi", (M, sp("Hi"))),
    ('<break strength="strong"/>Hi', (Pause(600, "strong"), sp("Hi"))),
    ('<p><break time="1s"/>Hi</p>', (Pause(1000), sp("Hi"))),
    ('<break time="300ms"/><break time="300ms"/>Hi', (Pause(600), sp("Hi"))),
    ('<p>Hi</p><break time="7s"/><break time="7s"/>', (sp("Hi"), Pause(10000))),
    # speech with the same attributes merges; different attributes do not
    ('a <prosody rate="medium">b</prosody> c', (sp("a b c"),)),
    ("a<!-- x --> b", (sp("a b"),)),
    (
        'a <prosody rate="fast">b</prosody><prosody rate="fast"> c</prosody>',
        (sp("a "), sp("b c", prosody=pr(rate=1.1))),
    ),
    (
        "Hello<emphasis> world</emphasis> !",
        (sp("Hello"), sp(" world", emphasis="moderate"), sp(" !")),
    ),
    ('a <break/><prosody rate="fast"> </prosody><break/> b', (sp("a"), Pause(500), sp("b"))),
]


@pytest.mark.parametrize(("_in", "_out"), SEGMENT_CASES)
def test_segments(_in: str, _out: tuple[object, ...]) -> None:
    assert parse(_in).segments == _out


# -- say-as and sub ------------------------------------------------------------


def say(text: str, kind: str, fmt: str | None = None) -> Speech:
    return Speech(text, say_as=kind, say_as_format=fmt)


SAY_AS_CASES = [
    (
        'Your code is <say-as interpret-as="digits">1234</say-as>.',
        (sp("Your code is "), say("1234", "digits"), sp(".")),
    ),
    *[(f'<say-as interpret-as="{kind}">A1</say-as>', (say("A1", kind),)) for kind in symbols.INTERPRET_AS],
    ('<say-as interpret-as="date">2026-03-05</say-as>', (say("2026-03-05", "date"),)),
    *[
        (f'<say-as interpret-as="date" format="{fmt}">1</say-as>', (say("1", "date", fmt),))
        for fmt in symbols.DATE_FORMATS
    ],
    # whitespace typed inside the tag separates words outside it
    (
        'code<say-as interpret-as="digits"> 12 \n 34 </say-as>now',
        (sp("code "), say("12 34", "digits"), sp(" now")),
    ),
    # each say-as is one value: neighbours never merge into it
    (
        '<say-as interpret-as="cardinal">12</say-as> <say-as interpret-as="cardinal">34</say-as>',
        (say("12", "cardinal"), sp(" "), say("34", "cardinal")),
    ),
    (
        '<say-as interpret-as="cardinal">12</say-as><say-as interpret-as="cardinal">34</say-as>',
        (say("12", "cardinal"), say("34", "cardinal")),
    ),
    (
        '<say-as interpret-as="characters">a&amp;b<!-- c --></say-as>',
        (say("a&b", "characters"),),
    ),
    (
        '<sub alias="World Wide Web Consortium">W3C</sub> rocks',
        (Speech("World Wide Web Consortium", written="W3C"), sp(" rocks")),
    ),
    (
        '<sub alias=" A &amp;\n B ">A&amp;B</sub>',
        (Speech("A & B", written="A&B"),),
    ),
    (
        "Ask <sub alias='Doctor'> Dr. </sub> Who",
        (sp("Ask "), Speech("Doctor", written="Dr."), sp(" Who")),
    ),
    (
        '<emphasis level="strong"><say-as interpret-as="digits">7</say-as></emphasis>',
        (Speech("7", say_as="digits", emphasis="strong"),),
    ),
]


@pytest.mark.parametrize(("_in", "_out"), SAY_AS_CASES)
def test_say_as_and_sub(_in: str, _out: tuple[object, ...]) -> None:
    assert parse(_in).segments == _out


# -- emphasis and prosody ------------------------------------------------------

EMPHASIS_CASES = [
    ("<emphasis>a</emphasis>", "moderate"),
    *[(f'<emphasis level="{level}">a</emphasis>', level) for level in symbols.EMPHASIS_LEVELS],
    ('<emphasis level="strong"><emphasis level="reduced">a</emphasis></emphasis>', "reduced"),
]


@pytest.mark.parametrize(("_in", "_out"), EMPHASIS_CASES)
def test_emphasis(_in: str, _out: str) -> None:
    assert parse(_in).segments == (Speech("a", emphasis=_out),)


def test_emphasis_nested_keeps_outer_level_outside() -> None:
    script = parse('<emphasis level="strong">a <emphasis level="reduced">b</emphasis> c</emphasis>')
    assert script.segments == (
        sp("a ", emphasis="strong"),
        sp("b", emphasis="reduced"),
        sp(" c", emphasis="strong"),
    )


PROSODY_CASES = [
    *[(f'rate="{label}"', pr(rate=v)) for label, v in symbols.RATE_LABELS.items()],
    ('rate="85%"', pr(rate=0.85)),
    ('rate="150%"', pr(rate=1.5)),
    ('rate="+20%"', pr(rate=1.2)),
    ('rate="-10%"', pr(rate=0.9)),
    ('rate="+0%"', pr()),
    ('rate="1.2"', pr(rate=1.2)),
    ('rate=" 0.8 "', pr(rate=0.8)),
    ('rate="0.3"', pr(rate=0.5)),  # clamped silently
    ('rate="300%"', pr(rate=2.0)),
    ('rate="-60%"', pr(rate=0.5)),
    *[(f'volume="{label}"', pr(volume_db=v)) for label, v in symbols.VOLUME_LABELS_DB.items()],
    ('volume="+3dB"', pr(volume_db=3.0)),
    ('volume="-2.5dB"', pr(volume_db=-2.5)),
    ('volume="4db"', pr(volume_db=4.0)),
    *[(f'pitch="{label}"', pr(pitch_st=v)) for label, v in symbols.PITCH_LABELS_ST.items()],
    ('pitch="+2st"', pr(pitch_st=2.0)),
    ('pitch="-1st"', pr(pitch_st=-1.0)),
    ('pitch="0.5st"', pr(pitch_st=0.5)),
    ('pitch="+10%"', pr(pitch_st=round(12 * math.log2(1.1), 4))),
    ('pitch="-10%"', pr(pitch_st=round(12 * math.log2(0.9), 4))),
    ('rate="slow" volume="loud" pitch="low"', pr(0.9, 3.0, -2.0)),
]


@pytest.mark.parametrize(("_in", "_out"), PROSODY_CASES)
def test_prosody(_in: str, _out: Prosody) -> None:
    segments = parse(f"<prosody {_in}>a</prosody>").segments
    assert segments == (Speech("a", prosody=_out),)


NESTED_PROSODY_CASES = [
    ('<prosody rate="x-slow"><prosody rate="fast">a</prosody></prosody>', pr(rate=0.825)),
    ('<prosody rate="fast"><prosody rate="fast">a</prosody></prosody>', pr(rate=1.21)),
    ('<prosody rate="x-fast"><prosody rate="2">a</prosody></prosody>', pr(rate=2.0)),
    ('<prosody rate="slow"><prosody rate="50%">a</prosody></prosody>', pr(rate=0.5)),
    # only the final product is clamped: 4 * 0.5 is 2, not clamp(4) * 0.5
    ('<prosody rate="4"><prosody rate="0.5">a</prosody></prosody>', pr(rate=2.0)),
    ('<prosody rate="4"><prosody rate="0.25">a</prosody></prosody>', pr(rate=1.0)),
    ('<prosody volume="loud"><prosody volume="+2dB">a</prosody></prosody>', pr(volume_db=5.0)),
    ('<prosody volume="soft"><prosody volume="+3dB">a</prosody></prosody>', pr()),
    ('<prosody pitch="high"><prosody pitch="-1st">a</prosody></prosody>', pr(pitch_st=1.0)),
    ('<prosody pitch="+10%"><prosody pitch="+10%">a</prosody></prosody>', pr(pitch_st=3.3001)),
]


@pytest.mark.parametrize(("_in", "_out"), NESTED_PROSODY_CASES)
def test_nested_prosody(_in: str, _out: Prosody) -> None:
    assert parse(_in).segments == (Speech("a", prosody=_out),)


def test_prosody_applies_inside_only() -> None:
    script = parse('a <prosody rate="fast" volume="x-loud">b<break/>c</prosody> d')
    fast = pr(rate=1.1, volume_db=6.0)
    assert script.segments == (sp("a "), sp("b", prosody=fast), M, sp("c", prosody=fast), sp(" d"))


def test_prosody_wraps_say_as_and_emphasis() -> None:
    script = parse('<prosody rate="slow"><emphasis>x <say-as interpret-as="digits">12</say-as></emphasis></prosody>')
    slow = pr(rate=0.9)
    assert script.segments == (
        Speech("x ", prosody=slow, emphasis="moderate"),
        Speech("12", prosody=slow, say_as="digits", emphasis="moderate"),
    )


# -- speak and language --------------------------------------------------------

LANGUAGE_CASES = [
    ("Hi", None),
    ("<speak>Hi</speak>", None),
    ('<speak xml:lang="en-GB">Hi</speak>', "en-GB"),
    ('<speak xml:lang="pt_BR">Hi</speak>', "pt_BR"),
    ("<speak xml:lang=' de '>Hi</speak>", "de"),
    (
        '<speak version="1.1" xmlns="http://www.w3.org/2001/10/synthesis" '
        'xmlns:amazon="https://amazon.com" xml:lang="en-US">Hi</speak>',
        "en-US",
    ),
]


@pytest.mark.parametrize(("_in", "_out"), LANGUAGE_CASES)
def test_language(_in: str, _out: str | None) -> None:
    script = parse(_in)
    assert (script.language, script.segments) == (_out, (sp("Hi"),))


def test_script_is_content_addressable() -> None:
    script = parse(
        '<speak xml:lang="en"><prosody rate="fast">Hi</prosody><break time="1s"/><sub alias="Doctor">Dr.</sub></speak>'
    )
    as_json = json.dumps(script.to_dict(), sort_keys=True)
    assert json.loads(as_json) == {
        "language": "en",
        "segments": [
            {
                "type": "speech",
                "text": "Hi",
                "prosody": {"rate": 1.1, "volume_db": 0.0, "pitch_st": 0.0},
                "say_as": None,
                "say_as_format": None,
                "written": None,
                "emphasis": None,
            },
            {"type": "pause", "ms": 1000, "strength": None},
            {
                "type": "speech",
                "text": "Doctor",
                "prosody": {"rate": 1.0, "volume_db": 0.0, "pitch_st": 0.0},
                "say_as": None,
                "say_as_format": None,
                "written": "Dr.",
                "emphasis": None,
            },
        ],
    }
    assert json.dumps(
        parse('<prosody volume="soft"><prosody volume="+3dB">a</prosody></prosody>').to_dict()
    ) == json.dumps(parse("a").to_dict())  # no -0.0 to tell apart


# -- errors ------------------------------------------------------------------

ERROR_CASES = [
    # tags the language does not have
    ("line1\n  <foo>", 2, 3, f"unknown tag <foo>; expected one of {TAGS}"),
    ("a</foo>", 1, 2, f"unknown tag </foo>; expected one of {TAGS}"),
    ("if x<y then", 1, 5, f"unknown tag <y>; expected one of {TAGS}"),
    ("<Break/>", 1, 1, f"unknown tag <Break>; expected one of {TAGS}"),
    ("<audio src='a.wav'/>", 1, 1, f"unknown tag <audio>; expected one of {TAGS}"),
    ('<amazon:effect name="whispered">x</amazon:effect>', 1, 1, f"unknown tag <amazon:effect>; expected one of {TAGS}"),
    ("a\r\nb <foo>", 2, 3, f"unknown tag <foo>; expected one of {TAGS}"),
    ("\t<foo>", 1, 2, f"unknown tag <foo>; expected one of {TAGS}"),
    ("\ufeff<foo>", 1, 1, f"unknown tag <foo>; expected one of {TAGS}"),
    # tokens that cannot be read
    ('<break time="1s"', 1, 1, "unterminated tag <break; expected > or />"),
    ("<p", 1, 1, "unterminated tag <p; expected > or />"),
    ("<break time=1s/>", 1, 1, 'malformed attribute in <break>; expected name="value", > or />'),
    ('<break time="1s"/ >', 1, 1, 'malformed attribute in <break>; expected name="value", > or />'),
    ('<break time="1s" time="2s"/>', 1, 1, "duplicate attribute time on <break>"),
    ("a </ p>", 1, 3, "malformed closing tag; expected </name>"),
    ("<p>a</p", 1, 5, "malformed closing tag </p; expected </p>"),
    ("<p>a</p x>", 1, 5, "malformed closing tag </p; expected </p>"),
    ("<!DOCTYPE speak>Hi", 1, 1, "unsupported declaration <!; expected a comment <!-- ... -->"),
    ("<![CDATA[x]]>", 1, 1, "unsupported declaration <!; expected a comment <!-- ... -->"),
    ("Hi\n<!-- open", 2, 1, "unterminated comment <!--; expected -->"),
    ('Hi <?xml version="1.0"?>', 1, 4, "XML declaration <?xml ...?> in the middle; expected it first or not at all"),
    ('<?xml version="1.0"', 1, 1, "unterminated XML declaration <?xml; expected ?>"),
    # nesting
    ("<p>Hi", 1, 1, "unclosed tag <p>; expected </p>"),
    ('<prosody rate="fast">a<emphasis>b</emphasis>', 1, 1, "unclosed tag <prosody>; expected </prosody>"),
    ("<p>\n  <s>Hi</s>\n  <s>there", 3, 3, "unclosed tag <s>; expected </s>"),
    ("<speak>Hi", 1, 1, "unclosed tag <speak>; expected </speak>"),
    ("Hi <break>", 1, 4, "unclosed tag <break>; expected <break/>"),
    ("<p><s>Hi</p></s>", 1, 9, "mismatched closing tag </p>; expected </s>"),
    ("<emphasis>a</prosody>", 1, 12, "mismatched closing tag </prosody>; expected </emphasis>"),
    ("Hi</s>", 1, 3, "closing tag </s> without an opening <s>"),
    ("<speak>Hi</speak></speak>", 1, 18, "closing tag </speak> without an opening <speak>"),
    ("<s>a<s>b</s></s>", 1, 5, "tag <s> not allowed inside <s>; expected text or inline tags"),
    ("<s><p>a</p></s>", 1, 4, "tag <p> not allowed inside <s>; expected text, <s> or inline tags"),
    ("<p>a<p>b</p></p>", 1, 5, "tag <p> not allowed inside <p>; expected text, <s> or inline tags"),
    (
        "<s><emphasis><p>a</p></emphasis></s>",
        1,
        14,
        "tag <p> not allowed inside <s>; expected text, <s> or inline tags",
    ),
    # <break> holds nothing
    ("Hello <break>world</break>", 1, 7, "<break> must be empty; expected <break/>"),
    ("Hello <break> world", 1, 7, "<break> must be empty; expected <break/>"),
    ("<break><s>a</s></break>", 1, 1, "<break> must be empty; expected <break/>"),
    ("<p>Hi <break></p>", 1, 7, "<break> must be empty; expected <break/>"),
    # say-as and sub hold text only
    (
        '<say-as interpret-as="digits">1<say-as interpret-as="digits">2</say-as></say-as>',
        1,
        32,
        "tag <say-as> not allowed inside <say-as>; expected text",
    ),
    (
        '<say-as interpret-as="digits">1<break/>2</say-as>',
        1,
        32,
        "tag <break> not allowed inside <say-as>; expected text",
    ),
    (
        '<say-as interpret-as="digits"><emphasis>1</emphasis></say-as>',
        1,
        31,
        "tag <emphasis> not allowed inside <say-as>; expected text",
    ),
    ('<sub alias="x">a<break/>b</sub>', 1, 17, "tag <break> not allowed inside <sub>; expected text"),
    (
        '<sub alias="x"><say-as interpret-as="digits">1</say-as></sub>',
        1,
        16,
        "tag <say-as> not allowed inside <sub>; expected text",
    ),
    ('<say-as interpret-as="digits"> </say-as>', 1, 1, "empty <say-as>; expected text to interpret"),
    ('<say-as interpret-as="digits"/>', 1, 1, "empty <say-as>; expected text to interpret"),
    ('<sub alias="x"></sub>', 1, 1, "empty <sub>; expected the written text"),
    # attributes
    ('<break foo="1"/>', 1, 1, "unknown attribute foo on <break>; expected one of time, strength"),
    ('<s x="1">a</s>', 1, 1, "unknown attribute x on <s>; expected no attributes"),
    ('<p class="x">a</p>', 1, 1, "unknown attribute class on <p>; expected no attributes"),
    ('<speak lang="en">a</speak>', 1, 1, "unknown attribute lang on <speak>; expected one of xml:lang, version, xmlns"),
    (
        '<prosody duration="2s">a</prosody>',
        1,
        1,
        "unknown attribute duration on <prosody>; expected one of rate, volume, pitch",
    ),
    (
        '<say-as interpret-as="date" detail="1">a</say-as>',
        1,
        1,
        "unknown attribute detail on <say-as>; expected one of interpret-as, format",
    ),
    ('<sub alias="a" xml:lang="en">b</sub>', 1, 1, "unknown attribute xml:lang on <sub>; expected one of alias"),
    (
        '<emphasis strength="strong">a</emphasis>',
        1,
        1,
        "unknown attribute strength on <emphasis>; expected one of level",
    ),
    # <break> values
    ('a\n <break time="1s" strength="weak"/>', 2, 2, "<break> has both time and strength; expected one of them"),
    ('<break time="11s"/>', 1, 1, 'bad value "11s" for time on <break>; expected at most 10s'),
    ('<break time="10001ms"/>', 1, 1, 'bad value "10001ms" for time on <break>; expected at most 10s'),
    ('<break time="-1s"/>', 1, 1, 'bad value "-1s" for time on <break>; expected a duration like 500ms or 2s'),
    ('<break time="abc"/>', 1, 1, 'bad value "abc" for time on <break>; expected a duration like 500ms or 2s'),
    ('<break time="500"/>', 1, 1, 'bad value "500" for time on <break>; expected a duration like 500ms or 2s'),
    ('<break time=""/>', 1, 1, 'bad value "" for time on <break>; expected a duration like 500ms or 2s'),
    ('<break time="1.5.s"/>', 1, 1, 'bad value "1.5.s" for time on <break>; expected a duration like 500ms or 2s'),
    ('<break time="2 min"/>', 1, 1, 'bad value "2 min" for time on <break>; expected a duration like 500ms or 2s'),
    (
        '<break strength="huge"/>',
        1,
        1,
        'bad value "huge" for strength on <break>; expected one of none, x-weak, weak, medium, strong, x-strong',
    ),
    # <prosody> values
    ("<prosody>a</prosody>", 1, 1, "<prosody> without attributes; expected at least one of rate, volume, pitch"),
    (
        '<prosody rate="fastest">a</prosody>',
        1,
        1,
        'bad value "fastest" for rate on <prosody>; '
        "expected one of x-slow, slow, medium, fast, x-fast, default, N%, +N%, -N% or a number",
    ),
    (
        '<prosody rate="-1.2">a</prosody>',
        1,
        1,
        'bad value "-1.2" for rate on <prosody>; '
        "expected one of x-slow, slow, medium, fast, x-fast, default, N%, +N%, -N% or a number",
    ),
    ('<prosody rate="0%">a</prosody>', 1, 1, 'bad value "0%" for rate on <prosody>; expected a rate above zero'),
    ('<prosody rate="-100%">a</prosody>', 1, 1, 'bad value "-100%" for rate on <prosody>; expected a rate above zero'),
    ('<prosody rate="0">a</prosody>', 1, 1, 'bad value "0" for rate on <prosody>; expected a rate above zero'),
    (
        '<prosody volume="silent">a</prosody>',
        1,
        1,
        'bad value "silent" for volume on <prosody>; expected one of x-soft, soft, medium, loud, x-loud, default, '
        "+NdB or -NdB (silent is not supported; use <break>)",
    ),
    (
        '<prosody volume="+3">a</prosody>',
        1,
        1,
        'bad value "+3" for volume on <prosody>; expected one of x-soft, soft, medium, loud, x-loud, default, '
        "+NdB or -NdB",
    ),
    (
        '<prosody pitch="200Hz">a</prosody>',
        1,
        1,
        'bad value "200Hz" for pitch on <prosody>; '
        "expected one of x-low, low, medium, high, x-high, default, +Nst, -Nst, +N% or -N%",
    ),
    (
        '<prosody pitch="10%">a</prosody>',
        1,
        1,
        'bad value "10%" for pitch on <prosody>; '
        "expected one of x-low, low, medium, high, x-high, default, +Nst, -Nst, +N% or -N%",
    ),
    (
        '<prosody pitch="-100%">a</prosody>',
        1,
        1,
        'bad value "-100%" for pitch on <prosody>; expected a pitch change above -100%',
    ),
    # <say-as>, <sub>, <emphasis>, <speak> values
    ("<say-as>1</say-as>", 1, 1, f"missing attribute interpret-as on <say-as>; expected one of {INTERPRET}"),
    (
        '<say-as interpret-as="number">1</say-as>',
        1,
        1,
        f'bad value "number" for interpret-as on <say-as>; expected one of {INTERPRET}',
    ),
    (
        '<say-as interpret-as="cardinal" format="mdy">1</say-as>',
        1,
        1,
        'attribute format on <say-as interpret-as="cardinal">; expected it only with interpret-as="date"',
    ),
    (
        '<say-as interpret-as="date" format="yyyy-mm-dd">1</say-as>',
        1,
        1,
        'bad value "yyyy-mm-dd" for format on <say-as>; expected one of mdy, dmy, ymd, md, dm, ym, my, d, m, y',
    ),
    ("<sub>W3C</sub>", 1, 1, "missing attribute alias on <sub>; expected the text to say"),
    ('<sub alias="  ">W3C</sub>', 1, 1, 'bad value "  " for alias on <sub>; expected the text to say'),
    (
        '<emphasis level="loud">a</emphasis>',
        1,
        1,
        'bad value "loud" for level on <emphasis>; expected one of strong, moderate, none, reduced',
    ),
    (
        '<speak xml:lang="english!">a</speak>',
        1,
        1,
        'bad value "english!" for xml:lang on <speak>; expected a language tag like en or en-US',
    ),
    # <speak> wraps everything, once
    ("Hi <speak>there</speak>", 1, 4, "<speak> must wrap the whole text; expected it before any text or tag"),
    ("<p><speak>x</speak></p>", 1, 4, "<speak> must wrap the whole text; expected it before any text or tag"),
    ("<break/><speak>x</speak>", 1, 9, "<speak> must wrap the whole text; expected it before any text or tag"),
    ("<speak>a</speak> b", 1, 18, "text after </speak>; expected end of input"),
    ("<speak>a</speak>\n\n  b", 3, 3, "text after </speak>; expected end of input"),
    ("<speak>a</speak><p>b</p>", 1, 17, "tag <p> after </speak>; expected end of input"),
    ("<speak>a</speak><speak>b</speak>", 1, 17, "tag <speak> after </speak>; expected end of input"),
    ("<speak>a<speak>b</speak></speak>", 1, 9, "second <speak>; expected only one, wrapping the whole text"),
]


@pytest.mark.parametrize(("_in", "line", "column", "reason"), ERROR_CASES)
def test_errors(_in: str, line: int, column: int, reason: str) -> None:
    with pytest.raises(MarkupError) as caught:
        parse(_in)
    err = caught.value
    assert (err.line, err.column, err.reason) == (line, column, reason)
    assert str(err) == f"markup error at line {line}, column {column}: {reason}"


NOTHING_CASES = [
    "",
    "   \n\t ",
    "<speak></speak>",
    "<speak/>",
    "<break/>",
    '<break time="1s"/> <break/>',
    "<!-- only a comment -->",
    '<?xml version="1.0"?>',
    "<p> </p>",
    "<s></s><p/>",
    "<prosody rate='fast'>  </prosody>",
    "<emphasis>\n</emphasis>",
]


@pytest.mark.parametrize("_in", NOTHING_CASES)
def test_nothing_to_say(_in: str) -> None:
    with pytest.raises(MarkupError) as caught:
        parse(_in)
    assert (caught.value.reason, caught.value.line, caught.value.column) == ("nothing to say", 0, 0)


# -- the pure helpers the parser is built from ----------------------------


@pytest.mark.parametrize(
    ("_in", "_out"),
    [("500ms", 500), ("2s", 2000), ("1.5s", 1500), ("0.0004s", 0), ("0.5ms", 0), ("1.6ms", 2), ("10s", 10000)],
)
def test_break_ms(_in: str, _out: int) -> None:
    assert values.break_ms(_in) == _out


@pytest.mark.parametrize(("_in", "_out"), [("85%", 0.85), ("+20%", 1.2), ("-10%", 0.9), ("1.2", 1.2), ("fast", 1.1)])
def test_rate_factor(_in: str, _out: float) -> None:
    assert values.rate_factor(_in) == pytest.approx(_out)


@pytest.mark.parametrize(("_in", "_out"), [("+10%", 1.650042), ("-50%", -12.0), ("+100%", 12.0), ("x-high", 4.0)])
def test_pitch_st(_in: str, _out: float) -> None:
    assert values.pitch_st(_in) == pytest.approx(_out, abs=1e-6)


@pytest.mark.parametrize(("_in", "_out"), [("+3dB", 3.0), ("-2dB", -2.0), ("x-soft", -6.0), ("0dB", 0.0)])
def test_volume_db(_in: str, _out: float) -> None:
    assert values.volume_db(_in) == _out


@pytest.mark.parametrize(
    ("_in", "_out"),
    [("a &amp; b", "a & b"), ("&AMP;", "&AMP;"), ("&#x1F600;", "\U0001f600"), ("&&amp;;", "&&;"), ("&#;", "&#;")],
)
def test_decode_entities(_in: str, _out: str) -> None:
    assert decode_entities(_in) == _out


@pytest.mark.parametrize(
    ("_in", "_out"),
    [(("abc", 0), (1, 1)), (("abc", 2), (1, 3)), (("a\nbc", 2), (2, 1)), (("a\n\nb", 3), (3, 1))],
)
def test_locate(_in: tuple[str, int], _out: tuple[int, int]) -> None:
    assert locate(*_in) == _out


def test_prepare_normalises_line_ends() -> None:
    assert prepare("\ufeffa\r\nb\rc\n") == "a\nb\nc\n"


def test_break_strength_table_is_the_agreed_one() -> None:
    assert symbols.BREAK_STRENGTH_MS == {
        "none": 0,
        "x-weak": 0,
        "weak": 250,
        "medium": 250,
        "strong": 600,
        "x-strong": 1000,
    }
    assert {k: symbols.BREAK_STRENGTH_MS[v] for k, v in symbols.STRUCTURAL_PAUSE.items()} == {"s": 600, "p": 1000}


def test_public_api() -> None:
    assert sorted(markup.__all__) == [
        "Pause",
        "Prosody",
        "Script",
        "Speech",
        "normalize",
        "parse",
        "spell_digits",
        "to_plain_text",
    ]
    assert markup.Script is Script


@pytest.mark.parametrize("name", ["normalize", "parser", "script", "symbols", "tokenizer", "values"])
def test_every_module_declares_all(name: str) -> None:
    module = importlib.import_module(f"voxpipe.pipeline.markup.{name}")
    assert module.__all__ and all(hasattr(module, n) for n in module.__all__)


@pytest.mark.parametrize(
    ("text", "where", "code"),
    [
        ("hel\x00lo", "line 1, column 4", "U+0000"),
        ("ok\nthen \x1b[31m red", "line 2, column 6", "U+001B"),
        ("<speak>bell\x07</speak>", "line 1, column 12", "U+0007"),
    ],
)
def test_control_characters_are_refused_where_they_stand(text: str, where: str, code: str) -> None:
    with pytest.raises(MarkupError, match=re.escape(f"{where}: control character {code} in the text")):
        parse(text)


def test_a_control_character_written_as_a_reference_stays_text() -> None:
    [speech] = parse("a &#0; b &#7; c").segments
    assert isinstance(speech, Speech) and speech.text == "a &#0; b &#7; c"
