"""Media for the simulators: fetching and probing ``media_url``, and serving test audio.

- :class:`MediaFetcher` fetches a URL with httpx, decodes it with
  :func:`decode_media` and returns a :class:`MediaResult`. Successful
  results are cached by URL (one fetch per URL however many requests name it;
  concurrent requests for the same URL wait for the one fetch). Failures are
  not cached, so a fixed URL can be retried. ``fetches`` counts real fetches.
- :class:`MediaServer` is a tiny HTTP server for tests: ``add(path, data,
  content_type)`` returns the URL; ``hits`` counts GETs per path.
- :func:`decode_media` is the providers' decoder: FFmpeg's libraries through
  PyAV, called directly and not through voxpipe's own decoding code, so a
  simulator grades what voxpipe wrote rather than agreeing with it.
- :func:`make_audio` generates short test clips in common formats (ffmpeg program).
"""

from __future__ import annotations

import functools
import io
import os
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass

import av
import httpx
import numpy as np

from tests.audio_checks import run_ffmpeg

from ._server import HTTPServerBase, Request, Response

__all__ = [
    "AUDIO_KINDS",
    "Decoded",
    "MediaFetcher",
    "MediaResult",
    "MediaServer",
    "StreamInfo",
    "UndecodableMedia",
    "decode_media",
    "make_audio",
]

MAX_MEDIA_BYTES = 50 * 1024 * 1024


class UndecodableMedia(Exception):
    """Bytes that FFmpeg's libraries cannot decode as audio."""


@dataclass(frozen=True)
class StreamInfo:
    """The first audio stream: FFmpeg's demuxer name (``ogg``, ``wav``, ``mp3``...), codec, rate, channels."""

    container: str
    codec: str
    rate: int
    channels: int


@dataclass(frozen=True)
class Decoded:
    samples: np.ndarray  # mono float32
    rate: int

    @property
    def duration(self) -> float:
        return len(self.samples) / self.rate


