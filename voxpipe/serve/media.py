"""The media routes: the audio files directly inside one folder.

Only ``.mp3``, ``.ogg`` and ``.wav`` files directly inside the folder are
served: GET and HEAD, a single byte range (``206``, suffix ranges too,
``416`` when it cannot be satisfied; several ranges, or a malformed one, get
the whole file), a strong ``ETag`` with ``If-None-Match`` (``304``) and
``If-Range``, and the immutable ``Cache-Control`` that content-addressed
names allow. Anything else is ``404``: no listing, no dotfiles or sidecars,
nothing outside the folder (``..``, encoded slashes or dots, backslashes,
NUL, symlinks leading out). Other methods get ``405``. The decision is made
on the path exactly as sent, before and after decoding it once. A sensitive
message's file (``…-private.mp3``) is answered only with the unexpired token
its URL was signed with (else ``404``, as if it did not exist), and is never
cached (``Cache-Control: private, no-store``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from urllib.parse import unquote

import anyio.to_thread
from starlette.datastructures import Headers
from starlette.types import Receive, Scope, Send

from voxpipe.pipeline.store import CACHE_CONTROL, MEDIA_TYPES
from voxpipe.pipeline.store.private import is_private, read_secret, token_holds

from ._asgi import has_body, local_raw_path, send_text

__all__ = ["MediaFiles", "parse_range", "resolve_media"]

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")
_RANGE_RE = re.compile(r"(\d*)-(\d*)")
_MAX_DIGITS = 18  # past any file size; longer numbers are not converted (int() refuses 4,300+ digits)
_HUGE = 10**_MAX_DIGITS


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


def _number(digits: str) -> int:
    return int(digits) if len(digits) <= _MAX_DIGITS else _HUGE


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
        suffix = _number(last_text)
        if suffix == 0 or size == 0:
            return False
        return max(0, size - suffix), size - 1
    first = _number(first_text)
    last = _number(last_text) if last_text else size - 1
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


@dataclass
class _Answer:
    """What one media request gets, worked out off the event loop; ``fd`` is open while bytes are left."""

    status: int
    headers: dict[str, str]
    body: bytes = b""
    fd: int | None = None
    offset: int = 0
    left: int = 0


class MediaFiles:
    """The ASGI app answering media requests for ``root``."""

    def __init__(self, root: Path, chunk_bytes: int = 256 * 1024) -> None:
        self.root = Path(root)
        self.chunk_bytes = chunk_bytes
        self._secret: bytes | None = None  # read when first needed: prepare may create it after start-up

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        close = has_body(headers)  # media requests carry no body: rather than read one, end the connection
        if scope["method"] not in ("GET", "HEAD"):
            await send_text(send, 405, "method not allowed\n", {"Allow": "GET, HEAD"}, close=close)
            return
        query = scope.get("query_string", b"").decode("latin-1")
        answer = await anyio.to_thread.run_sync(self._answer, local_raw_path(scope), query, scope["method"], headers)
        if answer.status in (404, 416):
            await send_text(send, answer.status, answer.body.decode(), answer.headers, close=close)
            return
        if close:
            answer.headers["Connection"] = "close"
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers.items()]
        try:
            await send({"type": "http.response.start", "status": answer.status, "headers": raw})
            more = answer.left > 0
            await send({"type": "http.response.body", "body": answer.body, "more_body": more})
            while more and answer.fd is not None:
                size = min(self.chunk_bytes, answer.left)
                piece = await anyio.to_thread.run_sync(os.pread, answer.fd, size, answer.offset)
                answer.offset += len(piece)
                answer.left -= len(piece)
                more = answer.left > 0 and bool(piece)
                await send({"type": "http.response.body", "body": piece, "more_body": more})
        finally:
            if answer.fd is not None:
                os.close(answer.fd)

    def _answer(self, raw_path: str, query: str, method: str, request: Headers) -> _Answer:
        found = resolve_media(self.root, raw_path)
        if found is None:
            return _Answer(404, {}, b"not found\n")
        path, mime = found
        private = is_private(path.name)
        if private:
            if self._secret is None:
                self._secret = read_secret(self.root)
            if not token_holds(self._secret, path.name, query):
                return _Answer(404, {}, b"not found\n")
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return _Answer(404, {}, b"not found\n")
        try:
            return self._answer_from(fd, mime, method, request, private)
        except BaseException:
            os.close(fd)
            raise

    def _answer_from(self, fd: int, mime: str, method: str, request: Headers, private: bool = False) -> _Answer:
        st = os.fstat(fd)
        size = st.st_size
        etag = f'"{size:x}-{st.st_mtime_ns:x}"'
        headers = {
            "ETag": etag,
            "Last-Modified": formatdate(st.st_mtime, usegmt=True),
            "Cache-Control": "private, no-store" if private else CACHE_CONTROL,
            "Accept-Ranges": "bytes",
        }
        inm = request.get("if-none-match")
        if inm is not None and _etag_matches(inm, etag):
            os.close(fd)
            return _Answer(304, headers)
        span: tuple[int, int] | bool | None = None
        range_header = request.get("range")
        if range_header is not None and _if_range_holds(request.get("if-range"), headers):
            span = parse_range(range_header, size)
        if span is False:
            os.close(fd)
            return _Answer(416, {"Content-Range": f"bytes */{size}"}, b"range not satisfiable\n")
        headers["Content-Type"] = mime
        status, first, last = 200, 0, size - 1
        if isinstance(span, tuple):
            status, (first, last) = 206, span
            headers["Content-Range"] = f"bytes {first}-{last}/{size}"
        length = max(0, last - first + 1)
        headers["Content-Length"] = str(length)
        if method == "HEAD" or length == 0:
            os.close(fd)
            return _Answer(status, headers)
        body = os.pread(fd, min(self.chunk_bytes, length), first)
        left = length - len(body)
        if left <= 0 or not body:
            os.close(fd)
            return _Answer(status, headers, body)
        return _Answer(status, headers, body, fd, first + len(body), left)


def _if_range_holds(value: str | None, headers: dict[str, str]) -> bool:
    """If-Range: a range applies only while the validator still matches."""
    if value is None:
        return True
    value = value.strip()
    if value.startswith(('"', "W/")):
        return value == headers["ETag"]
    return value == headers["Last-Modified"]
