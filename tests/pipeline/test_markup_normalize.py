"""Say-as conversion, normalisation of a Script, plain-text flattening."""

from __future__ import annotations

import pytest

from voxpipe.pipeline.errors import MarkupError
from voxpipe.pipeline.markup import Pause, Prosody, Script, Speech, normalize, parse, spell_digits, to_plain_text
from voxpipe.pipeline.markup.normalize import (
    date_format,
    number_language,
    say_cardinal,
    say_characters,
    say_date,
    say_digits,
    say_ordinal,
    say_telephone,
)


def _raises(call: object, *args: object) -> MarkupError:
    with pytest.raises(MarkupError) as caught:
        call(*args)  # type: ignore[operator]
    return caught.value


# -- one function per interpret-as ------------------------------------------


@pytest.mark.parametrize(
    ("_in", "_out"),
    [
        ("1834", "one, eight, three, four"),
        ("0", "zero"),
        ("  7 ", "seven"),
        ("12 34", "one, two, three, four"),
        ("12-34", "one, two - three, four"),
        ("(555)", "( five, five, five )"),
        ("A1", "A one"),
        ("#42!", "# four, two !"),
    ],
)
def test_say_digits(_in: str, _out: str) -> None:
    assert say_digits(_in) == _out


@pytest.mark.parametrize(
    ("_in", "_out"),
    [
        ("ABC-12", "A B C dash one two"),
        ("abc", "A B C"),
        ("a b", "A B"),
        ("x@y.z", "X at Y dot Z"),
        ("C#", "C hash"),
        ("é", "É"),
        ("a§b", "A § B"),
        ("R2-D2", "R two dash D two"),
    ],
)
def test_say_characters(_in: str, _out: str) -> None:
    assert say_characters(_in) == _out


@pytest.mark.parametrize(
    ("_in", "_out"),
    [
        ("+1 (555) 010-0199", "plus one, five five five, zero one zero, zero one nine nine"),
        ("555-0199", "five five five, zero one nine nine"),
        ("+44 20 7946 0000", "plus four four, two zero, seven nine four six, zero zero zero zero"),
        ("112", "one one two"),
        ("030/123.45", "zero three zero, one two three, four five"),
    ],
)
def test_say_telephone(_in: str, _out: str) -> None:
    assert say_telephone(_in) == _out


@pytest.mark.parametrize(
    ("_in", "_out"),
    [
        ("0", "zero"),
        ("21", "twenty-one"),
        ("1234", "one thousand two hundred and thirty-four"),
        ("1,234", "one thousand two hundred and thirty-four"),
        ("1,000,000", "one million"),
        ("-5", "minus five"),
        ("\u22125", "minus five"),
        ("+5", "five"),
        ("3.5", "three point five"),
        ("1,234.5", "one thousand two hundred and thirty-four point five"),
        (" 42 ", "forty-two"),
    ],
)
def test_say_cardinal(_in: str, _out: str) -> None:
    assert say_cardinal(_in) == _out


@pytest.mark.parametrize(
    ("_in", "_out"),
    [
        ("1", "first"),
        ("2nd", "second"),
        ("3rd", "third"),
        ("21", "twenty-first"),
        ("21st", "twenty-first"),
        ("21ST", "twenty-first"),
        ("100th", "one hundredth"),
        ("1,000th", "one thousandth"),
        ("0", "zeroth"),
    ],
)
def test_say_ordinal(_in: str, _out: str) -> None:
    assert say_ordinal(_in) == _out


