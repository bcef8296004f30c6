"""Data tables of the markup language: tags, attributes, labels, words.

Only data lives here (as in gTTS ``tokenizer/symbols.py``); the parser and
the normaliser read these tables, tests read them too.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "BREAK_STRENGTH_MS",
    "CHARACTER_NAMES",
    "DATE_DEFAULT_FORMAT",
    "DATE_FORMATS",
    "EMPHASIS_GAIN_DB",
    "EMPHASIS_LEVELS",
    "ENTITIES",
    "INTERPRET_AS",
    "MAX_PAUSE_MS",
    "MAX_SAY_AS_DIGITS",
    "MONTH_NAMES",
    "ORDINAL_SUFFIXES",
    "PITCH_LABELS_ST",
    "PITCH_MAX_ST",
    "PLUS_WORD",
    "RATE_LABELS",
    "RATE_MAX",
    "RATE_MIN",
    "STRUCTURAL_PAUSE",
    "TAGS",
    "TAG_ATTRIBUTES",
    "TEXT_ONLY_TAGS",
    "VOLUME_LABELS_DB",
    "VOLUME_MAX_DB",
]

TAG_ATTRIBUTES: Final[dict[str, tuple[str, ...]]] = {
    # version/xmlns are what SSML generators write on <speak>; accepted, ignored.
    "speak": ("xml:lang", "version", "xmlns"),
    "break": ("time", "strength"),
    "prosody": ("rate", "volume", "pitch"),
    "say-as": ("interpret-as", "format"),
    "sub": ("alias",),
    "s": (),
    "p": (),
    "emphasis": ("level",),
}
TAGS: Final[tuple[str, ...]] = tuple(TAG_ATTRIBUTES)
"""Supported tags, in the order error messages list them."""

TEXT_ONLY_TAGS: Final[frozenset[str]] = frozenset({"say-as", "sub"})
"""Tags whose content is one value to convert, so it may not hold other tags."""

ENTITIES: Final[dict[str, str]] = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}

MAX_PAUSE_MS: Final = 10_000
"""Longest single pause; Polly caps <break> at 10 s (audio.md section 5)."""

BREAK_STRENGTH_MS: Final[dict[str, int]] = {
    # The "proposed" column of audio.md: short, because piper and gTTS already
    # leave 0.13-0.25 s of their own silence after each sentence.
    "none": 0,
    "x-weak": 0,
    "weak": 250,
    "medium": 250,
    "strong": 600,
    "x-strong": 1000,
}

STRUCTURAL_PAUSE: Final[dict[str, str]] = {"s": "strong", "p": "x-strong"}
"""Break strength that <s> and <p> put between their speech and the next."""

RATE_LABELS: Final[dict[str, float]] = {
    "x-slow": 0.75,
    "slow": 0.9,
    "medium": 1.0,
    "fast": 1.1,
    "x-fast": 1.25,
    "default": 1.0,
}
RATE_MIN: Final = 0.5
RATE_MAX: Final = 2.0
PITCH_MAX_ST: Final = 24.0
"""Largest pitch change either way, per attribute and after nesting (two octaves)."""
VOLUME_MAX_DB: Final = 40.0
"""Largest volume change either way, per attribute and after nesting."""
MAX_SAY_AS_DIGITS: Final = 300
"""Longest number a cardinal or ordinal say-as speaks (num2words stops below 10**303)."""

VOLUME_LABELS_DB: Final[dict[str, float]] = {
    # "silent" is deliberately absent: a silent run of speech is a pause, and
    # the parser says so instead of rendering audio nobody hears.
    "x-soft": -6.0,
    "soft": -3.0,
    "medium": 0.0,
    "loud": 3.0,
    "x-loud": 6.0,
    "default": 0.0,
}

PITCH_LABELS_ST: Final[dict[str, float]] = {
    "x-low": -4.0,
    "low": -2.0,
    "medium": 0.0,
    "high": 2.0,
    "x-high": 4.0,
    "default": 0.0,
}

EMPHASIS_GAIN_DB: Final[dict[str, float]] = {"strong": 2.0, "moderate": 1.0, "none": 0.0, "reduced": -2.0}
"""Gain the renderer adds for an emphasis level; the parser only records it."""
EMPHASIS_LEVELS: Final[tuple[str, ...]] = tuple(EMPHASIS_GAIN_DB)

INTERPRET_AS: Final[tuple[str, ...]] = (
    "digits",
    "characters",
    "spell-out",
    "telephone",
    "cardinal",
    "ordinal",
    "date",
)

DATE_FORMATS: Final[tuple[str, ...]] = ("mdy", "dmy", "ymd", "md", "dm", "ym", "my", "d", "m", "y")

DATE_DEFAULT_FORMAT: Final[dict[str, str]] = {
    # Keyed by language tag (lower case, "-"); a primary subtag is the fallback.
    "en": "mdy",
    "en-gb": "dmy",
    "en-ie": "dmy",
    "en-au": "dmy",
    "en-nz": "dmy",
    "en-in": "dmy",
    "en-za": "dmy",
    "*": "dmy",
}

MONTH_NAMES: Final[dict[str, tuple[str, ...]]] = {
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}

ORDINAL_SUFFIXES: Final[dict[str, tuple[str, ...]]] = {"en": ("st", "nd", "rd", "th")}

PLUS_WORD: Final[dict[str, str]] = {"en": "plus"}
"""How the leading + of an international phone number is read."""

CHARACTER_NAMES: Final[dict[str, dict[str, str]]] = {
    # Symbols spelled by say-as characters; other languages keep the symbol.
    "en": {
        "-": "dash",
        "_": "underscore",
        ".": "dot",
        ",": "comma",
        "@": "at",
        "/": "slash",
        "\\": "backslash",
        "+": "plus",
        "#": "hash",
        "*": "star",
        "&": "and",
        "%": "percent",
        "$": "dollar",
        "=": "equals",
        ":": "colon",
        ";": "semicolon",
        "!": "exclamation mark",
        "?": "question mark",
        "'": "apostrophe",
        '"': "quote",
        "(": "open bracket",
        ")": "close bracket",
        "~": "tilde",
    },
}
