"""The callback receiver: each provider's simulator sends to ``voxpipe serve``'s
app (under a real uvicorn) over HTTP, and the journal ends up with one
normalised status per recipient beside the provider's raw status, reason,
duration, DTMF and cost. Duplicates, reversed order, wrong secrets,
oversized and malformed bodies, unknown recipients and a receiver restart."""

from __future__ import annotations

import json
import logging
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.appserver import AppServer
from tests.simulators import AlphaSmsSim, MessageBirdSim, NineBitsSim, WawpSim, make_audio
from voxpipe.pipeline.markup import parse
from voxpipe.sender.delivery import apply_update
from voxpipe.sender.errors import ConfigError
from voxpipe.sender.hooks import hook_url
from voxpipe.sender.journal import Journal
from voxpipe.sender.providers import Callback, Chunk, Mode, Payload, Provider
from voxpipe.sender.providers.alphasms import AlphaSms
from voxpipe.sender.providers.messagebird import MessageBird
from voxpipe.sender.providers.ninebits import NineBits
from voxpipe.sender.providers.wawp import Wawp
from voxpipe.sender.recipients import Recipient
from voxpipe.serve import create_app

from .tracking_support import KEYS, alpha, bird, events, get, nine, post, rows, send_to, start_hooks, statuses, wawp

NG = ["+2348020000001", "+2348020000002", "+2348020000003"]
NL = ["+31612345671", "+31612345672", "+31612345673", "+31612345674"]
UA = ["+380971234561", "+380971234562", "+380971234563"]
CHATS = ["2348020000001@c.us", "2348020000002@c.us", "2348020000003@c.us", "2348020000004@c.us"]


@pytest.fixture
def hooks(tmp_path: Path, journal_at: str):
    """The receiver, on a fresh journal of each backend."""
    h = start_hooks(tmp_path / "media", journal_at)
    yield h
    h.close()


@pytest.fixture
def journal(journal_at: str):
    """The sender's own handle on the journal the receiver writes to."""
    with Journal(journal_at) as j:
        yield j


def digits(address: str) -> str:
    return address.lstrip("+")


# --------------------------------------------------------------------------- every provider's payloads


@pytest.mark.parametrize("reverse", [False, True], ids=["in-order", "reversed"])
def test_9bits_attempts_are_correlated_by_number_and_time(hooks, journal: Journal, reverse: bool) -> None:
    with NineBitsSim(token=KEYS["9bits"]["token"], fetch_media=False, default_media_seconds=12) as sim:
        send_to(nine(sim.base_url), NG, journal)
        sim.outcomes = {digits(NG[0]): ["no_answer", "answered"], digits(NG[1]): "busy"}
        sim.callback_url = hooks.url("9bits")
        assert sim.fire_callbacks(reverse=reverse) == 4
        got = rows(journal)
        # A second attempt answered beats the first unanswered one, in either order.
        assert (got[NG[0]].status, got[NG[0]].raw_status, got[NG[0]].duration_s, got[NG[0]].cost) == (
            "answered",
            "answered",
            12,
            "10",
        )
        assert (got[NG[1]].status, got[NG[1]].raw_status, got[NG[1]].duration_s, got[NG[1]].cost) == (
            "no_answer",
            "not answered",
            0,
            "0",
        )
        assert got[NG[2]].status == "answered"
        attempts = [e for e in events(journal) if e[2] == "hook:9bits"]
        assert Counter(e[1] for e in attempts) == {NG[0]: 2, NG[1]: 1, NG[2]: 1}  # every attempt is kept
        assert all(json.loads(e[3])["raw"]["to_number"] == digits(e[1]) for e in attempts)
        assert sim.fire_callbacks(duplicate=True, reverse=not reverse) == 8
    assert rows(journal) == got  # duplicates and late attempts change nothing


