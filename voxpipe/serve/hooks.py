"""The callback routes: ``/hooks/<provider>/<secret>`` into the send journal.

The path and its secret are checked first (404 for anything wrong, compared
in constant time, before any body is read), then the method (405), then the
body is read up to the cap (413 as soon as it is passed, chunked bodies
included, without reading further; 408 when it is too slow). The provider
parses it and the updates are committed to the journal in a worker thread
(:class:`~voxpipe.sender.hooks.HookReceiver`) before anything is answered,
callbacks arriving together in one transaction (:mod:`.commits`): a 2xx
always means "stored". A journal that cannot be written (locked by
another writer) is retried for up to ``journal_retry_s``; then the answer is
503, so the provider delivers the callback again later.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import parse_qsl

import anyio
import anyio.to_thread
from starlette.datastructures import Headers
from starlette.types import Receive, Scope, Send

from voxpipe.pipeline.redaction import redact_text
from voxpipe.sender.errors import JournalError
from voxpipe.sender.hooks import METHODS, NOT_FOUND, HookAnswer, HookReceiver
from voxpipe.sender.providers import Callback

from ._asgi import has_body, local_raw_path, send_text
from .commits import GroupCommit
from .settings import ServeSettings

__all__ = ["HookRoutes"]

_LOG = logging.getLogger(__name__)
_UNAVAILABLE = HookAnswer(503, "the journal cannot take callbacks now; deliver again later\n", {"Retry-After": "5"})
_FIRST_PAUSE_S = 0.05
_LONGEST_PAUSE_S = 1.0


class HookRoutes:
    """The ASGI app for everything under ``/hooks/``; ``receiver`` None answers 404 to all."""

    def __init__(self, receiver: HookReceiver | None, settings: ServeSettings = ServeSettings()) -> None:
        self.receiver = receiver
        self.settings = settings
        self._commits = GroupCommit(receiver) if receiver is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        unread = has_body(headers)
        raw_path = local_raw_path(scope)
        receiver = self.receiver
        if receiver is None:
            name = None
        elif receiver.opened:
            name = receiver.match(raw_path)  # a comparison only
        else:
            try:
                name = await anyio.to_thread.run_sync(receiver.match, raw_path)  # may open the journal
            except JournalError as exc:  # a database not reachable yet: the provider delivers again later
                _LOG.error("hooks: answered 503, the journal cannot be opened: %s", redact_text(str(exc)))
                await send_text(send, _UNAVAILABLE.status, _UNAVAILABLE.text, _UNAVAILABLE.headers, close=unread)
                return
        if receiver is None or name is None:
            await send_text(send, NOT_FOUND.status, NOT_FOUND.text, close=unread)
            return
        method = scope["method"]
        if method not in METHODS:
            await send_text(send, 405, "method not allowed\n", {"Allow": ", ".join(METHODS)}, close=unread)
            return
        body = await self._body(headers, receive, send)
        if body is None:
            return  # answered already (413, 408), or the client went away
        query_string = scope.get("query_string", b"").decode("latin-1")
        callback = Callback(
            method,
            raw_path,
            dict(parse_qsl(query_string, keep_blank_values=True)),
            _joined(scope),
            body,
            query_string,
            (scope.get("client") or ("", 0))[0],
            self._url(scope, headers, raw_path, query_string),
        )
        answer = await self._receive(name, callback)
        await send_text(send, answer.status, answer.text, answer.headers)

    async def _body(self, headers: Headers, receive: Receive, send: Send) -> bytes | None:
        """The request body, or None once something else was answered (or the client left)."""
        cap = self.settings.max_body_bytes
        announced = headers.get("content-length")
        if announced is not None:
            try:
                length = int(announced)
            except ValueError:
                await send_text(send, 400, "bad Content-Length\n", close=True)
                return None
            if length > cap:
                await send_text(send, 413, f"request body over {cap} bytes\n", close=True)
                return None
        pieces: list[bytes] = []
        size = 0
        try:
            with anyio.fail_after(self.settings.body_timeout_s):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return None
                    piece = message.get("body", b"")
                    size += len(piece)
                    if size > cap:  # a chunked body gives no length: stop at the cap, read nothing more
                        await send_text(send, 413, f"request body over {cap} bytes\n", close=True)
                        return None
                    pieces.append(piece)
                    if not message.get("more_body", False):
                        return b"".join(pieces)
        except TimeoutError:
            await send_text(
                send, 408, f"request body not received within {self.settings.body_timeout_s:g} s\n", close=True
            )
            return None

    def _url(self, scope: Scope, headers: Headers, raw_path: str, query_string: str) -> str:
        """The URL the provider called, for signatures over it: ``base_url`` + path, or scheme://Host + path."""
        query = f"?{query_string}" if query_string else ""
        if self.settings.base_url:
            return f"{self.settings.base_url.rstrip('/')}{raw_path}{query}"
        server = scope.get("server") or ("localhost", None)
        host = headers.get("host") or (f"{server[0]}:{server[1]}" if server[1] else str(server[0]))
        full_path = (scope.get("raw_path") or raw_path.encode("latin-1")).decode("latin-1")
        return f"{scope.get('scheme', 'http')}://{host}{full_path}{query}"

    async def _receive(self, name: str, callback: Callback) -> HookAnswer:
        """The receiver's answer once committed; a journal that stays locked (or broken) past the bound is a 503."""
        assert self._commits is not None
        deadline = time.monotonic() + self.settings.journal_retry_s
        pause = _FIRST_PAUSE_S
        while True:
            try:
                return await self._commits.receive(name, callback)
            except JournalError as exc:
                if time.monotonic() + pause > deadline:
                    _LOG.error("hook:%s: answered 503 so the provider delivers again: %s", name, redact_text(str(exc)))
                    return _UNAVAILABLE
                _LOG.debug("hook:%s: journal busy, trying again: %s", name, redact_text(str(exc)))
            await anyio.sleep(pause)
            pause = min(pause * 2, _LONGEST_PAUSE_S)


def _joined(scope: Scope) -> dict[str, str]:
    """Header names in lower case; a repeated header's values joined with ", "."""
    joined: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", []):
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        joined[name] = f"{joined[name]}, {value}" if name in joined else value
    return joined
