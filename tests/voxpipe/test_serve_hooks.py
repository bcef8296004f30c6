"""The callback routes of ``voxpipe.serve``: the request as a provider's parser sees it, the body cap
(chunked bodies too), slow bodies, a journal that cannot be written (retried, then 503), and
MessageBird's signed reports (``MessageBird-Signature-JWT``) checked with the signing key.

Where the client address, the URL called or the bytes on the wire matter, the
app runs under a real uvicorn (tests/appserver.py); elsewhere in process
through Starlette's TestClient.
"""

from __future__ import annotations

import pickle
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from tests.appserver import AppServer
from tests.sender.tracking_support import KEYS, bird, events, rows, send_to
from tests.simulators import MessageBirdSim
from tests.simulators.messagebird import SIGNATURE_HEADER, sign_report
from voxpipe.config import load_config
from voxpipe.sender.errors import JournalError
from voxpipe.sender.hooks import hook_url
from voxpipe.sender.journal import Journal
from voxpipe.sender.providers import Callback, Provider, registry
from voxpipe.sender.providers.messagebird import MessageBird
from voxpipe.sender.providers.ninebits import NineBits
from voxpipe.sender.providers.replay import ReplayGuard
from voxpipe.sender.statuses import StatusUpdate
from voxpipe.serve import ServerSettings, ServeSettings, create_app

KEY = "9c1f0e77d2b54a6e8f3d0b1a2c4e6f8091a3b5c7d9e1f2a4b6c8d0e2f4a6b8c0"  # 64 hex digits, like a real signing key
NL = ["+31612345671", "+31612345672"]


class RecordingNineBits(NineBits):
    """9bits that keeps every callback it is given (and raises when told to)."""

    def __init__(self, fail: bool = False) -> None:
        super().__init__()
        self.seen: list[Callback] = []
        self.fail = fail

    def parse_callback(self, callback: Callback) -> list[StatusUpdate]:
        self.seen.append(callback)
        if self.fail:
            raise RuntimeError("boom")
        return []


class LockedJournal(Journal):
    """A real journal whose next ``locked`` write transactions fail as a locked SQLite file does."""

    def __init__(self, path: Path, locked: int = 0) -> None:
        super().__init__(path)
        self.locked = locked
        self.refused = 0

    def transaction(self) -> Any:
        if self.locked:
            self.locked -= 1
            self.refused += 1
            raise JournalError(f"journal {self.path}: cannot write: database is locked")
        return super().transaction()


def providers(**configured: Provider) -> dict[str, Provider]:
    return {**{name: cls() for name, cls in registry().items()}, **configured}


def signed_bird(**options: str) -> MessageBird:
    return MessageBird(credentials={"key": KEYS["messagebird"]["key"], "signing_key": KEY}, options=options)


@pytest.fixture
def media(tmp_path: Path) -> Path:
    root = tmp_path / "media"
    root.mkdir()
    return root


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal(tmp_path / "j.db") as j:
        yield j


