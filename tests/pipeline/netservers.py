"""Small real servers for fetch tests: HTTP on any loopback address, HTTPS with a
self-signed certificate for a name, and a server that trickles its answer."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.httpd import Answer, Seen


class LoopbackServer:
    """Answers each request with ``handler(seen)`` on ``host:port`` (port 0 = any)."""

    def __init__(
        self,
        handler: Callable[[Seen], Answer],
        host: str = "127.0.0.1",
        port: int = 0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.seen: list[Seen] = []
        outer = self

        class _Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen = Seen(self.command, self.path, dict(self.headers), b"")
                outer.seen.append(seen)
                answer = handler(seen)
                self.send_response(answer.status)
                for k, v in answer.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer((host, port), _Handler)
        self.httpd.handle_error = lambda *args: None  # a client refusing our certificate is the point
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> LoopbackServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class TrickleServer:
    """Sends ``head`` then ``body`` one byte every ``every_s`` seconds, at most ``limit`` bytes.

    With ``trickle_head`` the status line and headers trickle too.
    """

    def __init__(self, every_s: float = 0.5, limit: int = 60, trickle_head: bool = False) -> None:
        self.every_s, self.limit, self.trickle_head = every_s, limit, trickle_head
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.sent = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.recv(65536)
                head = b"HTTP/1.1 200 OK\r\nContent-Type: audio/wav\r\nContent-Length: 100000\r\n\r\n"
                try:
                    if not self.trickle_head:
                        conn.sendall(head)
                        head = b""
                    for byte in (head + b"R" * self.limit)[: len(head) + self.limit]:
                        if self.stop.wait(self.every_s):
                            return
                        conn.sendall(bytes([byte]))
                        self.sent += 1
                except OSError:
                    continue  # the client hung up: what a deadline should make it do

    def __enter__(self) -> TrickleServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(5)
        self.sock.close()


def self_signed(tmp: Path, name: str) -> tuple[Path, Path]:
    """A certificate (and key) for ``name`` only, made with the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            f"/CN={name}",
            "-addext",
            f"subjectAltName=DNS:{name}",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


def wait_until(check: Callable[[], bool], seconds: float = 5.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.05)
    return check()
