"""Decoding any audio FFmpeg's libraries read, in-process through PyAV.

The source is always seekable (a path, or bytes wrapped in a buffer), so an
MP4/M4A whose index sits at the end of the file decodes like any other.
Stream facts come from PyAV's container and stream objects.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .audio import Audio
from .errors import EncodeError, VoxpipeError

if TYPE_CHECKING:
    import av

# PyAV is imported inside the functions: it costs ~0.1 s, and a re-run that
# reuses every file must not pay it.

__all__ = ["NotAudio", "StreamInfo", "decode"]

#: Packets that fail to decode before a file counts as corrupt rather than damaged in places.
_MAX_BAD_PACKETS = 50


class NotAudio(Exception):
    """Why an input is not decodable audio (a phrase; the caller names the input)."""


@dataclass(frozen=True)
class StreamInfo:
    """The first audio stream of an input, as the demuxer describes it."""

    container: str
    """FFmpeg's demuxer name: ``wav``, ``mp3``, ``ogg``, ``mov,mp4,m4a,3gp,3g2,mj2``, ``matroska,webm``..."""
    codec: str
    rate: int
    channels: int
    duration: float | None


def _seconds(value: int | None, time_base: Fraction | None) -> float | None:
    if value is None or time_base is None:
        return None
    return float(value * time_base)


def decode(
    source: Path | bytes,
    *,
    rate: int | None = None,
    max_seconds: float | None = None,
    error: type[VoxpipeError] = EncodeError,
    what: str = "audio",
) -> tuple[Audio, StreamInfo]:
    """Decode the first audio stream of ``source`` into mono float32 :class:`Audio`.

    ``rate=None`` keeps the stream's own rate. With ``max_seconds`` decoding
    stops just past the limit, so an overlong input costs little to reject.
    Failures raise ``error`` with a message that starts with ``what``.
    """
    try:
        return _decode(source, rate, max_seconds)
    except NotAudio as exc:
        raise error(f"{what}: {exc}") from exc
    except ValueError as exc:  # PyAV's resampler: a stream whose format changes mid-way
        raise error(f"{what}: cannot be decoded as one stream ({exc})") from exc


def _open(source: Path | bytes) -> av.container.InputContainer:
    import av

    from .libav import FFmpegMessages

    with FFmpegMessages() as ffmpeg:
        try:
            return av.open(
                io.BytesIO(source) if isinstance(source, bytes) else str(source), "r", metadata_errors="ignore"
            )
        except av.error.FileNotFoundError as exc:
            raise NotAudio("no such file") from exc
        except (av.error.FFmpegError, UnicodeDecodeError) as exc:
            if "moov atom not found" in ffmpeg.reason(exc):
                raise NotAudio(
                    "an MP4/M4A file without its index (moov atom): truncated, or still being written"
                ) from exc
            raise NotAudio("not an audio file ffmpeg can decode") from exc


def _decode(source: Path | bytes, rate: int | None, max_seconds: float | None) -> tuple[Audio, StreamInfo]:
    import av

    with _open(source) as container:
        if not container.streams.audio:
            raise NotAudio("not an audio file ffmpeg can decode (no audio stream)")
        stream = container.streams.audio[0]
        ctx = stream.codec_context
        if not stream.rate or ctx.codec is None:
            raise NotAudio("not an audio file ffmpeg can decode (the audio stream has no codec or rate)")
        duration = _seconds(stream.duration, stream.time_base)
        if duration is None and container.duration is not None:
            duration = container.duration / av.time_base
        # The codec's own name (mp3, aac, amr_nb), not the decoder's (mp3float, libopencore_amrnb).
        info = StreamInfo(
            container.format.name, ctx.codec.canonical_name, int(stream.rate), int(ctx.channels), duration
        )
        out_rate = rate or info.rate
        limit = None if max_seconds is None else int((max_seconds + 0.5) * out_rate)
        chunks = _decode_stream(container, stream, out_rate, limit)
    samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    if duration is not None and rate is None:
        # Decoders hand out whole frames: the last AAC/MP3 frame carries padding
        # that only the container's duration says to drop.
        declared = int(round(duration * out_rate))
        if 0 < declared < len(samples) <= declared + 4096:
            samples = samples[:declared]
    return Audio(samples, out_rate), info


def _decode_stream(
    container: av.container.InputContainer, stream: av.AudioStream, out_rate: int, limit: int | None
) -> list[np.ndarray]:
    import av

    from .libav import FFmpegMessages

    resampler = av.AudioResampler(format="flt", layout="mono", rate=out_rate)
    chunks: list[np.ndarray] = []
    total = bad = 0
    first_error: str | None = None
    packets = container.demux(stream)
    with FFmpegMessages() as ffmpeg:
        while limit is None or total <= limit:
            try:
                packet = next(packets)
            except StopIteration:
                break
            except av.error.FFmpegError as exc:  # a truncated or damaged container: keep what decoded
                first_error = first_error or ffmpeg.reason(exc)
                break
            try:
                frames = stream.codec_context.decode(packet)
            except av.error.FFmpegError as exc:  # a damaged packet: skip it, as the ffmpeg tool does
                first_error, bad = first_error or ffmpeg.reason(exc), bad + 1
                if bad > _MAX_BAD_PACKETS and total == 0:
                    break
                continue
            for frame in frames:
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray()[0])
                    total += len(chunks[-1])
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray()[0])
            total += len(chunks[-1])
    if total == 0 and first_error is not None:
        raise NotAudio(f"truncated or corrupt ({first_error})")
    return chunks
