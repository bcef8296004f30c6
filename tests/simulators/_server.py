"""HTTP plumbing shared by the simulators, the media server and the callback receiver.

A threaded HTTP/1.1 server on 127.0.0.1 (port 0 = any free port) served from
a daemon thread; subclasses implement ``_on_request(handler, req)`` and answer
with ``handler.send(Response(...))`` or ``handler.drop()``.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["HTTPServerBase", "Request", "Response", "json_response", "redact_query"]

_LOG = logging.getLogger(__name__)

_SECRET_QUERY_KEYS = ("access_token", "access_key", "auth", "key", "token", "instance_id")


@dataclass
class Request:
    """One HTTP request as the simulator received it."""

    method: str
    target: str
    path: str
    query_string: str
    headers: dict[str, str]
    body: bytes
    at: float
    status: int | None = None
    fault: str | None = None

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(self.query_string, keep_blank_values=True)

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    @property
    def content_type(self) -> str:
        """The media type of the body, lower case, without parameters."""
        return (self.header("content-type") or "").split(";", 1)[0].strip().lower()

    def json(self) -> Any:
        return json.loads(self.body)

    def __repr__(self) -> str:
        hdrs = {k: ("<redacted>" if k in ("authorization", "cookie") else v) for k, v in self.headers.items()}
        target = redact_query(self.target)
        return (
            f"Request({self.method} {target!r}, status={self.status}, fault={self.fault}, "
            f"headers={hdrs}, body={len(self.body)} bytes)"
        )


def redact_query(target: str) -> str:
    return re.sub(
        r"(?i)((?:^|[?&])(?:{})=)[^&]*".format("|".join(_SECRET_QUERY_KEYS)),
        r"\1<redacted>",
        target,
    )


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, obj: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status, json.dumps(obj).encode(), "application/json", dict(headers or {}))


# --------------------------------------------------------------------------- HTTP plumbing


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "voxpipe-sim/1"
    sys_version = ""
    timeout = 30  # idle keep-alive connections are closed after this

    def setup(self) -> None:
        super().setup()
        try:  # answers are written as headers + body; avoid Nagle/delayed-ACK stalls
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self.server.app._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.app._track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _any(self) -> None:
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        split = urlsplit(self.path)
        headers: dict[str, str] = {}
        for k, v in self.headers.items():
            k = k.lower()
            headers[k] = f"{headers[k]}, {v}" if k in headers else v
        req = Request(
            method=self.command,
            target=self.path,
            path=split.path,
            query_string=split.query,
            headers=headers,
            body=body,
            at=time.time(),
        )
        self.server.app._on_request(self, req)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _any

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        return self.rfile.read(length) if length else b""

    def send(self, resp: Response) -> None:
        self.send_response(resp.status)
        if resp.status != 204 and resp.status >= 200:
            if resp.content_type:
                self.send_header("Content-Type", resp.content_type)
            self.send_header("Content-Length", str(len(resp.body)))
        for k, v in resp.headers.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD" and resp.status != 204:
            self.wfile.write(resp.body)
        self.wfile.flush()

    def drop(self, reset: bool = False) -> None:
        """Close the connection without writing a response."""
        self.close_connection = True
        if reset:
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512

    def __init__(self, addr: tuple[str, int], app: HTTPServerBase) -> None:
        self.app = app
        super().__init__(addr, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out or vanish make writes fail; that is expected.
        _LOG.debug("connection error from %s", client_address, exc_info=True)


class HTTPServerBase:
    """A threaded HTTP server on 127.0.0.1 delegating requests to ``_on_request``."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        if not hasattr(self, "_lock"):
            self._lock = threading.RLock()
        self._conns: set[socket.socket] = set()
        self._closed = False
        self._server = _Server((host, port), self)
        self.host, self.port = self._server.server_address[:2]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"{type(self).__name__}:{self.port}",
            daemon=True,
        )
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            (self._conns.add if add else self._conns.discard)(conn)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(timeout=5)
        self._after_close()

    def _after_close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _on_request(self, handler: _Handler, req: Request) -> None:  # pragma: no cover
        raise NotImplementedError
