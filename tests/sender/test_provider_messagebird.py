"""MessageBird provider: request shape, options and limits, error mapping and
redaction as tables, then sends through sender.dispatch against the
MessageBird simulator over real HTTP."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.simulators import MessageBirdSim
from tests.simulators.messagebird import LANGUAGES as SIM_LANGUAGES
from voxpipe.pipeline.markup import Pause, Script, parse
from voxpipe.pipeline.retry import RetryPolicy
from voxpipe.sender.dispatch import SendSettings, dry_run, http_client, send
from voxpipe.sender.errors import ConfigError, ProviderError
from voxpipe.sender.journal import Journal
from voxpipe.sender.message import Message
from voxpipe.sender.providers import Chunk, Mode, Outcome, Payload
from voxpipe.sender.providers.messagebird import LANGUAGES, MessageBird
from voxpipe.sender.recipients import Recipient
from voxpipe.sender.statuses import Status

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
    (
        {"language": "en_gb_wls", "voice": "Male", "repeat": "3"},
        (A,),
        {"language": "en-gb-wls", "reference": "camp-3", "voice": "male", "repeat": 3},
    ),
    (
        {"if_machine": "hangup", "machine_timeout": "400"},
        (A,),
        {"language": "en-gb", "reference": "camp-3", "ifMachine": "hangup", "machineTimeout": 400},
    ),
    (
        {"schedule": "2026-03-05T10:00:00Z"},
        (A,),
        {"language": "en-gb", "reference": "camp-3", "scheduledDatetime": "2026-03-05T10:00:00+00:00"},
    ),
    (
        {"schedule": "2026-03-05 10:00:00.250+01:00"},
        (A,),
        {"language": "en-gb", "reference": "camp-3", "scheduledDatetime": "2026-03-05T10:00:00+01:00"},
    ),
    ({"reference": "spring-sale"}, (A,), {"language": "en-gb", "reference": "spring-sale-camp-3"}),
    ({"originator": "+31 (0)20-123"}, (A,), {"language": "en-gb", "reference": "camp-3", "originator": "+31020123"}),
    (
        {"report_url": "https://hooks.example.com/mb?x=1"},
        (A,),
        {"language": "en-gb", "reference": "camp-3", "reportUrl": "https://hooks.example.com/mb?x=1"},
    ),
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
    assert (d["modes"], d["max_recipients"], d["max_body_chars"], d["dialect"], d["can_cancel"]) == (
        ["tts"],
        50,
        1000,
        "messagebird",
        True,
    )
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
    assert (
        str(err.value)
        == f"messagebird: the body is {length} characters after translation to MessageBird's markup; at most 1000 are allowed"
    )


PAYLOAD_ERRORS = [
    (Payload(Mode.MEDIA, media_url="https://x/a.mp3"), "messagebird: speaks text only; give `text`"),
    (
        Payload(Mode.TTS, script=Script((Pause(1000),))),
        "messagebird: the message is empty",
    ),  # the parser refuses this; a caller may not
    (
        tts('<say-as interpret-as="cardinal">lots</say-as>'),
        'messagebird: markup error: say-as cardinal: "lots" is not a number',
    ),
]


@pytest.mark.parametrize(("payload", "message"), PAYLOAD_ERRORS)
def test_payload_errors(payload: Payload, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        provider().check(payload)
    assert str(err.value) == message


OPTION_ERRORS = [
    (
        {"language": "uk-ua"},
        "messagebird: option language='uk-ua': not a MessageBird language: use one of " + ", ".join(LANGUAGES),
    ),
    ({"voice": "robot"}, "messagebird: option voice='robot': choose one of male, female"),
    ({"repeat": "11"}, "messagebird: option repeat='11': a whole number from 1 to 10"),
    ({"repeat": "0"}, "messagebird: option repeat='0': a whole number from 1 to 10"),
    ({"if_machine": "wait"}, "messagebird: option if_machine='wait': choose one of continue, delay, hangup"),
    ({"machine_timeout": "399"}, "messagebird: option machine_timeout='399': a whole number from 400 to 10000"),
    ({"machine_timeout": "7s"}, "messagebird: option machine_timeout='7s': a whole number from 400 to 10000"),
    (
        {"schedule": "2026-03-05T10:00:00"},
        "messagebird: option schedule='2026-03-05T10:00:00': not an RFC 3339 date and time with a zone, "
        "e.g. 2026-03-05T10:00:00+01:00 or 2026-03-05T09:00:00Z",
    ),
    (
        {"schedule": "2026-02-30T10:00:00Z"},
        "messagebird: option schedule='2026-02-30T10:00:00Z': not a valid date and time (day is out of range for month)",
    ),
    ({"originator": "VoxPipe"}, "messagebird: option originator='VoxPipe': a phone number with country code"),
    ({"reference": "two words"}, "messagebird: option reference='two words': a reference without spaces"),
    ({"report_url": "ftp://hooks"}, "messagebird: option report_url='ftp://hooks': an http(s) URL"),
    (
        {"media_url": "x"},
        "messagebird: option media_url is not one of messagebird's (its options: language, voice, repeat, "
        "if_machine, machine_timeout, schedule, reference, originator, report_url, clock_skew)",
    ),
]


@pytest.mark.parametrize(("options", "message"), OPTION_ERRORS)
def test_option_errors(options: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        provider(**options)
    assert str(err.value) == message


def test_missing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VOXPIPE_MESSAGEBIRD_KEY", raising=False)
    with pytest.raises(ConfigError, match=r"^messagebird: missing credential key: set VOXPIPE_MESSAGEBIRD_KEY$"):
        MessageBird().require_credentials()  # constructing one is fine: a dry run or the hook receiver needs none


# --------------------------------------------------------------------------- error mapping

SIM_ERRORS = [
    # (case, error for every recipient)
    ("wrong key", "messagebird: HTTP 401: Request not allowed (incorrect access_key) (parameter access_key)"),
    (
        "short number",
        "messagebird: HTTP 422: no (correct) recipients found: '1234567' is not an msisdn (parameter recipients)",
    ),
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
    (
        201,
        {"href": "x"},
        Outcome("unknown", error="messagebird: HTTP 201 without a message id; it may have been accepted"),
    ),
    (
        201,
        "not json",
        Outcome("unknown", error="messagebird: HTTP 201 without a message id; it may have been accepted"),
    ),
    # A 2xx the client cannot read is unknown (then looked up by reference), never rejected.
    *[
        (201, body, Outcome("unknown", error="messagebird: HTTP 201 without a message id; it may have been accepted"))
        for body in (
            b'{"id": "e8077d80", "href": "https://rest.messagebird.com/voicem',
            b"",
            {"id": None},
            {"id": ""},
            b'{"id": "e8077d80", "repeat": 1e400}',
            b'{"id": "e8077d80", "repeat": NaN}',
            b"[" * 5000 + b"]" * 5000,
        )
    ],
    (
        422,
        _errors(("body is invalid", "body"), ("repeat must be an integer from 1 to 10", "repeat")),
        Outcome(
            "rejected",
            error="messagebird: HTTP 422: body is invalid (parameter body); repeat must be an integer from 1 to 10 (parameter repeat)",
        ),
    ),
    (400, _errors(("Bad request", None)), Outcome("rejected", error="messagebird: HTTP 400: Bad request")),
    (
        401,
        "denied",
        Outcome("rejected", error="messagebird: HTTP 401: authentication failed (check VOXPIPE_MESSAGEBIRD_KEY)"),
    ),
    (405, {"errors": []}, Outcome("rejected", error="messagebird: HTTP 405: method not allowed")),
    (404, {"errors": "nope"}, Outcome("rejected", error="messagebird: HTTP 404: not found (check the base URL)")),
]


@pytest.mark.parametrize(("status", "body", "outcome"), RESPONSES)
def test_response_shapes(status: int, body: object, outcome: Outcome) -> None:
    response = (
        httpx.Response(status, json=body) if isinstance(body, dict)
        else httpx.Response(status, content=body) if isinstance(body, bytes) else httpx.Response(status, text=body)
    )  # fmt: skip
    assert provider().parse(Chunk("c", 1, (A, B)), response) == {A: outcome, B: outcome}


# --------------------------------------------------------------------------- look-up by reference

LIST_URL = "https://rest.example.com/voicemessages?recipient=31612345678&from=2026-03-05T09%3A45%3A00%2B00%3A00&limit=30&offset=0"


def _message(ref: str, reference: str, *recipients: int) -> dict:
    return {"id": ref, "reference": reference, "recipients": {"totalCount": len(recipients), "items": [
        {"recipient": r, "status": "calling", "statusDatetime": "2026-03-05T10:00:01+00:00"} for r in recipients]}}  # fmt: skip


def _page(items: list, offset: int = 0, total: int | None = None) -> dict:
    return {
        "offset": offset,
        "limit": 30,
        "count": len(items),
        "totalCount": len(items) if total is None else total,
        "items": items,
    }


NOT_SENT = Outcome(Status.PENDING, error="messagebird: no message with reference camp-3")
LOOKUPS = [
    # (answer, outcomes per recipient A/B, offset of the next page or None)
    (_page([_message("m1", "camp-3", 31612345678, 447700900123)]), (Outcome("accepted", ref="m1"),) * 2, None),
    (
        _page([_message("m0", "camp-2", 31612345678), _message("m1", "camp-3", 31612345678, 447700900123)]),
        (Outcome("accepted", ref="m1"),) * 2,
        None,
    ),
    (_page([]), (NOT_SENT, NOT_SENT), None),
    (
        _page([_message("m0", "camp-33", 31612345678), _message("m9", "other-camp-3", 31612345678)]),
        (NOT_SENT, NOT_SENT),
        None,
    ),
    (_page([_message("m1", "camp-3", 31612345678)]), (Outcome("accepted", ref="m1"), NOT_SENT), None),  # B never listed
    (
        _page([{"id": "m1", "reference": "camp-3"}]),
        (Outcome("accepted", ref="m1"),) * 2,
        None,
    ),  # no recipients block: as the 201
    (_page([_message("m0", "x", 31612345678)] * 30, total=45), (None, None), 30),  # more pages: nothing decided yet
    (
        _page([_message("m1", "camp-3", 447700900123)], offset=30, total=31),
        (NOT_SENT, Outcome("accepted", ref="m1")),
        None,
    ),
    (
        {"items": [_message("m1", "camp-3", 31612345678, 447700900123)]},
        (Outcome("accepted", ref="m1"),) * 2,
        None,
    ),  # no totals
    ({"items": []}, (None, None), None),  # cannot tell the list is complete: not "not sent"
]


@pytest.mark.parametrize(("answer", "outcomes", "next_offset"), LOOKUPS)
def test_lookup_answers(answer: dict, outcomes: tuple, next_offset: int | None) -> None:
    p = provider()
    chunk = Chunk("camp", 3, (A, B))
    request = p.build_lookup(chunk, 1772703900.0)  # 2026-03-05T09:45:00Z
    assert (request.method, str(request.url)) == ("GET", LIST_URL)
    assert request.headers["authorization"] == f"AccessKey {KEY}"
    page = p.parse_lookup(chunk, httpx.Response(200, json=answer, request=request))
    assert page.outcomes == {r: o for r, o in zip((A, B), outcomes, strict=True) if o is not None}
    if next_offset is None:
        assert page.next is None
    else:
        assert page.next.url.params["offset"] == str(next_offset) and page.next.url.params["recipient"] == A.digits


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (
            401,
            {
                "errors": [
                    {"code": 2, "description": "Request not allowed (incorrect access_key)", "parameter": "access_key"}
                ]
            },
            "messagebird: HTTP 401: Request not allowed (incorrect access_key) (parameter access_key)",
        ),
        (200, {"offset": 0}, "messagebird: HTTP 200: not a list of voice messages"),
        (200, b'{"offset": 0, "items": [', "messagebird: HTTP 200: not a list of voice messages"),
    ],
)
def test_lookup_failures_are_errors(status: int, body: object, error: str) -> None:
    chunk = Chunk("camp", 3, (A, B))
    request = provider().build_lookup(chunk, 0.0)
    response = (
        httpx.Response(status, json=body, request=request)
        if isinstance(body, dict)
        else httpx.Response(status, content=body, request=request)
    )
    with pytest.raises(ProviderError) as err:
        provider().parse_lookup(chunk, response)
    assert str(err.value) == error


def _voice_message(amount: object) -> dict:
    item = {"recipient": 31612345678, "status": "answered", "statusDatetime": "2026-03-05T10:00:09+00:00",
            "price": {"amount": amount, "currency": "EUR"}}  # fmt: skip
    return {"id": "m1", "recipients": {"totalCount": 1, "items": [item]}}


@pytest.mark.parametrize(("amount", "cost"), [(0.055, "0.055 EUR"), ("0.055", "0.055 EUR"), ("1e400", None), ("NaN", None),
                                              ("Infinity", None), ([1], None), (None, None)])  # fmt: skip
def test_poll_prices_must_be_finite(amount: object, cost: str | None) -> None:
    (update,) = provider().parse_poll(httpx.Response(200, json=_voice_message(amount)))
    assert (update.status, update.cost) == ("answered", cost)


def test_a_poll_answer_with_a_number_json_cannot_carry_is_unreadable() -> None:
    body = json.dumps(_voice_message(1)).replace('"amount": 1', '"amount": 1e400').encode()
    with pytest.raises(ProviderError, match="not a voice message object"):
        provider().parse_poll(httpx.Response(200, content=body))


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


def sends(sim: MessageBirdSim) -> int:
    return sum(1 for r in sim.requests if r.method == "POST")


@pytest.mark.parametrize("fault", ["accept_then_500", "accept_then_drop"])
def test_ambiguous_fault_is_settled_by_the_look_up(sim: MessageBirdSim, tmp_path: Path, fault: str) -> None:
    sim.inject(fault)
    p = MessageBird(base_url=sim.base_url, credentials={"key": KEY})
    with Journal(tmp_path / "j.db") as journal:
        rows = _send(p, [A, B], journal)
        (message,) = sim.messages
        assert {(r.status, r.ref, r.error) for r in rows.values()} == {("accepted", message, None)}
        again = _send(p, [A, B], journal)
    assert {r.status for r in again.values()} == {"accepted"}
    assert sim.accepted_counts() == Counter({A.digits: 1, B.digits: 1})
    assert sends(sim) == 1  # looked up, not resent


def test_a_500_before_accepting_is_found_missing_and_sent_on_the_next_run(sim: MessageBirdSim, tmp_path: Path) -> None:
    sim.inject("500")  # MessageBird took nothing, but a 500 cannot say so: the look-up does
    p = MessageBird(base_url=sim.base_url, credentials={"key": KEY})
    with Journal(tmp_path / "j.db") as journal:
        rows = _send(p, [A, B], journal)
        assert {r.status for r in rows.values()} == {"failed"}
        assert rows[A.address].error == ("messagebird: HTTP 500 after the request was sent; looked up: messagebird never took it, "
                                         "so nothing was accepted; re-run to send")  # fmt: skip
        again = _send(p, [A, B], journal)
    assert {r.status for r in again.values()} == {"accepted"}
    assert sim.accepted_counts() == Counter({A.digits: 1, B.digits: 1})


def test_the_look_up_reads_every_page(sim: MessageBirdSim, tmp_path: Path) -> None:
    p = MessageBird(base_url=sim.base_url, credentials={"key": KEY})
    with httpx.Client(timeout=5) as client:
        for n in range(65):  # other messages to the same number, listed before ours
            client.send(p.build(Chunk("earlier", n, (A,)), tts()))
    sim.inject("accept_then_drop")
    with Journal(tmp_path / "j.db") as journal:
        rows = _send(p, [A, B], journal)
    mine = [m for m, v in sim.messages.items() if v["reference"] == "camp-1"]
    assert {(r.status, r.ref) for r in rows.values()} == {("accepted", mine[0])}
    offsets = [r.query["offset"][0] for r in sim.requests if r.method == "GET"]
    assert offsets == ["0", "30", "60"] and sends(sim) == 66


def test_a_timeout_stays_unknown_until_the_next_run_finds_it(sim: MessageBirdSim, tmp_path: Path) -> None:
    sim.inject("slow", seconds=5)  # accepted only after the client gave up: "not found" would be premature
    p = MessageBird(base_url=sim.base_url, credentials={"key": KEY})
    quick = SendSettings(retry=FAST.retry, timeout_s=0.5)
    with Journal(tmp_path / "j.db") as journal:
        rows = _send(p, [A, B], journal, quick)
        assert {r.status for r in rows.values()} == {"unknown"}
        assert (
            "looked up: not there yet, but the request may still be in progress; the next run looks it up again"
            in rows[A.address].error
        )
        assert sim.wait_for_accepted(2, timeout=10)
        again = _send(p, [A, B], journal)
    (message,) = sim.messages
    assert {(r.status, r.ref) for r in again.values()} == {("accepted", message)}
    assert sim.accepted_counts() == Counter({A.digits: 1, B.digits: 1}) and sends(sim) == 1


def test_interrupted_chunk_is_looked_up_at_the_next_run(sim: MessageBirdSim, tmp_path: Path) -> None:
    p = MessageBird(base_url=sim.base_url, credentials={"key": KEY})
    recipients = numbers(120)
    with Journal(tmp_path / "j.db") as journal:
        _send(p, recipients[:50], journal)  # chunk 1 went out and was answered...
        journal.mark_in_flight("camp", 1, [r.address for r in recipients[:50]])  # ...but the answer was never written
        journal.add_recipients("camp", recipients[50:])
        journal.mark_in_flight("camp", 2, [r.address for r in recipients[50:100]])  # chunk 2: marked, never sent
        rows = _send(p, recipients, journal)
    assert {r.status for r in rows.values()} == {"accepted"}
    assert sim.accepted_counts() == Counter({r.digits: 1 for r in recipients})
    assert sends(sim) == 1 + 2  # chunk 1 once; then the 70 still unsent in two requests


def test_body_too_long_sends_nothing(sim: MessageBirdSim, tmp_path: Path) -> None:
    p = MessageBird(base_url=sim.base_url, credentials={"key": KEY})
    with (
        Journal(tmp_path / "j.db") as journal,
        http_client(FAST) as client,
        pytest.raises(ConfigError, match="1001 characters"),
    ):
        list(send(p, Message(text="a" * 1001), tts("a" * 1001), [A], [], journal, client, FAST, "camp"))
    assert sim.requests_count == 0
