"""What ``voxpipe serve`` can be told: the app's limits, and the process serving it.

:class:`ServeSettings` is the application's (the same wherever it is
mounted); :class:`ServerSettings` is the server process's (uvicorn, our
request-head limits, workers, TLS, proxies, logs) and only applies when
``voxpipe serve`` runs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from voxpipe.pipeline.store import DEFAULT_HOST, DEFAULT_PORT

__all__ = ["LogFormat", "ServeSettings", "ServerSettings"]

LogFormat = Literal["text", "json"]


@dataclass(frozen=True)
class ServeSettings:
    """The application's settings."""

    base_url: str | None = None
    """The public address (behind a proxy or tunnel). A signed callback's URL is this followed by the
    request's path and query; without it, the scheme and Host the server saw (after trusted proxy headers)."""
    max_body_bytes: int = 64 * 1024
    """Largest callback body; larger ones get 413, also chunked ones (never read past the cap)."""
    body_timeout_s: float = 15.0
    """Time a callback's body may take to arrive (408 after)."""
    journal_retry_s: float = 10.0
    """How long a callback keeps retrying a journal it cannot write (locked) before 503, so the provider redelivers."""
    file_chunk_bytes: int = 256 * 1024
    """Media is sent in pieces of this size."""


@dataclass(frozen=True)
class ServerSettings:
    """The process that serves the app (``voxpipe serve``)."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    workers: int = 1
    """Processes sharing the listening socket (each opens the journal; SQLite's WAL mode lets them)."""
    header_timeout_s: float = 10.0
    """Time a request's line and headers may take to arrive; slower connections get 408 and are closed."""
    keep_alive_s: float = 5.0
    """Idle time after which a kept-alive connection is closed."""
    shutdown_timeout_s: float = 10.0
    """On SIGTERM/SIGINT: stop accepting, and give requests in flight this long to finish."""
    max_url_bytes: int = 8 * 1024
    """Longest request target (414 above)."""
    max_header_bytes: int = 16 * 1024
    """Largest total of header names and values (431 above)."""
    max_headers: int = 100
    """Most header fields in one request (431 above)."""
    backlog: int = 2048
    proxy_headers: bool = False
    """Take the client address and scheme from X-Forwarded-For/-Proto sent by a trusted proxy."""
    forwarded_allow_ips: str = "127.0.0.1"
    """Comma-separated addresses (or networks, or *) whose proxy headers are trusted."""
    ssl_keyfile: str | None = None
    ssl_certfile: str | None = None
    log_format: LogFormat = "text"