def raw_exchange(port: int, request: bytes, timeout: float = 10) -> bytes:
    """Send bytes as they are (not half-closing) and read the answer until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data


# --------------------------------------------------------------------------- the request as the parser sees it


def test_the_provider_gets_the_request_as_sent(media: Path, journal: Journal) -> None:
    nine = RecordingNineBits()
    with AppServer(create_app(media, journal, providers(**{"9bits": nine}))) as server:
        url = hook_url(server.url, "9bits", journal.hook_secret())
        r = httpx.post(f"{url}?a=1&b=two%20words&a=3", content=b"status=delivered", headers={"X-Sig": "s1"})
        assert (r.status_code, r.text) == (200, "OK\n")
        seen = nine.seen[-1]
        assert (seen.method, seen.path, seen.body) == (
            "POST",
            f"/hooks/9bits/{journal.hook_secret()}",
            b"status=delivered",
        )
        assert seen.query == {"a": "3", "b": "two words"}
        assert seen.query_string == "a=1&b=two%20words&a=3"
        assert seen.headers["x-sig"] == "s1" and seen.client == "127.0.0.1"
        assert seen.url == f"{url}?a=1&b=two%20words&a=3"

        assert httpx.get(url + "/").status_code == 200  # a trailing slash is the same route
        assert httpx.get(f"{server.url}/hooks/9bits").status_code == 404  # the prefix alone is no route
        assert httpx.get(f"{url}x").status_code == 404
        assert len(nine.seen) == 2


def test_the_body_cap_is_64_kib_also_for_chunked_bodies(media: Path, journal: Journal) -> None:
    nine = RecordingNineBits()
    with AppServer(create_app(media, journal, providers(**{"9bits": nine}))) as server:
        url = hook_url(server.url, "9bits", journal.hook_secret())
        assert httpx.post(url, content=b"x" * (64 * 1024)).status_code == 200
        assert httpx.post(url, content=b"x" * (64 * 1024 + 1)).status_code == 413

        def chunks(total: int) -> Iterator[bytes]:
            for _ in range(total // 4096):
                yield b"y" * 4096

        assert httpx.post(url, content=chunks(32 * 1024)).status_code == 200  # no length: streamed, under the cap
        assert nine.seen[-1].body == b"y" * 32 * 1024
        assert httpx.post(url, content=chunks(1024 * 1024)).status_code == 413
        target = url.removeprefix(server.url)
        # Past the cap without ever ending the body: the answer comes anyway, nothing more is read.
        head = f"POST {target} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        answer = raw_exchange(server.port, head + b"".join(b"4000\r\n" + b"z" * 0x4000 + b"\r\n" for _ in range(5)))
        assert answer.startswith(b"HTTP/1.1 413 ") and b"connection: close" in answer.lower()
        # A length over the cap is refused before any body is sent.
        head = f"POST {target} HTTP/1.1\r\nHost: x\r\nContent-Length: {10**9}\r\n\r\n".encode()
        assert raw_exchange(server.port, head).startswith(b"HTTP/1.1 413 ")
        assert len(nine.seen) == 2  # only the two bodies under the cap reached the parser
        assert httpx.post(url, content=b"{}").status_code == 200  # still serving


def test_a_body_too_slow_to_arrive_gets_408(media: Path, journal: Journal) -> None:
    app = create_app(media, journal, settings=ServeSettings(body_timeout_s=0.5))
    with AppServer(app) as server:
        target = hook_url("", "9bits", journal.hook_secret())
        answer = raw_exchange(
            server.port, f"POST {target} HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{{}}".encode()
        )
        assert answer.startswith(b"HTTP/1.1 408 ")
        assert events(journal) == []


def test_a_parser_that_fails_is_a_500_and_the_server_goes_on(media: Path, journal: Journal) -> None:
    with AppServer(create_app(media, journal, providers(**{"9bits": RecordingNineBits(fail=True)}))) as server:
        url = hook_url(server.url, "9bits", journal.hook_secret())
        assert httpx.post(url, content=b"{}").status_code == 500
        assert httpx.get(f"{server.url}/healthz").status_code == 200


def test_the_wrong_secret_is_404_before_the_body_is_read(media: Path, journal: Journal) -> None:
    nine = RecordingNineBits()
    with AppServer(create_app(media, journal, providers(**{"9bits": nine}))) as server:
        # A body announced but never sent: the 404 does not wait for it.
        answer = raw_exchange(server.port, b"POST /hooks/9bits/wrong HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 404 ") and answer.endswith(b"not found\n")
        assert nine.seen == []


# --------------------------------------------------------------------------- a journal that cannot be written


def test_a_locked_journal_is_retried_then_the_callback_is_stored(media: Path, tmp_path: Path) -> None:
    locked = LockedJournal(tmp_path / "locked.db", locked=3)
    with TestClient(create_app(media, locked)) as web:
        url = hook_url("", "wawp", locked.hook_secret())
        r = web.post(url, json={"event": "message.ack", "payload": {"id": "true_1@c.us_A", "ack": 2}})
        assert (r.status_code, locked.refused) == (200, 3)
        assert [e[2] for e in events(locked)] == ["hook:wawp"]
    locked.close()


def test_a_journal_locked_past_the_bound_gets_503_and_nothing_is_taken(media: Path, tmp_path: Path) -> None:
    locked = LockedJournal(tmp_path / "locked.db", locked=10**6)
    app = create_app(media, locked, settings=ServeSettings(journal_retry_s=0.3))
    with TestClient(app) as web:
        ack = {"event": "message.ack", "payload": {"id": "true_1@c.us_A", "ack": 2}}
        r = web.post(hook_url("", "wawp", locked.hook_secret()), json=ack)
        assert (r.status_code, r.headers["retry-after"]) == (503, "5")
        assert locked.refused >= 2  # tried again before giving up
        locked.locked = 0
        assert events(locked) == []
    locked.close()


def test_a_real_sqlite_lock_held_by_another_writer_is_waited_for(media: Path, journal: Journal) -> None:
    """Another process's write transaction (here another connection) holds the file: the callback waits, then lands."""
    with AppServer(create_app(media, journal)) as server:
        url = hook_url(server.url, "wawp", journal.hook_secret())
        other = sqlite3.connect(str(journal.path), isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
        release = threading.Timer(0.5, lambda: other.execute("COMMIT"))
        release.start()
        r = httpx.post(url, json={"event": "message.ack", "payload": {"id": "true_1@c.us_A", "ack": 2}}, timeout=60)
        release.join()
        other.close()
    assert r.status_code == 200 and [e[2] for e in events(journal)] == ["hook:wawp"]


# --------------------------------------------------------------------------- MessageBird's signed reports


def report(base: str, secret: str, params: dict[str, str], key: str = KEY, **sign: Any) -> httpx.Response:
    url = httpx.URL(hook_url(base, "messagebird", secret), params=params)
    return httpx.get(url, headers={SIGNATURE_HEADER: sign_report(key, str(url), **sign)})


REPORT = {"id": "feedbeef", "reference": "camp-1", "recipient": "31612345671", "status": "answered"}


def test_signed_reports_from_the_simulator_are_checked_and_applied(media: Path, journal: Journal) -> None:
    with AppServer(create_app(media, journal, providers(messagebird=signed_bird()))) as server:
        with MessageBirdSim(access_key=KEYS["messagebird"]["key"], signing_key=KEY) as sim:
            send_to(
                bird(sim.base_url, report_url=hook_url(server.url, "messagebird", journal.hook_secret())), NL, journal
            )
            sim.outcomes = {"31612345671": "answered", "31612345672": "busy"}
            assert sim.fire_callbacks() == 4
            assert {a.status for a in sim.callbacks_sent} == {200}
        assert {a: r.status for a, r in rows(journal).items()} == {NL[0]: "answered", NL[1]: "busy"}
        # The same reports from someone without the key: all refused, nothing changes.
        before = (rows(journal), len(events(journal)))
        with MessageBirdSim(
            access_key=KEYS["messagebird"]["key"],
            signing_key="not-the-signing-key-of-this-account-0123456789",
            max_redeliveries=0,
        ) as sim:
            send_to(
                bird(sim.base_url, report_url=hook_url(server.url, "messagebird", journal.hook_secret())),
                NL,
                journal,
                "camp2",
            )
            sim.fire_callbacks()
            assert {a.status for a in sim.callbacks_sent} == {401}
        with MessageBirdSim(access_key=KEYS["messagebird"]["key"], max_redeliveries=0) as sim:  # unsigned
            send_to(
                bird(sim.base_url, report_url=hook_url(server.url, "messagebird", journal.hook_secret())),
                NL,
                journal,
                "camp3",
            )
            sim.fire_callbacks()
            assert {a.status for a in sim.callbacks_sent} == {401}
        assert (rows(journal), len(events(journal))) == before


@pytest.mark.parametrize(
    ("sign", "reason"),
    [
        ({"offset": -3600}, "Signature has expired"),  # seconds from when the test runs, not when it was collected
        ({"offset": 600}, "not yet valid"),
        ({"issuer": "SomeoneElse"}, "Invalid issuer"),
        ({"key": "another-signing-key-0123456789abcdef0123456789"}, "Signature verification failed"),
        ({"algorithm": "HS512"}, None),  # accepted: MessageBird's SDKs take HS256, HS384 and HS512
    ],
)
def test_a_bad_or_expired_token_is_401(media: Path, journal: Journal, sign: dict[str, Any], reason: str | None) -> None:
    sign = dict(sign)
    key = sign.pop("key", KEY)
    if "offset" in sign:
        sign["now"] = time.time() + sign.pop("offset")
    with AppServer(create_app(media, journal, providers(messagebird=signed_bird()))) as server:
        r = report(server.url, journal.hook_secret(), REPORT, key, **sign)
    if reason is None:
        assert r.status_code == 200
    else:
        assert r.status_code == 401 and reason in r.text, r.text
        assert events(journal) == []


def test_the_token_covers_the_url_and_the_body(media: Path, journal: Journal) -> None:
    with AppServer(create_app(media, journal, providers(messagebird=signed_bird()))) as server:
        secret = journal.hook_secret()
        url = httpx.URL(hook_url(server.url, "messagebird", secret), params=REPORT)
        tampered = url.copy_set_param("status", "failed")
        r = httpx.get(tampered, headers={SIGNATURE_HEADER: sign_report(KEY, str(url))})
        assert (r.status_code, "url_hash" in r.text) == (401, True)
        form = "&".join(f"{k}={v}" for k, v in REPORT.items()).encode()
        post_url = hook_url(server.url, "messagebird", secret)
        ctype = {"Content-Type": "application/x-www-form-urlencoded"}
        r = httpx.post(post_url, content=form, headers={**ctype, SIGNATURE_HEADER: sign_report(KEY, post_url, form)})
        assert r.status_code == 200
        r = httpx.post(
            post_url, content=form + b"&x=1", headers={**ctype, SIGNATURE_HEADER: sign_report(KEY, post_url, form)}
        )
        assert (r.status_code, "payload_hash" in r.text) == (401, True)
        r = httpx.post(post_url, content=form, headers={**ctype, SIGNATURE_HEADER: sign_report(KEY, post_url)})
        assert (r.status_code, "no payload_hash" in r.text) == (401, True)
        r = httpx.get(url, headers={SIGNATURE_HEADER: sign_report(KEY, str(url), b"a body that is not there")})
        assert (r.status_code, "no body" in r.text) == (401, True)
        r = httpx.get(url, headers={SIGNATURE_HEADER: "not.a.token"})
        assert r.status_code == 401
        assert len(events(journal)) == 1  # only the good POST


def test_a_token_is_taken_once(media: Path, journal: Journal) -> None:
    with AppServer(create_app(media, journal, providers(messagebird=signed_bird()))) as server:
        url = httpx.URL(hook_url(server.url, "messagebird", journal.hook_secret()), params=REPORT)
        token = sign_report(KEY, str(url))
        assert httpx.get(url, headers={SIGNATURE_HEADER: token}).status_code == 200
        again = httpx.get(url, headers={SIGNATURE_HEADER: token})
        assert (again.status_code, "used already" in again.text) == (401, True)
        assert len(events(journal)) == 1


def test_clock_skew_is_configurable(media: Path, journal: Journal) -> None:
    ahead = {"now": time.time() + 20}  # the provider's clock 20 s ahead of ours
    with AppServer(create_app(media, journal, providers(messagebird=signed_bird()))) as server:
        assert report(server.url, journal.hook_secret(), REPORT, **ahead).status_code == 401  # 1 s by default
    with AppServer(create_app(media, journal, providers(messagebird=signed_bird(clock_skew="60")))) as server:
        assert report(server.url, journal.hook_secret(), REPORT, **ahead).status_code == 200


def test_a_report_answered_503_can_come_again_with_the_same_token(media: Path, tmp_path: Path) -> None:
    locked = LockedJournal(tmp_path / "locked.db")
    secret = locked.hook_secret()
    app = create_app(media, locked, providers(messagebird=signed_bird()), ServeSettings(journal_retry_s=0))
    with AppServer(app) as server:
        url = httpx.URL(hook_url(server.url, "messagebird", secret), params=REPORT)
        token = sign_report(KEY, str(url))
        locked.locked = 1
        assert httpx.get(url, headers={SIGNATURE_HEADER: token}).status_code == 503
        assert httpx.get(url, headers={SIGNATURE_HEADER: token}).status_code == 200  # the redelivery
        assert httpx.get(url, headers={SIGNATURE_HEADER: token}).status_code == 401  # now it was taken
    assert len(events(locked)) == 1
    locked.close()


def test_the_signed_url_is_the_public_one_behind_a_proxy(media: Path, journal: Journal) -> None:
    secret = journal.hook_secret()
    public = httpx.URL(hook_url("https://voice.example.com", "messagebird", secret), params=REPORT)
    signed = {SIGNATURE_HEADER: sign_report(KEY, str(public))}
    # --base-url: the URL is the public address followed by the path as received.
    app = create_app(
        media, journal, providers(messagebird=signed_bird()), ServeSettings(base_url="https://voice.example.com")
    )
    with AppServer(app) as server:
        assert (
            httpx.get(public.copy_with(scheme="http", host="127.0.0.1", port=server.port), headers=signed).status_code
            == 200
        )
    # Without it: the Host header and the scheme from a trusted proxy's X-Forwarded-Proto.
    forwarded = {**signed, "Host": "voice.example.com", "X-Forwarded-Proto": "https"}
    for proxy_headers, status in ((True, 200), (False, 401)):
        settings = ServerSettings(
            host="127.0.0.1", port=0, proxy_headers=proxy_headers, forwarded_allow_ips="127.0.0.1"
        )
        with AppServer(create_app(media, journal, providers(messagebird=signed_bird())), settings) as server:
            token = {SIGNATURE_HEADER: sign_report(KEY, str(public))}  # a fresh token each time: each is taken once
            local = public.copy_with(scheme="http", host="127.0.0.1", port=server.port)
            assert httpx.get(local, headers={**forwarded, **token}).status_code == status


def test_without_a_signing_key_reports_are_not_checked(media: Path, journal: Journal) -> None:
    with TestClient(create_app(media, journal)) as web:
        assert web.get(hook_url("", "messagebird", journal.hook_secret()), params=REPORT).status_code == 200


# --------------------------------------------------------------------------- the pieces


def test_the_signing_key_is_an_optional_credential_read_from_the_environment(tmp_path: Path) -> None:
    env = {"VOXPIPE_MESSAGEBIRD_KEY": "access-key-1", "VOXPIPE_MESSAGEBIRD_SIGNING_KEY": KEY}
    bird_ = load_config(environ=env, cwd=tmp_path).provider("messagebird")
    assert bird_.secrets == {"key": "access-key-1", "signing_key": KEY}
    MessageBird(credentials={"key": "k"}).require_credentials()  # sending never asks for it
    assert "signing_key" not in MessageBird(credentials={"key": "k"}).secrets


def test_the_replay_guard_forgets_expired_tokens_and_starts_empty_in_a_new_process() -> None:
    now = [1000.0]
    guard = ReplayGuard(clock=lambda: now[0])
    assert guard.claim("a", 1010.0) and not guard.claim("a", 1010.0)
    guard.release("a")
    assert guard.claim("a", 1010.0)
    now[0] = 1011.0
    assert guard.claim("a", 1020.0)  # expired: may be taken again (a real token would be refused as expired)
    copy = pickle.loads(pickle.dumps(ReplayGuard()))
    assert len(copy) == 0 and copy.claim("a", time.time() + 5)


def test_hook_log_lines_never_show_a_secret_or_the_signing_key(
    media: Path, journal: Journal, caplog: pytest.LogCaptureFixture
) -> None:
    secret = journal.hook_secret()
    with caplog.at_level("INFO"), AppServer(create_app(media, journal, providers(messagebird=signed_bird()))) as server:
        report(server.url, secret, REPORT)
        httpx.get(hook_url(server.url, "messagebird", secret), params=REPORT)  # unsigned: 401
        httpx.post(f"{server.url}/hooks%2F9bits/{secret}", json={})
    server_log = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(("voxpipe", "uvicorn")))
    assert secret not in server_log and KEY not in server_log  # (the test's own httpx client logs its URLs)
    assert '"GET /hooks/messagebird/***" 200' in server_log and '"GET /hooks/messagebird/***" 401' in server_log
    assert '"POST /hooks/9bits/***" 404' in server_log
    assert "hook:messagebird: refused callback from 127.0.0.1: messagebird: no MessageBird-Signature-JWT" in server_log