def test_messagebird_reports_are_answered_200_and_normalised(hooks, journal: Journal) -> None:
    with MessageBirdSim(access_key=KEYS["messagebird"]["key"]) as sim:
        send_to(bird(sim.base_url, report_url=hooks.url("messagebird")), NL, journal)
        sim.outcomes = {
            digits(NL[0]): "answered",
            digits(NL[1]): "busy",
            digits(NL[2]): "no_answer",
            digits(NL[3]): "machine",
        }
        assert sim.fire_callbacks() == 8  # "calling" and the final status for each
        assert {(a.method, a.status) for a in sim.callbacks_sent} == {("GET", 200)}  # nothing redelivered
        got = rows(journal)
        assert {a: (r.status, r.raw_status) for a, r in got.items()} == {
            NL[0]: ("answered", "answered"),
            NL[1]: ("busy", "busy"),
            NL[2]: ("failed", "failed"),
            NL[3]: ("machine", "machine"),
        }
        assert sim.fire_callbacks(duplicate=True, reverse=True) == 16
    assert rows(journal) == got


def test_messagebird_late_calling_report_does_not_undo_an_answer(hooks, journal: Journal) -> None:
    with MessageBirdSim(access_key=KEYS["messagebird"]["key"]) as sim:
        ref = send_to(bird(sim.base_url), NL[:1], journal)[NL[0]].ref
    report = {"id": ref, "reference": "camp-1", "recipient": digits(NL[0])}
    seen = []
    for status, when in [("calling", "10:00:00"), ("answered", "10:00:30"), ("calling", "10:00:00")]:
        assert (
            get(
                hooks.url("messagebird"),
                params={**report, "status": status, "statusDatetime": f"2030-01-01T{when}+00:00"},
            ).status_code
            == 200
        )
        seen.append(rows(journal)[NL[0]].status)
    assert seen == ["ringing", "answered", "answered"]


@pytest.mark.parametrize("reverse", [False, True], ids=["in-order", "reversed"])
def test_wawp_acks_never_move_back(hooks, journal: Journal, reverse: bool) -> None:
    with WawpSim("INST1", KEYS["wawp"]["access_token"], fetch_media=False) as sim:
        send_to(wawp(sim.base_url), CHATS, journal)
        sim.outcomes = {CHATS[0]: "played", CHATS[1]: "read", CHATS[2]: "failed", CHATS[3]: [1, 2, -1]}
        sim.callback_url = hooks.url("wawp")
        assert sim.fire_callbacks(reverse=reverse) == 4 + 3 + 1 + 3
        got = rows(journal)
        assert {a: (r.status, r.raw_status) for a, r in got.items()} == {
            CHATS[0]: ("played", "PLAYED"), CHATS[1]: ("delivered", "READ"),
            CHATS[2]: ("failed", "ERROR"), CHATS[3]: ("delivered", "DEVICE"),  # a failure after delivery does not undo it
        }  # fmt: skip
        sim.fire_callbacks(duplicate=True, reverse=not reverse)
    assert rows(journal) == got


def test_alphasms_upload_hook_keeps_duration_and_dtmf(hooks, journal: Journal, tmp_path: Path) -> None:
    wav = tmp_path / "v.wav"
    wav.write_bytes(make_audio("wav", seconds=3.0))
    with AlphaSmsSim(key=KEYS["alphasms"]["key"]) as sim:
        sent = send_to(alpha(sim.base_url, report_url=hooks.url("alphasms"), dtmf="true"), UA, journal, wav=wav)
        assert {d.payload["hook"] for d in sim.accepted} == {hooks.url("alphasms")}
        sim.outcomes = {digits(UA[0]): "answered", digits(UA[1]): "no_answer", digits(UA[2]): "busy"}
        sim.dtmf[digits(UA[0])] = "7"
        assert sim.fire_callbacks() == 3
        got = rows(journal)
        assert {a: (r.status, r.raw_status, r.duration_s, r.dtmf) for a, r in got.items()} == {
            UA[0]: ("answered", "ANSWERED", 3, "7"),
            UA[1]: ("no_answer", "NO ANSWER", 0, None),
            UA[2]: ("busy", "BUSY", 0, None),
        }
        assert {a: r.ref for a, r in got.items()} == {a: r.ref for a, r in sent.items()}
        sim.fire_callbacks(duplicate=True, reverse=True)
    assert rows(journal) == got


# --------------------------------------------------------------------------- what the receiver refuses