@pytest.mark.parametrize(
    ("_in", "_out"),
    [
        (("2026-03-05", None), "March fifth, twenty twenty-six"),
        (("2026-3-5", "md"), "March fifth, twenty twenty-six"),  # ISO wins over format
        (("03/05/2026", None), "March fifth, twenty twenty-six"),  # en default is mdy
        (("03/05/2026", "mdy"), "March fifth, twenty twenty-six"),
        (("05/03/2026", "dmy"), "March fifth, twenty twenty-six"),
        (("05.03.2026", "dmy"), "March fifth, twenty twenty-six"),
        (("2026/03/05", "ymd"), "March fifth, twenty twenty-six"),
        (("March 5, 2026", "mdy"), "March fifth, twenty twenty-six"),
        (("5th Mar. 2026", "dmy"), "March fifth, twenty twenty-six"),
        (("03/05", "md"), "March fifth"),
        (("5/3", "dm"), "March fifth"),
        (("2026-03", "ym"), "March twenty twenty-six"),
        (("03/2026", "my"), "March twenty twenty-six"),
        (("5", "d"), "the fifth"),
        (("31", "d"), "the thirty-first"),
        (("3", "m"), "March"),
        (("1999", "y"), "nineteen ninety-nine"),
        (("2000", "y"), "two thousand"),
        (("2/29/2024", "mdy"), "February twenty-ninth, twenty twenty-four"),
        (("Feb 29", "md"), "February twenty-ninth"),
        (("1/1/05", "mdy"), "January first, five"),
    ],
)
def test_say_date(_in: tuple[str, str | None], _out: str) -> None:
    assert say_date(*_in) == _out


@pytest.mark.parametrize(
    ("_in", "_out"),
    [
        (("05/03/2026", None, "en-GB"), "March fifth, twenty twenty-six"),
        (("05.03.2026", "dmy", "de"), "fünfte drei zweitausendsechsundzwanzig"),
        (("2026-03-05", None, "de-DE"), "zweitausendsechsundzwanzig drei fünfte"),
        (("03/05/2026", "mdy", "xx"), "March fifth, twenty twenty-six"),
    ],
)
def test_say_date_languages(_in: tuple[str, str | None, str], _out: str) -> None:
    assert say_date(*_in) == _out


@pytest.mark.parametrize(
    ("_in", "_out"),
    [
        ((say_cardinal, "21", "de"), "einundzwanzig"),
        ((say_cardinal, "21", "de-AT"), "einundzwanzig"),
        ((say_cardinal, "21", "tlh"), "twenty-one"),  # num2words lacks it: English
        ((say_ordinal, "2", "fr"), "deuxième"),
        ((say_digits, "12", "es-ES"), "uno, dos"),
        ((say_telephone, "+1 2", "de"), "+ eins, zwei"),
        ((say_characters, "a-1", "de"), "A - eins"),
    ],
)
def test_languages(_in: tuple[object, str, str], _out: str) -> None:
    func, text, language = _in
    assert func(text, language) == _out  # type: ignore[operator]


SAY_AS_ERRORS = [
    ((say_digits, "abc"), 'say-as digits: "abc" has no digits'),
    ((say_digits, ""), 'say-as digits: "" has no digits'),
    ((say_characters, "  "), 'say-as characters: "  " has nothing to spell'),
    ((say_telephone, "call me"), 'say-as telephone: "call me" is not a phone number'),
    ((say_telephone, "1+2"), 'say-as telephone: "1+2" is not a phone number'),
    ((say_telephone, "+"), 'say-as telephone: "+" is not a phone number'),
    ((say_telephone, "555-0199 ext 2"), 'say-as telephone: "555-0199 ext 2" is not a phone number'),
    ((say_cardinal, "abc"), 'say-as cardinal: "abc" is not a number'),
    ((say_cardinal, "12a"), 'say-as cardinal: "12a" is not a number'),
    ((say_cardinal, "1,23"), 'say-as cardinal: "1,23" is not a number'),
    ((say_cardinal, "1.2.3"), 'say-as cardinal: "1.2.3" is not a number'),
    ((say_cardinal, "3."), 'say-as cardinal: "3." is not a number'),
    ((say_cardinal, ""), 'say-as cardinal: "" is not a number'),
    ((say_cardinal, "9" * 400), f'say-as cardinal: "{"9" * 400}" is too large to say'),
    ((say_ordinal, "-1"), 'say-as ordinal: "-1" is not a whole number'),
    ((say_ordinal, "3.5"), 'say-as ordinal: "3.5" is not a whole number'),
    ((say_ordinal, "st"), 'say-as ordinal: "st" is not a whole number'),
    ((say_ordinal, "21 st"), 'say-as ordinal: "21 st" is not a whole number'),
    ((say_ordinal, "9" * 400), f'say-as ordinal: "{"9" * 400}" is too large to say'),
    ((say_date, "32/13/2026", "mdy"), 'say-as date: "32/13/2026" is not a valid mdy date'),
    ((say_date, "32/13/2026", "dmy"), 'say-as date: "32/13/2026" is not a valid dmy date'),
    ((say_date, "13/01/2026", "mdy"), 'say-as date: "13/01/2026" is not a valid mdy date'),
    ((say_date, "2/30/2026", "mdy"), 'say-as date: "2/30/2026" is not a valid mdy date'),
    ((say_date, "2/29/2025", "mdy"), 'say-as date: "2/29/2025" is not a valid mdy date'),
    ((say_date, "0/1/2026", "mdy"), 'say-as date: "0/1/2026" is not a valid mdy date'),
    ((say_date, "1/1/0", "mdy"), 'say-as date: "1/1/0" is not a valid mdy date'),
    ((say_date, "1/1/12345", "mdy"), 'say-as date: "1/1/12345" is not a valid mdy date'),
    ((say_date, "03/05", "mdy"), 'say-as date: "03/05" is not a valid mdy date'),
    ((say_date, "tomorrow", "d"), 'say-as date: "tomorrow" is not a valid d date'),
    ((say_date, "Smarch 5", "md"), 'say-as date: "Smarch 5" is not a valid md date'),
    ((say_date, "2026-13-01", None), 'say-as date: "2026-13-01" is not a valid mdy date'),
    (
        (say_date, "1/1/2026", "xyz"),
        'say-as date: "1/1/2026" has unknown format xyz; expected one of mdy, dmy, ymd, md, dm, ym, my, d, m, y',
    ),
]


