"""``voxpipe status --html``: a journal filled by real sends to the MessageBird simulator and real
look-ups, written as a page and opened in headless Chromium (status filter, masked numbers)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser import StaticServer, chromium, keep_for_docs
from tests.cli import voxpipe
from tests.simulators import MessageBirdSim
from voxpipe.sender.journal import Journal
from voxpipe.sender.status_page import mask_number, mask_numbers_in, status_page_data, timeline

from .tracking_support import KEYS, bird, send_to

NUMBERS = [f"+3161234567{n}" for n in range(8)]
OUTCOMES = {0: "answered", 1: "answered", 2: "busy", 3: "no_answer", 4: "machine", 5: "answered", 6: "failed"}
MB_ENV = {"VOXPIPE_MESSAGEBIRD_KEY": KEYS["messagebird"]["key"]}
INVALID = "+234 802 OOO 0001"


def test_numbers_are_masked_keeping_the_first_and_last_digits() -> None:
    assert mask_number("+2348020000001") == "+23480****0001"
    assert mask_number("+447700900123") == "+44770***0123"
    assert mask_number("380971234567@c.us") == "38097***4567@c.us"
    assert mask_number("+1 555 0100") == "+1 55* **00"
    assert mask_number("12") == "**" and mask_number("") == ""
    assert mask_numbers_in("call +31 6 1234 5670 failed; code 42") == "call +31 6 1*** 5670 failed; code 42"


def test_statuses_over_time_are_a_step_function_of_the_changes() -> None:
    changes = [[(0.0, "pending"), (10.0, "accepted"), (40.0, "answered")], [(0.0, "pending"), (10.0, "accepted")]]
    line = timeline(changes, 5)  # points at 0, 10, 20, 30, 40
    assert line["t"] == [0.0, 10.0, 20.0, 30.0, 40.0]
    assert line["series"] == {"pending": [2, 0, 0, 0, 0], "accepted": [0, 2, 2, 2, 1], "answered": [0, 0, 0, 0, 1]}
    assert timeline([], 5) == {"t": [], "series": {}}


@pytest.fixture(scope="module")
def campaign_journal(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Eight calls through the MessageBird simulator, looked up while ringing and again once done."""
    root = tmp_path_factory.mktemp("status")
    journal_file = root / "journal.db"
    with MessageBirdSim(access_key=KEYS["messagebird"]["key"]) as sim:
        with Journal(journal_file) as journal:
            send_to(bird(sim.base_url), NUMBERS, journal, "reminders")
            journal.add_rejected("reminders", INVALID, f"{INVALID}: letters in a phone number")
        lookup = ["status", "--refresh", "--journal", str(journal_file), "--api-url", sim.base_url]
        assert voxpipe(*lookup, env=MB_ENV).returncode == 0
        sim.outcomes = {NUMBERS[n].lstrip("+"): outcome for n, outcome in OUTCOMES.items()}
        sim.advance()  # the last number has no scripted outcome: answered
        page = root / "site" / "status.html"
        proc = voxpipe(*lookup, "--json", "--html", str(page), env=MB_ENV)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == f"status page: {page} (1 campaign(s), numbers masked)\n"
    return {"journal": journal_file, "page": page, "report": json.loads(proc.stdout)[0], "root": root}


def _data(page: Path) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="page-data">(.*?)</script>', page.read_text(), re.S)
    assert found
    return json.loads(found.group(1))  # type: ignore[no-any-return]


def test_the_page_holds_the_journal_with_numbers_masked(campaign_journal: dict[str, Any]) -> None:
    html = campaign_journal["page"].read_text()
    assert not any(n in html or n.lstrip("+") in html for n in NUMBERS) and "802 OOO 0001" not in html
    (campaign,) = _data(campaign_journal["page"])["campaigns"]
    report = campaign_journal["report"]
    assert campaign["counts"] == report["counts"] == {
        "answered": 4, "failed": 2, "busy": 1, "machine": 1, "rejected": 1,
    }  # fmt: skip
    assert (campaign["recipients_total"], campaign["reached"], campaign["not_reached"], campaign["open"]) == (
        9,
        4,
        5,
        0,
    )
    shown = {r["address"]: r for r in campaign["recipients"]}
    assert set(shown) == {mask_number(n) for n in NUMBERS} | {"+234 8** OOO *001"}
    assert shown["+234 8** OOO *001"]["reason"] == "+234 8** OOO *001: letters in a phone number"
    first = shown[mask_number(NUMBERS[0])]
    assert (first["status"], first["raw_status"], first["reason"], first["cost"]) == (
        "answered", "answered", "successfully delivered", "0.055 EUR",
    )  # fmt: skip
    assert first["ref"] == next(r["ref"] for r in report["recipients"] if r["address"] == NUMBERS[0])
    # Over time: everyone pending, then ringing (first look-up), then where they are now.
    line = campaign["timeline"]
    assert {s: v[-1] for s, v in line["series"].items() if v[-1]} == campaign["counts"]
    assert line["series"]["pending"][0] == 8 and max(line["series"]["ringing"]) == 8
    assert campaign["events"] >= 16  # two look-ups of eight recipients