def test_wrong_or_missing_secret_and_unknown_provider_get_the_same_404(hooks, journal: Journal) -> None:
    with NineBitsSim(token=KEYS["9bits"]["token"], fetch_media=False) as sim:
        send_to(nine(sim.base_url), NG[:1], journal)
        ((_, call),) = sim.call_objects()
    secret = hooks.journal.hook_secret()
    before = rows(journal)
    paths = [f"/hooks/9bits/{secret[:-1]}", f"/hooks/9bits/{secret}x", "/hooks/9bits/", "/hooks/9bits", "/hooks/",
             f"/hooks/nosuch/{secret}", f"/hooks/9bits/{secret}/more", f"/hooks//{secret}"]  # fmt: skip
    answers = {
        (r.status_code, r.content) for p in paths for r in (post(hooks.base + p, json=call), get(hooks.base + p))
    }
    assert answers == {(404, b"not found\n")}
    assert rows(journal) == before and events(journal) == []
    assert httpx.put(hooks.url("9bits"), json=call).status_code == 405  # the right secret, a wrong method
    assert post(hooks.url("9bits"), json=call).status_code == 200  # the right secret works
    assert rows(journal)[NG[0]].status == "answered"


def test_oversized_body_gets_413_and_records_nothing(hooks) -> None:
    pad = {"event": "session.status", "pad": "x" * (60 * 1024)}
    assert post(hooks.url("wawp"), json=pad).status_code == 200  # under the 64 KiB cap: read (and ignored)
    big = {"event": "message.ack", "pad": "x" * (64 * 1024)}
    assert post(hooks.url("wawp"), json=big).status_code == 413
    assert events(hooks.journal) == []


MALFORMED = [
    ("9bits", "POST", {"content": b"{not json", "headers": {"content-type": "application/json"}}, "not JSON"),
    ("9bits", "POST", {"json": {"to_number": "2348020000001", "answer_at": None}}, "start_at"),
    ("9bits", "POST", {"json": {"start_at": "2030-01-01 10:00:00"}}, "to_number"),
    ("9bits", "POST", {"json": ["not an object"]}, "JSON object"),
    ("messagebird", "GET", {"params": {"id": "e807", "status": "answered"}}, "without recipient"),
    ("messagebird", "GET", {}, "without id, recipient, status"),
    ("wawp", "POST", {"json": {"event": "message.ack", "payload": {"id": "true_1@c.us_X"}}}, "ack None"),
    ("wawp", "POST", {"json": {"event": "message.ack", "payload": {"ack": 2}}}, "without a message id"),
    ("alphasms", "POST", {"json": {"id": "abc", "status": "ANSWERED"}}, "numeric id"),
    ("alphasms", "POST", {"json": {"id": 100500, "status": "ANSWERED", "duration": "long"}}, "duration"),
]
_CALL = {"start_at": "2030-01-01 10:00:00", "answer_at": "2030-01-01 10:00:09", "to_number": "2348020000001"}
_JSON = {"content-type": "application/json"}
# Numbers a provider sends must be finite: one that is not makes the callback a 400, never a stored inf or nan.
NOT_FINITE = [
    ("9bits", "POST", {"json": {**_CALL, "call_duration": "1e400"}}, "call_duration '1e400' is not a finite number"),
    ("9bits", "POST", {"json": {**_CALL, "call_duration": "nan"}}, "call_duration 'nan' is not a finite number"),
    (
        "9bits",
        "POST",
        {"json": {**_CALL, "call_duration": "-Infinity"}},
        "call_duration '-Infinity' is not a finite number",
    ),
    ("9bits", "POST", {"json": {**_CALL, "call_duration": "-5"}}, "call_duration '-5' is negative"),
    (
        "9bits",
        "POST",
        {"json": {**_CALL, "call_duration": 10**400}},
        "call_duration <1329-bit integer> is not a finite number",
    ),
    ("9bits", "POST", {"json": {**_CALL, "call_duration": [30]}}, "call_duration [30] is not a number"),
    (
        "9bits",
        "POST",
        {"content": b'{"call_duration": 1e400, "to_number": "2348020000001"}', "headers": _JSON},
        "number 1e400 is out of range",
    ),
    (
        "9bits",
        "POST",
        {"content": b'{"call_duration": NaN, "to_number": "2348020000001"}', "headers": _JSON},
        "NaN is not a number JSON allows",
    ),
    (
        "alphasms",
        "POST",
        {"json": {"id": 100500, "status": "ANSWERED", "duration": "Infinity"}},
        "duration 'Infinity' is not a finite number",
    ),
    (
        "alphasms",
        "POST",
        {"content": b'{"id": 1, "status": "ANSWERED", "duration": -Infinity}', "headers": _JSON},
        "-Infinity is not a number JSON allows",
    ),
]
# JSON bombs: deep nesting and integers past Python's 4300 digits are 400s, not 500s.
BOMBS = [
    ("9bits", "POST", {"content": b"[" * 30000 + b"]" * 30000, "headers": _JSON}, "nested too deeply"),
    (
        "wawp",
        "POST",
        {"content": b'{"event": "message.ack", "payload": ' + b'{"a": ' * 6000 + b"1" + b"}" * 6001, "headers": _JSON},
        "nested too deeply",
    ),
    (
        "alphasms",
        "POST",
        {"content": b'{"id": ' + b"9" * 30000 + b', "status": "ANSWERED"}', "headers": _JSON},
        "Exceeds the limit (4300 digits)",
    ),
    (
        "wawp",
        "POST",
        {
            "content": b'{"event": "message.ack", "payload": {"id": "true_1@c.us_A", "ack": ' + b"7" * 4000 + b"}}",
            "headers": _JSON,
        },
        None,
    ),
]