def decode_media(data: bytes) -> tuple[Decoded, StreamInfo]:
    """Decode the first audio stream of ``data`` to mono, as a provider's server would."""
    try:
        with av.open(io.BytesIO(data), "r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise UndecodableMedia("no audio stream")
            stream = container.streams.audio[0]
            info = StreamInfo(
                container.format.name,
                stream.codec_context.codec.canonical_name,
                int(stream.rate),
                int(stream.codec_context.channels),
            )
            resampler = av.AudioResampler(format="flt", layout="mono", rate=info.rate)
            chunks = [out.to_ndarray()[0] for frame in container.decode(stream) for out in resampler.resample(frame)]
            chunks += [out.to_ndarray()[0] for out in resampler.resample(None)]
    except (av.error.FFmpegError, ValueError) as exc:
        raise UndecodableMedia(str(exc)) from exc
    samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    return Decoded(samples, info.rate), info


@dataclass(frozen=True)
class MediaResult:
    """What fetching and decoding one URL gave."""

    url: str
    ok: bool
    error: str | None = None
    http_status: int | None = None
    content_type: str = ""
    size: int = 0
    info: StreamInfo | None = None
    duration: float | None = None  # seconds, from the decoded samples


class _Entry:
    def __init__(self) -> None:
        self.event = threading.Event()
        self.result: MediaResult | None = None


class MediaFetcher:
    def __init__(self, timeout: float = 10.0, max_bytes: int = MAX_MEDIA_BYTES) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.fetches = 0
        self._lock = threading.Lock()
        self._cache: dict[str, _Entry] = {}
        self._client: httpx.Client | None = None

    def _http(self) -> httpx.Client:
        with self._lock:  # one client: building one costs ~0.1 s (SSL context)
            if self._client is None:
                self._client = httpx.Client(timeout=self.timeout, follow_redirects=True)
            return self._client

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()

    def fetch(self, url: str) -> MediaResult:
        with self._lock:
            entry = self._cache.get(url)
            owner = entry is None
            if owner:
                entry = self._cache[url] = _Entry()
        if owner:
            try:
                entry.result = self._fetch(url)
            finally:
                if entry.result is None or not entry.result.ok:
                    with self._lock:
                        self._cache.pop(url, None)
                entry.event.set()
        else:
            entry.event.wait()
            if entry.result is None:
                return self.fetch(url)
        return entry.result

    def _fetch(self, url: str) -> MediaResult:
        with self._lock:
            self.fetches += 1
        try:
            with self._http().stream("GET", url) as r:
                ctype = r.headers.get("content-type", "")
                if r.status_code != 200:
                    return MediaResult(url, False, f"media_url answered HTTP {r.status_code}", r.status_code, ctype)
                chunks, size = [], 0
                for chunk in r.iter_bytes():
                    size += len(chunk)
                    if size > self.max_bytes:
                        return MediaResult(url, False, "media_url is too large", 200, ctype, size)
                    chunks.append(chunk)
        except httpx.HTTPError as exc:
            return MediaResult(url, False, f"media_url could not be fetched ({type(exc).__name__})")
        data = b"".join(chunks)
        if not data:
            return MediaResult(url, False, "media_url is empty", 200, ctype, 0)
        try:
            audio, info = decode_media(data)
        except UndecodableMedia:
            return MediaResult(url, False, "media_url is not decodable audio", 200, ctype, len(data))
        if len(audio.samples) == 0:
            return MediaResult(url, False, "media_url has no audio samples", 200, ctype, len(data), info, 0.0)
        return MediaResult(url, True, None, 200, ctype, len(data), info, audio.duration)


# --------------------------------------------------------------------------- serving


class MediaServer(HTTPServerBase):
    """Serves registered bytes at paths; everything else is 404."""

    def __init__(self, *, port: int = 0) -> None:
        self._lock = threading.RLock()
        self._files: dict[str, tuple[int, bytes, str]] = {}
        self.hits: Counter[str] = Counter()
        super().__init__(port=port)

    def add(self, path: str, data: bytes, content_type: str = "application/octet-stream", status: int = 200) -> str:
        path = path if path.startswith("/") else "/" + path
        with self._lock:
            self._files[path] = (status, data, content_type)
        return self.url(path)

    def _on_request(self, h, req: Request) -> None:
        with self._lock:
            if req.method == "GET":
                self.hits[req.path] += 1
            entry = self._files.get(req.path)
        if req.method not in ("GET", "HEAD"):
            h.send(Response(405, b"method not allowed", "text/plain", {"Allow": "GET, HEAD"}))
        elif entry is None:
            h.send(Response(404, b"not found", "text/plain"))
        else:
            status, data, ctype = entry
            h.send(Response(status, data, ctype))


# --------------------------------------------------------------------------- generating

AUDIO_KINDS = {
    # kind: (file suffix, ffmpeg output args)
    "mp3": (".mp3", ["-ac", "1", "-c:a", "libmp3lame", "-b:a", "48k"]),
    "ogg_opus": (".ogg", ["-ac", "1", "-ar", "48000", "-c:a", "libopus", "-b:a", "24k"]),
    "ogg_opus_stereo": (".ogg", ["-ac", "2", "-ar", "48000", "-c:a", "libopus", "-b:a", "32k"]),
    "ogg_vorbis": (".ogg", ["-ac", "1", "-c:a", "libvorbis"]),
    "wav": (".wav", ["-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le"]),
    "wav_mulaw": (".wav", ["-ac", "1", "-ar", "8000", "-c:a", "pcm_mulaw"]),
    "m4a": (".m4a", ["-ac", "1", "-c:a", "aac", "-b:a", "48k"]),
}


@functools.lru_cache(maxsize=64)
def make_audio(kind: str = "mp3", seconds: float = 1.0, freq: int = 440) -> bytes:
    """A ``seconds`` long sine tone encoded as ``kind`` (see :data:`AUDIO_KINDS`)."""
    suffix, args = AUDIO_KINDS[kind]
    fd, path = tempfile.mkstemp(suffix=suffix, prefix="voxpipe-sim-")
    os.close(fd)
    try:
        run_ffmpeg(["-f", "lavfi", "-i", f"sine=f={freq}:d={seconds}", *args, "-map_metadata", "-1", "-y", path])
        with open(path, "rb") as fh:
            return fh.read()
    finally:
        os.unlink(path)
