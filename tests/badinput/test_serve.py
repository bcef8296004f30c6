"""Bad HTTP requests to a real ``voxpipe serve`` process: each gets a clean 4xx,
the server keeps serving, and its log has no traceback and no secret.

Requests are written as raw bytes on a socket, since an HTTP client library
would refuse to send most of them.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.simulators import make_audio
from voxpipe.sender.journal import Journal

SECRET_FIELD = "{secret}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    def __init__(self, root: Path) -> None:
        self.media = root / "media"
        self.media.mkdir(parents=True)
        (self.media / "ok.mp3").write_bytes(make_audio("mp3", 1.0))
        journal = root / "j.db"
        with Journal(journal) as j:
            self.secret = j.hook_secret()
        self.port = _free_port()
        self.log = root / "serve.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("VOXPIPE_")}
        self._log_fh = open(self.log, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "voxpipe", "-v", "serve", str(self.media), "--port", str(self.port), "--journal", str(journal)],
            stdout=self._log_fh, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
        raise RuntimeError(f"voxpipe serve did not start: {self.log.read_text(errors='replace')}")

    def exchange(self, raw: bytes, timeout: float = 5.0) -> bytes:
        """Send ``raw``, half-close, and read the answer until the server closes or goes quiet."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            try:
                s.sendall(raw)
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass  # the server may close early on a request it refuses
            data = b""
            try:
                while chunk := s.recv(65536):
                    data += chunk
            except (TimeoutError, ConnectionResetError):
                pass
        return data

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log_fh.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    server = Served(tmp_path_factory.mktemp("serve-bad"))
    yield server
    server.close()


def _get(path: str, *headers: str) -> bytes:
    extra = "".join(f"{h}\r\n" for h in headers)
    return f"GET {path} HTTP/1.1\r\nHost: x\r\n{extra}Connection: close\r\n\r\n".encode("latin-1")


def _post(path: str, body: bytes, ctype: str = "application/json", *headers: str) -> bytes:
    extra = "".join(f"{h}\r\n" for h in headers)
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n{extra}Connection: close\r\n\r\n"
    return head.encode("latin-1") + body


def hook(provider: str) -> str:
    return f"/hooks/{provider}/{SECRET_FIELD}"


NINE = hook("9bits")
TRAVERSALS = [
    "/../etc/passwd", "/../../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
    "/%2fetc%2fpasswd", "//etc/passwd", "/..\\..\\etc\\passwd", "/..%5c..%5cetc%5cpasswd", "/etc/passwd",
    "/%00.mp3", "/ok.mp3%00", "http://127.0.0.1/../etc/passwd", "/../ok.mp3", "/%2e%2e/ok.mp3", "/.%2e/ok.mp3",
    "/ok.mp3.json", "/.hidden.mp3", "/ok.mp3/", "/%252e%252e/etc/passwd",
]  # fmt: skip
CALL = {"start_at": "2026-01-01 10:00:00", "end_at": "2026-01-01 10:01:00", "to_number": "2348020000001"}

# (name, raw request, statuses that are a clean answer; "closed" = closed without a byte)
HTTP_CASES: list[tuple[str, bytes, set[int | str]]] = []
for n, target in enumerate(TRAVERSALS):
    HTTP_CASES.append((f"traversal-{n}", _get(target), {400, 404}))
