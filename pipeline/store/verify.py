"""Check that a media URL answers the way a provider needs, without credentials.

An anonymous ``HEAD`` must answer 200 (or 206) with the artifact's
Content-Type and size. Some hosts refuse HEAD (a presigned URL is signed for
GET only, so S3 answers 403), so a refused HEAD is retried as a one-byte
ranged GET. The returned reason never contains the URL's query string.
"""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING

from ..redaction import redact_text, redact_url

if TYPE_CHECKING:
    import httpx

__all__ = ["UrlChecker", "media_url_problem", "redact_url"]

_REFUSED_HEAD = frozenset({400, 403, 405, 501})
_CONTENT_RANGE_RE = re.compile(r"bytes\s+\d+-\d+/(\d+)")


def _norm_type(value: str | None) -> str:
    return "".join((value or "").lower().split())


def media_url_problem(client: httpx.Client, url: str, *, mime: str, size: int | None = None) -> str | None:
    """None when ``url`` serves ``mime`` (and ``size`` bytes); else the reason."""
    import httpx

    try:
        response = client.head(url)
        method = "HEAD"
        if response.status_code in _REFUSED_HEAD:
            method = "ranged GET"
            with client.stream("GET", url, headers={"Range": "bytes=0-0"}) as response:
                pass  # headers are enough; the body is not read
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:  # ValueError: an IDNA host
        reason = redact_text(str(exc).replace(url, redact_url(url))) or type(exc).__name__
        return f"cannot fetch {redact_url(url)} anonymously: {type(exc).__name__}: {reason}"
    status = response.status_code
    if status not in (200, 206):
        return f"anonymous {method} of {redact_url(url)} answered HTTP {status}, not 200/206"
    got = response.headers.get("content-type")
    if _norm_type(got) != _norm_type(mime):
        return f"{redact_url(url)} is served as Content-Type {got!r}, not {mime!r}"
    if size is not None:
        total: int | None = None
        if status == 206:
            match = _CONTENT_RANGE_RE.fullmatch(response.headers.get("content-range", "").strip())
            total = int(match.group(1)) if match else None
        elif response.headers.get("content-length", "").isdigit():
            total = int(response.headers["content-length"])
        if total is not None and total != size:
            return f"{redact_url(url)} serves {total} bytes, but the artifact has {size}"
    return None


class UrlChecker:
    """Runs :func:`media_url_problem` with one shared anonymous client, made on first use."""

    def __init__(self, timeout_s: float = 10.0) -> None:
        self._client: httpx.Client | None = None
        self._timeout_s = timeout_s
        self._lock = threading.Lock()

    def problem(self, url: str, *, mime: str, size: int | None = None) -> str | None:
        with self._lock:
            if self._client is None:
                import httpx

                self._client = httpx.Client(timeout=self._timeout_s, follow_redirects=False)
            client = self._client
        return media_url_problem(client, url, mime=mime, size=size)

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()
