"""uvicorn's httptools protocol with the limits a server facing the internet needs.

uvicorn holds a connection for as long as its request head keeps trickling
in, and takes request lines and headers of any size. Here, per connection:

- the request line and headers must arrive within ``header_timeout_s``
  (counted from the connection, or from the first byte of a later request
  on a kept-alive one): slower ones get 408 and are closed (slowloris);
- a request target over ``max_url_bytes`` gets 414, more than
  ``max_headers`` fields or ``max_header_bytes`` of them 431, an HTTP
  version other than 1.0/1.1 505, and whatever the parser refuses
  (``Content-Length`` with ``Transfer-Encoding``, duplicate lengths,
  obs-fold, bad characters, ...) 400; nothing past a limit is buffered.

Each refusal is answered, closes the connection and is logged as one line
on the access logger (without the target: it may hold a hook secret).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from ._asgi import REFUSED_KEY
from .logs import ACCESS_LOGGER

__all__ = ["HeadLimits", "LimitedHttpToolsProtocol"]

_ACCESS = logging.getLogger(ACCESS_LOGGER)


@dataclass(frozen=True)
class HeadLimits:
    """What a request head may take (see :class:`~voxpipe.serve.settings.ServerSettings`)."""

    header_timeout_s: float = 10.0
    max_url_bytes: int = 8 * 1024
    max_header_bytes: int = 16 * 1024
    max_headers: int = 100

    @property
    def max_head_bytes(self) -> int:
        """Raw bytes of one head: the target, the fields, and room for names, separators and line ends."""
        return self.max_url_bytes + self.max_header_bytes + 4 * self.max_headers + 1024


class _Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """:class:`HttpToolsProtocol` with :class:`HeadLimits` (pass them with ``functools.partial``)."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        limits: HeadLimits = HeadLimits(),
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = limits
        self._head_timer: asyncio.TimerHandle | None = None
        self._in_head = True  # waiting for a request line and headers
        self._begun = False  # a byte of that request arrived
        self._line_done = False
        self._head_bytes = self._url_bytes = self._header_bytes = self._header_count = 0

    # -- the head timer ------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def _start_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.limits.header_timeout_s, self._head_too_slow)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if not self._in_head or self.transport.is_closing():
            return
        if not self._begun:  # connected, never asked anything: just close
            _ACCESS.debug("%s: idle connection closed", self.client[0] if self.client else "-")
            self.transport.close()
            return
        self._refuse(408, f"request head not complete within {self.limits.header_timeout_s:g} s")

    # -- parsing ---------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # No protocol switching here: answered as a plain request, then the connection ends.
            if self.cycle is not None:
                self.cycle.keep_alive = False
        except httptools.HttpParserError as exc:
            refused = exc.__context__
            if isinstance(refused, _Refused):
                self._refuse(refused.status, refused.reason)
            else:
                self._refuse(400, f"malformed request: {exc}")
            return
        if self._in_head and self._begun:  # all of ``data`` was head: count it (the parser buffers partial fields)
            self._head_bytes += len(data)
            self._line_done = self._line_done or b"\n" in data
            if self._head_bytes > self.limits.max_head_bytes:
                status = 431 if self._line_done else 414
                self._refuse(status, f"request head over {self.limits.max_head_bytes} bytes")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = self._begun = True
        self._line_done = False
        self._head_bytes = self._url_bytes = self._header_bytes = self._header_count = 0
        self._start_head_timer()

    def on_url(self, url: bytes) -> None:
        self._url_bytes += len(url)
        if self._url_bytes > self.limits.max_url_bytes:
            raise _Refused(414, f"request target over {self.limits.max_url_bytes} bytes")
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._line_done = True
        self._header_count += 1
        self._header_bytes += len(name) + len(value)
        if self._header_count > self.limits.max_headers:
            raise _Refused(431, f"more than {self.limits.max_headers} header fields")
        if self._header_bytes > self.limits.max_header_bytes:
            raise _Refused(431, f"header fields over {self.limits.max_header_bytes} bytes")
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = self._begun = False
        self._stop_head_timer()
        version = self.parser.get_http_version()
        if version not in ("1.0", "1.1"):
            raise _Refused(505, f"HTTP/{version} is not served here")
        super().on_headers_complete()

    def eof_received(self) -> bool | None:  # type: ignore[override]  # asyncio: True keeps the transport open
        """A client that half-closes after a whole request still gets its answer (then the connection ends)."""
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete and not cycle.more_body:
            cycle.keep_alive = False
            return True
        return None  # nothing asked, or a request cut short: close

    def _unsupported_upgrade_warning(self) -> None:
        pass  # an Upgrade header is ignored (uvicorn would log two lines about websockets)

    # -- refusing --------------------------------------------------------------
    def _refuse(self, status: int, reason: str) -> None:
        """Answer ``status`` with ``reason``, close, and log one line."""
        new_request = self._in_head
        self._stop_head_timer()
        self._in_head = self._begun = False
        client = self.client[0] if self.client else "-"
        _ACCESS.info(
            '%s "- -" %d - (%s)', client, status, reason, extra={"client": client, "status": status, "bytes": 0}
        )
        if self.transport.is_closing():
            return
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            if new_request or cycle.response_started:
                # An earlier (pipelined) request is being answered: end the connection after it.
                cycle.keep_alive = False
                self.flow.pause_reading()
                return
            # This request's own body is broken: the answer is ours, the app sees the client leave.
            cycle.scope[REFUSED_KEY] = True  # type: ignore[literal-required]
        body = f"{reason}\n".encode()
        head = (
            f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
            "content-type: text/plain; charset=utf-8\r\n"
            f"content-length: {len(body)}\r\n"
            "connection: close\r\n\r\n"
        )
        self.transport.write(head.encode("latin-1") + body)
        self.transport.close()
