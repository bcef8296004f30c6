"""Tests of the provider simulators themselves (tests/simulators).

Each simulator is driven with raw httpx requests: valid requests are accepted
and recorded once, every validation rule answers the provider's documented
error shape, every fault kind behaves as documented, and callbacks reach a
local receiver over real HTTP. Offline and fast.
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime

import httpx
import pytest

from tests.simulators import (
    FAULT_KINDS,
    AlphaSmsSim,
    CallbackReceiver,
    MediaServer,
    MessageBirdSim,
    NineBitsSim,
    WawpSim,
    make_audio,
)
from tests.simulators.messagebird import LANGUAGES, check_body_markup

N1, N2, N3 = "2348020000000", "2348030000000", "2348040000000"
OPUS = "audio/ogg; codecs=opus"

# One pooled client for the whole module: building a client per request costs
# an SSL context each time and dominates the runtime.
HTTP = httpx.Client(timeout=5)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def media():
    with MediaServer() as ms:
        ms.add("/a.mp3", make_audio("mp3"), "audio/mpeg")
        ms.add("/v.ogg", make_audio("ogg_opus"), "audio/ogg")
        ms.add("/stereo.ogg", make_audio("ogg_opus_stereo"), "audio/ogg")
        ms.add("/vorbis.ogg", make_audio("ogg_vorbis"), "audio/ogg")
        ms.add("/v-octet.ogg", make_audio("ogg_opus"), "application/octet-stream")
        ms.add("/a.wav", make_audio("wav"), "audio/wav")
        ms.add("/text.txt", b"hello, this is not audio\n" * 20, "text/plain")
        ms.add("/fake.mp3", bytes(range(256)) * 40, "audio/mpeg")
        ms.add("/gone.mp3", b"gone", "text/plain", status=404)
        yield ms


@pytest.fixture(scope="module", autouse=True)
def _close_http():
    yield
    HTTP.close()


@pytest.fixture
def sims():
    """Factory that starts simulators, closes them and checks they had no internal errors."""
    started = []

    def make(cls, *args, **kw):
        sim = cls(*args, **kw)
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.close()
    for sim in started:
        assert sim.internal_errors == [], f"{sim.name} simulator raised: {sim.internal_errors}"


@pytest.fixture
def rx():
    with CallbackReceiver() as receiver:
        yield receiver


def nb_send(sim, body=None, *, token="t", media_url=None, timeout=5.0, **kw):
    if body is None:
        body = {"to": [N1, N2], "media_url": media_url}
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return HTTP.post(sim.url("/v1/sendvoice"), json=body, headers=headers, timeout=timeout, **kw)


def mb_create(sim, data, *, key="k", form=False):
    headers = {"Authorization": f"AccessKey {key}"}
    if form:
        return HTTP.post(sim.url("/voicemessages"), data=data, headers=headers, timeout=5)
    return HTTP.post(sim.url("/voicemessages"), json=data, headers=headers, timeout=5)


def mb_get(sim, path, *, key="k"):
    return HTTP.get(sim.url(path), headers={"Authorization": f"AccessKey {key}"}, timeout=5)


def wawp_params(media, **over):
    p = {
        "instance_id": "inst",
        "access_token": "s3cr3t-tok",
        "chatId": "380501234567@c.us",
        "file[url]": media.url("/v.ogg"),
        "file[filename]": "voice.ogg",
        "file[mimetype]": OPUS,
        "convert": "false",
    }
    for k, v in over.items():
        k = k.replace("file_", "file[") + "]" if k.startswith("file_") else k
        if v is None:
            p.pop(k, None)
        else:
            p[k] = v
    return p


def wawp_send(sim, params, **kw):
    return HTTP.post(sim.url("/v2/send/voice"), params=params, timeout=5, **kw)


def alpha_voice(item_id=100500, phone=380971234567, **over):
    item = {
        "type": "voice",
        "id": item_id,
        "phone": phone,
        "message": "Your code is 100500",
        "voice": {"gender": "female", "language": "uk-UA", "name": "uk-UA-Standard-A"},
        "dtmf": False,
    }
    item.update(over)
    return item


def alpha_post(sim, items, *, key="key1"):
    return HTTP.post(sim.url("/api/json.php"), json={"auth": key, "data": items}, timeout=5)


# --------------------------------------------------------------------------- 9bits: contract


def test_ninebits_valid_send_is_accepted_and_recorded_once(sims, media):
    sim = sims(NineBitsSim, token="t")
    r = nb_send(sim, {"to": [N1, N2], "media_url": media.url("/a.mp3")})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"status_code", "message", "ref_id"}
    assert body["status_code"] == 200 and body["message"] == "Request is being processed"
    assert re.fullmatch(r"[a-z0-9]{25}", body["ref_id"])
    assert sim.accepted_counts() == {N1: 1, N2: 1}
    assert {d.ref for d in sim.accepted} == {body["ref_id"]}
    assert sim.requests_count == 1 and sim.requests[0].status == 200
    assert "Bearer t" not in repr(sim.requests[0])  # credentials are redacted in reprs


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong", "t", "Basic dDp0", "AccessKey t"],
    ids=["none", "wrong", "bare", "basic", "scheme"],
)
def test_ninebits_auth_failures(sims, media, authorization):
    sim = sims(NineBitsSim, token="t")
    headers = {"Authorization": authorization} if authorization else {}
    r = HTTP.post(sim.url("/v1/sendvoice"), json={"to": [N1], "media_url": media.url("/a.mp3")}, headers=headers)
    assert r.status_code == 401
    assert r.json() == {"status_code": 401, "message": "Authentication failed: Signature verification failed"}
    assert not sim.accepted


def test_ninebits_requires_json_content_type(sims, media):
    sim = sims(NineBitsSim, token="t")
    payload = json.dumps({"to": [N1], "media_url": media.url("/a.mp3")})
    r = HTTP.post(
        sim.url("/v1/sendvoice"), content=payload, headers={"Authorization": "Bearer t", "Content-Type": "text/plain"}
    )
    assert r.status_code == 400 and r.json()["status_code"] == 400 and "application/json" in r.json()["message"]
    r = HTTP.post(
        sim.url("/v1/sendvoice"),
        data={"to": N1, "media_url": media.url("/a.mp3")},
        headers={"Authorization": "Bearer t"},
    )
    assert r.status_code == 400
    assert not sim.accepted


@pytest.mark.parametrize(
    "to",
    [
        [],
        N1,
        [int(N1)],
        ["+" + N1],
        ["1234567"],
        ["1234567890123456"],
        ["234 802 000 0000"],
        [N1, None],
        None,
    ],
    ids=["empty", "string", "int", "plus", "short", "long", "spaces", "null-item", "missing"],
)
def test_ninebits_rejects_bad_to(sims, media, to):
    sim = sims(NineBitsSim, token="t")
    body = {"media_url": media.url("/a.mp3")}
    if to is not None:
        body["to"] = to
    r = nb_send(sim, body)
    assert r.status_code == 400
    assert set(r.json()) == {"status_code", "message"} and r.json()["status_code"] == 400
    assert not sim.accepted


def test_ninebits_limit_is_1000_unique_numbers(sims, media):
    sim = sims(NineBitsSim, token="t")
    numbers = [f"23480{i:08d}" for i in range(1000)]
    r = nb_send(sim, {"to": numbers + numbers[:10], "media_url": media.url("/a.mp3")})
    assert r.status_code == 200
    counts = sim.accepted_counts()
    assert len(counts) == 1000 and set(counts.values()) == {1}  # duplicates collapse
    r = nb_send(sim, {"to": numbers + ["2349999999999"], "media_url": media.url("/a.mp3")})
    assert r.status_code == 400 and "1000" in r.json()["message"]
    assert len(sim.accepted) == 1000


@pytest.mark.parametrize("media_url", [None, "", "ftp://example.com/a.mp3", "not a url", 5])
def test_ninebits_rejects_bad_media_url(sims, media_url):
    sim = sims(NineBitsSim, token="t")
    body = {"to": [N1]}
    if media_url is not None:
        body["media_url"] = media_url
    r = nb_send(sim, body)
    assert r.status_code == 400 and "media_url" in r.json()["message"]
    assert not sim.accepted


def test_ninebits_routes(sims, media):
    sim = sims(NineBitsSim, token="t")
    r = HTTP.get(sim.url("/v1/sendvoice"), headers={"Authorization": "Bearer t"})
    assert r.status_code == 405 and r.json()["status_code"] == 405
    r = HTTP.post(
        sim.url("/v1/sendsms"),
        json={"to": [N1], "media_url": media.url("/a.mp3")},
        headers={"Authorization": "Bearer t"},
    )
    assert r.status_code == 404
    assert not sim.accepted


# --------------------------------------------------------------------------- media checks


@pytest.mark.parametrize(
    "path,why",
    [
        ("/text.txt", "not decodable"),
        ("/fake.mp3", "not decodable"),
        ("/gone.mp3", "HTTP 404"),
        ("/nothing-here.mp3", "HTTP 404"),
        ("/v.ogg", "unsupported format"),
    ],
)
def test_ninebits_media_is_fetched_and_checked(sims, media, path, why):
    sim = sims(NineBitsSim, token="t")
    r = nb_send(sim, {"to": [N1], "media_url": media.url(path)})
    assert r.status_code == 400 and why in r.json()["message"]
    assert not sim.accepted


def test_ninebits_media_unreachable_host(sims):
    sim = sims(NineBitsSim, token="t", media_timeout_s=2)
    with CallbackReceiver() as dead:
        url = dead.url("/a.mp3")
    r = nb_send(sim, {"to": [N1], "media_url": url})
    assert r.status_code == 400 and "could not be fetched" in r.json()["message"]


def test_ninebits_media_formats_and_fetch_switches(sims, media):
    any_audio = sims(NineBitsSim, token="t", media_formats=None)
    assert nb_send(any_audio, {"to": [N1], "media_url": media.url("/v.ogg")}).status_code == 200
    assert nb_send(any_audio, {"to": [N1], "media_url": media.url("/text.txt")}).status_code == 400
    no_fetch = sims(NineBitsSim, token="t", fetch_media=False)
    assert nb_send(no_fetch, {"to": [N1], "media_url": "http://127.0.0.1:9/none.mp3"}).status_code == 200
    assert no_fetch.media.fetches == 0


def test_media_fetch_is_cached_per_url(sims, media):
    media.add("/cached.mp3", make_audio("mp3", 1.5), "audio/mpeg")
    sim = sims(NineBitsSim, token="t")
    for i in range(5):
        assert nb_send(sim, {"to": [f"2348{i:09d}"], "media_url": media.url("/cached.mp3")}).status_code == 200
    assert media.hits["/cached.mp3"] == 1 and sim.media.fetches == 1
    # failures are not cached: a fixed URL is fetched again
    media.add("/late.mp3", b"nope", "text/plain")
    assert nb_send(sim, {"to": [N1], "media_url": media.url("/late.mp3")}).status_code == 400
    media.add("/late.mp3", make_audio("mp3"), "audio/mpeg")
    assert nb_send(sim, {"to": [N1], "media_url": media.url("/late.mp3")}).status_code == 200
    assert media.hits["/late.mp3"] == 2


# --------------------------------------------------------------------------- faults


@pytest.mark.parametrize("kind", ["429", "500", "502", "503", "504"])
def test_error_faults_are_not_accepted_and_consumed(sims, media, kind):
    sim = sims(NineBitsSim, token="t")
    sim.inject(kind)
    r = nb_send(sim, media_url=media.url("/a.mp3"))
    assert r.status_code == int(kind)
    if kind == "429":
        assert r.headers["Retry-After"] == "1"
        assert r.json()["status_code"] == 429
    if kind == "500":
        assert r.json() == {"status_code": 500, "message": "Server error"}
    assert not sim.accepted and sim.requests[0].fault == kind
    r = nb_send(sim, media_url=media.url("/a.mp3"))
    assert r.status_code == 200 and sim.accepted_counts() == {N1: 1, N2: 1}


def test_429_fault_retry_after_param(sims, media):
    sim = sims(NineBitsSim, token="t")
    sim.inject("429", retry_after=3)
    sim.inject("503", retry_after=2)
    assert nb_send(sim, media_url=media.url("/a.mp3")).headers["Retry-After"] == "3"
    assert nb_send(sim, media_url=media.url("/a.mp3")).headers["Retry-After"] == "2"


def test_accept_then_500(sims, media):
    sim = sims(NineBitsSim, token="t")
    sim.inject("accept_then_500")
    r = nb_send(sim, media_url=media.url("/a.mp3"))
    assert r.status_code == 500
    assert sim.accepted_counts() == {N1: 1, N2: 1}


@pytest.mark.parametrize("reset", [False, True])
def test_accept_then_drop(sims, media, reset):
    sim = sims(NineBitsSim, token="t")
    sim.inject("accept_then_drop", reset=reset)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        nb_send(sim, media_url=media.url("/a.mp3"))
    assert sim.accepted_counts() == {N1: 1, N2: 1}
    assert sim.requests[0].status is None
    assert nb_send(sim, media_url=media.url("/a.mp3")).status_code == 200  # next one is normal


def test_drop_before_accept(sims, media):
    sim = sims(NineBitsSim, token="t")
    sim.inject("drop_before_accept")
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        nb_send(sim, media_url=media.url("/a.mp3"))
    assert not sim.accepted and sim.requests_count == 1


def test_slow_is_accepted_although_client_timed_out(sims, media):
    sim = sims(NineBitsSim, token="t")
    sim.inject("slow", seconds=1.0)
    t0 = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        nb_send(sim, media_url=media.url("/a.mp3"), timeout=0.2)
    assert time.monotonic() - t0 < 0.9
    assert not sim.accepted  # not yet...
    assert sim.wait_for_accepted(2, timeout=3)  # ...but it lands
    assert sim.accepted_counts() == {N1: 1, N2: 1}


def test_fault_times_and_path_matching(sims, media):
    sim = sims(NineBitsSim, token="t")
    sim.inject("503", times=2)
    assert [nb_send(sim, media_url=media.url("/a.mp3")).status_code for _ in range(3)] == [503, 503, 200]
    assert sim.pending_faults == 0
    mb = sims(MessageBirdSim, access_key="k")
    mb.inject("502", path="/voicemessages/")  # only status look-ups
    mb.inject("504", path="/voicemessages", method="GET")
    created = mb_create(mb, {"recipients": [31612345678], "body": "hi"})
    assert created.status_code == 201  # send endpoint untouched
    assert mb_get(mb, f"/voicemessages/{created.json()['id']}").status_code == 502
    assert mb_get(mb, "/voicemessages").status_code == 504
    assert mb_get(mb, f"/voicemessages/{created.json()['id']}").status_code == 200
    mb.inject("500")  # default: the send endpoint only
    assert mb_get(mb, "/voicemessages").status_code == 200
    assert mb_create(mb, {"recipients": [31612345678], "body": "hi"}).status_code == 500


def test_inject_rejects_unknown_kind(sims):
    sim = sims(NineBitsSim, token="t")
    with pytest.raises(ValueError):
        sim.inject("418")
    assert "slow" in FAULT_KINDS and len(FAULT_KINDS) == 9


def test_latency_applies_to_every_request(sims, media):
    sim = sims(NineBitsSim, token="t", latency_s=0.25)
    t0 = time.monotonic()
    assert HTTP.get(sim.url("/nowhere")).status_code == 404
    assert time.monotonic() - t0 >= 0.25


def test_rate_limit_answers_429_with_integer_retry_after(sims, media):
    sim = sims(NineBitsSim, token="t", rate_limit_per_s=4, fetch_media=False)
    url = media.url("/a.mp3")
    codes = [
        HTTP.post(
            sim.url("/v1/sendvoice"),
            json={"to": [f"2348{i:09d}"], "media_url": url},
            headers={"Authorization": "Bearer t"},
        )
        for i in range(8)
    ]
    statuses = [r.status_code for r in codes]
    assert statuses.count(429) >= 1 and statuses[:4] == [200] * 4
    limited = next(r for r in codes if r.status_code == 429)
    assert re.fullmatch(r"[1-9]\d*", limited.headers["Retry-After"])
    assert limited.json()["status_code"] == 429
    assert len(sim.accepted) == statuses.count(200)
    assert sim.requests[statuses.index(429)].fault == "rate_limit"
    time.sleep(0.3)  # a token is back
    assert nb_send(sim, {"to": [N3], "media_url": url}).status_code == 200


def test_rate_limit_retry_after_override(sims, media):
    sim = sims(NineBitsSim, token="t", rate_limit_per_s=1, rate_limit_retry_after=0)
    nb_send(sim, media_url=media.url("/a.mp3"))
    r = nb_send(sim, media_url=media.url("/a.mp3"))
    assert r.status_code == 429 and r.headers["Retry-After"] == "0"


# --------------------------------------------------------------------------- 9bits: callbacks


def test_ninebits_callbacks_are_call_objects(sims, media, rx):
    sim = sims(NineBitsSim, token="t", callback_url=rx.url("/hooks/9bits"))
    sim.outcomes = {N2: ["no_answer", "answered"], N3: "busy"}
    nb_send(sim, {"to": [N1, N2, N3], "media_url": media.url("/a.mp3")})
    assert sim.fire_callbacks() == 4
    bodies = rx.json_bodies()
    assert all(r.method == "POST" and r.path == "/hooks/9bits" for r in rx.received)
    keys = {
        "start_at",
        "answer_at",
        "end_at",
        "total_duration",
        "call_duration",
        "call_direction",
        "from_number",
        "to_number",
        "total_amount",
    }
    assert all(set(b) == keys for b in bodies)  # no ref_id, no status: the documented gap
    assert [b["to_number"] for b in bodies] == [N1, N2, N2, N3]
    answered, no_answer, retry, busy = bodies
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", answered["start_at"])
    assert answered["answer_at"] and answered["call_duration"] == 1 and isinstance(answered["total_amount"], str)
    assert answered["call_direction"] == "outbound" and answered["from_number"] == "07080670000"
    assert no_answer["answer_at"] is None and no_answer["call_duration"] == 0 and no_answer["total_amount"] == "0"
    assert retry["answer_at"] is not None and retry["start_at"] > no_answer["start_at"]
    assert busy["answer_at"] is None and busy["call_duration"] == 0


def test_ninebits_callback_options(sims, media, rx):
    sim = sims(NineBitsSim, token="t", callback_url=rx.url("/cb"))
    sim.outcomes = {N1: ["no_answer", "answered"]}
    nb_send(sim, {"to": [N1, N2], "media_url": media.url("/a.mp3")})
    assert sim.fire_callbacks(only=N1, reverse=True) == 2
    first, second = rx.json_bodies()
    assert first["answer_at"] is not None and second["answer_at"] is None  # later attempt first
    rx.clear()
    assert sim.fire_callbacks(duplicate=True, only=[N2]) == 2
    a, b = rx.json_bodies()
    assert a == b and a["to_number"] == N2
    rx.script(500)
    assert sim.fire_callbacks(only=[N2]) == 0  # 9bits: no documented redelivery
    assert sim.callbacks_sent[-1].status == 500
    sim.callback_url = None
    with pytest.raises(ValueError):
        sim.fire_callbacks()
    sim.outcomes = {N1: "exploded"}
    sim.callback_url = rx.url("/cb")
    with pytest.raises(ValueError):
        sim.fire_callbacks()


# --------------------------------------------------------------------------- MessageBird


def test_messagebird_create_returns_documented_object(sims):
    sim = sims(MessageBirdSim, access_key="k")
    r = mb_create(
        sim, {"recipients": [31612345678, "31687654321"], "body": "The voice message to be sent", "reference": "ref-1"}
    )
    assert r.status_code == 201
    obj = r.json()
    assert set(obj) == {
        "id", "href", "originator", "body", "reference", "language", "voice", "repeat",
        "ifMachine", "machineTimeout", "scheduledDatetime", "createdDatetime", "recipients",
    }  # fmt: skip
    assert re.fullmatch(r"[0-9a-f]{32}", obj["id"]) and obj["href"] == sim.url(f"/voicemessages/{obj['id']}")
    assert (obj["language"], obj["voice"], obj["repeat"], obj["ifMachine"], obj["machineTimeout"]) == (
        "en-gb",
        "female",
        1,
        "delay",
        7000,
    )
    assert obj["originator"] is None and obj["scheduledDatetime"] is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", obj["createdDatetime"])
    rec = obj["recipients"]
    assert (rec["totalCount"], rec["totalSentCount"], rec["totalDeliveredCount"], rec["totalDeliveryFailedCount"]) == (
        2,
        2,
        0,
        0,
    )
    assert [i["recipient"] for i in rec["items"]] == [31612345678, 31687654321]
    assert all(i["status"] == "calling" and set(i) == {"recipient", "status", "statusDatetime"} for i in rec["items"])
    assert sim.accepted_counts() == {"31612345678": 1, "31687654321": 1}
    assert {(d.ref, d.client_ref) for d in sim.accepted} == {(obj["id"], "ref-1")}


def test_messagebird_accepts_form_encoding_as_documented(sims):
    sim = sims(MessageBirdSim, access_key="k")
    r = mb_create(
        sim, {"recipients": "31612345678,31612345679", "body": "The voice message to be sent", "repeat": "2"}, form=True
    )
    assert r.status_code == 201 and r.json()["repeat"] == 2
    r = HTTP.post(
        sim.url("/voicemessages"),
        content="recipients=31612345670&recipients=31612345671&body=hi",
        headers={"Authorization": "AccessKey k", "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 201 and r.json()["recipients"]["totalCount"] == 2
    assert len(sim.accepted) == 4


@pytest.mark.parametrize("authorization", [None, "AccessKey wrong", "Bearer k", "k"])
def test_messagebird_auth(sims, authorization):
    sim = sims(MessageBirdSim, access_key="k")
    headers = {"Authorization": authorization} if authorization else {}
    for r in (
        HTTP.post(sim.url("/voicemessages"), json={"recipients": [31612345678], "body": "x"}, headers=headers),
        HTTP.get(sim.url("/voicemessages"), headers=headers),
    ):
        assert r.status_code == 401
        assert r.json() == {
            "errors": [
                {"code": 2, "description": "Request not allowed (incorrect access_key)", "parameter": "access_key"}
            ]
        }
    assert not sim.accepted


MB_INVALID = [
    ({"recipients": []}, "recipients", 9),
    ({"recipients": None}, "recipients", 9),
    ({"recipients": ["+31612345678"]}, "recipients", 9),
    ({"recipients": ["0612 345 678"]}, "recipients", 9),
    ({"recipients": [3161234]}, "recipients", 9),
    ({"recipients": [31600000000 + i for i in range(51)]}, "recipients", 10),
    ({"body": None}, "body", 9),
    ({"body": ""}, "body", 9),
    ({"body": "x" * 1001}, "body", 10),
    ({"body": 42}, "body", 10),
    ({"language": "uk-ua"}, "language", 10),
    ({"language": "en-GB"}, "language", 10),
    ({"voice": "robot"}, "voice", 10),
    ({"repeat": 0}, "repeat", 10),
    ({"repeat": 11}, "repeat", 10),
    ({"repeat": True}, "repeat", 10),
    ({"ifMachine": "wait"}, "ifMachine", 10),
    ({"machineTimeout": 399}, "machineTimeout", 10),
    ({"machineTimeout": 10001}, "machineTimeout", 10),
    ({"scheduledDatetime": "2030-01-01 10:00:00"}, "scheduledDatetime", 10),
    ({"scheduledDatetime": "2030-01-01T10:00:00"}, "scheduledDatetime", 10),
    ({"scheduledDatetime": "2030-13-01T10:00:00+00:00"}, "scheduledDatetime", 10),
    ({"reportUrl": "not-a-url"}, "reportUrl", 10),
    ({"reference": 12}, "reference", 10),
    ({"originator": "x" * 18}, "originator", 10),
]


@pytest.mark.parametrize(
    "override,parameter,code", MB_INVALID, ids=[f"{p}-{i}" for i, (_, p, _c) in enumerate(MB_INVALID)]
)
def test_messagebird_validation(sims, override, parameter, code):
    sim = sims(MessageBirdSim, access_key="k")
    data = {"recipients": [31612345678], "body": "Hello"}
    for k, v in override.items():
        if v is None:
            data.pop(k)
        else:
            data[k] = v
    r = mb_create(sim, data)
    assert r.status_code == 422
    errors = r.json()["errors"]
    assert all(set(e) == {"code", "description", "parameter"} for e in errors)
    assert (code, parameter) in [(e["code"], e["parameter"]) for e in errors]
    assert not sim.accepted


def test_messagebird_valid_options_and_limits(sims):
    sim = sims(MessageBirdSim, access_key="k")
    data = {
        "recipients": [31600000000 + i for i in range(50)],
        "body": "x" * 1000,
        "language": "en-gb-wls",
        "voice": "male",
        "repeat": 10,
        "ifMachine": "hangup",
        "machineTimeout": 400,
        "originator": "31612345678",
        "reference": "r",
        "reportUrl": "https://example.com/report",
        "scheduledDatetime": "2001-01-01T10:00:00Z",  # in the past: calls now
    }
    r = mb_create(sim, data)
    assert r.status_code == 201, r.text
    obj = r.json()
    assert (obj["voice"], obj["repeat"], obj["ifMachine"], obj["machineTimeout"]) == ("male", 10, "hangup", 400)
    assert obj["recipients"]["items"][0]["status"] == "calling" and len(sim.accepted) == 50
    assert len(LANGUAGES) == 34 and "uk-ua" not in LANGUAGES


@pytest.mark.parametrize(
    "body",
    [
        "Hello, your login token is 1, 8, 3, 4, 0",
        'Hello, your login token is<break time="1s"/>1<break time="500ms"/>8<break time="500ms"/>3',
        'Your login token is <prosody rate="-10%">1, 8, 3, 4, 0</prosody>',
        '<prosody rate="+20%">fast <break time="1.5s" /> <prosody rate="-5%">nested</prosody></prosody> & done',
    ],
)
def test_messagebird_body_markup_allowed(sims, body):
    sim = sims(MessageBirdSim, access_key="k")
    assert check_body_markup(body) is None
    assert mb_create(sim, {"recipients": [31612345678], "body": body}).status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        "<speak>Hello</speak>",
        'Hello <break time="1s">',
        'Hello <break time="fast"/>',
        'Hello <break strength="strong"/>',
        'Hello <break value="1s"/>',
        '<prosody rate="slow">Hi</prosody>',
        '<prosody pitch="+10%">Hi</prosody>',
        '<prosody rate="-10%">unclosed',
        "closed only</prosody>",
        "<emphasis>Hi</emphasis>",
        "a < b",
        "a > b",
        "<sub alias='x'>y</sub>",
    ],
)
def test_messagebird_body_markup_rejected(sims, body):
    sim = sims(MessageBirdSim, access_key="k")
    r = mb_create(sim, {"recipients": [31612345678], "body": body})
    assert r.status_code == 422
    assert [(e["code"], e["parameter"]) for e in r.json()["errors"]] == [(10, "body")]
    assert not sim.accepted


def test_messagebird_status_after_advance(sims):
    sim = sims(MessageBirdSim, access_key="k")
    sim.outcomes = {"31600000002": "no_answer", "31600000003": "busy", "31600000004": ["calling-ignored", "failed"][1:]}
    r = mb_create(sim, {"recipients": [31600000001, 31600000002, 31600000003, 31600000004], "body": "hi"})
    msg_id = r.json()["id"]
    before = mb_get(sim, f"/voicemessages/{msg_id}").json()
    assert {i["status"] for i in before["recipients"]["items"]} == {"calling"}
    assert sim.advance() == 4
    obj = mb_get(sim, f"/voicemessages/{msg_id}").json()
    items = {i["recipient"]: i for i in obj["recipients"]["items"]}
    assert items[31600000001]["status"] == "answered" and items[31600000001]["statusReason"] == "successfully delivered"
    assert items[31600000001]["price"] == {"amount": 0.055, "currency": "EUR"}
    assert (items[31600000002]["status"], items[31600000002]["statusReason"]) == ("failed", "timeout")
    assert items[31600000002]["price"] == {"amount": None, "currency": None}
    assert items[31600000003]["status"] == "busy" and items[31600000004]["status"] == "failed"
    rec = obj["recipients"]
    assert (rec["totalSentCount"], rec["totalDeliveredCount"], rec["totalDeliveryFailedCount"]) == (0, 1, 3)
    assert sim.advance() == 0  # final states stay


def test_messagebird_get_list_and_not_found(sims):
    sim = sims(MessageBirdSim, access_key="k")
    ids = [
        mb_create(
            sim, {"recipients": [31612345670 + i], "body": "hi", "originator": "Voxpipe" if i else "Other"}
        ).json()["id"]
        for i in range(3)
    ]
    r = mb_get(sim, "/voicemessages/" + "0" * 32)
    assert r.status_code == 404
    assert r.json() == {"errors": [{"code": 20, "description": "message not found", "parameter": None}]}
    page = mb_get(sim, "/voicemessages?offset=1&limit=1").json()
    assert (page["offset"], page["limit"], page["count"], page["totalCount"]) == (1, 1, 1, 3)
    assert page["items"][0]["id"] == ids[1] and page["links"]["next"] and page["links"]["previous"]
    assert mb_get(sim, "/voicemessages?recipient=31612345672").json()["items"][0]["id"] == ids[2]
    assert mb_get(sim, "/voicemessages?originator=Voxpipe").json()["totalCount"] == 2
    assert HTTP.put(sim.url(f"/voicemessages/{ids[0]}"), headers={"Authorization": "AccessKey k"}).status_code == 405
    assert mb_get(sim, "/messages").status_code == 404


def test_messagebird_list_filters_by_status_and_creation_time(sims):
    from urllib.parse import quote

    sim = sims(MessageBirdSim, access_key="k")
    first = mb_create(sim, {"recipients": [31612345670], "body": "hi"}).json()
    sim._now = lambda: time.time() + 3600  # the next message is created an hour later
    later = mb_create(
        sim, {"recipients": [31612345670], "body": "hi", "scheduledDatetime": "2099-01-01T10:00:00+00:00"}
    ).json()
    created = [datetime.fromisoformat(m["createdDatetime"]).timestamp() for m in (first, later)]

    def listed(query: str) -> list[str]:
        page = mb_get(sim, "/voicemessages?" + query)
        assert page.status_code == 200, page.text
        return [m["id"] for m in page.json()["items"]]

    def at(ts: float) -> str:
        return quote(datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00"))

    assert listed(f"from={at(created[1])}") == [later["id"]]
    assert listed(f"until={at(created[0])}") == [first["id"]]
    assert listed(f"from={at(created[0])}&until={at(created[1])}&recipient=31612345670") == [first["id"], later["id"]]
    assert listed(f"from={at(created[1] + 1)}") == []
    assert listed("status=scheduled") == [later["id"]] and listed("status=calling") == [first["id"]]
    for bad in ("from=yesterday", "until=2026-03-05T10:00:00", "limit=0", "offset=-1"):
        assert mb_get(sim, "/voicemessages?" + bad).status_code == 422, bad


def test_messagebird_scheduled_and_delete(sims):
    sim = sims(MessageBirdSim, access_key="k")
    auth = {"Authorization": "AccessKey k"}
    sched = mb_create(
        sim, {"recipients": [31612345678], "body": "later", "scheduledDatetime": "2099-01-01T10:00:00+02:00"}
    ).json()
    assert sched["recipients"]["items"][0]["status"] == "scheduled"
    assert sched["scheduledDatetime"] == "2099-01-01T10:00:00+02:00"
    now = mb_create(sim, {"recipients": [31612345679], "body": "now"}).json()
    assert sim.advance() == 1  # the scheduled one waits
    assert mb_get(sim, f"/voicemessages/{sched['id']}").json()["recipients"]["items"][0]["status"] == "scheduled"
    r = HTTP.delete(sim.url(f"/voicemessages/{sched['id']}"), headers=auth)
    assert r.status_code == 204 and r.content == b""
    assert mb_get(sim, f"/voicemessages/{sched['id']}").status_code == 404
    assert sched["id"] in sim.deleted
    assert HTTP.delete(sim.url(f"/voicemessages/{sched['id']}"), headers=auth).status_code == 404
    r = HTTP.delete(sim.url(f"/voicemessages/{now['id']}"), headers=auth)
    assert r.status_code == 422 and r.json()["errors"][0]["parameter"] == "id"
    # the documented _method override
    again = mb_create(
        sim, {"recipients": [31612345678], "body": "later", "scheduledDatetime": "2099-01-01T10:00:00Z"}
    ).json()
    r = HTTP.post(sim.url(f"/voicemessages/{again['id']}?_method=DELETE"), headers=auth)
    assert r.status_code == 204


def test_messagebird_reports_only_with_reference_and_redelivered(sims, rx):
    sim = sims(MessageBirdSim, access_key="k", callback_url=rx.url("/account"), redelivery_pause_s=0)
    sim.outcomes = {"31612345679": "no_answer"}
    with_ref = mb_create(
        sim, {"recipients": [31612345678, 31612345679], "body": "hi", "reference": "camp-1", "reportUrl": rx.url("/mb")}
    ).json()
    mb_create(sim, {"recipients": [31612345670], "body": "no reference"})
    rx.script(500, 503)  # the first report fails twice, then is accepted
    assert sim.fire_callbacks() == 4  # calling + final for each of the 2 referenced recipients
    assert len(rx.received) == 6
    assert all(r.method == "GET" and r.path == "/mb" for r in rx.received)
    delivered = [r.params for r in rx.received[2:]]
    assert all(set(p) == {"id", "reference", "recipient", "status", "statusDatetime"} for p in delivered)
    assert all(p["id"] == with_ref["id"] and p["reference"] == "camp-1" for p in delivered)
    assert [(p["recipient"], p["status"]) for p in delivered] == [
        ("31612345678", "calling"), ("31612345678", "answered"), ("31612345679", "calling"), ("31612345679", "failed"),
    ]  # fmt: skip
    assert "31612345670" not in {r.params["recipient"] for r in rx.received}
    assert [r.params for r in rx.received[:3]] == [delivered[0]] * 3  # the same report, redelivered


def test_messagebird_redelivery_gives_up_after_10_and_needs_200(sims, rx):
    sim = sims(MessageBirdSim, access_key="k", redelivery_pause_s=0, report_calling=False)
    mb_create(sim, {"recipients": [31612345678], "body": "hi", "reference": "r", "reportUrl": rx.url("/mb")})
    rx.default_status = 500
    assert sim.fire_callbacks() == 0
    assert len(rx.received) == 11  # first try + 10 redeliveries
    rx.clear()
    rx.default_status = 204  # MessageBird wants exactly 200 OK
    assert sim.fire_callbacks() == 0 and len(rx.received) == 11


def test_messagebird_reports_reverse_and_duplicate(sims, rx):
    sim = sims(MessageBirdSim, access_key="k", callback_url=rx.url("/mb"))
    mb_create(sim, {"recipients": [31612345678], "body": "hi", "reference": "r"})
    assert sim.fire_callbacks(reverse=True, duplicate=True) == 4
    assert [r.params["status"] for r in rx.received] == ["answered", "answered", "calling", "calling"]


# --------------------------------------------------------------------------- Wawp


def test_wawp_valid_send(sims, media):
    sim = sims(WawpSim, instance_id="inst", access_token="s3cr3t-tok")
    r = wawp_send(sim, wawp_params(media))
    assert r.status_code == 200, r.text
    msg = r.json()
    chat = "380501234567@c.us"
    assert re.fullmatch(rf"true_{re.escape(chat)}_[0-9A-F]{{20}}", msg["id"]["_serialized"])
    assert msg["id"]["fromMe"] is True and msg["id"]["remote"] == chat
    assert msg["type"] == "ptt" and msg["ack"] == 0 and msg["to"] == chat and msg["from"] == "15550001111@c.us"
    assert isinstance(msg["timestamp"], int) and msg["_data"]["id"] == msg["id"] and msg["hasQuotedMsg"] is False
    assert sim.accepted_counts() == {chat: 1}
    d = sim.accepted[0]
    assert d.ref == msg["id"]["_serialized"] and "access_token" not in d.payload
    assert "s3cr3t" not in repr(sim.requests[0])


def test_wawp_json_body_and_query_precedence(sims, media):
    sim = sims(WawpSim, instance_id="inst", access_token="s3cr3t-tok")
    p = wawp_params(media)
    body = {
        "chatId": p["chatId"],
        "file": {"url": p["file[url]"], "filename": "v.ogg", "mimetype": OPUS},
        "convert": False,
    }
    r = HTTP.post(sim.url("/v2/send/voice"), params={"instance_id": "inst", "access_token": "s3cr3t-tok"}, json=body)
    assert r.status_code == 200, r.text
    # the query wins over the body
    r = HTTP.post(
        sim.url("/v2/send/voice"), params={**p, "chatId": "380509999999@c.us"}, json={**body, "chatId": "bad"}
    )
    assert r.status_code == 200 and r.json()["to"] == "380509999999@c.us"
    assert sim.accepted_counts() == {"380501234567@c.us": 1, "380509999999@c.us": 1}


@pytest.mark.parametrize(
    "over", [{"access_token": None}, {"instance_id": None}, {"access_token": "nope"}, {"instance_id": "other"}]
)
def test_wawp_auth(sims, media, over):
    sim = sims(WawpSim, instance_id="inst", access_token="s3cr3t-tok")
    r = wawp_send(sim, wawp_params(media, **over))
    assert r.status_code == 401 and r.json() == {"status": "error", "message": "Unauthorized"}
    assert not sim.accepted


@pytest.mark.parametrize(
    "chat",
    ["201234567890@c.us", "120363012345678901@g.us", "201234567890-1600000000@g.us", "120363000000000000@newsletter"],
)
def test_wawp_chat_ids_accepted(sims, media, chat):
    sim = sims(WawpSim, instance_id="inst", access_token="s3cr3t-tok")
    r = wawp_send(sim, wawp_params(media, chatId=chat))
    assert r.status_code == 200 and r.json()["to"] == chat
    assert sim.accepted_counts() == {chat: 1}


@pytest.mark.parametrize(
    "chat",
    ["201234567890", "+201234567890@c.us", "201234567890@s.whatsapp.net", "12345@c.us", "1234567890123456@c.us",
     "201234567890@c.us,201234567891@c.us", "abc@g.us", "@newsletter", " 201234567890@c.us"],
)  # fmt: skip
def test_wawp_chat_ids_rejected(sims, media, chat):
    sim = sims(WawpSim, instance_id="inst", access_token="s3cr3t-tok")
    r = wawp_send(sim, wawp_params(media, chatId=chat))
    assert r.status_code == 400 and r.json()["status"] == "error" and "chatId" in r.json()["message"]
    assert not sim.accepted


@pytest.mark.parametrize(
    "over,needle",
    [
        ({"chatId": None}, "chatId"),
        ({"file_url": None}, "file[url]"),
        ({"file_filename": None}, "file[filename]"),
        ({"file_mimetype": None}, "file[mimetype]"),
        ({"convert": None}, "convert"),
        ({"convert": "yes"}, "convert"),
        ({"file_url": "file:///tmp/v.ogg"}, "file[url]"),
        ({"file_mimetype": "audio/opus"}, "file[mimetype]"),
        ({"file_mimetype": "audio/ogg"}, "file[mimetype]"),
        ({"file_mimetype": "audio/mpeg"}, "file[mimetype]"),
        ({"convert": "true", "file_mimetype": "application/octet-stream"}, "file[mimetype]"),
        ({"reply_to": ""}, "reply_to"),
        ({"reply_to": "not-an-id"}, "reply_to"),
    ],
)
def test_wawp_parameter_rules(sims, media, over, needle):
    sim = sims(WawpSim, instance_id="inst", access_token="s3cr3t-tok")
    r = wawp_send(sim, wawp_params(media, **over))
    assert r.status_code == 400 and needle in r.json()["message"]
    assert not sim.accepted


@pytest.mark.parametrize(
    "path,needle",
    [
        ("/a.mp3", "not OGG/Opus"),
        ("/vorbis.ogg", "not OGG/Opus"),
        ("/stereo.ogg", "mono"),
        ("/v-octet.ogg", "Content-Type"),
        ("/text.txt", "not decodable"),
        ("/gone.mp3", "HTTP 404"),
    ],
)
def test_wawp_media_checks_without_convert(sims, media, path, needle):
    sim = sims(WawpSim, instance_id="inst", access_token="s3cr3t-tok")
    r = wawp_send(sim, wawp_params(media, file_url=media.url(path)))
    assert r.status_code == 400 and needle in r.json()["message"]
    assert not sim.accepted


def test_wawp_convert_true_accepts_other_audio(sims, media):
    sim = sims(WawpSim, instance_id="inst", access_token="s3cr3t-tok")
    ok = wawp_send(sim, wawp_params(media, convert="true", file_url=media.url("/a.mp3"), file_mimetype="audio/mpeg"))
    assert ok.status_code == 200
    bad = wawp_send(
        sim, wawp_params(media, convert="true", file_url=media.url("/text.txt"), file_mimetype="audio/mpeg")
    )
    assert bad.status_code == 400
    reply = wawp_send(sim, wawp_params(media, reply_to=ok.json()["id"]["_serialized"]))
    assert reply.status_code == 200 and reply.json()["hasQuotedMsg"] is True
    assert len(sim.accepted) == 2


def test_wawp_ack_callbacks(sims, media, rx):
    sim = sims(WawpSim, instance_id="inst", access_token="s3cr3t-tok", callback_url=rx.url("/hooks/wawp"))
    sim.outcomes = {"380500000002@c.us": "failed", "380500000003": [1, 2], "380500000004": "pending"}
    ids = {}
    for n in range(1, 5):
        chat = f"38050000000{n}@c.us"
        ids[chat] = wawp_send(sim, wawp_params(media, chatId=chat)).json()["id"]["_serialized"]
    assert sim.fire_callbacks() == 4 + 1 + 2 + 0
    events = rx.json_bodies()
    assert all(e["event"] == "message.ack" and e["instance_id"] == "inst" for e in events)
    assert all(set(e["payload"]) == {"id", "from", "to", "fromMe", "ack", "ackName", "timestamp"} for e in events)
    seq = [(e["payload"]["to"], e["payload"]["ack"], e["payload"]["ackName"]) for e in events]
    assert seq == [
        ("380500000001@c.us", 1, "SERVER"), ("380500000001@c.us", 2, "DEVICE"),
        ("380500000001@c.us", 3, "READ"), ("380500000001@c.us", 4, "PLAYED"),
        ("380500000002@c.us", -1, "ERROR"),
        ("380500000003@c.us", 1, "SERVER"), ("380500000003@c.us", 2, "DEVICE"),
    ]  # fmt: skip
    assert all(e["payload"]["id"] == ids[e["payload"]["to"]] for e in events)
    rx.clear()
    assert sim.fire_callbacks(only="380500000003@c.us", reverse=True, duplicate=True) == 4
    assert [e["payload"]["ack"] for e in rx.json_bodies()] == [2, 2, 1, 1]


# --------------------------------------------------------------------------- AlphaSMS


def test_alphasms_voice_accepted(sims):
    sim = sims(AlphaSmsSim, key="key1")
    r = alpha_post(sim, [alpha_voice()])
    assert r.status_code == 200
    body = r.json()
    assert body["success"] is True and len(body["data"]) == 1
    item = body["data"][0]
    assert item["success"] is True and set(item["data"]) == {"id", "msg_id", "data", "parts"}
    assert item["data"]["id"] == 100500 and isinstance(item["data"]["msg_id"], int)
    assert (item["data"]["data"], item["data"]["parts"]) == (1, 1)
    assert sim.accepted_counts() == {"380971234567": 1}
    d = sim.accepted[0]
    assert (d.client_ref, d.ref) == ("100500", str(item["data"]["msg_id"]))


def test_alphasms_top_level_errors_are_http_200(sims):
    sim = sims(AlphaSmsSim, key="key1")
    url = sim.url("/api/json.php")
    payload = json.dumps({"auth": "key1", "data": [alpha_voice()]})
    cases = [
        (HTTP.post(url, content=payload, headers={"Content-Type": "text/plain"}), "Invalid content type"),
        (HTTP.post(url, content=payload), "Invalid content type"),
        (HTTP.post(url, content="{not json", headers={"Content-Type": "application/json"}), "Invalid JSON"),
        (HTTP.post(url, json={"auth": "wrong", "data": [alpha_voice()]}), "Access denied"),
        (HTTP.post(url, json={"data": [alpha_voice()]}), "Access denied"),
        (HTTP.post(url, json={"auth": "key1", "data": []}), "Invalid data"),
        (HTTP.post(url, json={"auth": "key1", "data": alpha_voice()}), "Invalid data"),
        (HTTP.get(url), "Invalid request method"),
    ]
    for r, error in cases:
        assert r.status_code == 200
        assert r.json() == {"success": False, "error": error}
    assert not sim.accepted


def test_alphasms_per_item_errors_while_others_go(sims):
    sim = sims(AlphaSmsSim, key="key1")
    items = [
        alpha_voice(1),
        alpha_voice(2, phone="+380971234567"),
        alpha_voice(3, phone=380971),
        alpha_voice(1, phone=380971111111),  # id 1 already used in this request
        alpha_voice(4, message=""),
        alpha_voice(5, message="x" * 1001),
        alpha_voice(6, voice={"gender": "robot", "language": "uk-UA", "name": "uk-UA-Standard-A"}),
        alpha_voice(7, voice={"gender": "female", "language": "uk-UA", "name": "en-US-Standard-A"}),
        alpha_voice(8, voice={"gender": "female", "language": "ukrainian", "name": "x"}),
        {k: v for k, v in alpha_voice(9).items() if k != "dtmf"},
        alpha_voice("10"),
        alpha_voice(11, phone="380972222222"),
        {"type": "fax", "id": 12},
        "nonsense",
        alpha_voice(13, message="x" * 1000, dtmf=True),
    ]
    body = alpha_post(sim, items).json()
    assert body["success"] is True
    got = [(d["success"], d.get("error")) for d in body["data"]]
    assert got == [
        (True, None), (False, "Invalid phone"), (False, "Invalid phone"), (False, "Duplicate id"),
        (False, "Invalid message"), (False, "Message is too long"), (False, "Invalid voice"),
        (False, "Invalid voice"), (False, "Invalid voice"), (False, "Invalid dtmf"), (False, "Invalid id"),
        (True, None), (False, "Unknown type"), (False, "Invalid item"), (True, None),
    ]  # fmt: skip
    assert body["data"][1]["data"] == {"id": 2}
    assert sim.accepted_counts() == {"380971234567": 2, "380972222222": 1}  # items 1 and 13 share a phone
    assert sorted(d.client_ref for d in sim.accepted) == ["1", "11", "13"]


def test_alphasms_duplicate_id_across_requests(sims):
    sim = sims(AlphaSmsSim, key="key1")
    sim.inject("accept_then_500")
    assert alpha_post(sim, [alpha_voice(77)]).status_code == 500
    retry = alpha_post(sim, [alpha_voice(77)]).json()  # the retry of an accepted id
    assert retry["data"][0] == {"success": False, "error": "Duplicate id", "data": {"id": 77}}
    assert sim.accepted_counts() == {"380971234567": 1}


def test_alphasms_can_accept_a_repeated_id_as_a_new_call(sims):
    sim = sims(AlphaSmsSim, key="key1", accept_repeated_ids=True)  # the docs allow this reading too
    first = alpha_post(sim, [alpha_voice(77)]).json()["data"][0]
    again = alpha_post(sim, [alpha_voice(77)]).json()["data"][0]
    assert first["success"] is again["success"] is True and first["data"]["msg_id"] != again["data"]["msg_id"]
    assert sim.accepted_counts() == {"380971234567": 2}  # called twice
    status = alpha_post(sim, [{"type": "status", "id": 77}, {"type": "status", "id": 78}]).json()["data"]
    assert status == [{"success": True, "data": {"id": 77, "type": "voice", "status": "ACCEPTED"}},
                      {"success": False, "error": "Message not found", "data": {"id": 78}}]  # fmt: skip


def test_alphasms_status_polling(sims):
    sim = sims(AlphaSmsSim, key="key1")
    sim.outcomes = {"380970000002": "no_answer", "380970000003": "busy", "380970000004": "failed"}
    alpha_post(sim, [alpha_voice(i, phone=f"38097000000{i}") for i in range(1, 5)])
    status = [{"type": "status", "id": i} for i in (1, 2, 3, 4, 99)]
    before = alpha_post(sim, status).json()["data"]
    assert [d["data"].get("status") for d in before[:4]] == ["ACCEPTED"] * 4
    assert before[0]["data"] == {"id": 1, "type": "voice", "status": "ACCEPTED"}
    assert before[4] == {"success": False, "error": "Message not found", "data": {"id": 99}}
    sim.advance()
    after = alpha_post(sim, status).json()["data"]
    assert [d["data"].get("status") for d in after[:4]] == ["ANSWERED", "NO ANSWER", "BUSY", "UNDELIVERABLE"]
    bal = alpha_post(sim, [{"type": "balance"}]).json()["data"][0]
    assert bal == {"success": True, "data": {"amount": 31.1683, "currency": "UAH"}}
    assert len(sim.accepted) == 4


def _upload(sim, *, key="key1", phone="380501234567", voice=None, **fields):
    data = {"phone": phone, **fields}
    if key is not None:
        data["key"] = key
    files = {"voice": ("audio.wav", voice if voice is not None else make_audio("wav"), "audio/wav")}
    if voice == b"":  # multipart, but without the voice part
        files = {"note": ("note.txt", b"no voice here", "text/plain")}
    return HTTP.post(sim.url("/api/voice.php"), data=data, files=files, timeout=5)


def test_alphasms_voice_upload(sims):
    sim = sims(AlphaSmsSim, key="key1")
    r = _upload(sim)
    assert r.status_code == 200 and set(r.json()) == {"id", "price"}
    assert isinstance(r.json()["id"], int) and r.json()["price"] == 0.4
    assert sim.accepted_counts() == {"380501234567": 1} and sim.accepted[0].ref == str(r.json()["id"])


@pytest.mark.parametrize(
    "kwargs,error",
    [
        ({"key": None}, "API key missing"),
        ({"key": "wrong"}, "Invalid API key"),
        ({"phone": "+380501234567"}, "Invalid phone"),
        ({"voice": b""}, "Voice file missing"),
        ({"voice": b"RIFF" + b"\0" * (5 * 1024 * 1024)}, "Voice file too large (max 5 MB)"),
        ({"hook": "javascript:alert(1)"}, "Invalid hook URL"),
        ({"dtmf": "maybe"}, "Invalid dtmf"),
    ],
)
def test_alphasms_voice_upload_errors(sims, kwargs, error):
    sim = sims(AlphaSmsSim, key="key1")
    r = _upload(sim, **kwargs)
    assert r.status_code == 200 and error in r.json()["errors"]
    assert not sim.accepted


@pytest.mark.parametrize("kind", ["mp3", "wav_mulaw", "ogg_opus"])
def test_alphasms_voice_upload_must_be_pcm_wav(sims, kind):
    sim = sims(AlphaSmsSim, key="key1")
    r = _upload(sim, voice=make_audio(kind))
    assert r.json() == {"errors": ["Voice file must be WAV (PCM)"]}
    assert not sim.accepted


def test_alphasms_upload_needs_multipart(sims):
    sim = sims(AlphaSmsSim, key="key1")
    r = HTTP.post(sim.url("/api/voice.php"), data={"key": "key1", "phone": "380501234567"})
    assert r.json() == {"errors": ["Invalid request"]}


def test_alphasms_hook_callbacks(sims, rx):
    sim = sims(AlphaSmsSim, key="key1")
    sim.outcomes = {"380500000002": "no_answer"}
    sim.dtmf = {"380500000001": "7"}
    a = _upload(sim, phone="380500000001", hook=rx.url("/hooks/alpha"), dtmf="1").json()["id"]
    b = _upload(sim, phone="380500000002", hook=rx.url("/hooks/alpha")).json()["id"]
    _upload(sim, phone="380500000003")  # no hook, no callback
    alpha_post(sim, [alpha_voice(5, phone="380500000004")])  # JSON voice: poll only
    assert sim.fire_callbacks() == 2
    assert rx.json_bodies() == [
        {"id": a, "phone": "380500000001", "status": "ANSWERED", "duration": 1, "dtmf": "7"},
        {"id": b, "phone": "380500000002", "status": "NO ANSWER", "duration": 0, "dtmf": ""},
    ]
    assert all(r.method == "POST" for r in rx.received)
    rx.clear()
    assert sim.fire_callbacks(reverse=True, duplicate=True) == 4
    assert [x["id"] for x in rx.json_bodies()] == [b, b, a, a]


def test_alphasms_injected_fault_breaks_always_200(sims):
    sim = sims(AlphaSmsSim, key="key1")
    sim.inject("503")
    sim.inject("500", path="/api/voice.php")
    assert alpha_post(sim, [alpha_voice()]).status_code == 503
    r = _upload(sim)
    assert r.status_code == 500 and r.json() == {"success": False, "error": "Server error"}
    assert not sim.accepted


# --------------------------------------------------------------------------- receiver


def test_callback_receiver_scripts_and_records(rx):
    rx.script(500, (201, b"made"))
    with httpx.Client() as c:
        r1 = c.post(rx.url("/a?x=1"), json={"n": 1})
        r2 = c.get(rx.url("/b"), params={"status": "answered"})
        r3 = c.put(rx.url("/c"), content=b"raw")
    assert [r1.status_code, r2.status_code, r3.status_code] == [500, 201, 200]
    assert r2.content == b"made" and r3.content == b"OK"
    assert rx.wait_for(3, timeout=1)
    assert [(r.method, r.path) for r in rx.received] == [("POST", "/a"), ("GET", "/b"), ("PUT", "/c")]
    assert rx.received[0].json() == {"n": 1} and rx.received[0].params == {"x": "1"}
    assert rx.received[1].params == {"status": "answered"} and rx.received[2].body == b"raw"
    assert [r.status for r in rx.received] == [500, 201, 200]
    assert not rx.wait_for(4, timeout=0.05)


def test_simulator_closes_cleanly_and_frees_port(media):
    sim = NineBitsSim(token="t")
    with httpx.Client() as c:  # keep a connection alive across close()
        assert (
            c.post(
                sim.url("/v1/sendvoice"),
                json={"to": [N1], "media_url": media.url("/a.mp3")},
                headers={"Authorization": "Bearer t"},
            ).status_code
            == 200
        )
        sim.close()
        with pytest.raises(httpx.TransportError):
            c.post(sim.url("/v1/sendvoice"), json={}, headers={"Authorization": "Bearer t"}, timeout=1)
    port = sim.port
    with NineBitsSim(token="t", port=port) as again:
        assert again.port == port and again.requests_count == 0


def test_simulator_in_its_own_process_with_admin_api():
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.simulators", "ninebits", "--token", "t", "--no-fetch-media"],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        info = json.loads(proc.stdout.readline())
        base = info["base_url"]
        assert info["provider"] == "9bits" and info["pid"] == proc.pid
        body = {"to": [N1], "media_url": "http://127.0.0.1:9/a.mp3"}
        assert HTTP.post(base + "/_sim/inject", json={"kind": "503", "params": {"retry_after": 1}}).json() == {
            "pending_faults": 1
        }
        r = HTTP.post(base + "/v1/sendvoice", json=body, headers={"Authorization": "Bearer t"})
        assert r.status_code == 503 and r.headers["Retry-After"] == "1"
        assert HTTP.post(base + "/v1/sendvoice", json=body, headers={"Authorization": "Bearer t"}).status_code == 200
        state = HTTP.get(base + "/_sim/state").json()
        assert state["requests"] == 2 and state["accepted_counts"] == {N1: 1}
        assert state["statuses"] == {"503": 1, "200": 1} and state["faults"] == {"503": 1}
        assert HTTP.post(base + "/_sim/inject", json={"kind": "nope"}).status_code == 400
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