def test_malformed_payloads_get_400_and_the_server_keeps_serving(hooks) -> None:
    for name, method, kw, reason in MALFORMED + NOT_FINITE + BOMBS[:3]:
        response = (get if method == "GET" else post)(hooks.url(name), **kw)
        assert (response.status_code, reason in response.text) == (400, True), (name, kw, response.text)
    recorded = [json.loads(e[3]) for e in events(hooks.journal)]
    assert len(recorded) == len(MALFORMED + NOT_FINITE + BOMBS[:3]) and all("malformed" in e for e in recorded)
    assert (
        get(hooks.url("messagebird"), params={"id": "x", "recipient": "31612345671", "status": "answered"}).status_code
        == 200
    )


def test_a_huge_but_valid_number_is_read_and_nothing_stored_is_not_finite(hooks, journal: Journal) -> None:
    name, method, kw, _ = BOMBS[3]
    assert post(hooks.url(name), **kw).status_code == 200  # a 4000-digit ack is a number: unknown ack, unmatched id
    with NineBitsSim(token=KEYS["9bits"]["token"], fetch_media=False) as sim:
        send_to(nine(sim.base_url), NG[:1], journal)
    assert post(hooks.url("9bits"), json={**_CALL, "call_duration": "1e400", "start_at": _now()}).status_code == 400
    assert post(hooks.url("9bits"), json={**_CALL, "call_duration": "41.5", "start_at": _now()}).status_code == 200
    row = rows(journal)[NG[0]]
    assert (row.status, row.duration_s) == ("answered", 41.5)
    payloads = [e[3] for e in events(journal)]
    assert not any(word in p for p in payloads for word in ("Infinity", "NaN"))


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")


def test_unknown_recipients_are_answered_200_and_recorded(hooks) -> None:
    report = {"id": "feedbeef", "reference": "elsewhere-1", "recipient": "31612345671", "status": "delivered"}
    call = {"start_at": "2030-01-01 10:00:00", "answer_at": None, "end_at": "2030-01-01 10:00:30", "call_duration": 0,
            "to_number": "2348099999999", "total_amount": "0"}  # fmt: skip
    answers = [
        get(hooks.url("messagebird"), params=report),  # MessageBird stops redelivering only on 200
        post(hooks.url("9bits"), json=call),
        post(hooks.url("wawp"), json={"event": "message.ack", "payload": {"id": "true_1@c.us_NOPE", "ack": 3}}),
        post(hooks.url("alphasms"), json={"id": 424242, "phone": "380971234561", "status": "ANSWERED", "duration": 5}),
    ]
    assert [(r.status_code, r.text) for r in answers] == [(200, "OK\n")] * 4
    recorded = [(e[0], e[2], json.loads(e[3])) for e in events(hooks.journal)]
    assert [(c, s, p["unmatched"]) for c, s, p in recorded] == [
        (None, "hook:messagebird", True),
        (None, "hook:9bits", True),
        (None, "hook:wawp", True),
        (None, "hook:alphasms", True),
    ]
    assert recorded[0][2]["raw"]["reference"] == "elsewhere-1"


