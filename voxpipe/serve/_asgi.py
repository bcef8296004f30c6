"""Small ASGI helpers shared by the routes."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.types import Scope, Send

TEXT = b"text/plain; charset=utf-8"
REFUSED_KEY = "voxpipe.refused"
"""Scope key of a request the server protocol answered itself (and logged), so the app logs no line of its own."""


def local_raw_path(scope: Scope) -> str:
    """The request path as sent (still percent-encoded), below the point the app is mounted at.

    uvicorn's ``raw_path`` (and a Starlette ``Mount``'s) keeps the mount prefix
    (``root_path``); the routes decide on the path as sent, never on a decoded
    one, so the prefix is cut off here. Bytes map 1:1 to characters.
    """
    raw: bytes = scope.get("raw_path") or scope["path"].encode("utf-8")
    prefix = scope.get("root_path", "").encode("utf-8")
    if prefix and raw.startswith(prefix):
        raw = raw[len(prefix) :]
    return raw.decode("latin-1") or "/"


def has_body(headers: Headers) -> bool:
    """Whether the request announces a body (which a route that reads none leaves unread)."""
    return "transfer-encoding" in headers or headers.get("content-length", "0").strip() not in ("", "0")


async def send_text(
    send: Send, status: int, text: str, headers: Mapping[str, str] | None = None, *, close: bool = False
) -> None:
    """A short plain-text answer that is never cached; ``close`` ends the connection after it."""
    body = text.encode("utf-8")
    raw = [
        (b"content-type", TEXT),
        (b"content-length", str(len(body)).encode("ascii")),
        (b"cache-control", b"no-store"),
    ]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    if close:
        raw.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
