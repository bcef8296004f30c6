"""An HTTP server for a media directory, with room for mounted handlers.

Only audio files directly inside the directory are served (``.mp3``,
``.ogg``, ``.wav``): GET and HEAD, single byte ranges (``206``, suffix
ranges included, ``416`` when unsatisfiable; several ranges get the whole
file), a strong ``ETag`` with ``If-None-Match`` (``304``) and ``If-Range``,
and the immutable ``Cache-Control`` that content-addressed names allow.
Anything else is ``404``: no listing, no dotfiles or sidecars, and nothing
outside the directory (``..``, encoded slashes or dots, backslashes, NUL,
symlinks leading out). Other methods get ``405``.

Handlers can be mounted on path prefixes (callback receivers, for instance)::

    def receive(request: Request) -> Response:
        return Response.json({"ok": True})

    MediaServer(root, routes={"/callbacks/9bits": receive}).serve_forever()

A mounted handler gets every method on its prefix, with the body read up to
``max_body_bytes`` (larger bodies get ``413``); a handler with its own
``max_body_bytes`` attribute gets that cap instead. One line is logged per
request, without the query string: it can carry presigned signatures or
tokens. A handler with a ``redact_path(path) -> str`` method decides how its
paths appear in that line (a secret in the path, for instance).
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

from ..errors import StoreError
from ..redaction import redact_hook_paths
from .base import CACHE_CONTROL, DEFAULT_HOST, DEFAULT_PORT

__all__ = [
    "MAX_BODY_BYTES",
    "MEDIA_TYPES",
    "Handler",
    "MediaServer",
    "Request",
    "Response",
    "parse_range",
    "resolve_media",
]

_LOG = logging.getLogger(__name__)

#: The only files served, by extension.
MEDIA_TYPES: Mapping[str, str] = {
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg; codecs=opus",
    ".wav": "audio/wav",
}

#: Largest request body a mounted handler receives.
MAX_BODY_BYTES = 1024 * 1024

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")
_RANGE_RE = re.compile(r"(\d*)-(\d*)")
_CHUNK = 256 * 1024


@dataclass(frozen=True)
class Request:
    """What a mounted handler receives.

    ``path`` is the request path exactly as sent (still percent-encoded,
    without the query) and ``query_string`` the raw query, so a handler can
    check a signature over the exact URL. ``query`` is the parsed query (the
    last value wins for a repeated name). Header names are lower case.
    """

    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    query_string: str = ""
    client: str = ""


@dataclass(frozen=True)
class Response:
    """What a mounted handler returns; ``Content-Length`` is added for it."""

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    @classmethod
    def json(cls, data: Any, status: int = 200) -> Response:
        body = json.dumps(data, separators=(",", ":")).encode("utf-8")
        return cls(status, {"Content-Type": "application/json"}, body)

    @classmethod
    def text(cls, text: str, status: int = 200) -> Response:
        return cls(status, {"Content-Type": "text/plain; charset=utf-8"}, text.encode("utf-8"))


Handler = Callable[[Request], Response]
Routes = Mapping[str, Handler] | Iterable[tuple[str, Handler]]


def resolve_media(root: Path, raw_path: str) -> tuple[Path, str] | None:
    """The file and Content-Type for a request path, or None when it must be 404.

    ``raw_path`` is the path as sent (percent-encoded, no query). Only one
    plain file name directly under ``root`` is accepted, checked both before
    and after decoding, and the resolved file must still be inside ``root``.
    """
    if not raw_path.startswith("/"):
        return None
    segment = raw_path[1:]
    if not segment or "/" in segment or "\\" in segment:
        return None
    try:
        name = unquote(segment, errors="strict")
    except UnicodeDecodeError:
        return None
    if not _NAME_RE.fullmatch(name) or ".." in name:
        return None
    mime = MEDIA_TYPES.get(os.path.splitext(name)[1].lower())
    if mime is None:
        return None
    try:
        base = root.resolve(strict=True)
        real = (base / name).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not real.is_relative_to(base) or not real.is_file():
        return None
    return real, mime


def parse_range(header: str, size: int) -> tuple[int, int] | bool | None:
    """A ``Range`` header against a file of ``size`` bytes.

    Returns ``(first, last)`` (inclusive) for one satisfiable range, False
    when it cannot be satisfied (416), or None when it is to be ignored (not
    bytes, malformed, or several ranges: the whole file is sent).
    """
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes":
        return None
    spec = spec.strip()
    if "," in spec:
        return None
    match = _RANGE_RE.fullmatch(spec)
    if match is None or match.group(0) == "-":
        return None
    first_text, last_text = match.groups()
    if not first_text:
        suffix = int(last_text)
        if suffix == 0 or size == 0:
            return False
        return max(0, size - suffix), size - 1
    first = int(first_text)
    last = int(last_text) if last_text else size - 1
    if last_text and last < first:
        return None
    if first >= size:
        return False
    return first, min(last, size - 1)


def _etag_matches(header: str, etag: str) -> bool:
    """Weak comparison, as If-None-Match uses."""
    if header.strip() == "*":
        return True
    plain = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == plain for tag in header.split(","))


def _printable(text: str, limit: int = 200) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in text[:limit])


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    media: MediaServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            _LOG.debug("connection from %s ended early: %s", client_address[0], type(exc).__name__)
            return
        _LOG.error("error while handling a request from %s", client_address[0], exc_info=True)


class _Server6(_Server):
    address_family = socket.AF_INET6


class _RequestHandler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "voxpipe"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    timeout = 30
    # Headers and body go out in separate writes; without this, Nagle's algorithm
    # and delayed ACKs add ~40 ms to each response on a kept-alive connection.
    disable_nagle_algorithm = True
    _log_path = "-"

    def __getattr__(self, name: str) -> Any:
        # Every method reaches the dispatcher; unknown ones get 405, not 501.
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    # -- logging: one line per request, never the query string ------------
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        status = code.value if isinstance(code, HTTPStatus) else code
        _LOG.info(
            '%s "%s %s" %s %s',
            self.client_address[0] if self.client_address else "-",
            _printable(getattr(self, "command", None) or "-", 16),
            self._log_path,
            status,
            size,
        )

    def log_error(self, format: str, *args: Any) -> None:
        _LOG.debug("request error (%s)", args[0] if args else "?")

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # Request lines that fail to parse: log the target without its query.
        words = (getattr(self, "requestline", "") or "").split()
        target = words[1] if len(words) >= 2 else ""
        path = target.split("?", 1)[0]
        self._log_path = _printable(self._redact(self.server.media.route_for(path), path)) or "-"
        super().send_error(code, message, explain)

    @staticmethod
    def _redact(handler: Handler | None, path: str) -> str:
        redact = getattr(handler, "redact_path", None)
        shown = redact(path) if redact is not None else path
        # Whatever the route, no hook secret reaches the log, also with an encoded slash (/hooks/9bits%2F<secret>).
        return redact_hook_paths(unquote(shown))

    # -- dispatch ----------------------------------------------------------
    def _dispatch(self) -> None:
        raw_path, _, query_string = self.path.partition("?")
        raw_path = raw_path.split("#", 1)[0]
        handler = self.server.media.route_for(raw_path)
        self._log_path = _printable(self._redact(handler, raw_path)) or "-"
        if handler is not None:
            self._run_handler(handler, raw_path, query_string)
            return
        if self._has_body():
            # Media requests never have a body; rather than read it, close afterwards.
            self.close_connection = True
        if self.command not in ("GET", "HEAD"):
            self._send_plain(405, "method not allowed", {"Allow": "GET, HEAD"})
            return
        self._serve_media(raw_path)

    def _has_body(self) -> bool:
        return "Transfer-Encoding" in self.headers or self.headers.get("Content-Length", "0").strip() not in ("", "0")

    def _run_handler(self, handler: Handler, raw_path: str, query_string: str) -> None:
        limit = getattr(handler, "max_body_bytes", None) or self.server.media.max_body_bytes
        if "Transfer-Encoding" in self.headers:
            self.close_connection = True
            self._send_plain(411, "a Content-Length is required")
            return
        try:
            length = int(self.headers.get("Content-Length", "0") or "0")
            if length < 0:
                raise ValueError(length)
        except ValueError:
            self.close_connection = True
            self._send_plain(400, "bad Content-Length")
            return
        if length > limit:
            self.close_connection = True
            self._send_plain(413, f"request body over {limit} bytes")
            return
        body = self.rfile.read(length) if length else b""
        headers: dict[str, str] = {}
        for key, value in self.headers.items():
            low = key.lower()
            headers[low] = f"{headers[low]}, {value}" if low in headers else value
        request = Request(
            method=self.command,
            path=raw_path,
            query=dict(parse_qsl(query_string, keep_blank_values=True)),
            headers=headers,
            body=body,
            query_string=query_string,
            client=self.client_address[0] if self.client_address else "",
        )
        try:
            response = handler(request)
        except Exception:  # noqa: BLE001 - a failing handler is a 500 and a log line, the server goes on
            _LOG.exception("handler for %s failed", self._log_path)
            self._send_plain(500, "internal error")
            return
        if not isinstance(response, Response):
            _LOG.error("handler for %s returned %r, not a Response", self._log_path, type(response).__name__)
            self._send_plain(500, "internal error")
            return
        self._send(response.status, dict(response.headers), response.body)

    # -- media ---------------------------------------------------------------
    def _serve_media(self, raw_path: str) -> None:
        found = resolve_media(self.server.media.root, raw_path)
        if found is None:
            self._send_plain(404, "not found")
            return
        path, mime = found
        try:
            fh = open(path, "rb")
        except OSError:
            self._send_plain(404, "not found")
            return
        with fh:
            st = os.fstat(fh.fileno())
            size = st.st_size
            etag = f'"{size:x}-{st.st_mtime_ns:x}"'
            headers = {
                "ETag": etag,
                "Last-Modified": formatdate(st.st_mtime, usegmt=True),
                "Cache-Control": CACHE_CONTROL,
                "Accept-Ranges": "bytes",
            }
            inm = self.headers.get("If-None-Match")
            if inm is not None and _etag_matches(inm, etag):
                self._send_headers(304, headers)
                return
            headers["Content-Type"] = mime
            span: tuple[int, int] | bool | None = None
            range_header = self.headers.get("Range")
            if range_header is not None and self._if_range_holds(headers):
                span = parse_range(range_header, size)
            if span is False:
                self._send_plain(416, "range not satisfiable", {"Content-Range": f"bytes */{size}"})
                return
            if isinstance(span, tuple):
                first, last = span
                headers["Content-Range"] = f"bytes {first}-{last}/{size}"
                status = 206
            else:
                first, last = 0, size - 1
                status = 200
            length = last - first + 1
            headers["Content-Length"] = str(length)
            self._send_headers(status, headers, length)
            if self.command == "HEAD" or length <= 0:
                return
            self._send_file(fh, first, length)

    def _if_range_holds(self, headers: Mapping[str, str]) -> bool:
        """If-Range: a range applies only while the validator still matches."""
        value = self.headers.get("If-Range")
        if value is None:
            return True
        value = value.strip()
        if value.startswith(('"', "W/")):
            return value == headers["ETag"]
        return value == headers["Last-Modified"]

    def _send_file(self, fh: Any, offset: int, length: int) -> None:
        try:
            self.wfile.flush()
            self.connection.sendfile(fh, offset, length)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True

    # -- responses -----------------------------------------------------------
    def _send_headers(self, status: int, headers: Mapping[str, str], size: int | str = "-") -> None:
        self.send_response_only(status)
        self.send_header("Date", self.date_time_string())
        self.send_header("Server", self.server_version)
        for key, value in headers.items():
            self.send_header(key, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.log_request(status, size)

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        lower = {key.lower() for key in headers}
        if "content-length" not in lower:
            headers["Content-Length"] = str(len(body))
        self._send_headers(status, headers, len(body))
        if self.command != "HEAD" and body and status not in (204, 304) and status >= 200:
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                self.close_connection = True

    def _send_plain(self, status: int, text: str, extra: Mapping[str, str] | None = None) -> None:
        headers = {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store", **(extra or {})}
        self._send(status, headers, (text + "\n").encode("utf-8"))


class MediaServer:
    """Serve ``root`` over HTTP, plus handlers mounted on path prefixes.

    ``port=0`` picks a free port. Use ``serve_forever()`` from a command line
    (it returns on Ctrl-C), or ``start_in_thread()`` / ``with MediaServer(...)``
    in tests; the bound port is in ``port`` once started.
    """

    def __init__(
        self,
        root: Path | str,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        routes: Routes | None = None,
        *,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.root = Path(root)
        self.host = host
        self.port = port
        self.max_body_bytes = max_body_bytes
        self._routes: list[tuple[str, Handler]] = []
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        items = routes.items() if isinstance(routes, Mapping) else (routes or ())
        for prefix, handler in items:
            self.mount(prefix, handler)

    def mount(self, prefix: str, handler: Handler) -> None:
        """Send requests for ``prefix`` and the paths under it to ``handler``."""
        if not prefix.startswith("/"):
            raise ValueError(f"route prefix must start with '/': {prefix!r}")
        self._routes = [(p, h) for p, h in self._routes if p != prefix] + [(prefix, handler)]
        self._routes.sort(key=lambda item: len(item[0]), reverse=True)

    def route_for(self, raw_path: str) -> Handler | None:
        for prefix, handler in self._routes:
            base = prefix.rstrip("/")
            if raw_path == prefix or raw_path == base or raw_path.startswith(base + "/"):
                return handler
        return None

    @property
    def url(self) -> str:
        """The base URL the server is reachable at on its own host."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def bind(self) -> int:
        """Open the listening socket (once); returns the bound port."""
        if self._httpd is not None:
            return self.port
        if not self.root.is_dir():
            raise StoreError(f"{self.root}: media directory does not exist")
        server_class = _Server6 if ":" in self.host else _Server
        try:
            httpd = server_class((self.host, self.port), _RequestHandler)
        except (
            OSError,
            UnicodeError,
            TypeError,
            ValueError,
            OverflowError,
        ) as exc:  # busy port, bad address or host name
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise StoreError(f"{self.root}: cannot listen on {self.host}:{self.port}: {reason}") from exc
        httpd.media = self
        self._httpd = httpd
        self.port = httpd.server_address[1]
        return self.port

    def serve_forever(self) -> None:
        """Serve until interrupted (Ctrl-C returns normally)."""
        self.bind()
        assert self._httpd is not None
        try:
            self._httpd.serve_forever(poll_interval=0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self._httpd.server_close()
            self._httpd = None

    def start_in_thread(self) -> int:
        """Serve on a daemon thread; returns the bound port."""
        port = self.bind()
        if self._thread is None:
            assert self._httpd is not None
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, name="media-server", daemon=True
            )
            self._thread.start()
        return port

    def close(self) -> None:
        httpd, thread = self._httpd, self._thread
        self._httpd, self._thread = None, None
        if httpd is None:
            return
        if thread is not None:
            httpd.shutdown()
            thread.join(5)
        httpd.server_close()

    def __enter__(self) -> MediaServer:
        self.start_in_thread()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