# --------------------------------------------------------------------------- the journal is the state


def test_receiver_restart_in_the_middle_loses_nothing(tmp_path: Path, journal_at: str, journal: Journal) -> None:
    first = start_hooks(tmp_path / "media", journal_at)
    with WawpSim("INST1", KEYS["wawp"]["access_token"], fetch_media=False) as sim:
        send_to(wawp(sim.base_url), CHATS, journal)
        sim.callback_url = old_url = first.url("wawp")
        assert sim.fire_callbacks(only=CHATS[:2]) == 8
        first.close()
        second = start_hooks(tmp_path / "media", journal_at)  # a new process would do the same
        try:
            assert second.url("wawp").rsplit("/", 1)[1] == old_url.rsplit("/", 1)[1]  # the same secret
            sim.callback_url = second.url("wawp")
            assert sim.fire_callbacks(only=CHATS[2:]) == 8
            assert sim.fire_callbacks(only=CHATS[:1]) == 4  # a provider retrying what the old receiver already had
        finally:
            second.close()
    assert statuses(journal) == dict.fromkeys(CHATS, "played")


# --------------------------------------------------------------------------- the secret stays secret


def test_the_server_log_and_dry_runs_never_show_the_secret(hooks, caplog: pytest.LogCaptureFixture) -> None:
    secret = hooks.journal.hook_secret()
    caplog.set_level(logging.INFO, logger="voxpipe.serve.access")
    post(hooks.url("9bits"), content=b"nope")
    post(hooks.base + "/hooks/9bits/wrong-secret", json={})
    assert (
        '"POST /hooks/9bits/***" 400' in caplog.text and secret not in caplog.text and "wrong-secret" not in caplog.text
    )
    chunk = Chunk("camp", 1, (Recipient(UA[0]),))
    mb = bird("https://mb.example", report_url=hooks.url("messagebird"))
    shown = mb.redact(mb.build(chunk, Payload(Mode.TTS, script=parse("Hi"))))
    assert shown["body"]["reportUrl"].endswith("/hooks/messagebird/***")
    wav = hooks.root / "v.wav"
    wav.write_bytes(make_audio("wav", seconds=0.2))
    up = alpha("https://alpha.example", report_url=hooks.url("alphasms"))
    shown = up.redact(up.build(chunk, Payload(Mode.MEDIA, media_path=wav, mime="audio/wav")))
    assert shown["body"]["hook"].endswith("/hooks/alphasms/***")
    assert secret not in json.dumps(shown)


# --------------------------------------------------------------------------- vocabularies (pure parsing)


def _request(method: str = "POST", body: object = None, query: dict | None = None) -> Callback:
    return Callback(method, "/hooks/x/y", query=query or {}, headers={"content-type": "application/json"},
                   body=b"" if body is None else json.dumps(body).encode())  # fmt: skip


VOCABULARY = [
    # (provider class, request, (status, raw status))
    *[
        (MessageBird, _request("GET", query={"id": "m", "recipient": "316", "status": raw}), (status, raw))
        for raw, status in [
            ("calling", "ringing"),
            ("answered", "answered"),
            ("delivered", "delivered"),
            ("failed", "failed"),
            ("delivery_failed", "failed"),
            ("busy", "busy"),
            ("machine", "machine"),
            ("expired", "expired"),
            ("scheduled", "queued"),
            ("buffered", "queued"),
            ("sent", "accepted"),
            ("teleported", "unknown"),
        ]
    ],
    *[
        (Wawp, _request(body={"event": "message.ack", "payload": {"id": "true_1@c.us_A", "ack": ack}}), expected)
        for ack, expected in [
            (-1, ("failed", "ERROR")),
            (0, ("queued", "PENDING")),
            (1, ("accepted", "SERVER")),
            (2, ("delivered", "DEVICE")),
            (3, ("delivered", "READ")),
            (4, ("played", "PLAYED")),
            ("4", ("played", "PLAYED")),
            (7, ("unknown", "ack 7")),
        ]
    ],
    *[
        (AlphaSms, _request(body={"id": 1, "phone": "380971234561", "status": raw}), (status, raw))
        for raw, status in [
            ("ANSWERED", "answered"),
            ("NO ANSWER", "no_answer"),
            ("BUSY", "busy"),
            ("UNDELIVERABLE", "failed"),
            ("REJECTED", "failed"),
            ("EXPIRED", "expired"),
            ("ACCEPTED", "accepted"),
            ("QUEUED", "queued"),
            ("DELIVERED", "delivered"),
            ("no_answer", "no_answer"),
            ("VOICEMAIL", "unknown"),
        ]
    ],
    (
        NineBits,
        _request(
            body={
                "start_at": "2030-01-01 10:00:00",
                "answer_at": "2030-01-01 10:00:09",
                "call_duration": "41",
                "to_number": "2348020000001",
                "total_amount": 30,
            }
        ),
        ("answered", "answered"),
    ),  # fmt: skip
    (
        NineBits,
        _request(body={"start_at": "2030-01-01 10:00:00", "answer_at": "", "to_number": "2348020000001"}),
        ("no_answer", "not answered"),
    ),
]


