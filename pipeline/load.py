"""Source audio: a local file or an http(s) URL, in any format FFmpeg's libraries decode (PyAV).

URLs are fetched with httpx under a per-read timeout, a total deadline and a
size cap, only over http and https, and (unless allowed) never from loopback,
private, link-local or otherwise reserved addresses, so a manifest row cannot
make voxpipe read an internal service. Each request's host is resolved once,
every address it resolves to is checked, and the connection goes to exactly
the checked address (see :mod:`voxpipe.pipeline.fetch`), so a name that answers with
a public address first and 127.0.0.1 next cannot slip through. Redirects are
followed by hand so every hop is resolved, checked and pinned the same way.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np

from .audio import Audio
from .decoding import decode
from .errors import AudioInputError
from .fetch import Deadline, PinnedTransport, Resolver, system_resolver
from .redaction import redact_text, redact_url

__all__ = ["FetchSettings", "check_url", "decode_source", "is_url", "load_audio", "read_source"]


@dataclass(frozen=True)
class FetchSettings:
    timeout_s: float = 20.0
    """Longest wait for a connection or for any one read."""
    deadline_s: float = 60.0
    """Longest a whole download may take, every redirect hop included."""
    max_bytes: int = 50 * 1024 * 1024
    allow_private: bool = False
    max_redirects: int = 5
    max_seconds: float = 600.0
    """Longest source accepted (a voice message, not an audiobook)."""


def is_url(source: str) -> bool:
    return "://" in source


def check_url(url: str) -> httpx.URL:
    """The URL parsed, or one line saying why it cannot be fetched (never an httpx or IDNA error)."""
    shown = redact_url(url)
    try:
        port = urllib.parse.urlsplit(url).port
        parsed = httpx.URL(url)
        parsed.host  # noqa: B018 - decoding an IDNA host can fail late
    except (ValueError, httpx.InvalidURL) as exc:  # UnicodeError (IDNA) is a ValueError
        raise AudioInputError(f"{shown}: not a valid URL ({redact_text(str(exc))})") from None
    if parsed.scheme not in ("http", "https"):
        raise AudioInputError(f"{shown}: only http and https URLs can be fetched")
    if not parsed.host:
        raise AudioInputError(f"{shown}: no host in the URL")
    if port == 0:
        raise AudioInputError(f"{shown}: not a valid URL (port 0)")
    return parsed


def _fetch(url: str, settings: FetchSettings, resolver: Resolver, transport: httpx.BaseTransport | None) -> bytes:
    first = url
    deadline = Deadline(settings.deadline_s)
    pinned = PinnedTransport(resolver, allow_private=settings.allow_private, inner=transport)
    client = httpx.Client(transport=pinned, follow_redirects=False, trust_env=False)
    try:
        with deadline:
            for _ in range(settings.max_redirects + 1):
                target = check_url(url)
                timeout = httpx.Timeout(deadline.cap(settings.timeout_s))
                with client.stream("GET", target, timeout=timeout, extensions=deadline.extensions()) as resp:
                    if resp.is_redirect and "location" in resp.headers:
                        try:
                            url = str(resp.url.join(resp.headers["location"]))
                        except (ValueError, httpx.InvalidURL) as exc:
                            raise AudioInputError(f"{redact_url(url)}: redirect to an invalid URL ({exc})") from None
                        continue
                    if resp.status_code != 200:
                        raise AudioInputError(f"{redact_url(url)}: HTTP {resp.status_code}")
                    return _body(resp, url, settings, deadline)
            raise AudioInputError(f"{redact_url(url)}: more than {settings.max_redirects} redirects")
    except httpx.HTTPError as exc:
        if deadline.expired:
            raise AudioInputError(_late(first, settings)) from exc
        raise AudioInputError(
            f"{redact_url(url)}: fetch failed: {type(exc).__name__}: {redact_text(str(exc))}"
        ) from exc
    except (OSError, ValueError) as exc:  # what httpx lets through: an IDNA or socket error deep down
        raise AudioInputError(
            f"{redact_url(url)}: fetch failed: {type(exc).__name__}: {redact_text(str(exc))}"
        ) from exc
    finally:
        client.close()


def _body(resp: httpx.Response, url: str, settings: FetchSettings, deadline: Deadline) -> bytes:
    try:
        declared = int(resp.headers.get("content-length") or 0)
    except ValueError:
        declared = 0
    if declared > settings.max_bytes:
        raise AudioInputError(f"{redact_url(url)}: {declared} bytes is over the {settings.max_bytes}-byte limit")
    body = bytearray()
    for chunk in resp.iter_bytes():
        body += chunk
        if len(body) > settings.max_bytes:
            raise AudioInputError(f"{redact_url(url)}: more than the {settings.max_bytes}-byte limit")
        if deadline.expired:
            raise AudioInputError(_late(url, settings))
    return bytes(body)


def _late(url: str, settings: FetchSettings) -> str:
    return f"{redact_url(url)}: the download took longer than the {settings.deadline_s:g} s limit"


def read_source(
    source: str,
    settings: FetchSettings = FetchSettings(),
    *,
    resolver: Resolver = system_resolver,
    transport: httpx.BaseTransport | None = None,
) -> bytes:
    """The raw bytes of a source file or URL (hashed for content addressing).

    ``resolver`` answers a host name with its addresses; ``transport`` is the
    connection layer under the address pinning (both injectable for tests).
    """
    if is_url(source):
        data = _fetch(source, settings, resolver, transport)
    else:
        path = Path(source).expanduser()
        try:
            if path.is_dir():
                raise AudioInputError(f"{source}: a folder, not an audio file")
            if not path.is_file():
                raise AudioInputError(f"{source}: no such file")
            if path.stat().st_size > settings.max_bytes:
                raise AudioInputError(f"{source}: over the {settings.max_bytes}-byte limit")
            data = path.read_bytes()
        except OSError as exc:
            raise AudioInputError(f"{source}: cannot read: {exc.strerror or exc}") from exc
    if not data:
        raise AudioInputError(f"{redact_url(source)}: the file is empty")
    return data


def decode_source(data: bytes, name: str, settings: FetchSettings = FetchSettings()) -> Audio:
    """Decode source bytes into mono :class:`Audio`; errors name ``name``."""
    shown = redact_url(name) if is_url(name) else name
    audio, info = decode(data, max_seconds=settings.max_seconds, error=AudioInputError, what=shown)
    if audio.duration > settings.max_seconds:
        raise AudioInputError(f"{shown}: longer than the {settings.max_seconds:g} s limit")
    if len(audio.samples) == 0:
        raise AudioInputError(f"{shown}: contains no audio samples ({info.codec} in {info.container.split(',')[0]})")
    if not np.isfinite(audio.samples).all():  # float WAVs can hold them; every later measurement would be NaN
        raise AudioInputError(f"{shown}: contains NaN or infinite samples")
    return audio


def load_audio(
    source: str,
    settings: FetchSettings = FetchSettings(),
    *,
    resolver: Resolver = system_resolver,
    transport: httpx.BaseTransport | None = None,
) -> Audio:
    """Read and decode a source file or URL."""
    return decode_source(read_source(source, settings, resolver=resolver, transport=transport), source, settings)
