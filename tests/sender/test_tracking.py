"""Delivery tracking as a library: the status rules on a real journal, then
look-ups (MessageBird, AlphaSMS) and cancelling (MessageBird) against the
simulators over real HTTP."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import text

import voxpipe.sender.delivery as status_module
from tests.simulators import AlphaSmsSim, MessageBirdSim, NineBitsSim, make_audio
from voxpipe.pipeline.retry import RetryPolicy
from voxpipe.sender.delivery import apply_update
from voxpipe.sender.dispatch import http_client
from voxpipe.sender.errors import ConfigError
from voxpipe.sender.journal import Journal
from voxpipe.sender.providers.ninebits import NineBits
from voxpipe.sender.recipients import Recipient
from voxpipe.sender.statuses import StatusUpdate
from voxpipe.sender.tracking import cancel, check_cancel, refresh

from .tracking_support import FAST, KEYS, alpha, bird, events, nine, rows, send_to, statuses

NL = ["+31612345671", "+31612345672", "+31612345673"]
UA = ["+380971234561", "+380971234562", "+380971234563", "+380971234564"]
QUICK = RetryPolicy(attempts=3, base_s=0.01, max_s=0.1)


@pytest.fixture
def journal(journal_at: str):
    """A fresh journal, on each backend."""
    with Journal(journal_at) as j:
        yield j


def digits(address: str) -> str:
    return address.lstrip("+")


# --------------------------------------------------------------------------- the status rules


def _sent(journal: Journal, ref: str = "m1", address: str = NL[0]) -> None:
    journal.open_campaign("camp", "messagebird", "tts", "f", {})
    journal.add_recipients("camp", [Recipient(address)])
    journal.record("camp", [(address, "accepted", ref, None)])


def _update(status: str, raw: str, at: float | None = None, **kw: object) -> StatusUpdate:
    return StatusUpdate("messagebird", status, raw, ref="m1", address=NL[0], at=at, **kw)  # type: ignore[arg-type]


def test_the_same_status_again_fills_missing_details_and_never_overwrites(journal: Journal) -> None:
    _sent(journal)
    apply_update(journal, _update("answered", "answered", 2e9), source="hook")  # a report: no reason, no price
    applied = apply_update(
        journal, _update("answered", "answered", 2e9, reason="successfully delivered", cost="0.05 EUR"), source="poll"
    )
    assert len(applied.changed) == 1
    again = apply_update(journal, _update("answered", "answered", 2e9, reason="other", cost="9 EUR"), source="poll")
    row = rows(journal)[NL[0]]
    assert (row.status, row.reason, row.cost, again.changed) == ("answered", "successfully delivered", "0.05 EUR", [])


def test_within_a_rank_only_a_newer_event_wins(journal: Journal) -> None:
    _sent(journal)
    seen = []
    for status, raw, at in [("delivered", "READ", 2e9 + 3), ("delivered", "DEVICE", 2e9 + 2), ("answered", "x", None),
                            ("failed", "failed", 2e9 + 9), ("delivered", "DEVICE", 2e9 + 5)]:  # fmt: skip
        apply_update(journal, _update(status, raw, at), source="hook")
        row = rows(journal)[NL[0]]
        seen.append((row.status, row.raw_status))
    assert seen == [("delivered", "READ")] * 3 + [("delivered", "READ"), ("delivered", "DEVICE")]


def test_cancelled_is_final_and_unmatched_updates_are_kept(journal: Journal) -> None:
    _sent(journal)
    apply_update(journal, _update("cancelled", "deleted", 1.0), source="cancel")
    apply_update(journal, _update("played", "late", 2e9), source="hook")
    assert statuses(journal) == {NL[0]: "cancelled"}
    lost = apply_update(journal, StatusUpdate("messagebird", "answered", "answered", ref="nope"), source="hook")
    with journal.transaction() as db:
        unmatched = db.execute(text("SELECT count(*) FROM events WHERE payload LIKE '%unmatched%'")).scalar()
    assert lost.matched == [] and unmatched == 1


def test_two_writers_racing_on_one_recipient_never_move_it_back(
    journal: Journal, journal_at: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow 'delivered' and a quick 'played' through two connections (two processes): played stays."""
    _sent(journal)
    other = Journal(journal_at)
    real_match = status_module._match

    def slow_match(j: Journal, update: StatusUpdate):  # type: ignore[no-untyped-def]
        found = real_match(j, update)
        if update.status == "delivered":
            time.sleep(0.3)  # read, then stall before writing
        return found

    monkeypatch.setattr(status_module, "_match", slow_match)
    slow = threading.Thread(
        target=apply_update, args=(journal, _update("delivered", "DEVICE", 2e9)), kwargs={"source": "a"}
    )
    slow.start()
    time.sleep(0.1)
    apply_update(other, _update("played", "PLAYED", 2e9 + 1), source="b")
    slow.join()
    other.close()
    assert (rows(journal)[NL[0]].status, rows(journal)[NL[0]].raw_status) == ("played", "PLAYED")