@pytest.mark.parametrize(("cls", "request_", "expected"), VOCABULARY)
def test_status_vocabulary(cls: type[Provider], request_: Callback, expected: tuple[str, str]) -> None:
    (update,) = cls().parse_callback(request_)
    assert (update.status, update.raw_status) == expected


def test_wawp_ignores_other_session_events_and_9bits_reads_every_field() -> None:
    assert Wawp().parse_callback(_request(body={"event": "message", "payload": {"id": "x"}})) == []
    (call,) = NineBits().parse_callback(_request(body=[{"start_at": "2030-01-01 10:00:00", "answer_at": "2030-01-01 10:00:09",
                                                     "end_at": "2030-01-01 10:00:50", "call_duration": "41",
                                                     "to_number": "+2348020000001", "total_amount": 30}]))  # fmt: skip
    start = datetime(2030, 1, 1, 10, tzinfo=UTC).timestamp()
    assert (call.address, call.duration_s, call.cost, call.at) == ("+2348020000001", 41, "30", start + 50)
    assert (call.sent_before, call.sent_within_s) == (start + 14 * 3600, 48 * 3600)


@pytest.mark.parametrize(("zone_hours", "matched"), [(-12, True), (0, True), (14, True), (72, False)])
def test_9bits_times_without_a_zone_still_find_the_send(journal: Journal, zone_hours: int, matched: bool) -> None:
    """A call a minute after the send, written in the provider's local time (72: three days later)."""
    journal.open_campaign("camp", "9bits", "media", "f", {})
    journal.add_recipients("camp", [Recipient(NG[0])])
    journal.record("camp", [(NG[0], "accepted", "ref", None)])
    local = datetime.fromtimestamp(rows(journal)[NG[0]].sent_at + 60 + zone_hours * 3600, UTC).strftime(
        "%Y-%m-%d %H:%M:%S"
    )
    (update,) = NineBits().parse_callback(
        _request(body={"start_at": local, "answer_at": local, "call_duration": 5, "to_number": digits(NG[0])})
    )
    assert bool(apply_update(journal, update, source="hook:9bits").matched) is matched
    assert statuses(journal)[NG[0]] == ("answered" if matched else "accepted")


def test_alphasms_report_url_is_for_uploads_only() -> None:
    p = alpha("https://alpha.example", report_url="https://voice.example.com/hooks/alphasms/s")
    with pytest.raises(
        ConfigError, match=r"^alphasms: option report_url works with audio uploads only \(TTS calls have no hook\)"
    ):
        p.check(Payload(Mode.TTS, script=parse("Hello")))


def test_a_receiver_given_a_path_opens_the_journal_once_it_exists(tmp_path: Path) -> None:
    path = tmp_path / "later.db"
    (tmp_path / "media").mkdir()
    with AppServer(create_app(tmp_path / "media", path)) as server:  # closes the journal it opened when it stops
        base = server.url
        assert post(f"{base}/hooks/wawp/anything", json={}).status_code == 404 and not path.exists()
        with Journal(path) as journal:  # `voxpipe hooks` or a send creates it
            url = hook_url(base, "wawp", journal.hook_secret())
        assert post(url, json={"event": "message.ack", "payload": {"id": "true_1@c.us_A", "ack": 2}}).status_code == 200
    with Journal(path) as journal:
        assert [e[2] for e in events(journal)] == ["hook:wawp"]