# --------------------------------------------------------------------------- group commit


class SlowFirstJournal(Journal):
    """A real journal whose first write transaction takes a while (callbacks pile up behind it); counts the
    transactions opened outside any other (the ones that commit)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.transactions = 0
        self.first_started = threading.Event()
        self._nesting = threading.local()

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        depth = getattr(self._nesting, "n", 0)
        with super().transaction() as db:
            if depth == 0:
                self.transactions += 1
                if self.transactions == 1:
                    self.first_started.set()
                    time.sleep(2.0)
            self._nesting.n = depth + 1
            try:
                yield db
            finally:
                self._nesting.n = depth


class FailingOnId(NineBits):
    """9bits whose parser breaks (a bug) on one number."""

    def parse_callback(self, callback: Callback) -> list[StatusUpdate]:
        if b"2348099999999" in callback.body:
            raise RuntimeError("boom")
        return super().parse_callback(callback)


def test_callbacks_arriving_together_are_committed_together_and_one_failure_stays_its_own(
    media: Path, tmp_path: Path
) -> None:
    slow = SlowFirstJournal(tmp_path / "slow.db")
    secret = slow.hook_secret()
    app = create_app(media, slow, providers(**{"9bits": FailingOnId(), "messagebird": signed_bird()}))
    with AppServer(app) as server:
        wawp_url = hook_url(server.url, "wawp", secret)
        nine_url = hook_url(server.url, "9bits", secret)

        def send(n: int) -> int:
            if n == 0:  # the first one, alone in the slow transaction
                return httpx.post(
                    wawp_url,
                    json={"event": "message.ack", "payload": {"id": "true_1@c.us_first", "ack": 2}},
                    timeout=30,
                ).status_code
            time.sleep(0.3)  # the rest arrive while it is being committed
            if n == 1:
                return httpx.post(nine_url, json={"to_number": "2348099999999"}, timeout=30).status_code  # the bug
            if n == 2:
                return httpx.post(nine_url, content=b"{not json", timeout=30).status_code  # malformed: 400, recorded
            if n == 3:
                return report(server.url, secret, REPORT).status_code  # signed: its token survives the retry
            return httpx.post(
                wawp_url, json={"event": "message.ack", "payload": {"id": f"true_1@c.us_n{n}", "ack": 2}}, timeout=30
            ).status_code

        with ThreadPoolExecutor(max_workers=24) as pool:
            answers = list(pool.map(send, range(24)))
    assert answers[0] == 200 and answers[1] == 500 and answers[2] == 400 and answers[3] == 200
    assert answers[4:] == [200] * 20
    sources = [e[2] for e in events(slow)]
    assert (
        sources.count("hook:wawp") == 21 and sources.count("hook:9bits") == 1 and sources.count("hook:messagebird") == 1
    )
    slow.close()


def test_callbacks_waiting_together_cost_one_commit(media: Path, tmp_path: Path) -> None:
    slow = SlowFirstJournal(tmp_path / "slow.db")
    with AppServer(create_app(media, slow)) as server:
        url = hook_url(server.url, "wawp", slow.hook_secret())

        def send(n: int) -> int:
            if n:  # the rest arrive while the first is being committed
                assert slow.first_started.wait(30)
            ack = {"event": "message.ack", "payload": {"id": f"true_1@c.us_n{n}", "ack": 2}}
            return httpx.post(url, json=ack, timeout=30).status_code

        with ThreadPoolExecutor(max_workers=40) as pool:
            assert list(pool.map(send, range(40))) == [200] * 40
    assert len(events(slow)) == 40
    assert slow.transactions <= 4  # the first, then the 39 that waited behind it (give or take a straggler)
    slow.close()


def test_a_database_journal_not_reachable_yet_is_a_503_not_a_traceback(media: Path, caplog) -> None:
    """A PostgreSQL journal is opened at the first callback; while its server is down, callbacks get 503 with
    Retry-After (the provider delivers again) and one log line without the password."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nothing listens there
    url = f"postgresql+psycopg://voxpipe:hunter2secret@127.0.0.1:{port}/voxpipe"
    with TestClient(create_app(media, url)) as client:
        answer = client.post("/hooks/9bits/anything", json={"ref_id": "x"})
    assert answer.status_code == 503 and answer.headers["retry-after"] == "5"
    assert "hunter2secret" not in caplog.text and "Traceback" not in caplog.text