# --------------------------------------------------------------------------- look-ups


def test_messagebird_refresh_reads_status_reason_and_price(journal: Journal) -> None:
    with MessageBirdSim(access_key=KEYS["messagebird"]["key"]) as sim, http_client(FAST) as client:
        p = bird(sim.base_url)
        send_to(p, NL, journal)
        (first,) = refresh(journal, {"messagebird": p}, client, retry=QUICK)
        assert (first.looked_up, first.requests, first.changed, first.errors) == (
            3,
            1,
            3,
            [],
        )  # one look-up per message id
        assert statuses(journal) == dict.fromkeys(NL, "ringing")  # "calling"
        kept = len(events(journal))
        (again,) = refresh(journal, {"messagebird": p}, client, retry=QUICK)
        assert (again.requests, again.changed, len(events(journal))) == (
            1,
            0,
            kept,
        )  # asked again; nothing new, nothing logged
        sim.outcomes = {digits(NL[0]): "answered", digits(NL[1]): "no_answer", digits(NL[2]): "unknown_subscriber"}
        sim.advance()
        refresh(journal, {"messagebird": p}, client, retry=QUICK)
        got = rows(journal)
        assert {a: (r.status, r.raw_status, r.reason, r.cost) for a, r in got.items()} == {
            NL[0]: ("answered", "answered", "successfully delivered", "0.055 EUR"),
            NL[1]: ("failed", "failed", "timeout", None),
            NL[2]: ("failed", "failed", "unknown subscriber", None),
        }
        requests = sim.requests_count
        (last,) = refresh(journal, {"messagebird": p}, client, retry=QUICK)
        assert (last.looked_up, sim.requests_count) == (0, requests)  # nothing open: nothing asked


def test_refresh_is_paced_and_retries_rate_limits_and_outages(journal: Journal) -> None:
    numbers = [f"+316{12000000 + i}" for i in range(120)]  # three messages of at most 50
    with MessageBirdSim(access_key=KEYS["messagebird"]["key"]) as sim, http_client(FAST) as client:
        p = bird(sim.base_url)
        send_to(p, numbers, journal)
        sim.advance()
        sim.inject("429", path="/voicemessages/", method="GET", retry_after=0)
        sim.inject("503", path="/voicemessages/", method="GET")
        started = time.monotonic()
        (result,) = refresh(journal, {"messagebird": p}, client, rate_per_s=10, retry=QUICK)
        elapsed = time.monotonic() - started
        looked = Counter(r.status for r in sim.requests if r.method == "GET")
    assert (result.requests, result.errors, result.changed) == (3, [], 120)
    assert looked == Counter({200: 3, 429: 1, 503: 1})
    assert elapsed >= 0.4  # five requests at most ten a second
    assert set(statuses(journal).values()) == {"answered"}


def test_alphasms_refresh_by_our_id_for_tts_and_uploads_are_left_to_the_hook(journal: Journal, tmp_path: Path) -> None:
    wav = tmp_path / "v.wav"
    wav.write_bytes(make_audio("wav", seconds=0.5))
    with AlphaSmsSim(key=KEYS["alphasms"]["key"]) as sim, http_client(FAST) as client:
        p = alpha(sim.base_url)
        send_to(p, UA, journal, "tts")
        send_to(p, UA[:1], journal, "upload", wav=wav)
        sim.outcomes = {
            digits(UA[0]): "answered",
            digits(UA[1]): "no_answer",
            digits(UA[2]): "busy",
            digits(UA[3]): "rejected",
        }
        before = refresh(journal, {"alphasms": p}, client, retry=QUICK)
        assert [(r.campaign, r.requests, r.changed) for r in before] == [
            ("tts", 1, 0),
            ("upload", 0, 0),
        ]  # ACCEPTED: nothing new
        assert before[1].skipped == "alphasms statuses come by callback only (see `voxpipe hooks`)"
        sim.advance()
        after = refresh(journal, {"alphasms": p}, client, retry=QUICK)
        status_items = [
            json_item
            for r in sim.requests
            if r.path == "/api/json.php"
            for json_item in r.json()["data"]
            if json_item["type"] == "status"
        ]
    assert after[0].changed == 4
    assert {a: (r.status, r.raw_status) for a, r in rows(journal, "tts").items()} == {
        UA[0]: ("answered", "ANSWERED"),
        UA[1]: ("no_answer", "NO ANSWER"),
        UA[2]: ("busy", "BUSY"),
        UA[3]: ("failed", "REJECTED"),
    }
    assert {i["id"] for i in status_items} == {r.client_id for r in rows(journal, "tts").values()}
    assert statuses(journal, "upload") == {UA[0]: "accepted"}