@pytest.mark.parametrize(("_in", "_out"), SAY_AS_ERRORS)
def test_say_as_errors(_in: tuple[object, ...], _out: str) -> None:
    err = _raises(*_in)
    assert (err.reason, err.line, err.column) == (_out, 0, 0)


@pytest.mark.parametrize(
    ("_in", "_out"),
    [
        ("en", "en"),
        ("en-US", "en"),
        ("en_us", "en"),
        ("EN-us", "en"),
        ("en-IN", "en_IN"),
        ("pt-BR", "pt_BR"),
        ("pt-PT", "pt"),
        ("de-DE", "de"),
        ("xx", "en"),
        ("tlh", "en"),
    ],
)
def test_number_language(_in: str, _out: str) -> None:
    assert number_language(_in) == _out


@pytest.mark.parametrize(
    ("_in", "_out"),
    [("en", "mdy"), ("en-US", "mdy"), ("en-GB", "dmy"), ("en_gb", "dmy"), ("de", "dmy"), ("fr-CA", "dmy")],
)
def test_date_format(_in: str, _out: str) -> None:
    assert date_format(_in) == _out


# -- normalize(Script) ------------------------------------------------------

FAST = Prosody(rate=1.1)

NORMALIZE_CASES = [
    ('Your code is <say-as interpret-as="digits">1234</say-as>.', (Speech("Your code is one, two, three, four."),)),
    ('<sub alias="World Wide Web Consortium">W3C</sub> rocks', (Speech("World Wide Web Consortium rocks"),)),
    # converted words do not run into their neighbours
    ('code<say-as interpret-as="digits">12</say-as>now', (Speech("code one, two now"),)),
    ('Ask <sub alias="Doctor">Dr.</sub>Who', (Speech("Ask Doctor Who"),)),
    (
        '<say-as interpret-as="cardinal">12</say-as><say-as interpret-as="cardinal">34</say-as>',
        (Speech("twelve thirty-four"),),
    ),
    (
        '<say-as interpret-as="cardinal">12</say-as> <say-as interpret-as="cardinal">34</say-as>',
        (Speech("twelve thirty-four"),),
    ),
    ('<say-as interpret-as="ordinal">1</say-as>-class', (Speech("first-class"),)),
    # attributes other than say-as survive; pauses pass through
    (
        'a <prosody rate="fast"><say-as interpret-as="ordinal">1</say-as></prosody><break/>b',
        (Speech("a "), Speech("first", FAST), Pause(250, "medium"), Speech("b")),
    ),
    (
        '<emphasis level="strong"><say-as interpret-as="characters">ok</say-as></emphasis> then',
        (Speech("O K", emphasis="strong"), Speech(" then")),
    ),
    ('<break time="1s"/>Hi', (Pause(1000), Speech("Hi"))),
    ("Plain text stays", (Speech("Plain text stays"),)),
    (
        'On <say-as interpret-as="date" format="dmy">05/03/2026</say-as>, call '
        '<say-as interpret-as="telephone">555-0199</say-as>.',
        (Speech("On March fifth, twenty twenty-six, call five five five, zero one nine nine."),),
    ),
]