HTTP_CASES += [
    ("range-5000-digit-start", _get("/ok.mp3", "Range: bytes=" + "9" * 5000 + "-"), {200, 416}),
    ("range-5000-digit-end", _get("/ok.mp3", "Range: bytes=0-" + "9" * 5000), {200, 206}),
    ("range-5000-digit-suffix", _get("/ok.mp3", "Range: bytes=-" + "9" * 5000), {200, 206}),
    ("range-reversed", _get("/ok.mp3", "Range: bytes=5-1"), {200, 416}),
    ("range-words", _get("/ok.mp3", "Range: bytes=abc"), {200, 416}),
    ("range-unit", _get("/ok.mp3", "Range: items=0-1"), {200, 416}),
    ("range-double-dash", _get("/ok.mp3", "Range: bytes=--1"), {200, 416}),
    ("range-1000-parts", _get("/ok.mp3", "Range: bytes=" + ",".join(f"{i}-{i}" for i in range(1000))), {200, 206, 416}),
    ("range-empty", _get("/ok.mp3", "Range: "), {200, 416}),
    ("range-negative-end", _get("/ok.mp3", "Range: bytes=0--5"), {200, 416}),
    # DEL (0x7f) may not appear in a field value (RFC 9110 5.5): the parser refuses the request with 400.
    ("if-range-garbage", _get("/ok.mp3", "Range: bytes=0-1", "If-Range: \x7fgarbage"), {200, 206, 400}),
    ("if-none-match-huge", _get("/ok.mp3", "If-None-Match: " + ", ".join(f'"{i}"' for i in range(5000))), {200, 304, 400, 431}),
    ("method-delete", b"DELETE /ok.mp3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", {404, 405}),
    ("method-put-body", b"PUT /ok.mp3 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello", {404, 405}),
    ("method-trace", b"TRACE / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", {404, 405}),
    ("method-connect", b"CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", {400, 404, 405}),
    ("method-bogus", b"FROB /ok.mp3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", {400, 404, 405, 501}),
    ("method-space", b"GE T /ok.mp3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", {400}),
    ("duplicate-content-length", f"POST {NINE} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 20\r\nConnection: close\r\n\r\n{{}}".encode(), {400}),
    ("content-length-and-chunked", f"POST {NINE} HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n".encode(), {400}),
    ("content-length-negative", f"POST {NINE} HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\nConnection: close\r\n\r\n".encode(), {400}),
    ("content-length-words", f"POST {NINE} HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\nConnection: close\r\n\r\n".encode(), {400}),
    ("content-length-5000-digits", f"POST {NINE} HTTP/1.1\r\nHost: x\r\nContent-Length: {'9' * 5000}\r\nConnection: close\r\n\r\n".encode(), {400, 413}),
    ("obs-fold", b"GET /ok.mp3 HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n  b\r\nConnection: close\r\n\r\n", {200, 400}),
    ("ten-thousand-headers", b"GET /ok.mp3 HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(10000)) + b"Connection: close\r\n\r\n", {400, 431}),
    ("header-64k", b"GET /ok.mp3 HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 65536 + b"\r\nConnection: close\r\n\r\n", {400, 431}),
    ("header-nul", b"GET /ok.mp3 HTTP/1.1\r\nHost: x\r\nX-Nul: a\x00b\r\nConnection: close\r\n\r\n", {400}),
    ("header-name-space", b"GET /ok.mp3 HTTP/1.1\r\nHost: x\r\nBad Header: v\r\nConnection: close\r\n\r\n", {400}),
    ("header-no-colon", b"GET /ok.mp3 HTTP/1.1\r\nHost: x\r\nNoColonHere\r\nConnection: close\r\n\r\n", {400}),
    ("http-0.9", b"GET /ok.mp3\r\n", {400, 505, "closed"}),
    ("http-2.0-line", b"GET /ok.mp3 HTTP/2.0\r\nHost: x\r\n\r\n", {400, 505}),
    ("http-7.0-line", b"GET /ok.mp3 HTTP/7.0\r\nHost: x\r\n\r\n", {400, 505}),
    ("request-line-extra-word", b"GET /ok.mp3 HTTP/1.1 extra\r\nHost: x\r\n\r\n", {400}),
    ("request-line-9kb", b"GET /" + b"a" * 9000 + b".mp3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", {400, 404, 414}),
    ("request-line-64kb", b"GET /" + b"a" * 65536 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", {400, 414, 431}),
    ("path-raw-bytes", b"GET /\xff\xfe.mp3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", {400, 404}),
    ("path-control-char", b"GET /a\x01b.mp3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", {400, 404}),
    ("only-method", b"GET\r\n\r\n", {400, "closed"}),
    ("empty-lines", b"\r\n\r\n\r\n", {400, "closed"}),
    ("tls-hello", b"\x16\x03\x01\x00\x20\x01\x00\x00\x1c\x03\x03" + bytes(range(32)), {400, "closed"}),
    ("query-10k-params", _get("/ok.mp3?" + "&".join(f"a{i}=1" for i in range(10000))), {200, 400, 414}),
    ("hook-json-bomb-deep", _post(NINE, b"[" * 30000 + b"]" * 30000), {400}),
    ("hook-json-huge-int", _post(NINE, json.dumps({**CALL, "answer_at": "2026-01-01 10:00:10"}).encode()[:-1] + b', "call_duration": ' + b"9" * 5000 + b"}"), {400}),
    ("hook-duration-1e400", _post(NINE, json.dumps({**CALL, "answer_at": "2026-01-01 10:00:10"}).encode()[:-1] + b', "call_duration": "1e400"}'), {400}),
    ("hook-duration-nan-literal", _post(NINE, json.dumps({**CALL, "answer_at": "2026-01-01 10:00:10"}).encode()[:-1] + b', "call_duration": NaN}'), {400}),
    ("hook-duration-negative", _post(NINE, json.dumps({**CALL, "answer_at": "2026-01-01 10:00:10", "call_duration": -5}).encode()), {400}),
    ("hook-amount-infinity", _post(NINE, json.dumps({**CALL, "total_amount": "Infinity"}).encode()), {400}),
    ("hook-date-garbage", _post(NINE, json.dumps({**CALL, "start_at": "yesterday"}).encode()), {400}),
    ("hook-date-year-99999", _post(NINE, json.dumps({**CALL, "start_at": "99999-01-01 10:00:00"}).encode()), {400}),
    ("hook-not-json", _post(NINE, b"{not json"), {400}),
    ("hook-empty-body", _post(NINE, b""), {400}),
    ("hook-xml", _post(NINE, b"<call/>", "application/xml"), {400}),
    ("hook-form-latin1", _post(NINE, "to_number=23480\xe9".encode("latin-1"), "application/x-www-form-urlencoded"), {400}),
    ("hook-array-of-garbage", _post(NINE, b"[1, 2, 3]"), {400}),
    ("hook-wrong-secret", _post("/hooks/9bits/not-the-secret", json.dumps(CALL).encode()), {404}),
    ("hook-empty-provider", _post("/hooks//" + SECRET_FIELD, json.dumps(CALL).encode()), {404}),
    ("hook-unknown-provider", _post("/hooks/twilio/" + SECRET_FIELD, json.dumps(CALL).encode()), {404}),
    ("hook-extra-segment", _post(NINE + "/extra", json.dumps(CALL).encode()), {404}),
    ("hook-over-cap", _post(NINE, b'{"pad": "' + b"x" * 70000 + b'"}'), {413}),
    ("hook-chunked-over-cap", f"POST {NINE} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".encode() + b"".join(b"4000\r\n" + b"x" * 0x4000 + b"\r\n" for _ in range(8)) + b"0\r\n\r\n", {413}),
    ("hook-chunked-invalid", f"POST {NINE} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\nhello\r\n0\r\n\r\n".encode(), {400}),
    ("hook-method-put", f"PUT {NINE} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}".encode(), {405}),
    ("hook-wawp-not-object", _post(hook("wawp"), b'"message.ack"'), {400}),
    ("hook-wawp-ack-words", _post(hook("wawp"), json.dumps({"event": "message.ack", "payload": {"id": "x", "ack": "played"}}).encode()), {400}),
    ("hook-wawp-ack-huge", _post(hook("wawp"), b'{"event": "message.ack", "payload": {"id": "x", "ack": ' + b"9" * 5000 + b"}}"), {400}),
    ("hook-messagebird-missing", _get(hook("messagebird") + "?id=1"), {400}),
    ("hook-messagebird-10k-params", _get(hook("messagebird") + "?" + "&".join(f"a{i}=1" for i in range(10000))), {400, 414}),
    ("hook-alphasms-id-words", _post(hook("alphasms"), json.dumps({"id": "abc", "status": "ANSWERED"}).encode()), {400}),
    ("hook-alphasms-duration-inf", _post(hook("alphasms"), json.dumps({"id": 1, "status": "ANSWERED", "duration": "inf"}).encode()), {400}),
]  # fmt: skip
# The issue's own list (voxpipe serve on uvicorn): each is answered, logged in one line, and the server goes on.
EXTRA_CASES: list[tuple[str, bytes, set[int | str]]] = [
    ("hook-chunked-over-cap-never-ended", f"POST {NINE} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".encode() + b"".join(b"4000\r\n" + b"x" * 0x4000 + b"\r\n" for _ in range(16)), {413}),
    ("hook-chunked-and-content-length", f"POST {NINE} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\nConnection: close\r\n\r\n0\r\n\r\n".encode(), {400}),
    ("media-content-length-and-chunked", b"GET /ok.mp3 HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n", {400}),
    ("hook-request-line-over-8kb", _get(hook("messagebird") + "?pad=" + "a" * 8200), {400, 414}),
    ("media-request-line-over-8kb", _get("/" + "b" * 8200 + ".mp3"), {400, 414}),
    ("hook-ten-thousand-headers", _post(NINE, b"{}", "application/json", *(f"X-H{i}: v" for i in range(10000))), {400, 431}),
    ("header-fields-over-16kb", _get("/ok.mp3", *(f"X-Pad{i}: {'p' * 200}" for i in range(90))), {400, 431}),
]  # fmt: skip
HTTP_CASES += EXTRA_CASES


def _status(answer: bytes) -> int | str:
    if not answer:
        return "closed"
    line = answer.split(b"\r\n", 1)[0].split()
    if len(line) >= 2 and line[0].startswith(b"HTTP/") and line[1].isdigit():
        return int(line[1])
    return f"no status line: {answer[:60]!r}"


@pytest.mark.parametrize(("name", "raw", "allowed"), HTTP_CASES, ids=[c[0] for c in HTTP_CASES])
def test_bad_request_gets_a_clean_answer_and_the_server_keeps_serving(
    served: Served, name: str, raw: bytes, allowed: set[int | str]
) -> None:
    raw = raw.replace(SECRET_FIELD.encode(), served.secret.encode())
    got = _status(served.exchange(raw))
    assert got in allowed, f"{name}: answered {got}, want one of {sorted(map(str, allowed))}"
    assert _status(served.exchange(_get("/ok.mp3"))) == 200, f"{name}: the server stopped serving"


def test_the_http_table_is_large_and_ids_are_unique() -> None:
    ids = [c[0] for c in HTTP_CASES]
    assert len(ids) == len(set(ids))
    assert len(HTTP_CASES) >= 70


def test_the_log_has_one_line_per_request_no_traceback_and_no_secret(served: Served) -> None:
    """Runs after the cases above (pytest keeps the file's order)."""
    assert _status(served.exchange(_get("/ok.mp3"))) == 200
    log = served.log.read_text(errors="replace")
    assert "Traceback" not in log, log[-4000:]
    assert served.secret not in log, "the hook secret reached the server's log"


def _access_lines(served: Served) -> list[str]:
    return [line for line in served.log.read_text(errors="replace").splitlines() if "voxpipe.serve.access" in line]


@pytest.mark.parametrize(("name", "raw", "allowed"), EXTRA_CASES, ids=[c[0] for c in EXTRA_CASES])
def test_each_of_the_issues_cases_is_logged_in_one_line(
    served: Served, name: str, raw: bytes, allowed: set[int | str]
) -> None:
    before = len(_access_lines(served))
    got = _status(served.exchange(raw.replace(SECRET_FIELD.encode(), served.secret.encode())))
    assert got in allowed, f"{name}: answered {got}"
    assert _status(served.exchange(_get("/ok.mp3"))) == 200
    deadline = time.monotonic() + 10
    while len(_access_lines(served)) < before + 2 and time.monotonic() < deadline:
        time.sleep(0.05)  # the app logs a line once its answer is sent
    lines = _access_lines(served)[before:]
    assert len(lines) == 2, f"{name}: {lines}"
    ours = [line for line in lines if '"GET /ok.mp3" 200 ' not in line]
    assert len(ours) == 1 and re.search(rf'" {got} ', ours[0]), f"{name}: {lines}"
    assert served.secret not in ours[0]
