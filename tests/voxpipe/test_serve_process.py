"""``voxpipe serve`` as a real process: health, several workers on one journal, SIGTERM during a
burst of callbacks, TLS, JSON logs, slow connections, and the errors it refuses to start with.

Each server is started as a user starts it (``python -m voxpipe serve``) on a
free port; its log is read from stderr.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from tests.serveprocess import Served
from tests.simulators import make_audio
from voxpipe.sender.hooks import hook_url
from voxpipe.sender.journal import Journal


@pytest.fixture
def media(tmp_path: Path) -> Path:
    root = tmp_path / "media"
    root.mkdir()
    (root / "ok.mp3").write_bytes(make_audio("mp3", 1.0))
    return root


@pytest.fixture
def journal_file(tmp_path: Path) -> Path:
    return tmp_path / "j.db"


def secret_of(journal_file: Path) -> str:
    with Journal(journal_file) as journal:
        return journal.hook_secret()


def ack(n: int) -> dict[str, object]:
    """A Wawp ack whose message id only this callback carries (unknown to the journal: recorded as unmatched)."""
    return {"event": "message.ack", "payload": {"id": f"true_1@c.us_burst{n:05d}", "ack": 2}}


def stored_ids(journal_file: Path) -> set[str]:
    with Journal(journal_file) as journal:
        with journal.transaction() as db:
            payloads = [row[0] for row in db.execute(text("SELECT payload FROM events WHERE source = 'hook:wawp'"))]
    return {json.loads(p)["ref"] for p in payloads}


@pytest.fixture
def unwritable() -> Iterator[list[Path]]:
    """Paths added here are made unwritable for the test (chattr +i as root, whom file modes do not stop)."""
    paths: list[Path] = []
    yield paths
    for path in paths:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(path)], check=False)
        else:
            path.chmod(0o600)


def make_unwritable(path: Path, registry: list[Path]) -> None:
    if os.geteuid() == 0:
        if shutil.which("chattr") is None:
            pytest.skip("running as root without chattr: no way to make a file unwritable")
        proc = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
        if proc.returncode != 0:
            pytest.skip(f"chattr +i is not possible here: {proc.stderr.strip()}")
    else:
        path.chmod(0o400)
    registry.append(path)


# --------------------------------------------------------------------------- health


def test_healthz_says_503_when_the_journal_cannot_be_written(media, journal_file, unwritable) -> None:
    server = Served(media, "--journal", str(journal_file))
    try:
        ok = httpx.get(f"{server.url}/healthz")
        assert (ok.status_code, ok.json()) == (200, {"status": "ok", "media": "ok", "journal": "ok"})
        assert ok.headers["cache-control"] == "no-store"
        make_unwritable(journal_file, unwritable)
        bad = httpx.get(f"{server.url}/healthz")
        assert bad.status_code == 503
        assert bad.json()["status"] == "unavailable" and bad.json()["journal"].startswith("not writable (E")
        assert str(journal_file) not in bad.text  # no paths in the answer
        assert httpx.get(f"{server.url}/ok.mp3").status_code == 200  # media is still served
    finally:
        assert server.stop() == 0


def test_healthz_says_503_when_the_media_folder_is_gone(media, journal_file) -> None:
    server = Served(media, "--journal", str(journal_file))
    try:
        assert httpx.get(f"{server.url}/healthz").status_code == 200
        media.rename(media.with_name("elsewhere"))
        bad = httpx.get(f"{server.url}/healthz")
        assert (bad.status_code, bad.json()["media"]) == (503, "not readable (ENOENT)")
    finally:
        server.stop()


# --------------------------------------------------------------------------- several workers, SIGTERM


def test_two_workers_take_concurrent_callbacks_into_one_journal(media, journal_file) -> None:
    server = Served(media, "--journal", str(journal_file), "--workers", "2", "--log-format", "json")
    url = hook_url(server.url, "wawp", secret_of(journal_file))
    try:

        def deliver(n: int) -> int:
            with httpx.Client(timeout=60) as client:  # a new connection each: the kernel spreads them over both
                return client.post(url, json=ack(n)).status_code

        with ThreadPoolExecutor(max_workers=16) as pool:
            answers = list(pool.map(deliver, range(400)))
    finally:
        code = server.stop()
    assert code == 0
    assert answers == [200] * 400
    assert stored_ids(journal_file) == {f"true_1@c.us_burst{n:05d}" for n in range(400)}  # nothing lost
    records = [json.loads(line) for line in server.lines if line.strip()]
    served_by = {r["pid"] for r in records if r["logger"] == "voxpipe.serve.access" and r.get("status") == 200}
    assert len(served_by) == 2, "both workers answered callbacks"
    assert not [r for r in records if "locked" in r["message"] or r["level"] == "ERROR"]


def test_sigterm_during_a_burst_keeps_every_answered_callback(media, journal_file) -> None:
    server = Served(media, "--journal", str(journal_file))
    url = hook_url(server.url, "wawp", secret_of(journal_file))
    answered: list[int] = []
    stop = threading.Event()
    counter = iter(range(10**6))
    lock = threading.Lock()

    def burst() -> None:
        with httpx.Client(timeout=30) as client:
            while not stop.is_set():
                with lock:
                    n = next(counter)
                try:
                    if client.post(url, json=ack(n)).status_code == 200:
                        with lock:
                            answered.append(n)
                except httpx.HTTPError:
                    if server.proc.poll() is not None:
                        return  # the server is gone: nothing more can be answered

    threads = [threading.Thread(target=burst) for _ in range(8)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 120
    while len(answered) < 200 and time.monotonic() < deadline:
        time.sleep(0.01)
    code = server.stop(signal.SIGTERM)
    stop.set()
    for t in threads:
        t.join(60)
    assert code == 0, server.log[-3000:]
    assert len(answered) >= 200
    missing = {f"true_1@c.us_burst{n:05d}" for n in answered} - stored_ids(journal_file)
    assert missing == set(), f"{len(missing)} callbacks answered 200 are not in the journal"
    assert "Shutting down" in server.log and "Traceback" not in server.log


# --------------------------------------------------------------------------- TLS, logs, slow clients


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("no openssl here to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def test_tls_with_a_certificate_and_key(media, certificate) -> None:
    cert, key = certificate
    server = Served(media, "--ssl-certfile", str(cert), "--ssl-keyfile", str(key))
    try:
        assert server.url.startswith("https://")
        trust = ssl.create_default_context(cafile=str(cert))
        with httpx.Client(verify=trust, timeout=10) as client:
            got = client.get(f"{server.url}/ok.mp3", headers={"Range": "bytes=0-2"})
            assert (got.status_code, got.content) == (206, (media / "ok.mp3").read_bytes()[:3])
        with pytest.raises(httpx.TransportError):  # plain HTTP to the TLS port: the handshake fails, no answer
            httpx.get(server.url.replace("https://", "http://") + "/ok.mp3", timeout=5).raise_for_status()
    finally:
        assert server.stop() == 0


def test_json_logs_one_object_per_line_without_secrets(media, journal_file) -> None:
    server = Served(media, "--journal", str(journal_file), "--log-format", "json")
    secret = secret_of(journal_file)
    try:
        httpx.get(f"{server.url}/ok.mp3?token=topsecret")
        httpx.post(hook_url(server.url, "9bits", secret), content=b"{not json")
    finally:
        server.stop()
    records = [json.loads(line) for line in server.lines]  # every line is JSON
    assert all({"time", "level", "logger", "pid", "message"} <= set(r) for r in records)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", r["time"]) for r in records)
    access = [r for r in records if r["logger"] == "voxpipe.serve.access"]
    assert [(r["method"], r["path"], r["status"]) for r in access] == [
        ("GET", "/ok.mp3", 200),
        ("POST", "/hooks/9bits/***", 400),
    ]
    assert "topsecret" not in server.log and secret not in server.log


def test_text_logs_are_timestamped(media) -> None:
    server = Served(media)
    httpx.get(f"{server.url}/ok.mp3")
    server.stop()
    access = [line for line in server.lines if "voxpipe.serve.access" in line]
    assert len(access) == 1
    assert re.match(
        r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO voxpipe\.serve\.access: 127\.0\.0\.1 "GET /ok\.mp3" 200 \d+ ',
        access[0],
    )


def test_a_slow_request_head_is_closed_at_the_header_timeout(media) -> None:
    server = Served(media, "--header-timeout", "1")
    port = int(server.url.rsplit(":", 1)[1])
    try:
        slow = socket.create_connection(("127.0.0.1", port), timeout=30)
        slow.sendall(b"GET /ok.mp3 HT")  # and nothing more: a slowloris client
        idle = socket.create_connection(("127.0.0.1", port), timeout=30)  # says nothing at all
        assert httpx.get(f"{server.url}/ok.mp3").status_code == 200  # others are served meanwhile
        answer = b""
        while chunk := slow.recv(4096):
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 408 ")  # then closed
        assert idle.recv(4096) == b""  # closed without a word
        slow.close()
        idle.close()
    finally:
        server.stop()
    assert len([line for line in server.lines if " 408 - (request head not complete within 1 s)" in line]) == 1


# --------------------------------------------------------------------------- refusing to start


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOXPIPE_")}
    return subprocess.run(
        [sys.executable, "-m", "voxpipe", "serve", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=60
    )


def test_a_port_in_use_is_one_line_and_creates_no_journal(media, tmp_path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = _run(str(media), "--port", str(port), "--journal", str(tmp_path / "new.db"), cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [f"Error: cannot listen on 127.0.0.1:{port}: Address already in use"]
    assert not (tmp_path / "new.db").exists()


def test_a_certificate_that_does_not_load_is_one_line(media, tmp_path) -> None:
    (tmp_path / "cert.pem").write_text("not a certificate")
    proc = _run(str(media), "--ssl-certfile", str(tmp_path / "cert.pem"), cwd=tmp_path)
    assert proc.returncode == 1 and len(proc.stderr.splitlines()) == 1
    assert proc.stderr.startswith(f"Error: cannot use the TLS certificate {tmp_path / 'cert.pem'}: ")
    proc = _run(str(media), "--ssl-keyfile", str(tmp_path / "cert.pem"), cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.startswith("Error: --ssl-keyfile needs --ssl-certfile too")
