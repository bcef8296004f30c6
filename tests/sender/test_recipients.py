"""Recipients: parsing, normalising, deduplicating, rejecting with a reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from sender.errors import RecipientError
from sender.recipients import Recipient, normalize_recipients, parse_recipient, read_recipients


@pytest.mark.parametrize("raw, region, chats, address", [
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
])
def test_normalised_forms(raw: str, region: str | None, chats: bool, address: str) -> None:
    assert parse_recipient(raw, region, chats=chats) == Recipient(address)


@pytest.mark.parametrize("raw, chats, message", [
    ("", False, "empty recipient"),
    ("hello", False, "hello: not a phone number (not a number)"),
    ("08020000000", False, "08020000000: not a phone number (unknown country code; write it as +<country code><number> or pass --default-region)"),
    ("+234802", False, "+234802: too short for NG"),
    ("380971234567@c.us", False, "380971234567@c.us: a WhatsApp chat id, but this provider calls phone numbers"),
    ("12@c.us", True, "12@c.us: not a valid chat id (digits@c.us, digits@g.us or digits@newsletter)"),
])
def test_rejections_name_the_input(raw: str, chats: bool, message: str) -> None:
    with pytest.raises(RecipientError) as err:
        parse_recipient(raw, chats=chats)
    assert str(err.value) == message


def test_duplicates_are_dropped_and_bad_ones_reported_while_the_rest_go() -> None:
    valid, rejected = normalize_recipients(["+2348020000000", "2348020000000", "x", "+447911123456", "+234 802 000 0000"])
    assert valid == [Recipient("+2348020000000"), Recipient("+447911123456")]
    assert [(r.raw, r.reason) for r in rejected] == [("x", "x: not a phone number (not a number)")]


def test_a_number_and_its_chat_are_one_whatsapp_recipient() -> None:
    valid, _ = normalize_recipients(["+201012345678", "201012345678@c.us"], chats=True)
    assert valid == [Recipient("201012345678@c.us")]
    assert valid[0].digits == "201012345678" and valid[0].chat_id == "201012345678@c.us"


@pytest.mark.parametrize("content, expected", [
    ("+2348020000000\n# a comment\n\n+447911123456\n", ["+2348020000000", "+447911123456"]),
    ("name,phone\nAda,+2348020000000\nBo,\nCy,+447911123456\n", ["+2348020000000", "+447911123456"]),
    ("to\n+2348020000000\n", ["to", "+2348020000000"]),  # one column without a comma is a plain list
])
def test_recipient_files(tmp_path: Path, content: str, expected: list[str]) -> None:
    path = tmp_path / "to.csv"
    path.write_text(content)
    assert read_recipients(path) == expected


def test_unreadable_recipient_file(tmp_path: Path) -> None:
    with pytest.raises(RecipientError, match=r"missing\.txt: cannot read"):
        read_recipients(tmp_path / "missing.txt")
