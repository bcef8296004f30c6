"""AlphaSMS provider: request shapes (JSON TTS and the voice.php upload),
limits, options, error mapping and redaction as tables, then sends through
sender.dispatch against the AlphaSMS simulator over real HTTP. The docs do
not say AlphaSMS refuses a repeated id, so a TTS chunk in doubt is settled
by the status look-up, tested against a simulator that accepts repeats."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.simulators import AlphaSmsSim, make_audio
from tests.simulators.alphasms import parse_multipart
from voxpipe.pipeline.markup import parse
from voxpipe.pipeline.retry import RetryPolicy
from voxpipe.sender.dispatch import SendSettings, dry_run, http_client, send
from voxpipe.sender.errors import ConfigError, ProviderError
from voxpipe.sender.journal import Journal, client_id
from voxpipe.sender.message import Message
from voxpipe.sender.providers import Chunk, Mode, Outcome, Payload
from voxpipe.sender.providers.alphasms import AlphaSms
from voxpipe.sender.recipients import Recipient
from voxpipe.sender.statuses import Status

KEY = "bb56a4369eb19-Secret/Key+="
FAST = SendSettings(retry=RetryPolicy(attempts=4, base_s=0.01, max_s=0.2), timeout_s=5)
A, B = Recipient("+380971234567"), Recipient("+380501234567")
TEXT = 'Your code is <say-as interpret-as="digits">100500</say-as>.'
VOICE = {"gender": "female", "language": "en-US", "name": "en-US-Standard-A"}


def provider(base_url: str = "https://alphasms.example", **options: str) -> AlphaSms:
    return AlphaSms(base_url=base_url, credentials={"key": KEY}, options=options)


def tts(markup: str = TEXT) -> Payload:
    return Payload(Mode.TTS, script=parse(markup))


def numbers(n: int) -> list[Recipient]:
    return [Recipient(f"+38097{i:07d}") for i in range(n)]


@pytest.fixture(scope="module")
def wav(tmp_path_factory: pytest.TempPathFactory) -> Payload:
    path = tmp_path_factory.mktemp("audio") / "wav-1a2b.wav"
    path.write_bytes(make_audio("wav"))
    return Payload(Mode.MEDIA, media_path=path, mime="audio/wav")


@pytest.fixture
def sim():
    with AlphaSmsSim(key=KEY) as s:
        yield s
        assert s.internal_errors == []


@pytest.fixture
def lenient():
    """A simulator that takes a repeated id as a new call: the docs allow that reading."""
    with AlphaSmsSim(key=KEY, accept_repeated_ids=True) as s:
        yield s
        assert s.internal_errors == []


def voice_requests(sim: AlphaSmsSim) -> int:
    return sum(1 for r in sim.requests if r.body and json.loads(r.body)["data"][0]["type"] == "voice")


# --------------------------------------------------------------------------- request shape

SHAPES = [
    # (options, markup, message, voice, dtmf)
    ({}, TEXT, "Your code is one, zero, zero, five, zero, zero.", VOICE, False),
    (
        {"language": "uk_ua"},
        TEXT,
        "Your code is один, нуль, нуль, п'ять, нуль, нуль.",
        {"gender": "female", "language": "uk-UA", "name": "uk-UA-Standard-A"},
        False,
    ),
    (
        {"language": "uk-UA", "gender": "MALE", "voice_name": "uk-UA-Wavenet-B", "dtmf": "yes"},
        "Press 1.",
        "Press 1.",
        {"gender": "male", "language": "uk-UA", "name": "uk-UA-Wavenet-B"},
        True,
    ),
    ({"dtmf": "0"}, 'One<break time="1s"/>two &amp; three', "One. two & three", VOICE, False),
]


@pytest.mark.parametrize(("options", "markup", "message", "voice", "dtmf"), SHAPES)
def test_tts_request_shape(options: dict, markup: str, message: str, voice: dict, dtmf: bool) -> None:
    request = provider(**options).build(Chunk("camp", 1, (A, B), (100500, 100501)), tts(markup))
    assert (request.method, str(request.url)) == ("POST", "https://alphasms.example/api/json.php")
    assert request.headers["content-type"] == "application/json"
    item = {"type": "voice", "message": message, "voice": voice, "dtmf": dtmf}
    assert json.loads(request.content) == {
        "auth": KEY,
        "data": [{**item, "id": 100500, "phone": 380971234567}, {**item, "id": 100501, "phone": 380501234567}],
    }


def test_ids_come_from_the_journal_derivation_when_a_chunk_has_none() -> None:
    body = json.loads(provider().build(Chunk("camp", 1, (A, B)), tts()).content)
    assert [i["id"] for i in body["data"]] == [client_id("camp", A.address), client_id("camp", B.address)]
    assert all(0 < i["id"] < 2**53 for i in body["data"])  # exact as a JSON number


@pytest.mark.parametrize(("options", "dtmf"), [({}, "0"), ({"dtmf": "true"}, "1")])
def test_upload_request_shape(wav: Payload, options: dict, dtmf: str) -> None:
    request = provider(**options).build(Chunk("camp", 1, (A,)), wav)
    assert (request.method, str(request.url)) == ("POST", "https://alphasms.example/api/voice.php")
    parts = parse_multipart(request.content, request.headers["content-type"])
    assert [(n, f) for n, f, _ in parts] == [("key", None), ("phone", None), ("dtmf", None), ("voice", "wav-1a2b.wav")]
    assert [d for _, _, d in parts] == [KEY.encode(), b"380971234567", dtmf.encode(), wav.media_path.read_bytes()]


# --------------------------------------------------------------------------- limits, modes and options


@pytest.mark.parametrize(("count", "sizes"), [(1, [1]), (50, [50]), (51, [50, 1]), (120, [50, 50, 20])])
def test_tts_chunks_of_at_most_50(count: int, sizes: list[int]) -> None:
    assert [len(r["body"]["data"]) for r in dry_run(provider(), tts(), numbers(count), "c")] == sizes


def test_uploads_go_one_number_per_request(wav: Payload) -> None:
    p = provider()
    assert (p.max_per_request(wav), p.max_per_request(tts())) == (1, 50)
    assert [r["body"]["phone"] for r in dry_run(p, wav, numbers(3), "c")] == [r.digits for r in numbers(3)]


def test_only_tts_can_be_looked_up_and_nothing_is_assumed_idempotent(wav: Payload) -> None:
    assert provider().can_look_up(tts()) is True
    assert provider().can_look_up(wav) is False  # uploads carry no id of ours
    assert "idempotent" not in AlphaSms.describe()  # nothing relies on the provider refusing a repeated id
    assert AlphaSms.describe()["can_look_up"] is True


def _big(tmp: Path) -> Payload:
    path = tmp / "big.wav"
    with path.open("wb") as fh:
        fh.truncate(5 * 1024 * 1024 + 1)
    return Payload(Mode.MEDIA, media_path=path, mime="audio/wav")


PAYLOAD_ERRORS = [
    ("a" * 1000, None),
    ("a" * 1001, "alphasms: the message is 1001 characters as plain text; at most 1000 are allowed"),
    (
        f'<say-as interpret-as="digits">{"7" * 200}</say-as>',
        "alphasms: the message is 1398 characters as plain text; at most 1000 are allowed",
    ),
    (
        '<say-as interpret-as="ordinal">first</say-as>',
        'alphasms: markup error: say-as ordinal: "first" is not a whole number',
    ),
    (
        Payload(Mode.MEDIA, media_url="https://x/a.wav"),
        "alphasms: takes audio as an upload; give `audio` or `text` instead of `media_url`",
    ),
    (Payload(Mode.MEDIA, media_path=Path("/not-prepared-yet/a.wav"), mime="audio/wav"), None),  # planned: sized later
    (
        Payload(Mode.MEDIA, media_path=Path("/x/a.mp3"), mime="audio/mpeg"),
        "alphasms: uploads must be WAV, this audio is audio/mpeg; prepare it with the wav profile",
    ),
    (_big, f"alphasms: big.wav is {5 * 1024 * 1024 + 1} bytes; uploads take at most 5 MB"),
    (Payload(Mode.TTS), "alphasms: TTS mode needs `text`"),
]


@pytest.mark.parametrize(("payload", "message"), PAYLOAD_ERRORS)
def test_payload_checks(tmp_path: Path, payload: object, message: str | None) -> None:
    payload = tts(payload) if isinstance(payload, str) else payload(tmp_path) if callable(payload) else payload
    if message is None:
        provider().check(payload)
        return
    with pytest.raises(ConfigError) as err:
        provider().check(payload)
    assert str(err.value) == message


OPTION_ERRORS = [
    ({"language": "ukrainian"}, "alphasms: option language='ukrainian': a language tag like uk-UA or en-US"),
    ({"gender": "robot"}, "alphasms: option gender='robot': choose one of male, female"),
    ({"dtmf": "maybe"}, "alphasms: option dtmf='maybe': true or false"),
    (
        {"voice_name": "en-US-Standard-A", "language": "uk-UA"},
        "alphasms: option voice_name='en-US-Standard-A' is not a voice for uk-UA (like uk-UA-Standard-A)",
    ),
    ({"voice_name": "Alice"}, "alphasms: option voice_name='Alice' is not a voice for en-US (like en-US-Standard-A)"),
    (
        {"voice": "male"},
        "alphasms: option voice is not one of alphasms's (its options: language, gender, voice_name, dtmf, report_url)",
    ),
]


@pytest.mark.parametrize(("options", "message"), OPTION_ERRORS)
def test_option_errors(options: dict, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        provider(**options)
    assert str(err.value) == message


# --------------------------------------------------------------------------- error mapping


def _exchange(sim: AlphaSmsSim, chunk: Chunk, payload: Payload, key: str = KEY) -> tuple[AlphaSms, httpx.Response]:
    p = AlphaSms(base_url=sim.base_url, credentials={"key": key})
    with httpx.Client(timeout=5) as client:
        return p, client.send(p.build(chunk, payload))


def test_simulator_tts_answers(sim: AlphaSmsSim) -> None:
    bad = Recipient("+1234567")
    chunk = Chunk("c", 1, (A, bad, B), (11, 12, 13))
    p, response = _exchange(sim, chunk, tts())
    refs = {d.recipient: d.ref for d in sim.accepted}
    assert p.parse(chunk, response) == {
        A: Outcome("accepted", ref=refs[A.digits]),
        bad: Outcome("rejected", error="alphasms: Invalid phone"),
        B: Outcome("accepted", ref=refs[B.digits]),
    }
    # The same ids again: this simulator refuses them ("Duplicate id", undocumented), which proves nothing by
    # itself: the outcome is unknown, and the status look-up by our id settles it as accepted.
    p, response = _exchange(sim, chunk, tts())
    duplicate = Outcome("unknown", error="alphasms: Duplicate id: this id was seen before; it may have been accepted")
    assert p.parse(chunk, response) == {
        A: duplicate,
        bad: Outcome("rejected", error="alphasms: Invalid phone"),
        B: duplicate,
    }
    assert sim.accepted_counts() == Counter({A.digits: 1, B.digits: 1})
    with httpx.Client(timeout=5) as client:
        found = p.parse_lookup(chunk, client.send(p.build_lookup(chunk, 0.0)))
    assert found.outcomes == {A: Outcome("accepted"), B: Outcome("accepted"),
                              bad: Outcome(Status.PENDING, error="alphasms: status of id 12: Message not found")}  # fmt: skip


SIM_ERRORS = [
    # (case, error for the recipient)
    ("wrong key", "alphasms: Access denied"),
    ("too long", "alphasms: Message is too long"),  # build() does not check; check() would have refused it
    ("upload wrong key", "alphasms: Invalid API key"),
    ("upload mp3", "alphasms: Voice file must be WAV (PCM)"),
    ("upload mulaw", "alphasms: Voice file must be WAV (PCM)"),
    ("upload bad phone", "alphasms: Invalid phone"),
]


@pytest.mark.parametrize(("case", "error"), SIM_ERRORS)
def test_simulator_errors_map_to_rejections(sim: AlphaSmsSim, tmp_path: Path, case: str, error: str) -> None:
    recipient = Recipient("+1234567") if case.endswith("bad phone") else A
    payload = tts("a" * 1001) if case == "too long" else tts()
    if case.startswith("upload"):
        audio = {"upload mp3": make_audio("mp3"), "upload mulaw": make_audio("wav_mulaw")}.get(case, make_audio("wav"))
        (tmp_path / "v.wav").write_bytes(audio)
        payload = Payload(Mode.MEDIA, media_path=tmp_path / "v.wav")
    chunk = Chunk("c", 1, (recipient,), (7,))
    p, response = _exchange(sim, chunk, payload, "wrong" if "wrong key" in case else KEY)
    assert p.parse(chunk, response) == {recipient: Outcome("rejected", error=error)}
    assert sim.accepted == []


def _item(id_: int, ok: bool = True, **extra: object) -> dict:
    return {"success": ok, "data": {"id": id_, **({"msg_id": 900 + id_} if ok else {})}, **extra}


UNKNOWN_MISSING = Outcome(
    "unknown", error="alphasms: no result for this number in the answer; it may have been accepted"
)
DUPLICATE = Outcome(
    "unknown", error="alphasms: Duplicate id: this id was seen before; it may have been accepted"
)  # then looked up
UNREADABLE = Outcome("unknown", error="alphasms: HTTP 200 with an unreadable answer; it may have been accepted")
RESPONSES = [
    # (status, body, outcome of A (id 1), outcome of B (id 2))
    (
        200,
        {"success": True, "data": [_item(1), _item(2)]},
        Outcome("accepted", ref="901"),
        Outcome("accepted", ref="902"),
    ),
    (
        200,
        {"success": 1, "data": [_item(2), _item(1)]},
        Outcome("accepted", ref="901"),
        Outcome("accepted", ref="902"),
    ),  # matched by id
    (
        200,
        {"success": False, "error": "Access denied"},
        Outcome("rejected", error="alphasms: Access denied"),
        Outcome("rejected", error="alphasms: Access denied"),
    ),
    (
        200,
        {"success": 0},
        Outcome("rejected", error="alphasms: request refused"),
        Outcome("rejected", error="alphasms: request refused"),
    ),
    (
        200,
        {"success": True, "data": [_item(1, False, error="Duplicate id"), _item(2, False, error="Invalid phone")]},
        DUPLICATE,
        Outcome("rejected", error="alphasms: Invalid phone"),
    ),
    (
        200,
        {"success": True, "data": [_item(1, False, error="duplicate ID "), _item(2)]},
        DUPLICATE,
        Outcome("accepted", ref="902"),
    ),
    (
        200,
        {"success": True, "data": [_item(1, False)]},
        Outcome("rejected", error="alphasms: refused"),
        UNKNOWN_MISSING,
    ),
    (
        200,
        {"success": True, "data": [{"data": {"id": 1}}, {"success": True}]},
        Outcome("unknown", error="alphasms: unreadable result {'data': {'id': 1}}; it may have been accepted"),
        Outcome("accepted"),
    ),
    (200, "<html>maintenance</html>", UNREADABLE, UNREADABLE),
    # A 2xx the client cannot read is unknown (then looked up), never rejected.
    (
        200,
        b'{"success": true, "data": [{"success": true, "data": {"id": 1, "msg_id": 9',
        UNREADABLE,
        UNREADABLE,
    ),  # truncated
    (200, "", UNREADABLE, UNREADABLE),
    (
        200,
        b'{"success": true, "data": [{"success": true, "data": {"id": 1, "msg_id": 1e400}}]}',
        UNREADABLE,
        UNREADABLE,
    ),
    (200, {"success": True}, UNKNOWN_MISSING, UNKNOWN_MISSING),
    (200, {"success": True, "data": "ok"}, UNKNOWN_MISSING, UNKNOWN_MISSING),
    (404, "Not Found", *[Outcome("rejected", error="alphasms: HTTP 404: Not Found")] * 2),
    (
        403,
        {"success": False, "error": "Forbidden by firewall"},
        *[Outcome("rejected", error="alphasms: HTTP 403: Forbidden by firewall")] * 2,
    ),
]


@pytest.mark.parametrize(("status", "body", "a", "b"), RESPONSES)
def test_tts_response_shapes(status: int, body: object, a: Outcome, b: Outcome) -> None:
    response = (
        httpx.Response(status, json=body) if isinstance(body, dict)
        else httpx.Response(status, content=body) if isinstance(body, bytes) else httpx.Response(status, text=body)
    )  # fmt: skip
    assert provider().parse(Chunk("c", 1, (A, B), (1, 2)), response) == {A: a, B: b}


@pytest.mark.parametrize(
    ("body", "outcome"),
    [
        ({"id": 100500, "price": 0.4}, Outcome("accepted", ref="100500")),
        (
            {"errors": ["API key missing", "Invalid phone"]},
            Outcome("rejected", error="alphasms: API key missing; Invalid phone"),
        ),
        ({"errors": "Voice file missing"}, Outcome("rejected", error="alphasms: Voice file missing")),
        *[
            (
                body,
                Outcome("unknown", error="alphasms: upload answered without a readable id; it may have been accepted"),
            )
            for body in ({"id": None, "price": 0.4}, {"id": "", "price": 0.4}, {"id": [1]}, {"id": True})
        ],
    ],
)
def test_upload_response_shapes(body: dict, outcome: Outcome) -> None:
    assert provider().parse(Chunk("c", 1, (A,)), httpx.Response(200, json=body)) == {A: outcome}


def _status(id_: object, ok: bool = True, **extra: object) -> dict:
    data = {"id": id_, "type": "voice", "status": "ANSWERED"} if ok else {"id": id_}
    return {"success": ok, "data": data, **extra}


NOT_FOUND = Outcome(Status.PENDING, error="alphasms: status of id 2: Message not found")
LOOKUPS = [
    # (answer, outcome of A (id 1), outcome of B (id 2); None: not settled, so it stays unknown)
    (
        {"success": True, "data": [_status(1), _status(2, False, error="Message not found")]},
        Outcome("accepted"),
        NOT_FOUND,
    ),
    (
        {"success": True, "data": [_status(2, False, error="Message not found"), _status(1)]},
        Outcome("accepted"),
        NOT_FOUND,
    ),  # by id
    (
        {"success": True, "data": [_status(1), {"success": False, "error": "Message not found"}]},
        Outcome("accepted"),
        None,
    ),  # no id echoed
    ({"success": True, "data": [_status(1), _status(77)]}, Outcome("accepted"), None),  # not our id
    (
        {"success": True, "data": [_status(1), {"success": True, "data": {"id": 2}}]},
        Outcome("accepted"),
        None,
    ),  # no status
    (
        {"success": True, "data": [_status(1), _status(2, False, error=None)]},
        Outcome("accepted"),
        Outcome(Status.PENDING, error="alphasms: status of id 2: not found"),
    ),
    ({"success": True, "data": [_status(True), _status("2")]}, None, None),
    ({"success": True}, None, None),
]


@pytest.mark.parametrize(("body", "a", "b"), LOOKUPS)
def test_lookup_answers(body: dict, a: Outcome | None, b: Outcome | None) -> None:
    p = provider()
    chunk = Chunk("c", 1, (A, B), (1, 2))
    request = p.build_lookup(chunk, 0.0)
    assert json.loads(request.content) == {
        "auth": KEY,
        "data": [{"type": "status", "id": 1}, {"type": "status", "id": 2}],
    }
    page = p.parse_lookup(chunk, httpx.Response(200, json=body))
    assert page.outcomes == {r: o for r, o in ((A, a), (B, b)) if o is not None} and page.next is None


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (200, {"success": False, "error": "Access denied"}, "alphasms: status look-up refused: Access denied"),
        (200, "<html>", "alphasms: HTTP 200: unreadable status answer"),
        (500, {"success": True, "data": []}, "alphasms: HTTP 500: unreadable status answer"),
    ],
)
def test_lookup_failures_are_errors(status: int, body: object, error: str) -> None:
    response = httpx.Response(status, json=body) if isinstance(body, dict) else httpx.Response(status, text=body)
    with pytest.raises(ProviderError) as err:
        provider().parse_lookup(Chunk("c", 1, (A, B), (1, 2)), response)
    assert str(err.value) == error


@pytest.mark.parametrize(("ident", "found"), [(100500, True), (2**48, True), (2**63 - 1, True), (2**63, False), (2**200, False),
                                             (0, False), (-1, False), (True, False), ("100500", False), (1.5, False)])  # fmt: skip
def test_poll_ids_must_fit_the_journal(ident: object, found: bool) -> None:
    body = {"success": True, "data": [{"success": True, "data": {"id": ident, "type": "voice", "status": "ANSWERED"}}]}
    updates = provider().parse_poll(httpx.Response(200, json=body))
    assert [u.client_id for u in updates] == ([ident] if found else [])


# --------------------------------------------------------------------------- redaction


def test_redaction_hides_the_key(wav: Payload) -> None:
    p = provider()
    shown = p.redact(p.build(Chunk("c", 1, (A,), (5,)), tts()))
    assert shown["body"]["auth"] == "***" and shown["body"]["data"][0]["id"] == 5
    upload = p.redact(p.build(Chunk("c", 1, (A,)), wav))
    size = wav.media_path.stat().st_size
    assert upload["body"] == {
        "key": "***",
        "phone": "380971234567",
        "dtmf": "0",
        "voice": f"<file wav-1a2b.wav, {size} bytes>",
    }
    for shown_request in (shown, upload):
        assert KEY not in json.dumps(shown_request) and "Secret" not in json.dumps(shown_request)


# --------------------------------------------------------------------------- end to end


def _send(
    p: AlphaSms, payload: Payload, recipients: list[Recipient], journal: Journal, settings: SendSettings = FAST
) -> dict:
    message = Message(text=TEXT) if payload.mode is Mode.TTS else Message(audio=str(payload.media_path))
    with http_client(settings) as client:
        events = list(send(p, message, payload, recipients, [], journal, client, settings, "camp"))
    return {row.address: row for row in events[-1].rows}


def test_tts_send_with_retryable_faults_accepts_everyone_once(sim: AlphaSmsSim, tmp_path: Path) -> None:
    sim.inject("429", retry_after=1)
    sim.inject("503")
    recipients = numbers(60)
    with Journal(tmp_path / "j.db") as journal:
        rows = _send(AlphaSms(base_url=sim.base_url, credentials={"key": KEY}), tts(), recipients, journal)
    assert {r.status for r in rows.values()} == {"accepted"}
    assert sim.accepted_counts() == Counter({r.digits: 1 for r in recipients})
    # The provider holds our journal ids and its msg_id is our reference.
    assert {d.client_ref: d.ref for d in sim.accepted} == {str(r.client_id): r.ref for r in rows.values()}
    assert Counter(r.status for r in sim.requests) == Counter({200: 2, 429: 1, 503: 1})


@pytest.mark.parametrize("fault", ["accept_then_500", "accept_then_drop"])
def test_tts_ambiguous_fault_is_settled_as_accepted_by_the_look_up(
    lenient: AlphaSmsSim, tmp_path: Path, fault: str
) -> None:
    lenient.inject(fault)
    p = AlphaSms(base_url=lenient.base_url, credentials={"key": KEY})
    with Journal(tmp_path / "j.db") as journal:
        rows = _send(p, tts(), [A, B], journal)
        assert {(r.status, r.error) for r in rows.values()} == {("accepted", None)}  # looked up by our id, not guessed
        again = _send(p, tts(), [A, B], journal)
        assert {r.status for r in again.values()} == {"accepted"}
        resent = _send(p, tts(), [A, B], journal, SendSettings(retry=FAST.retry, timeout_s=5, resend_unknown=True))
    assert {r.status for r in resent.values()} == {"accepted"}
    assert lenient.accepted_counts() == Counter({A.digits: 1, B.digits: 1})  # nobody called twice
    assert voice_requests(lenient) == 1


def test_interrupted_tts_chunk_is_looked_up_not_resent(lenient: AlphaSmsSim, tmp_path: Path) -> None:
    p = AlphaSms(base_url=lenient.base_url, credentials={"key": KEY})
    with Journal(tmp_path / "j.db") as journal:
        _send(p, tts(), [A, B], journal)
        journal.mark_in_flight("camp", 1, [A.address, B.address])  # as if killed before the answer was written
        rows = _send(p, tts(), [A, B], journal)
    assert {r.status for r in rows.values()} == {"accepted"}
    assert voice_requests(lenient) == 1 and lenient.accepted_counts() == Counter({A.digits: 1, B.digits: 1})


def test_interrupted_chunk_that_never_left_is_sent_once(lenient: AlphaSmsSim, tmp_path: Path) -> None:
    p = AlphaSms(base_url=lenient.base_url, credentials={"key": KEY})
    with Journal(tmp_path / "j.db") as journal:
        _send(p, tts(), [A], journal)
        journal.add_recipients("camp", [B])
        journal.mark_in_flight("camp", 2, [B.address])  # B: marked, then killed before its request left
        rows = _send(p, tts(), [A, B], journal)
    assert {r.status for r in rows.values()} == {"accepted"}
    assert lenient.accepted_counts() == Counter({A.digits: 1, B.digits: 1})
    assert voice_requests(lenient) == 2  # A once, B once after the look-up found nothing


def test_upload_send_with_faults_and_an_interrupted_upload(sim: AlphaSmsSim, wav: Payload, tmp_path: Path) -> None:
    sim.inject("503", retry_after=0)
    sim.inject("429", retry_after=1)
    recipients = numbers(3)
    p = AlphaSms(base_url=sim.base_url, credentials={"key": KEY})
    with Journal(tmp_path / "j.db") as journal:
        rows = _send(p, wav, recipients, journal)
        assert {r.status for r in rows.values()} == {"accepted"}
        assert sorted(r.ref for r in rows.values()) == sorted(d.ref for d in sim.accepted)
        journal.mark_in_flight("camp", 1, [recipients[0].address])  # uploads carry no id of ours: not resent
        rows = _send(p, wav, recipients, journal)
    assert rows[recipients[0].address].status == "unknown"
    assert sim.accepted_counts() == Counter({r.digits: 1 for r in recipients})
    assert sim.requests_count == 5


@pytest.mark.parametrize("fault", ["accept_then_500", "accept_then_drop"])
def test_upload_ambiguous_fault_is_unknown_and_not_resent(
    sim: AlphaSmsSim, wav: Payload, tmp_path: Path, fault: str
) -> None:
    sim.inject(fault)
    p = AlphaSms(base_url=sim.base_url, credentials={"key": KEY})
    with Journal(tmp_path / "j.db") as journal:
        assert _send(p, wav, [A], journal)[A.address].status == "unknown"
        assert _send(p, wav, [A], journal)[A.address].status == "unknown"
    assert sim.accepted_counts() == Counter({A.digits: 1})
    assert sim.requests_count == 1