def test_refresh_says_why_it_skips_a_campaign(journal: Journal) -> None:
    with (
        NineBitsSim(token=KEYS["9bits"]["token"], fetch_media=False) as nsim,
        MessageBirdSim(access_key=KEYS["messagebird"]["key"]) as msim,
    ):
        send_to(nine(nsim.base_url), ["+2348020000001"], journal, "nine")
        send_to(bird(msim.base_url), NL[:1], journal, "bird")
        with http_client(FAST) as client:
            results = refresh(journal, {}, client)
            assert msim.requests_count == 1  # the send only
            wrong = bird(msim.base_url)
            wrong.secrets["key"] = "not-the-key"
            msim.inject("503", times=3, path="/voicemessages/")
            (_, down), (_, denied) = (refresh(journal, {"messagebird": wrong}, client, retry=QUICK) for _ in range(2))
    assert [(r.campaign, r.skipped) for r in results] == [
        ("nine", "9bits statuses come by callback only (see `voxpipe hooks`)"),
        ("bird", "messagebird was not configured for look-ups"),
    ]
    ref = rows(journal, "bird")[NL[0]].ref
    assert down.errors == [f"GET /voicemessages/{ref}: HTTP 503 after 3 attempts"]
    assert denied.errors == ["messagebird: HTTP 401: Request not allowed (incorrect access_key) (parameter access_key)"]
    assert statuses(journal, "bird") == {NL[0]: "accepted"}


# --------------------------------------------------------------------------- cancelling


def test_cancel_deletes_scheduled_messages_and_says_too_late_for_calling_ones(journal: Journal) -> None:
    with MessageBirdSim(access_key=KEYS["messagebird"]["key"]) as sim, http_client(FAST) as client:
        later = bird(sim.base_url, schedule="2099-01-01T09:00:00Z")
        ref = send_to(later, NL[:2], journal, "later")[NL[0]].ref
        calling = send_to(bird(sim.base_url), NL[2:], journal, "now")[NL[2]].ref
        (done,) = cancel(journal, "later", later, client, retry=QUICK)
        assert (done.ref, done.status, done.recipients) == (ref, "cancelled", tuple(NL[:2]))
        assert sim.deleted == {ref}
        assert {a: (r.status, r.raw_status) for a, r in rows(journal, "later").items()} == dict.fromkeys(
            NL[:2], ("cancelled", "deleted")
        )
        (late,) = cancel(journal, "now", bird(sim.base_url), client, retry=QUICK)
        assert (late.ref, late.status) == (calling, "too_late")
        assert late.detail.startswith("too late: already calling or done, no longer scheduled")
        assert statuses(journal, "now") == {NL[2]: "accepted"}
        assert cancel(journal, "later", later, client) == []  # nothing left to cancel
        assert [r.method for r in sim.requests] == ["POST", "POST", "DELETE", "DELETE"]


def test_cancel_on_a_provider_that_cannot_is_a_clear_error_before_any_request(journal: Journal) -> None:
    with NineBitsSim(token=KEYS["9bits"]["token"], fetch_media=False) as sim:
        send_to(nine(sim.base_url), ["+2348020000001"], journal)
        with pytest.raises(ConfigError, match=r"^9bits cannot cancel a message once it is sent$"):
            check_cancel(journal, "camp", NineBits)  # the class is enough: no credentials needed to learn it
        with http_client(FAST) as client:
            with pytest.raises(ConfigError, match=r"^9bits cannot cancel a message once it is sent$"):
                cancel(journal, "camp", nine(sim.base_url), client)
            with pytest.raises(ConfigError, match=r"^no campaign 'nope' in "):
                cancel(journal, "nope", nine(sim.base_url), client)
            with pytest.raises(ConfigError, match=r"^campaign 'camp' was sent with 9bits, not messagebird$"):
                cancel(journal, "camp", bird(sim.base_url), client)
        assert sim.requests_count == 1  # the send only
