"""Source audio: a local file or an http(s) URL, in any format ffmpeg decodes.

URLs are fetched with httpx under a timeout and a size cap, only over http
and https, and (unless allowed) never from loopback, private, link-local or
otherwise reserved addresses, so a manifest row cannot make voxpipe read an
internal service. Redirects are followed by hand so every hop is checked.
"""

from __future__ import annotations

import ipaddress
import socket
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import httpx

from .audio import Audio
from .errors import AudioInputError
from .ffmpeg import decode

__all__ = ["FetchSettings", "decode_source", "is_url", "load_audio", "read_source"]


@dataclass(frozen=True)
class FetchSettings:
    timeout_s: float = 20.0
    max_bytes: int = 50 * 1024 * 1024
    allow_private: bool = False
    max_redirects: int = 5
    max_seconds: float = 600.0
    """Longest source accepted (a voice message, not an audiobook)."""


def is_url(source: str) -> bool:
    return "://" in source


def _check_host(url: str, settings: FetchSettings) -> None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise AudioInputError(f"{url}: only http and https URLs can be fetched")
    if not parts.hostname:
        raise AudioInputError(f"{url}: no host in the URL")
    if settings.allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except socket.gaierror as exc:
        raise AudioInputError(f"{url}: cannot resolve host {parts.hostname}") from exc
    for info in infos:
        addr = ipaddress.ip_address(info[4][0])
        if not addr.is_global:
            raise AudioInputError(
                f"{url}: refusing to fetch from the non-public address {addr} (allow it with --allow-private-urls)"
            )


def _fetch(url: str, settings: FetchSettings, client: httpx.Client | None) -> bytes:
    own = client is None
    client = client or httpx.Client(timeout=settings.timeout_s, follow_redirects=False)
    try:
        for _ in range(settings.max_redirects + 1):
            _check_host(url, settings)
            with client.stream("GET", url) as resp:
                if resp.is_redirect and "location" in resp.headers:
                    url = str(resp.url.join(resp.headers["location"]))
                    continue
                if resp.status_code != 200:
                    raise AudioInputError(f"{url}: HTTP {resp.status_code}")
                declared = int(resp.headers.get("content-length") or 0)
                if declared > settings.max_bytes:
                    raise AudioInputError(f"{url}: {declared} bytes is over the {settings.max_bytes}-byte limit")
                body = bytearray()
                for chunk in resp.iter_bytes():
                    body += chunk
                    if len(body) > settings.max_bytes:
                        raise AudioInputError(f"{url}: more than the {settings.max_bytes}-byte limit")
                return bytes(body)
        raise AudioInputError(f"{url}: more than {settings.max_redirects} redirects")
    except httpx.HTTPError as exc:
        raise AudioInputError(f"{url}: fetch failed: {type(exc).__name__}: {exc}") from exc
    finally:
        if own:
            client.close()


def read_source(source: str, settings: FetchSettings = FetchSettings(), client: httpx.Client | None = None) -> bytes:
    """The raw bytes of a source file or URL (hashed for content addressing)."""
    if is_url(source):
        data = _fetch(source, settings, client)
    else:
        path = Path(source).expanduser()
        if path.is_dir():
            raise AudioInputError(f"{source}: a folder, not an audio file")
        if not path.is_file():
            raise AudioInputError(f"{source}: no such file")
        if path.stat().st_size > settings.max_bytes:
            raise AudioInputError(f"{source}: over the {settings.max_bytes}-byte limit")
        data = path.read_bytes()
    if not data:
        raise AudioInputError(f"{source}: the file is empty")
    return data


def decode_source(data: bytes, name: str, settings: FetchSettings = FetchSettings()) -> Audio:
    """Decode source bytes into mono :class:`Audio`; errors name ``name``."""
    try:
        audio, _ = decode(data, max_seconds=settings.max_seconds, error=AudioInputError, what=name)
    except AudioInputError as exc:
        reason = str(exc).removeprefix(f"{name}: ")
        if "Invalid data" in reason or "no audio stream" in reason or "does not contain any stream" in reason:
            reason = "not an audio file ffmpeg can decode"
        raise AudioInputError(f"{name}: {reason}") from exc
    if audio.duration > settings.max_seconds:
        raise AudioInputError(f"{name}: longer than the {settings.max_seconds:g} s limit")
    if len(audio.samples) == 0:
        raise AudioInputError(f"{name}: contains no audio samples")
    return audio


def load_audio(source: str, settings: FetchSettings = FetchSettings(), client: httpx.Client | None = None) -> Audio:
    """Read and decode a source file or URL."""
    return decode_source(read_source(source, settings, client), source, settings)