def test_no_mask_numbers_shows_them(campaign_journal: dict[str, Any]) -> None:
    page = campaign_journal["root"] / "plain.html"
    proc = voxpipe("status", "--journal", str(campaign_journal["journal"]), "--html", str(page), "--no-mask-numbers")
    assert proc.returncode == 0, proc.stderr
    assert all(n in page.read_text() for n in NUMBERS)
    with Journal(campaign_journal["journal"]) as journal:
        assert status_page_data(journal)["masked"] is True  # masking is the library default too


def test_a_page_that_cannot_be_written_is_one_line(campaign_journal: dict[str, Any]) -> None:
    folder = campaign_journal["root"] / "a-folder"
    folder.mkdir()
    proc = voxpipe("status", "--journal", str(campaign_journal["journal"]), "--html", str(folder))
    assert proc.returncode == 1 and proc.stderr == f"Error: {folder}: cannot write the page: Is a directory\n"


def _rows(tab: Any) -> list[list[str]]:
    return tab.evaluate(  # type: ignore[no-any-return]
        '[...document.querySelectorAll("section.campaign tbody tr")].map((r) => [...r.cells].map((c) => c.textContent))'
    )


@pytest.mark.browser
def test_status_page_in_chromium_filters_by_status(campaign_journal: dict[str, Any], tmp_path: Path) -> None:
    with StaticServer(campaign_journal["page"].parent) as server, chromium(tmp_path) as tab:
        tab.open(f"{server.url}/status.html", height=1100)
        assert len(_rows(tab)) == 9
        assert tab.evaluate('document.querySelectorAll(".bar span").length') == 5
        series = _data(campaign_journal["page"])["campaigns"][0]["timeline"]["series"]
        assert tab.evaluate('document.querySelectorAll("svg.timeline path").length') == len(series) > 5
        shot = tab.screenshot(tmp_path / "status.png")
        tab.evaluate('(() => { const s = document.querySelector(".status-filter"); s.value = "answered"; '
                     's.dispatchEvent(new Event("change")); })()')  # fmt: skip
        answered = _rows(tab)
        assert len(answered) == 4 and {r[1] for r in answered} == {"answered"}
        assert {r[0] for r in answered} == {mask_number(NUMBERS[n]) for n in (0, 1, 5, 7)}
        tab.evaluate("document.querySelector('.legend button[data-status=\"busy\"]').click()")  # the bar's legend too
        assert [r[1] for r in _rows(tab)] == ["busy"]
        assert tab.errors() == []
    assert shot.stat().st_size > 20_000
    keep_for_docs(shot, "status-page.png")


@pytest.mark.browser
def test_journal_values_are_shown_never_run(campaign_journal: dict[str, Any], tmp_path: Path) -> None:
    journal_file = tmp_path / "hostile.db"
    hostile = '<img src=x onerror="window.__pwned = 1"><script>window.__pwned = 2</script>'
    with Journal(journal_file) as journal:
        journal.open_campaign("<script>window.__pwned = 3</script>", "messagebird", "tts", "f", {"text": "hi"})
        journal.add_rejected("<script>window.__pwned = 3</script>", "<b>not a number</b>", hostile)
    page = tmp_path / "hostile.html"
    assert voxpipe("status", "--journal", str(journal_file), "--html", str(page)).returncode == 0
    assert "<script>window" not in page.read_text()
    with StaticServer(tmp_path) as server, chromium(tmp_path) as tab:
        tab.open(f"{server.url}/hostile.html")
        assert _rows(tab)[0][:4] == ["<b>not a number</b>", "rejected", "", hostile]
        assert tab.evaluate('document.querySelector("h2").textContent') == "<script>window.__pwned = 3</script>"
        assert tab.evaluate("typeof window.__pwned") == "undefined"
        assert tab.errors() == []
