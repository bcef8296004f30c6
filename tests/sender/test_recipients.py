"""Recipients: parsing, normalising, deduplicating, rejecting with a reason."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from voxpipe.sender.errors import ConfigError, RecipientError
from voxpipe.sender.recipients import (
    Recipient,
    normalize_recipients,
    parse_recipient,
    read_recipients,
    split_recipients,
)


@pytest.mark.parametrize(
    "raw, region, chats, address",
    [
        ("+2348020000000", None, False, "+2348020000000"),
        ("2348020000000", None, False, "+2348020000000"),
        ("+234 (802) 000-0000", None, False, "+2348020000000"),
        ("00447911123456", None, False, "+447911123456"),
        ("08020000000", "NG", False, "+2348020000000"),
        ("07911 123456", "gb", False, "+447911123456"),
        ("+380971234567", None, True, "380971234567@c.us"),
        ("380971234567@c.us", None, True, "380971234567@c.us"),
        ("120363025555555555@g.us", None, True, "120363025555555555@g.us"),
        ("120363025555555555@newsletter", None, True, "120363025555555555@newsletter"),
    ],
)
def test_normalised_forms(raw: str, region: str | None, chats: bool, address: str) -> None:
    assert parse_recipient(raw, region, chats=chats) == Recipient(address)


@pytest.mark.parametrize(
    "raw, chats, message",
    [
        ("", False, "empty recipient"),
        ("hello", False, "hello: not a phone number (not a number)"),
        (
            "08020000000",
            False,
            "08020000000: not a phone number (unknown country code; write it as +<country code><number> or give a `default_region`)",
        ),
        ("+234802", False, "+234802: too short for NG"),
        ("380971234567@c.us", False, "380971234567@c.us: a WhatsApp chat id, but this provider calls phone numbers"),
        ("12@c.us", True, "12@c.us: not a valid chat id (digits@c.us, digits@g.us or digits@newsletter)"),
    ],
)
def test_rejections_name_the_input(raw: str, chats: bool, message: str) -> None:
    with pytest.raises(RecipientError) as err:
        parse_recipient(raw, chats=chats)
    assert str(err.value) == message


def test_duplicates_are_dropped_and_bad_ones_reported_while_the_rest_go() -> None:
    valid, rejected = normalize_recipients(
        ["+2348020000000", "2348020000000", "x", "+447911123456", "+234 802 000 0000"]
    )
    assert valid == [Recipient("+2348020000000"), Recipient("+447911123456")]
    assert [(r.raw, r.reason) for r in rejected] == [("x", "x: not a phone number (not a number)")]


def test_a_number_and_its_chat_are_one_whatsapp_recipient() -> None:
    valid, _ = normalize_recipients(["+201012345678", "201012345678@c.us"], chats=True)
    assert valid == [Recipient("201012345678@c.us")]
    assert valid[0].digits == "201012345678" and valid[0].chat_id == "201012345678@c.us"


@pytest.mark.parametrize(
    "content, expected",
    [
        ("+2348020000000\n# a comment\n\n+447911123456\n", ["+2348020000000", "+447911123456"]),
        ("name,phone\nAda,+2348020000000\nBo,\nCy,+447911123456\n", ["+2348020000000", "+447911123456"]),
        ("to\n+2348020000000\n", ["to", "+2348020000000"]),  # one column without a comma is a plain list
    ],
)
def test_recipient_files(tmp_path: Path, content: str, expected: list[str]) -> None:
    path = tmp_path / "to.csv"
    path.write_text(content)
    assert read_recipients(path) == expected


def test_unreadable_recipient_file(tmp_path: Path) -> None:
    with pytest.raises(RecipientError, match=r"missing\.txt: cannot read"):
        read_recipients(tmp_path / "missing.txt")


# What phonenumbers would guess at is refused with its reason (issue 8, item 12).
@pytest.mark.parametrize(
    "raw, message",
    [
        # letters: keypad digits would call somebody else (+234 802 OOO 0001 -> 2348026660001)
        (
            "+234 802 OOO 0001",
            "+234 802 OOO 0001: letters in a phone number (OOO); to dial them as keypad digits use `allow_vanity`",
        ),
        (
            "+1 800 FLOWERS",
            "+1 800 FLOWERS: letters in a phone number (FLOWERS); to dial them as keypad digits use `allow_vanity`",
        ),
        (
            "+44 79l1 123456",
            "+44 79l1 123456: letters in a phone number (l); to dial them as keypad digits use `allow_vanity`",
        ),
        # emoji, look-alike letters from other scripts, invisible and other symbols
        ("+2348020000001 📞", "+2348020000001 📞: '📞' (U+1F4DE) is not part of a phone number"),
        ("+234 802 ООО 0001", "+234 802 ООО 0001: 'О' (U+041E) is not part of a phone number"),
        ("+23480200\u200b00001", "+23480200\u200b00001: '\\u200b' (U+200B) is not part of a phone number"),
        ("+2348020000001!", "+2348020000001!: '!' (U+0021) is not part of a phone number"),
        ("+44*7911123456", "+44*7911123456: '*' (U+002A) is not part of a phone number"),
        # plus signs
        ("++2348020000001", "++2348020000001: more than one '+'"),
        ("+234+8020000001", "+234+8020000001: more than one '+'"),
        ("234+8020000001", "234+8020000001: '+' belongs only at the start"),
        # extensions: no provider here dials them
        (
            "+44 20 7946 0000 ext. 12",
            "+44 20 7946 0000 ext. 12: extensions (ext., x, ;ext=, #) are not supported; give the number alone",
        ),
        (
            "+44 20 7946 0000 ext 12",
            "+44 20 7946 0000 ext 12: extensions (ext., x, ;ext=, #) are not supported; give the number alone",
        ),
        (
            "+44 20 7946 0000 extension 12",
            "+44 20 7946 0000 extension 12: extensions (ext., x, ;ext=, #) are not supported; give the number alone",
        ),
        (
            "+44 20 7946 0000 x12",
            "+44 20 7946 0000 x12: extensions (ext., x, ;ext=, #) are not supported; give the number alone",
        ),
        (
            "+44 20 7946 0000 X 12",
            "+44 20 7946 0000 X 12: extensions (ext., x, ;ext=, #) are not supported; give the number alone",
        ),
        (
            "+442079460000;ext=12",
            "+442079460000;ext=12: extensions (ext., x, ;ext=, #) are not supported; give the number alone",
        ),
        (
            "+442079460000#12",
            "+442079460000#12: extensions (ext., x, ;ext=, #) are not supported; give the number alone",
        ),
        ("+442079460000#", "+442079460000#: extensions (ext., x, ;ext=, #) are not supported; give the number alone"),
        # no digits at all is still "not a number"
        ("📞", "📞: not a phone number (not a number)"),
    ],
)
def test_what_would_be_guessed_at_is_refused(raw: str, message: str) -> None:
    with pytest.raises(RecipientError) as err:
        parse_recipient(raw)
    assert str(err.value) == message
    with pytest.raises(RecipientError):  # chats parse numbers the same way
        parse_recipient(raw, chats=True)


@pytest.mark.parametrize(
    "raw, region, allow_vanity, address",
    [
        ("+1 800 FLOWERS", None, True, "+18003569377"),
        ("+234 802 OOO 0001", None, True, "+2348026660001"),  # only on request
        ("(+44) 20 7946 0000", None, False, "+442079460000"),
        ("+44 20 7946-0000", None, False, "+442079460000"),
        ("+44.20.7946.0000", None, False, "+442079460000"),
        ("+44 (0)20 7946 0000", None, False, "+442079460000"),
        ("0171/1234567", "DE", False, "+491711234567"),
        ("+44\u00a020\u00a07946\u00a00000", None, False, "+442079460000"),  # no-break spaces from a document
        ("+44 20 7946\u20130000", None, False, "+442079460000"),  # en dash
        ("+٢٣٤٨٠٢٠٠٠٠٠٠٠", None, False, "+2348020000000"),  # Arabic-Indic digits are digits
    ],
)
def test_written_forms_that_are_numbers(raw: str, region: str | None, allow_vanity: bool, address: str) -> None:
    assert parse_recipient(raw, region, allow_vanity=allow_vanity) == Recipient(address)


def test_vanity_is_passed_through_normalize() -> None:
    valid, rejected = normalize_recipients(["+234 802 OOO 0001", "+2348026660001"], allow_vanity=True)
    assert valid == [Recipient("+2348026660001")] and rejected == []
    valid, rejected = normalize_recipients(["+234 802 OOO 0001", "+2348026660001"])
    assert valid == [Recipient("+2348026660001")] and [r.raw for r in rejected] == ["+234 802 OOO 0001"]


def _sparse(path: Path, size: int) -> None:
    path.touch()
    os.truncate(path, size)  # no disk used


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: os.mkfifo(p), "a FIFO, socket or device, not a regular file"),
        (lambda p: p.mkdir(), "a folder, not a regular file"),
        (lambda p: _sparse(p, 64 * 1024 * 1024 + 1), "67,108,865 bytes; at most 67,108,864 are read"),
    ],
)
def test_recipient_files_that_are_not_small_regular_files(tmp_path: Path, make, message: str) -> None:
    path = tmp_path / "to.txt"
    make(path)
    with pytest.raises(RecipientError) as err:
        read_recipients(path)  # a FIFO would block a plain open() forever
    assert str(err.value) == f"{path}: {message}"
    with pytest.raises(RecipientError, match="^/dev/zero: a FIFO, socket or device, not a regular file$"):
        read_recipients(Path("/dev/zero"))


@pytest.mark.parametrize(
    "url", ["https://example.com/a b.mp3", "https://example.com/a\tb.mp3", "https://example.com:99999/a.mp3"]
)
def test_a_media_url_that_cannot_be_fetched_is_refused(url: str) -> None:
    from voxpipe.sender.message import Message

    with pytest.raises(ConfigError, match="`media_url`"):
        Message(media_url=url)


def test_an_empty_base_url_is_not_the_real_provider() -> None:
    from voxpipe.sender.providers import provider_class

    with pytest.raises(ConfigError, match="the base URL is empty"):
        provider_class("messagebird")(base_url=" ", credentials={"key": "k"})


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("+447911123456 +447911123457", ["+447911123456", "+447911123457"]),
        ("+234 802 000 0001", ["+234 802 000 0001"]),
        ("+234 802 OOO 0001", ["+234 802 OOO 0001"]),
        (
            "+447911123456; 0044 7911 123457,\n201012345678@c.us",
            ["+447911123456", "0044 7911 123457", "201012345678@c.us"],
        ),
        ("00447911123456 201012345678@c.us", ["00447911123456", "201012345678@c.us"]),
        (" ; , ", []),
    ],
)
def test_a_manifest_field_splits_into_recipients_but_keeps_spaced_numbers_whole(
    field: str, expected: list[str]
) -> None:
    assert split_recipients(field) == expected
