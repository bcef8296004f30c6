"""Recipients: phone numbers parsed with phonenumbers, or WhatsApp chat ids.

Every input is normalised once (E.164 for numbers), duplicates are dropped,
and invalid inputs come back with the reason instead of stopping the rest.

A number is digits with the usual punctuation (spaces, ``-``, ``.``, ``/``,
brackets) and at most one leading ``+``. Anything else is refused with its
reason rather than guessed at: phonenumbers would turn letters into keypad
digits (``+234 802 OOO 0001`` would call 2348026660001, somebody else), so
letters need ``allow_vanity``; extensions (``ext. 12``, ``x12``,
``;ext=12``, ``#12``) cannot be dialled by these providers; emoji and other
symbols are not part of a number.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import phonenumbers

from voxpipe.pipeline.textfile import MAX_RECIPIENTS_BYTES, read_text_file

from .errors import RecipientError

__all__ = ["Recipient", "Rejected", "normalize_recipients", "parse_recipient", "read_recipients", "split_recipients"]

_CHAT_ID = re.compile(r"^(?P<id>\d{6,15}@c\.us|\d{6,30}(?:-\d+)?@g\.us|\d{6,30}@newsletter)$")
_EXTENSION = re.compile(r"(?i)#|;\s*ext\s*=|\bext(?:ension|n)?\b|(?<![a-z])x\.?\s*\d+\s*$")
# Separators people write numbers with (ASCII and the Unicode dashes phonenumbers accepts), besides spaces.
_PUNCTUATION = frozenset("+-.()/[]\u2010\u2011\u2012\u2013\u2014\u2015\u2212\uff0d")


@dataclass(frozen=True, order=True)
class Recipient:
    """A normalised recipient: ``+<E.164>`` or a WhatsApp chat id (``...@c.us``)."""

    address: str

    @property
    def is_chat(self) -> bool:
        return "@" in self.address

    @property
    def digits(self) -> str:
        """Country code and number without ``+`` (what most APIs want)."""
        return self.address.split("@", 1)[0].lstrip("+")

    @property
    def chat_id(self) -> str:
        return self.address if self.is_chat else f"{self.digits}@c.us"


@dataclass(frozen=True)
class Rejected:
    raw: str
    reason: str


def _refuse_odd_characters(text: str, allow_vanity: bool) -> None:
    """Raise RecipientError for what phonenumbers would guess at: letters, symbols, ``++``, extensions."""
    if text.count("+") > 1:
        raise RecipientError(f"{text}: more than one '+'")
    if "+" in text and not text.lstrip("( ").startswith("+"):  # "(+44) 20 ..." is a common way to write it
        raise RecipientError(f"{text}: '+' belongs only at the start")
    if not any(c.isdecimal() for c in text):
        raise RecipientError(f"{text}: not a phone number (not a number)")
    if _EXTENSION.search(text):
        raise RecipientError(f"{text}: extensions (ext., x, ;ext=, #) are not supported; give the number alone")
    letters = ""
    for ch in text:
        if ch.isdecimal() or ch.isspace() or ch in _PUNCTUATION:
            continue
        if ch.isascii() and ch.isalpha():
            letters += ch
            continue
        raise RecipientError(f"{text}: {ch!r} (U+{ord(ch):04X}) is not part of a phone number")
    if letters and not allow_vanity:
        raise RecipientError(
            f"{text}: letters in a phone number ({letters}); to dial them as keypad digits use `allow_vanity`"
        )


def parse_recipient(
    raw: str, default_region: str | None = None, *, chats: bool = False, allow_vanity: bool = False
) -> Recipient:
    """Normalise one input or raise :class:`RecipientError` naming it.

    ``allow_vanity`` dials letters as keypad digits (``+1 800 FLOWERS``); without it they are refused.
    """
    text = raw.strip()
    if not text:
        raise RecipientError("empty recipient")
    if "@" in text:
        if not chats:
            raise RecipientError(f"{text}: a WhatsApp chat id, but this provider calls phone numbers")
        if not _CHAT_ID.match(text):
            raise RecipientError(f"{text}: not a valid chat id (digits@c.us, digits@g.us or digits@newsletter)")
        return Recipient(text)
    _refuse_odd_characters(text, allow_vanity)
    region = default_region.upper() if default_region else None
    if text.startswith("00") and region is None:
        text = "+" + text[2:]  # the common international prefix, where no region says otherwise
    if not text.startswith("+") and region is None:
        # Digits with no + are read as international (country code first), as these APIs write them.
        text = "+" + text.lstrip("0") if re.fullmatch(r"[\d\s().-]{8,20}", text) else text
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise RecipientError(f"{raw.strip()}: not a phone number ({_reason(exc)})") from exc
    if number.extension:  # a spelling of an extension the pattern above does not know
        raise RecipientError(f"{raw.strip()}: extensions (ext., x, ;ext=, #) are not supported; give the number alone")
    if not phonenumbers.is_valid_number(number):
        why = (
            "too short"
            if phonenumbers.is_possible_number_with_reason(number) == phonenumbers.ValidationResult.TOO_SHORT
            else "not a valid number"
        )
        raise RecipientError(f"{raw.strip()}: {why} for {phonenumbers.region_code_for_number(number) or 'any region'}")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    # For WhatsApp a number is its personal chat, so "+20..." and "20...@c.us" are one recipient.
    return Recipient(f"{e164[1:]}@c.us" if chats else e164)


def _reason(exc: phonenumbers.NumberParseException) -> str:
    return {
        phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "unknown country code; write it as +<country code><number> or give a `default_region`",
        phonenumbers.NumberParseException.NOT_A_NUMBER: "not a number",
        phonenumbers.NumberParseException.TOO_SHORT_NSN: "too short",
        phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
        phonenumbers.NumberParseException.TOO_LONG: "too long",
    }.get(exc.error_type, str(exc))


def split_recipients(text: str) -> list[str]:
    """The recipients of one field: separated by ``;``, ``,`` or line ends, or by spaces when
    every space-separated part is a whole international number (``+…``, ``00…``) or a chat id.

    A number written with spaces (``+234 802 000 0001``) stays one recipient.
    """
    out: list[str] = []
    for part in re.split(r"[;,\n]+", text):
        words = part.split()
        if len(words) > 1 and all(w.startswith(("+", "00")) or "@" in w for w in words):
            out.extend(words)
        elif part.strip():
            out.append(part.strip())
    return out


def normalize_recipients(
    raws: Iterable[str], default_region: str | None = None, *, chats: bool = False, allow_vanity: bool = False
) -> tuple[list[Recipient], list[Rejected]]:
    """(valid recipients without duplicates, in first-seen order; rejected inputs with reasons)."""
    seen: set[Recipient] = set()
    valid: list[Recipient] = []
    rejected: list[Rejected] = []
    for raw in raws:
        try:
            recipient = parse_recipient(raw, default_region, chats=chats, allow_vanity=allow_vanity)
        except RecipientError as exc:
            rejected.append(Rejected(raw.strip(), str(exc)))
            continue
        if recipient not in seen:
            seen.add(recipient)
            valid.append(recipient)
    return valid, rejected


def read_recipients(path: Path) -> list[str]:
    """Recipients from a file: one per line, or a CSV with a ``to``/``phone``/``recipient`` column.

    The file must be a regular file of at most 64 MiB (a FIFO or device is refused, not waited on).
    """
    text = read_text_file(path, max_bytes=MAX_RECIPIENTS_BYTES, error=RecipientError)
    first = text.splitlines()[0] if text.strip() else ""
    if "," in first and any(h.strip().lower() in ("to", "phone", "recipient", "number") for h in first.split(",")):
        reader = csv.DictReader(io.StringIO(text))
        column = next(h for h in reader.fieldnames or [] if h.strip().lower() in ("to", "phone", "recipient", "number"))
        return [row[column] for row in reader if (row.get(column) or "").strip()]
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
