"""Tables for sender.dialects: our markup written as plain text and as MessageBird's voice body.

Every MessageBird body produced here is also checked with the simulator's
validator of the documented voice-body markup.
"""

from __future__ import annotations

import pytest

from tests.simulators.messagebird import check_body_markup
from voxpipe.pipeline.errors import MarkupError
from voxpipe.pipeline.markup import parse
from voxpipe.sender.dialects import break_tag, messagebird_body, plain_text, rate_percent

D = '<say-as interpret-as="digits">{}</say-as>'

MESSAGEBIRD = [
    # (markup, language, body)
    ("Hello world", "en-gb", "Hello world"),
    # the docs' own examples
    (f"Hello, your login token is {D.format('18340')}", "en-gb", "Hello, your login token is 1, 8, 3, 4, 0"),
    (
        f'Your login token is <prosody rate="90%">{D.format("18340")}</prosody>',
        "en-gb",
        'Your login token is <prosody rate="-10%">1, 8, 3, 4, 0</prosody>',
    ),
    # pauses: whole seconds as s, else ms; adjacent pauses add up; structural pauses too
    ('one<break time="1s"/>two', "en-gb", 'one<break time="1s"/>two'),
    ('one<break time="500ms"/>two', "en-gb", 'one<break time="500ms"/>two'),
    ('one<break time="1.5s"/>two', "en-gb", 'one<break time="1500ms"/>two'),
    ('a<break time="300ms"/><break time="700ms"/>b', "en-gb", 'a<break time="1s"/>b'),
    ('one<break strength="weak"/>two', "en-gb", 'one<break time="250ms"/>two'),
    ('x<break strength="none"/>y', "en-gb", "x y"),
    ("<p>one</p><p>two</p>", "en-gb", 'one<break time="1s"/>two'),
    # rate: relative percent, rounded; 1.0 is no tag; spaces stay outside the tag
    ('<prosody rate="125%">fast</prosody>', "en-gb", '<prosody rate="+25%">fast</prosody>'),
    ('<prosody rate="x-slow">very slow</prosody>', "en-gb", '<prosody rate="-25%">very slow</prosody>'),
    ('<prosody rate="112.5%">a</prosody>', "en-gb", '<prosody rate="+13%">a</prosody>'),
    ('<prosody rate="100.2%">same</prosody>', "en-gb", "same"),
    ('say <prosody rate="80%"> slowly </prosody> now', "en-gb", 'say <prosody rate="-20%">slowly</prosody> now'),
    (
        '<prosody rate="slow">one<break time="2s"/></prosody><prosody rate="fast">two</prosody>',
        "en-gb",
        '<prosody rate="-10%">one</prosody><break time="2s"/><prosody rate="+10%">two</prosody>',
    ),
    (
        '<prosody rate="80%">a <break time="1s"/> b</prosody>',
        "en-gb",
        '<prosody rate="-20%">a<break time="1s"/>b</prosody>',
    ),
    # spelled: digits, telephone, characters, spell-out; separated from touching words
    (f"code{D.format('12')}x", "en-gb", "code 1, 2 x"),
    ('<say-as interpret-as="telephone">+1 (555) 010</say-as>', "en-gb", "1, 5, 5, 5, 0, 1, 0"),
    ('<say-as interpret-as="characters">AB-12</say-as>', "en-gb", "A, B, 1, 2"),
    ('<say-as interpret-as="spell-out">voX</say-as>', "en-gb", "v, o, X"),
    ('<say-as interpret-as="characters">-</say-as>', "en-gb", "dash"),
    # words: cardinal, ordinal, date (the language decides words and date order)
    ('<say-as interpret-as="cardinal">1234</say-as> items', "en-gb", "one thousand two hundred and thirty-four items"),
    ('the <say-as interpret-as="ordinal">21st</say-as>', "en-gb", "the twenty-first"),
    ('<say-as interpret-as="date">05/03/2026</say-as>', "en-gb", "March fifth, twenty twenty-six"),
    ('<say-as interpret-as="date">05/03/2026</say-as>', "en-us", "May third, twenty twenty-six"),
    ('<say-as interpret-as="cardinal">42</say-as>', "de-de", "zweiundvierzig"),
    ('<speak xml:lang="de-DE"><say-as interpret-as="cardinal">42</say-as></speak>', "en-gb", "zweiundvierzig"),
    # sub: its alias
    ('<sub alias="World Health Organization">WHO</sub> says', "en-gb", "World Health Organization says"),
    # not expressible: volume, pitch, emphasis -> the words as plain text
    ('<prosody volume="loud">loud</prosody> and <prosody pitch="+2st">high</prosody>', "en-gb", "loud and high"),
    ("<emphasis>really</emphasis> now", "en-gb", "really now"),
    ('<prosody rate="80%" volume="soft">quiet</prosody>', "en-gb", '<prosody rate="-20%">quiet</prosody>'),
    # escaping: the body is unambiguous
    ("Tom &amp; Jerry &lt; 3 &gt; 2", "en-gb", "Tom &amp; Jerry &lt; 3 &gt; 2"),
    ('<prosody rate="90%">a &lt;b&gt;</prosody>', "en-gb", '<prosody rate="-10%">a &lt;b&gt;</prosody>'),
    ("  lots   of\n space  ", "en-gb", "lots of space"),
]


@pytest.mark.parametrize(("markup", "language", "body"), MESSAGEBIRD)
def test_messagebird_body(markup: str, language: str, body: str) -> None:
    got = messagebird_body(parse(markup), language)
    assert got == body
    assert check_body_markup(got) is None


PLAIN = [
    ("Hello world", "en", "Hello world"),
    (f"Code {D.format('18')}.", "en", "Code one, eight."),
    ('one<break time="1s"/>two', "en", "one. two"),
    ('one<break time="300ms"/>two', "en", "one, two"),
    ('<say-as interpret-as="cardinal">3</say-as> <prosody rate="slow">cats</prosody>', "en", "three cats"),
    ('<say-as interpret-as="cardinal">3</say-as>', "uk-UA", "три"),
    ("Tom &amp; Jerry", "en", "Tom & Jerry"),
]


@pytest.mark.parametrize(("markup", "language", "text"), PLAIN)
def test_plain_text(markup: str, language: str, text: str) -> None:
    assert plain_text(parse(markup), language) == text


@pytest.mark.parametrize(
    ("ms", "tag"),
    [
        (1000, '<break time="1s"/>'),
        (3000, '<break time="3s"/>'),
        (500, '<break time="500ms"/>'),
        (1250, '<break time="1250ms"/>'),
    ],
)
def test_break_tag(ms: int, tag: str) -> None:
    assert break_tag(ms) == tag


@pytest.mark.parametrize(
    ("rate", "pct"),
    [
        (1.0, None),
        (0.9, "-10%"),
        (1.1, "+10%"),
        (0.5, "-50%"),
        (2.0, "+100%"),
        (1.125, "+13%"),
        (0.875, "-13%"),
        (1.004, None),
    ],
)
def test_rate_percent(rate: float, pct: str | None) -> None:
    assert rate_percent(rate) == pct


@pytest.mark.parametrize("render", [messagebird_body, plain_text])
def test_unreadable_say_as_is_a_markup_error(render) -> None:
    with pytest.raises(MarkupError, match="say-as cardinal"):
        render(parse('<say-as interpret-as="cardinal">many</say-as>'), "en")
