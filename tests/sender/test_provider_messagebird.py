"""MessageBird provider: request shape, options and limits, error mapping and
redaction as tables, then sends through sender.dispatch against the
MessageBird simulator over real HTTP."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import httpx
import pytest

from pipeline.markup import Pause, Script, parse
from pipeline.retry import RetryPolicy
from sender.dispatch import SendSettings, dry_run, http_client, send
from sender.errors import ConfigError
from sender.journal import Journal
from sender.message import Message
from sender.providers import Chunk, Mode, Outcome, Payload
from sender.providers.messagebird import LANGUAGES, MessageBird
from sender.recipients import Recipient
from tests.simulators import MessageBirdSim
from tests.simulators.messagebird import LANGUAGES as SIM_LANGUAGES

KEY = "live_mb-Secret+Key/42"
FAST = SendSettings(retry=RetryPolicy(attempts=4, base_s=0.01, max_s=0.2), timeout_s=5)
A, B = Recipient("+31612345678"), Recipient("+447700900123")
TEXT = 'Your code is <say-as interpret-as="digits">1834</say-as>.<break time="1s"/>Bye'
BODY = 'Your code is 1, 8, 3, 4.<break time="1s"/>Bye'


def provider(base_url: str = "https://rest.example.com", **options: str) -> MessageBird:
    return MessageBird(base_url=base_url, credentials={"key": KEY}, options=options)


def tts(markup: str = TEXT) -> Payload:
    return Payload(Mode.TTS, script=parse(markup))


def numbers(n: int) -> list[Recipient]:
    return [Recipient(f"+3161{i:07d}") for i in range(n)]


@pytest.fixture
def sim():
    with MessageBirdSim(access_key=KEY) as s:
        yield s
        assert s.internal_errors == []


# --------------------------------------------------------------------------- request shape

SHAPES = [
    # (options, recipients, extra JSON fields beyond recipients/body/language/reference)
    ({}, (A,), {"language": "en-gb", "reference": "camp-3"}),
    ({"language": "EN-US"}, (A, B), {"language": "en-us", "reference": "camp-3"}),
    ({"language": "en_gb_wls", "voice": "Male", "repeat": "3"}, (A,), {"language": "en-gb-wls", "reference": "camp-3", "voice": "male", "repeat": 3}),
    ({"if_machine": "hangup", "machine_timeout": "400"}, (A,), {"language": "en-gb", "reference": "camp-3", "ifMachine": "hangup", "machineTimeout": 400}),
    ({"schedule": "2026-03-05T10:00:00Z"}, (A,), {"language": "en-gb", "reference": "camp-3", "scheduledDatetime": "2026-03-05T10:00:00+00:00"}),
    ({"schedule": "2026-03-05 10:00:00.250+01:00"}, (A,), {"language": "en-gb", "reference": "camp-3", "scheduledDatetime": "2026-03-05T10:00:00+01:00"}),
    ({"reference": "spring-sale"}, (A,), {"language": "en-gb", "reference": "spring-sale-camp-3"}),
    ({"originator": "+31 (0)20-123"}, (A,), {"language": "en-gb", "reference": "camp-3", "originator": "+31020123"}),
    ({"report_url": "https://hooks.example.com/mb?x=1"}, (A,), {"language": "en-gb", "reference": "camp-3", "reportUrl": "https://hooks.example.com/mb?x=1"}),
]


@pytest.mark.parametrize(("options", "recipients", "fields"), SHAPES)
def test_request_shape(options: dict[str, str], recipients: tuple[Recipient, ...], fields: dict) -> None:
    request = provider(**options).build(Chunk("camp", 3, recipients), tts())
    assert (request.method, str(request.url)) == ("POST", "https://rest.example.com/voicemessages")
    assert request.headers["authorization"] == f"AccessKey {KEY}"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {"recipients": [r.digits for r in recipients], "body": BODY, **fields}


def test_body_uses_the_voice_language_for_words() -> None:
    p = provider(language="de-de")
    body = json.loads(p.build(Chunk("c", 1, (A,)), tts('<say-as interpret-as="cardinal">42</say-as>')).content)["body"]
    assert body == "zweiundvierzig"


def test_capabilities() -> None:
    d = MessageBird.describe()
    assert (d["modes"], d["max_recipients"], d["max_body_chars"], d["dialect"], d["can_cancel"]) == (["tts"], 50, 1000, "messagebird", True)
    assert LANGUAGES == SIM_LANGUAGES and len(LANGUAGES) == 34


# --------------------------------------------------------------------------- limits and options

@pytest.mark.parametrize(("count", "sizes"), [(1, [1]), (50, [50]), (51, [50, 1]), (120, [50, 50, 20])])
def test_chunks_of_at_most_50(count: int, sizes: list[int]) -> None:
    assert [len(r["body"]["recipients"]) for r in dry_run(provider(), tts(), numbers(count), "c")] == sizes


BODY_LIMITS = [
    # (markup, translated length or None when it fits)
    ("a" * 1000, None),
    ("a" * 1001, 1001),
    ("&amp;" * 200, None),  # 200 characters typed, 1000 once escaped
    ("&amp;" * 201, 1005),
    (f'<say-as interpret-as="digits">{"7" * 334}</say-as>', None),  # "7, " * 333 + "7"
    (f'<say-as interpret-as="digits">{"7" * 335}</say-as>', 1003),
    ("x" + '<break time="2s"/>x' * 55, 1046),
]


@pytest.mark.parametrize(("markup", "length"), BODY_LIMITS)
def test_body_length_after_translation(markup: str, length: int | None) -> None:
    p = provider()
    if length is None:
        p.check(tts(markup))
        assert len(p.body(tts(markup))) <= 1000
        return
    with pytest.raises(ConfigError) as err:
        p.check(tts(markup))
    assert str(err.value) == f"messagebird: the body is {length} characters after translation to MessageBird's markup; at most 1000 are allowed"


PAYLOAD_ERRORS = [
    (Payload(Mode.MEDIA, media_url="https://x/a.mp3"), "messagebird: speaks text only; give --text or --ssml"),
    (Payload(Mode.TTS, script=Script((Pause(1000),))), "messagebird: the message is empty"),  # the parser refuses this; a caller may not
    (tts('<say-as interpret-as="cardinal">lots</say-as>'), 'messagebird: markup error: say-as cardinal: "lots" is not a number'),
]


@pytest.mark.parametrize(("payload", "message"), PAYLOAD_ERRORS)
def test_payload_errors(payload: Payload, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        provider().check(payload)
    assert str(err.value) == message


OPTION_ERRORS = [
    ({"language": "uk-ua"}, "messagebird: --language 'uk-ua': not a MessageBird language: use one of " + ", ".join(LANGUAGES)),
    ({"voice": "robot"}, "messagebird: --voice 'robot': choose one of male, female"),
    ({"repeat": "11"}, "messagebird: --repeat '11': a whole number from 1 to 10"),
    ({"repeat": "0"}, "messagebird: --repeat '0': a whole number from 1 to 10"),
    ({"if_machine": "wait"}, "messagebird: --if-machine 'wait': choose one of continue, delay, hangup"),
    ({"machine_timeout": "399"}, "messagebird: --machine-timeout '399': a whole number from 400 to 10000"),
    ({"machine_timeout": "7s"}, "messagebird: --machine-timeout '7s': a whole number from 400 to 10000"),
    (
        {"schedule": "2026-03-05T10:00:00"},
        "messagebird: --schedule '2026-03-05T10:00:00': not an RFC 3339 date and time with a zone, "
        "e.g. 2026-03-05T10:00:00+01:00 or 2026-03-05T09:00:00Z",
    ),
    ({"schedule": "2026-02-30T10:00:00Z"}, "messagebird: --schedule '2026-02-30T10:00:00Z': not a valid date and time (day is out of range for month)"),
    ({"originator": "VoxPipe"}, "messagebird: --originator 'VoxPipe': a phone number with country code"),
    ({"reference": "two words"}, "messagebird: --reference 'two words': a reference without spaces"),
    ({"report_url": "ftp://hooks"}, "messagebird: --report-url 'ftp://hooks': an http(s) URL"),
    ({"media_url": "x"}, "messagebird: option(s) --media-url not supported (options for messagebird: --language, --voice, --repeat, "
     "--if-machine, --machine-timeout, --schedule, --reference, --originator, --report-url)"),
]


@pytest.mark.parametrize(("options", "message"), OPTION_ERRORS)
def test_option_errors(options: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        provider(**options)
    assert str(err.value) == message


def test_missing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VOXPIPE_MESSAGEBIRD_KEY", raising=False)
    with pytest.raises(ConfigError, match=r"^messagebird: missing credential: set VOXPIPE_MESSAGEBIRD_KEY or pass --key$"):
        MessageBird()


# --------------------------------------------------------------------------- error mapping

SIM_ERRORS = [
    # (case, error for every recipient)
    ("wrong key", "messagebird: HTTP 401: Request not allowed (incorrect access_key) (parameter access_key)"),
    ("short number", "messagebird: HTTP 422: no (correct) recipients found: '1234567' is not an msisdn (parameter recipients)"),
    ("51 numbers", "messagebird: HTTP 422: too many recipients (max 50 per request) (parameter recipients)"),
    ("wrong path", "messagebird: HTTP 404: not found"),
]


@pytest.mark.parametrize(("case", "error"), SIM_ERRORS)
def test_simulator_errors_map_to_rejections(sim: MessageBirdSim, case: str, error: str) -> None:
    recipients = {"short number": (Recipient("+1234567"),), "51 numbers": tuple(numbers(51))}.get(case, (A,))
    p = MessageBird(
        base_url=sim.base_url + ("/v9" if case == "wrong path" else ""),
        credentials={"key": "nope" if case == "wrong key" else KEY},
    )
    chunk = Chunk("c", 1, recipients)
    with httpx.Client(timeout=5) as client:
        response = client.send(p.build(chunk, tts()))
    assert p.parse(chunk, response) == {r: Outcome("rejected", error=error) for r in recipients}
    assert sim.accepted == []


def test_simulator_success_gives_the_message_id_to_every_recipient(sim: MessageBirdSim) -> None:
    p = MessageBird(base_url=sim.base_url, credentials={"key": KEY})
    chunk = Chunk("c", 1, (A, B))
    with httpx.Client(timeout=5) as client:
        response = client.send(p.build(chunk, tts()))
    msg_id = response.json()["id"]
    assert response.status_code == 201
    assert p.parse(chunk, response) == {A: Outcome("accepted", ref=msg_id), B: Outcome("accepted", ref=msg_id)}
    assert {d.client_ref for d in sim.accepted} == {"c-1"}


def _errors(*items: tuple[str, str | None]) -> dict:
    return {"errors": [{"code": 10, "description": d, "parameter": p} for d, p in items]}


RESPONSES = [
    (201, {"id": "e8077d80", "recipients": {"totalCount": 2}}, Outcome("accepted", ref="e8077d80")),
    (200, {"id": "e8077d80"}, Outcome("accepted", ref="e8077d80")),
    (201, {"href": "x"}, Outcome("unknown", error="messagebird: HTTP 201 without a message id; it may have been accepted")),
    (201, "not json", Outcome("unknown", error="messagebird: HTTP 201 without a message id; it may have been accepted")),
    (422, _errors(("body is invalid", "body"), ("repeat must be an integer from 1 to 10", "repeat")),
     Outcome("rejected", error="messagebird: HTTP 422: body is invalid (parameter body); repeat must be an integer from 1 to 10 (parameter repeat)")),
    (400, _errors(("Bad request", None)), Outcome("rejected", error="messagebird: HTTP 400: Bad request")),
    (401, "denied", Outcome("rejected", error="messagebird: HTTP 401: authentication failed (check VOXPIPE_MESSAGEBIRD_KEY)")),
    (405, {"errors": []}, Outcome("rejected", error="messagebird: HTTP 405: method not allowed")),
    (404, {"errors": "nope"}, Outcome("rejected", error="messagebird: HTTP 404: not found (check the base URL)")),
]


@pytest.mark.parametrize(("status", "body", "outcome"), RESPONSES)
def test_response_shapes(status: int, body: object, outcome: Outcome) -> None:
    response = httpx.Response(status, json=body) if isinstance(body, dict) else httpx.Response(status, text=body)
    assert provider().parse(Chunk("c", 1, (A, B)), response) == {A: outcome, B: outcome}


# --------------------------------------------------------------------------- redaction

def test_redaction_hides_the_key() -> None:
    p = provider(reference="r")
    shown = p.redact(p.build(Chunk("c", 1, (A,)), tts()))
    assert shown["headers"]["authorization"] == "AccessKey ***"
    assert shown["body"]["body"] == BODY and shown["body"]["reference"] == "r-c-1"
    assert KEY not in json.dumps(shown) and "Secret" not in json.dumps(shown)


# --------------------------------------------------------------------------- end to end

def _send(p: MessageBird, recipients: list[Recipient], journal: Journal, settings: SendSettings = FAST) -> dict:
    with http_client(settings) as client:
        events = list(send(p, Message(text=TEXT), tts(), recipients, [], journal, client, settings, "camp"))
    return {row.address: row for row in events[-1].rows}


def test_send_with_retryable_faults_accepts_everyone_once(sim: MessageBirdSim, tmp_path: Path) -> None:
    sim.inject("429", retry_after=1)
    sim.inject("503")
    recipients = numbers(120)
    with Journal(tmp_path / "j.db") as journal:
        rows = _send(MessageBird(base_url=sim.base_url, credentials={"key": KEY}), recipients, journal)
    assert {r.status for r in rows.values()} == {"accepted"}
    assert sim.accepted_counts() == Counter({r.digits: 1 for r in recipients})
    assert len({r.ref for r in rows.values()}) == 3  # one message id per request
    assert {d.client_ref for d in sim.accepted} == {"camp-1", "camp-2", "camp-3"}
    assert {d.payload["body"] for d in sim.accepted} == {BODY}
    assert Counter(r.status for r in sim.requests) == Counter({201: 3, 429: 1, 503: 1})


@pytest.mark.parametrize("fault", ["accept_then_500", "accept_then_drop"])
def test_ambiguous_fault_is_unknown_and_not_resent(sim: MessageBirdSim, tmp_path: Path, fault: str) -> None:
    sim.inject(fault)
    p = MessageBird(base_url=sim.base_url, credentials={"key": KEY})
    with Journal(tmp_path / "j.db") as journal:
        rows = _send(p, [A, B], journal)
        assert {r.status for r in rows.values()} == {"unknown"}
        again = _send(p, [A, B], journal)
    assert {r.status for r in again.values()} == {"unknown"}
    assert sim.accepted_counts() == Counter({A.digits: 1, B.digits: 1})
    assert sim.requests_count == 1


def test_body_too_long_sends_nothing(sim: MessageBirdSim, tmp_path: Path) -> None:
    p = MessageBird(base_url=sim.base_url, credentials={"key": KEY})
    with Journal(tmp_path / "j.db") as journal, http_client(FAST) as client, pytest.raises(ConfigError, match="1001 characters"):
        list(send(p, Message(text="a" * 1001), tts("a" * 1001), [A], [], journal, client, FAST, "camp"))
    assert sim.requests_count == 0
