"""9bits provider: request shape, limits, error mapping and redaction as tables,
then sends through sender.dispatch against the 9bits simulator over real HTTP."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.simulators import MediaServer, NineBitsSim, make_audio
from voxpipe.pipeline.retry import RetryPolicy
from voxpipe.sender.dispatch import SendSettings, dry_run, http_client, send
from voxpipe.sender.errors import ConfigError
from voxpipe.sender.journal import Journal
from voxpipe.sender.message import Message
from voxpipe.sender.providers import Chunk, Mode, Outcome, Payload
from voxpipe.sender.providers.ninebits import NineBits
from voxpipe.sender.recipients import Recipient

TOKEN = "9b-secret-token-Zq8/+="
FAST = SendSettings(retry=RetryPolicy(attempts=4, base_s=0.01, max_s=0.2), timeout_s=5)
A, B, C = Recipient("+2348020000001"), Recipient("+2348030000002"), Recipient("+447700900123")
MEDIA = "https://cdn.example.com/m/hello.mp3"


def provider(base_url: str | None = "https://api.example.net", **options: str) -> NineBits:
    return NineBits(base_url=base_url, credentials={"token": TOKEN}, options=options)


def numbers(n: int) -> list[Recipient]:
    return [Recipient(f"+23480{20000000 + i}") for i in range(n)]


@pytest.fixture(scope="module")
def media():
    with MediaServer() as ms:
        ms.add("/hello.mp3", make_audio("mp3"), "audio/mpeg")
        ms.add("/voice.ogg", make_audio("ogg_opus"), "audio/ogg")
        yield ms


@pytest.fixture
def sim():
    with NineBitsSim(token=TOKEN) as s:
        yield s
        assert s.internal_errors == []


# --------------------------------------------------------------------------- request shape

SHAPES = [
    # (base_url, recipients, url, to)
    ("https://api.example.net", (A,), "https://api.example.net/v1/sendvoice", ["2348020000001"]),
    (
        "https://api.example.net/",
        (A, B, C),
        "https://api.example.net/v1/sendvoice",
        ["2348020000001", "2348030000002", "447700900123"],
    ),
    ("http://127.0.0.1:8080/white/label", (B,), "http://127.0.0.1:8080/white/label/v1/sendvoice", ["2348030000002"]),
]


@pytest.mark.parametrize(("base_url", "recipients", "url", "to"), SHAPES)
def test_request_shape(base_url: str, recipients: tuple[Recipient, ...], url: str, to: list[str]) -> None:
    request = provider(base_url).build(Chunk("c", 1, recipients), Payload(Mode.MEDIA, media_url=MEDIA))
    assert (request.method, str(request.url)) == ("POST", url)
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {"to": to, "media_url": MEDIA}


def test_base_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOXPIPE_9BITS_URL", "http://sim.local:9/")
    monkeypatch.setenv("VOXPIPE_9BITS_TOKEN", TOKEN)
    assert NineBits().base_url == "http://sim.local:9"
    assert NineBits().describe()["default_base_url"] == "https://api.9bits.net"


# --------------------------------------------------------------------------- limits and settings


@pytest.mark.parametrize(("count", "sizes"), [(1, [1]), (1000, [1000]), (1001, [1000, 1]), (2500, [1000, 1000, 500])])
def test_chunks_of_at_most_1000(count: int, sizes: list[int]) -> None:
    requests = dry_run(provider(), Payload(Mode.MEDIA, media_url=MEDIA), numbers(count), "c")
    assert [len(r["body"]["to"]) for r in requests] == sizes


CONFIG_ERRORS = [
    ({"credentials": {}}, "9bits: missing credential token: set VOXPIPE_9BITS_TOKEN"),
    (
        {"credentials": {"token": TOKEN}, "options": {"language": "en"}},
        "9bits: option language is not one of 9bits's (its options: none)",
    ),
    (
        {"credentials": {"token": TOKEN}, "base_url": "api.9bits.net"},
        "9bits: base URL 'api.9bits.net' must start with http:// or https://",
    ),
]


@pytest.mark.parametrize(("kwargs", "message"), CONFIG_ERRORS)
def test_config_errors(monkeypatch: pytest.MonkeyPatch, kwargs: dict, message: str) -> None:
    monkeypatch.delenv("VOXPIPE_9BITS_TOKEN", raising=False)
    with pytest.raises(ConfigError) as err:
        NineBits(**kwargs).require_credentials()  # a missing credential is allowed until something is sent
    assert str(err.value) == message


# --------------------------------------------------------------------------- error mapping


def _sim_answer(sim: NineBitsSim, media: MediaServer, case: str) -> tuple[Chunk, httpx.Response]:
    token = "wrong" if case == "wrong token" else TOKEN
    url = {"media 404": media.url("/gone.mp3"), "media not mp3": media.url("/voice.ogg")}.get(
        case, media.url("/hello.mp3")
    )
    chunk = Chunk("c", 1, (Recipient("+1234567"),) if case == "bad number" else (A,))
    p = NineBits(base_url=sim.base_url, credentials={"token": token})
    with httpx.Client(timeout=5) as client:
        return chunk, client.send(p.build(chunk, Payload(Mode.MEDIA, media_url=url)))


SIM_ERRORS = [
    (
        "wrong token",
        "9bits: HTTP 401: authentication failed (check VOXPIPE_9BITS_TOKEN); Authentication failed: Signature verification failed",
    ),
    ("media 404", "9bits: HTTP 400: media_url answered HTTP 404"),
    ("media not mp3", "9bits: HTTP 400: media_url: unsupported format ogg/opus"),
    ("bad number", "9bits: HTTP 400: to[0] is not a valid destination: country code + number, digits only, no '+'"),
]


@pytest.mark.parametrize(("case", "error"), SIM_ERRORS)
def test_simulator_errors_map_to_rejections(sim: NineBitsSim, media: MediaServer, case: str, error: str) -> None:
    chunk, response = _sim_answer(sim, media, case)
    assert provider().parse(chunk, response) == {r: Outcome("rejected", error=error) for r in chunk.recipients}
    assert sim.accepted == []


UNREADABLE_2XX = Outcome("unknown", error="9bits: HTTP 200 without a readable ref_id; it may have been accepted")
RESPONSES = [
    (
        200,
        {"status_code": 200, "message": "Request is being processed", "ref_id": "9azmf1"},
        Outcome("accepted", ref="9azmf1"),
    ),
    (201, {"status_code": 201, "ref_id": 12345}, Outcome("accepted", ref="12345")),
    # A 2xx the client cannot read says nothing about what 9bits did: unknown, never rejected.
    (200, {"status_code": 200, "message": "ok"}, UNREADABLE_2XX),
    (200, {"status_code": 200, "message": "Request is being processed", "ref_id": ""}, UNREADABLE_2XX),
    (200, {"status_code": 200, "ref_id": None}, UNREADABLE_2XX),
    (200, {"status_code": 200, "ref_id": {"id": 1}}, UNREADABLE_2XX),
    (200, b'{"status_code": 200, "message": "Request is being pro', UNREADABLE_2XX),  # truncated
    (200, "<html>accepted</html>", UNREADABLE_2XX),
    (200, "", UNREADABLE_2XX),
    (200, b'{"status_code": 200, "ref_id": "x", "n": 1e400}', UNREADABLE_2XX),  # a number JSON cannot carry
    (
        200,
        {"status_code": 401, "message": "Authentication failed"},
        Outcome("rejected", error="9bits: status_code 401: Authentication failed"),
    ),
    (
        405,
        {"status_code": 405, "message": "HTTP method not allowed"},
        Outcome("rejected", error="9bits: HTTP 405: method not allowed; HTTP method not allowed"),
    ),
    (404, "<html>nope</html>", Outcome("rejected", error="9bits: HTTP 404: Not Found")),
]


@pytest.mark.parametrize(("status", "body", "outcome"), RESPONSES)
def test_response_shapes(status: int, body: object, outcome: Outcome) -> None:
    response = (
        httpx.Response(status, json=body) if isinstance(body, dict)
        else httpx.Response(status, content=body) if isinstance(body, bytes) else httpx.Response(status, text=body)
    )  # fmt: skip
    chunk = Chunk("c", 1, (A, B))
    assert provider().parse(chunk, response) == {A: outcome, B: outcome}


# --------------------------------------------------------------------------- redaction


def test_redaction_hides_the_token() -> None:
    p = provider()
    shown = p.redact(p.build(Chunk("c", 1, (A,)), Payload(Mode.MEDIA, media_url=MEDIA)))
    assert shown["headers"]["authorization"] == "Bearer ***"
    assert shown["body"] == {"to": ["2348020000001"], "media_url": MEDIA}
    assert TOKEN not in json.dumps(shown) and "Zq8" not in json.dumps(shown)


# --------------------------------------------------------------------------- end to end


def _send(p: NineBits, url: str, recipients: list[Recipient], journal: Journal, settings: SendSettings = FAST):
    with http_client(settings) as client:
        events = list(
            send(
                p,
                Message(media_url=url),
                Payload(Mode.MEDIA, media_url=url),
                recipients,
                [],
                journal,
                client,
                settings,
                "camp",
            )
        )
    return {row.address: row for row in events[-1].rows}


def test_send_with_retryable_faults_accepts_everyone_once(sim: NineBitsSim, media: MediaServer, tmp_path: Path) -> None:
    sim.inject("429", retry_after=1)
    sim.inject("503")
    sim.inject("502")
    recipients = numbers(2300)
    with Journal(tmp_path / "j.db") as journal:
        rows = _send(
            NineBits(base_url=sim.base_url, credentials={"token": TOKEN}), media.url("/hello.mp3"), recipients, journal
        )
    assert {r.status for r in rows.values()} == {"accepted"}
    assert sim.accepted_counts() == Counter({r.digits: 1 for r in recipients})
    assert Counter(r.status for r in sim.requests) == Counter({200: 3, 429: 1, 503: 1, 502: 1})


@pytest.mark.parametrize("fault", ["accept_then_500", "accept_then_drop"])
def test_ambiguous_fault_is_unknown_and_not_resent(
    sim: NineBitsSim, media: MediaServer, tmp_path: Path, fault: str
) -> None:
    sim.inject(fault)
    p = NineBits(base_url=sim.base_url, credentials={"token": TOKEN})
    with Journal(tmp_path / "j.db") as journal:
        rows = _send(p, media.url("/hello.mp3"), [A, B], journal)
        assert {r.status for r in rows.values()} == {"unknown"}
        assert "may have been accepted" in rows[A.address].error
        again = _send(p, media.url("/hello.mp3"), [A, B], journal)
    assert {r.status for r in again.values()} == {"unknown"}
    assert sim.accepted_counts() == Counter({A.digits: 1, B.digits: 1})
    assert sim.requests_count == 1
