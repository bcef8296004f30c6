"""Wawp (WhatsApp) provider: request shape, recipient forms, limits, error
mapping and redaction as tables, then sends through sender.dispatch against
the Wawp simulator, which fetches and decodes the voice note over real HTTP."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from tests.simulators import MediaServer, WawpSim, make_audio
from voxpipe.pipeline.retry import RetryPolicy
from voxpipe.sender.dispatch import SendSettings, dry_run, http_client, send
from voxpipe.sender.errors import ConfigError
from voxpipe.sender.journal import Journal
from voxpipe.sender.message import Message
from voxpipe.sender.providers import Chunk, Mode, Outcome, Payload
from voxpipe.sender.providers.wawp import Wawp, is_opus
from voxpipe.sender.recipients import Recipient, normalize_recipients

INSTANCE, TOKEN = "INST-7f3a9c21e0", "wawp-Tok/en+=&x y%"
FAST = SendSettings(retry=RetryPolicy(attempts=4, base_s=0.01, max_s=0.2), timeout_s=5)
OPUS = "audio/ogg; codecs=opus"
PHONE, GROUP = Recipient("+201012345678"), Recipient("120363025246125486@g.us")
URL = "https://cdn.example.com/whatsapp-3f2a.ogg"
REPLY = "true_201012345678@c.us_3EB0C767D26A1D2B5F21"


def provider(base_url: str = "https://api.example.net", **options: str) -> Wawp:
    return Wawp(base_url=base_url, credentials={"instance_id": INSTANCE, "access_token": TOKEN}, options=options)


def media(url: str = URL, mime: str | None = OPUS) -> Payload:
    return Payload(Mode.MEDIA, media_url=url, mime=mime)


def query(request: httpx.Request) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(str(request.url)).query, keep_blank_values=True))


@pytest.fixture(scope="module")
def files():
    with MediaServer() as ms:
        ms.add("/v.ogg", make_audio("ogg_opus"), "audio/ogg")
        ms.add("/a.mp3", make_audio("mp3"), "audio/mpeg")
        ms.add("/stereo.ogg", make_audio("ogg_opus_stereo"), "audio/ogg")
        ms.add("/octet.ogg", make_audio("ogg_opus"), "application/octet-stream")
        yield ms


@pytest.fixture
def sim():
    with WawpSim(INSTANCE, TOKEN) as s:
        yield s
        assert s.internal_errors == []


# --------------------------------------------------------------------------- request shape

BASE_QUERY = {"instance_id": INSTANCE, "access_token": TOKEN, "file[mimetype]": OPUS, "convert": "false"}
SHAPES = [
    # (recipient, payload, options, chatId, filename, extra)
    (PHONE, media(), {}, "201012345678@c.us", "whatsapp-3f2a.ogg", {}),
    (GROUP, media(), {}, "120363025246125486@g.us", "whatsapp-3f2a.ogg", {}),
    (Recipient("1203630252461254@newsletter"), media(), {}, "1203630252461254@newsletter", "whatsapp-3f2a.ogg", {}),
    (PHONE, media("https://h/x/voice.ogg?X-Amz-Signature=abc&e=1"), {}, "201012345678@c.us", "voice.ogg", {}),
    (PHONE, media("https://h/x/"), {}, "201012345678@c.us", "voice.ogg", {}),  # no file name in the URL
    (
        PHONE,
        Payload(Mode.MEDIA, media_url=URL, mime=OPUS, media_path=Path("/out/whatsapp-9e1.ogg")),
        {},
        "201012345678@c.us",
        "whatsapp-9e1.ogg",
        {},
    ),
    (PHONE, media(), {"reply_to": f" {REPLY} "}, "201012345678@c.us", "whatsapp-3f2a.ogg", {"reply_to": REPLY}),
]


@pytest.mark.parametrize(("recipient", "payload", "options", "chat", "filename", "extra"), SHAPES)
def test_request_shape(
    recipient: Recipient, payload: Payload, options: dict, chat: str, filename: str, extra: dict
) -> None:
    request = provider(**options).build(Chunk("c", 1, (recipient,)), payload)
    assert (request.method, request.url.path) == ("POST", "/v2/send/voice")
    assert str(request.url).startswith("https://api.example.net/v2/send/voice?")
    assert query(request) == {
        **BASE_QUERY,
        "chatId": chat,
        "file[url]": payload.media_url,
        "file[filename]": filename,
        **extra,
    }
    assert request.content == b""


RECIPIENT_FORMS = [
    # (raw input, chatId sent, or the rejection)
    ("+20 10 1234 5678", "201012345678@c.us"),
    ("201012345678@c.us", "201012345678@c.us"),
    ("120363025246125486-1612345678@g.us", "120363025246125486-1612345678@g.us"),
    ("1203630252461254@newsletter", "1203630252461254@newsletter"),
    ("abc@g.us", "abc@g.us: not a valid chat id (digits@c.us, digits@g.us or digits@newsletter)"),
    ("12@c.us", "12@c.us: not a valid chat id (digits@c.us, digits@g.us or digits@newsletter)"),
]


@pytest.mark.parametrize(("raw", "expected"), RECIPIENT_FORMS)
def test_recipient_forms(raw: str, expected: str) -> None:
    assert Wawp.recipient_form == "whatsapp"
    valid, rejected = normalize_recipients([raw], chats=True)
    if rejected:
        assert rejected[0].reason == expected
        return
    assert query(provider().build(Chunk("c", 1, tuple(valid)), media()))["chatId"] == expected


# --------------------------------------------------------------------------- limits and settings


def test_one_chat_per_request() -> None:
    recipients = [PHONE, GROUP, Recipient("+2348020000001")]
    requests = dry_run(provider(), media(), recipients, "c")
    assert [dict(parse_qsl(urlsplit(r["url"]).query))["chatId"] for r in requests] == [r.chat_id for r in recipients]
    assert Wawp.describe()["max_recipients"] == 1 and Wawp.media_profile == "whatsapp"


PAYLOAD_ERRORS = [
    (
        media(mime="audio/mpeg"),
        "wawp: WhatsApp voice notes must be Ogg/Opus (audio/ogg; codecs=opus), this audio is audio/mpeg; prepare it with the whatsapp profile",
    ),
    (
        media(mime="audio/ogg"),
        "wawp: WhatsApp voice notes must be Ogg/Opus (audio/ogg; codecs=opus), this audio is audio/ogg; prepare it with the whatsapp profile",
    ),
    (
        media(mime="audio/opus"),
        "wawp: WhatsApp voice notes must be Ogg/Opus (audio/ogg; codecs=opus), this audio is audio/opus; prepare it with the whatsapp profile",
    ),
    (
        Payload(Mode.MEDIA, media_path=Path("/tmp/a.ogg"), mime=OPUS),
        "wawp: sends audio by URL; give a `store` (to host the prepared file) or a `media_url`",
    ),
    (media(mime=OPUS), None),
    (media(mime='Audio/Ogg;codecs="opus"'), None),
    (media("https://h/greeting", mime=None), None),  # a --media-url of unknown type: Wawp itself judges it
    (media("https://h/greeting.opus?sig=1", mime=None), None),
    (
        media("https://h/greeting.mp3", mime=None),
        "wawp: WhatsApp voice notes must be Ogg/Opus (audio/ogg; codecs=opus); greeting.mp3 is named as .mp3; prepare it with the whatsapp profile",
    ),
]


@pytest.mark.parametrize(("payload", "message"), PAYLOAD_ERRORS)
def test_payload_checks(payload: Payload, message: str | None) -> None:
    if message is None:
        provider().check(payload)
        return
    with pytest.raises(ConfigError) as err:
        provider().check(payload)
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("mime", "ok"),
    [
        (OPUS, True),
        ("audio/ogg;codecs=opus", True),
        ("audio/ogg; codecs=vorbis", False),
        ("audio/webm; codecs=opus", False),
    ],
)
def test_is_opus(mime: str, ok: bool) -> None:
    assert is_opus(mime) is ok


CONFIG_ERRORS = [
    (
        {"credentials": {"access_token": TOKEN}},
        "wawp: missing credential instance_id: set VOXPIPE_WAWP_INSTANCE_ID",
    ),
    (
        {"credentials": {"instance_id": INSTANCE}},
        "wawp: missing credential access_token: set VOXPIPE_WAWP_ACCESS_TOKEN",
    ),
    (
        {"credentials": {"instance_id": INSTANCE, "access_token": TOKEN}, "options": {"reply_to": "3EB0C767"}},
        "wawp: option reply_to='3EB0C767': not a serialized WhatsApp message id (like true_201234567890@c.us_3EB0...)",
    ),
    (
        {"credentials": {"instance_id": INSTANCE, "access_token": TOKEN}, "options": {"language": "en"}},
        "wawp: option language is not one of wawp's (its options: reply_to)",
    ),
]


@pytest.mark.parametrize(("kwargs", "message"), CONFIG_ERRORS)
def test_config_errors(monkeypatch: pytest.MonkeyPatch, kwargs: dict, message: str) -> None:
    monkeypatch.delenv("VOXPIPE_WAWP_INSTANCE_ID", raising=False)
    monkeypatch.delenv("VOXPIPE_WAWP_ACCESS_TOKEN", raising=False)
    with pytest.raises(ConfigError) as err:
        Wawp(**kwargs).require_credentials()  # a missing credential is allowed until something is sent
    assert str(err.value) == message


# --------------------------------------------------------------------------- error mapping

SIM_ERRORS = [
    # (case, media path, error)
    (
        "wrong token",
        "/v.ogg",
        "wawp: HTTP 401: authentication failed (check VOXPIPE_WAWP_INSTANCE_ID and VOXPIPE_WAWP_ACCESS_TOKEN); Unauthorized",
    ),
    ("mp3", "/a.mp3", "wawp: HTTP 400: file is mp3/mp3, not OGG/Opus (send convert=true or convert it)"),
    ("stereo", "/stereo.ogg", "wawp: HTTP 400: voice notes must be mono, file has 2 channels"),
    (
        "octet",
        "/octet.ogg",
        "wawp: HTTP 400: media server answered Content-Type 'application/octet-stream', expected audio/ogg",
    ),
    ("gone", "/gone.ogg", "wawp: HTTP 400: media_url answered HTTP 404"),
]


@pytest.mark.parametrize(("case", "path", "error"), SIM_ERRORS)
def test_simulator_errors_map_to_rejections(sim: WawpSim, files: MediaServer, case: str, path: str, error: str) -> None:
    token = "wrong" if case == "wrong token" else TOKEN
    p = Wawp(base_url=sim.base_url, credentials={"instance_id": INSTANCE, "access_token": token})
    chunk = Chunk("c", 1, (PHONE,))
    with httpx.Client(timeout=5) as client:
        response = client.send(p.build(chunk, media(files.url(path), mime=None)))
    assert p.parse(chunk, response) == {PHONE: Outcome("rejected", error=error)}
    assert sim.accepted == []


def test_simulator_success_and_reply(sim: WawpSim, files: MediaServer) -> None:
    p = Wawp(
        base_url=sim.base_url, credentials={"instance_id": INSTANCE, "access_token": TOKEN}, options={"reply_to": REPLY}
    )
    chunk = Chunk("c", 1, (GROUP,))
    with httpx.Client(timeout=5) as client:
        response = client.send(p.build(chunk, media(files.url("/v.ogg"))))
    (delivery,) = sim.accepted
    assert p.parse(chunk, response) == {GROUP: Outcome("accepted", ref=delivery.ref)}
    assert delivery.ref.startswith("true_120363025246125486@g.us_") and response.json()["hasQuotedMsg"] is True


SERIAL = "true_201012345678@c.us_3EB0AA"
RESPONSES = [
    (200, {"id": {"_serialized": SERIAL}, "_data": {"id": {"_serialized": "other"}}}, Outcome("accepted", ref=SERIAL)),
    (201, {"_data": {"id": {"fromMe": True, "_serialized": SERIAL}}}, Outcome("accepted", ref=SERIAL)),
    (
        200,
        {"id": "plain", "_data": "x"},
        Outcome("unknown", error="wawp: HTTP 200 without a message id; it may have been sent"),
    ),
    (200, "<html>ok</html>", Outcome("unknown", error="wawp: HTTP 200 without a message id; it may have been sent")),
    # A 2xx the client cannot read is unknown (Wawp has no look-up, so it stays so), never rejected.
    *[
        (200, body, Outcome("unknown", error="wawp: HTTP 200 without a message id; it may have been sent"))
        for body in (
            b'{"id": {"fromMe": true, "remote": "201012345678@c.us", "_serialized": "true_2010',
            b"",
            {"id": {"_serialized": ""}},
            {"id": {"_serialized": None}},
            b'{"id": {"_serialized": "' + SERIAL.encode() + b'"}, "t": 1e400}',
            b'{"id": {"_serialized": "' + SERIAL.encode() + b'"}, "ack": NaN}',
            {"status": "ok"},
        )
    ],
    (
        200,
        {"status": "error", "message": "Instance is not connected"},
        Outcome("rejected", error="wawp: HTTP 200: Instance is not connected"),
    ),
    (
        403,
        {"status": "error", "message": "subscription_required"},
        Outcome("rejected", error="wawp: HTTP 403: not allowed for this Wawp plan or instance; subscription_required"),
    ),
    (
        400,
        {"status": "error", "message": "chatId is required"},
        Outcome("rejected", error="wawp: HTTP 400: chatId is required"),
    ),
    (404, "Not Found", Outcome("rejected", error="wawp: HTTP 404: not found (check the base URL)")),
    (422, {"error": "weird"}, Outcome("rejected", error="wawp: HTTP 422: Unprocessable Entity")),
]


@pytest.mark.parametrize(("status", "body", "outcome"), RESPONSES)
def test_response_shapes(status: int, body: object, outcome: Outcome) -> None:
    response = (
        httpx.Response(status, json=body) if isinstance(body, dict)
        else httpx.Response(status, content=body) if isinstance(body, bytes) else httpx.Response(status, text=body)
    )  # fmt: skip
    assert provider().parse(Chunk("c", 1, (PHONE,)), response) == {PHONE: outcome}
    assert provider().can_look_up(media()) is False


# --------------------------------------------------------------------------- redaction


def test_redaction_hides_both_credentials_in_the_url() -> None:
    p = provider()
    request = p.build(Chunk("c", 1, (PHONE,)), media())
    shown = p.redact(request)
    text = json.dumps(shown)
    assert INSTANCE not in text and TOKEN not in text and "Tok" not in text and "7f3a9c21e0" not in text
    assert "instance_id=***" in shown["url"] and "access_token=***" in shown["url"]
    assert "chatId=201012345678%40c.us" in shown["url"]
    assert TOKEN in dict(parse_qsl(request.url.query.decode()))["access_token"]  # the real request still carries it


# --------------------------------------------------------------------------- end to end


def _send(p: Wawp, url: str, recipients: list[Recipient], journal: Journal, settings: SendSettings = FAST) -> dict:
    with http_client(settings) as client:
        events = list(
            send(p, Message(media_url=url), media(url, None), recipients, [], journal, client, settings, "camp")
        )
    return {row.address: row for row in events[-1].rows}


def test_send_with_retryable_faults_accepts_every_chat_once(sim: WawpSim, files: MediaServer, tmp_path: Path) -> None:
    sim.inject("429", retry_after=1)
    sim.inject("503", times=2)
    recipients = [PHONE, GROUP, Recipient("1203630252461254@newsletter")] + [
        Recipient(f"+23480{20000000 + i}") for i in range(5)
    ]
    p = Wawp(base_url=sim.base_url, credentials={"instance_id": INSTANCE, "access_token": TOKEN})
    with Journal(tmp_path / "j.db") as journal:
        rows = _send(p, files.url("/v.ogg"), recipients, journal)
    assert {r.status for r in rows.values()} == {"accepted"}
    assert sim.accepted_counts() == Counter({r.chat_id: 1 for r in recipients})
    assert sorted(r.ref for r in rows.values()) == sorted(d.ref for d in sim.accepted)  # each chat keeps its message id
    assert Counter(r.status for r in sim.requests) == Counter({200: 8, 429: 1, 503: 2})


@pytest.mark.parametrize("fault", ["accept_then_500", "accept_then_drop"])
def test_ambiguous_fault_is_unknown_and_not_resent(
    sim: WawpSim, files: MediaServer, tmp_path: Path, fault: str
) -> None:
    sim.inject(fault)
    p = Wawp(base_url=sim.base_url, credentials={"instance_id": INSTANCE, "access_token": TOKEN})
    with Journal(tmp_path / "j.db") as journal:
        rows = _send(p, files.url("/v.ogg"), [PHONE], journal)
        assert rows[PHONE.address].status == "unknown"
        again = _send(p, files.url("/v.ogg"), [PHONE], journal)
    assert again[PHONE.address].status == "unknown"
    assert sim.accepted_counts() == Counter({PHONE.chat_id: 1})
    assert sim.requests_count == 1