@pytest.mark.parametrize(("_in", "_out"), NORMALIZE_CASES)
def test_normalize(_in: str, _out: tuple[object, ...]) -> None:
    result = normalize(parse(_in))
    assert result.segments == _out
    assert all(s.say_as is None and s.written is None for s in result.speech)
    assert normalize(result) == result  # idempotent


def test_normalize_prefers_the_scripts_language() -> None:
    script = parse('<speak xml:lang="de-DE"><say-as interpret-as="cardinal">21</say-as></speak>')
    assert normalize(script, "en") == Script((Speech("einundzwanzig"),), "de-DE")


def test_normalize_uses_the_language_argument_otherwise() -> None:
    script = parse('<say-as interpret-as="cardinal">21</say-as>')
    assert normalize(script, "fr-FR") == Script((Speech("vingt et un"),), None)


def test_normalize_reports_bad_values() -> None:
    err = _raises(normalize, parse('Say <say-as interpret-as="cardinal">abc</say-as>'))
    assert (err.reason, err.line, err.column) == ('say-as cardinal: "abc" is not a number', 0, 0)


def test_normalize_rejects_unknown_interpret_as() -> None:
    err = _raises(normalize, Script((Speech("1", say_as="currency"),)))
    assert err.reason == (
        "say-as currency: unknown interpret-as; "
        "expected one of digits, characters, spell-out, telephone, cardinal, ordinal, date"
    )


# -- to_plain_text ------------------------------------------------------------

PLAIN_CASES = [
    ("Hello<break/>world", "Hello, world"),
    ("Hello <break/> world", "Hello, world"),
    ('Hello<break strength="strong"/>world', "Hello. world"),
    ('Hello<break time="599ms"/>world', "Hello, world"),
    ('Hello<break time="600ms"/>world', "Hello. world"),
    ('Hello<break time="1ms"/>world', "Hello, world"),
    ('Hello<break strength="none"/>world', "Hello world"),
    ('Hello!<break time="1s"/>World', "Hello! World"),
    ('"Quoted."<break time="1s"/>Next', '"Quoted." Next'),
    ("Hello,<break/>world", "Hello, world"),
    ("Wait:<break/>now", "Wait: now"),
    ("<p>One</p><p>Two</p>", "One. Two"),
    ("<s>One.</s><s>Two?</s>", "One. Two?"),
    ('<break time="1s"/>Hi<break time="2s"/>', "Hi"),
    ('Your code is <say-as interpret-as="digits">1234</say-as>.', "Your code is one, two, three, four."),
    ('Call <say-as interpret-as="telephone">+1 555</say-as> now', "Call plus one, five five five now"),
    ('<sub alias="World Wide Web Consortium">W3C</sub><break/>hi', "World Wide Web Consortium, hi"),
    ('a <prosody rate="fast">b</prosody> <emphasis>c</emphasis>', "a b c"),
    ("Tom &amp; Jerry", "Tom & Jerry"),
]


@pytest.mark.parametrize(("_in", "_out"), PLAIN_CASES)
def test_to_plain_text(_in: str, _out: str) -> None:
    assert to_plain_text(parse(_in)) == _out


def test_to_plain_text_adds_up_hand_built_adjacent_pauses() -> None:
    script = Script((Speech("a"), Pause(300), Pause(300), Speech("b")))
    assert to_plain_text(script) == "a. b"


def test_to_plain_text_passes_language_on() -> None:
    assert to_plain_text(parse('<say-as interpret-as="ordinal">3</say-as>'), "es") == "tercero"


# -- spell_digits -------------------------------------------------------------


@pytest.mark.parametrize(
    ("_in", "_out"),
    [
        (("1834",), "1, 8, 3, 4"),
        (("555-0199", " "), "5 5 5 0 1 9 9"),
        (("AB1",), "A, B, 1"),
        (("+1 (555)",), "1, 5, 5, 5"),
        (("",), ""),
    ],
)
def test_spell_digits(_in: tuple[str, ...], _out: str) -> None:
    assert spell_digits(*_in) == _out
