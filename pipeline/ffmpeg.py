"""One runner for the bundled ffmpeg binary (from imageio-ffmpeg).

There is no ffprobe in that package, so stream facts are read from the
``Input #0`` block that ffmpeg prints on stderr while decoding.
"""

from __future__ import annotations

import functools
import logging
import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .audio import Audio
from .errors import EncodeError, VoxpipeError

__all__ = ["StreamInfo", "configure_pydub", "decode", "ffmpeg_exe", "parse_stream_info", "run"]

_LOG = logging.getLogger(__name__)


@functools.cache
def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


@functools.cache
def configure_pydub() -> Any:
    """Point pydub at the bundled ffmpeg and return its ``AudioSegment`` class.

    The bundled build has no ffprobe, so pydub's ``from_file`` works for WAV
    (and raw data) but not for other formats: use :func:`decode` for those.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydub warns at import when no ffmpeg is on PATH
        from pydub import AudioSegment

    AudioSegment.converter = ffmpeg_exe()
    AudioSegment.ffmpeg = ffmpeg_exe()
    return AudioSegment


def run(
    args: list[str],
    *,
    input: bytes | None = None,
    error: type[VoxpipeError] = EncodeError,
    what: str = "ffmpeg",
) -> subprocess.CompletedProcess[bytes]:
    """Run ffmpeg with ``args``; a failure raises ``error`` naming ``what``."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", *args]
    _LOG.debug("running %s", shlex.join(cmd))
    try:
        proc = subprocess.run(cmd, input=input, capture_output=True, check=False)
    except OSError as exc:
        raise error(f"{what}: cannot run ffmpeg: {exc}") from exc
    if proc.returncode != 0:
        raise error(f"{what}: {_last_error_line(proc.stderr)}")
    return proc


def _last_error_line(stderr: bytes) -> str:
    lines = [ln.strip() for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    interesting = [ln for ln in lines if not ln.startswith(("Input #", "Stream #", "Duration:"))]
    return (interesting or lines or ["ffmpeg failed"])[-1]


@dataclass(frozen=True)
class StreamInfo:
    """What ffmpeg says about the first audio stream of an input."""

    container: str
    codec: str
    rate: int
    channels: int
    duration: float | None


_INPUT_RE = re.compile(r"^Input #0, ([^,]+(?:,[^ ][^,]*)*), from", re.M)
_DURATION_RE = re.compile(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)")
_AUDIO_RE = re.compile(r"Stream #0:\d+[^:]*: Audio: ([^ ,]+)[^,]*, (\d+) Hz, ([^,]+)")
_LAYOUT_CHANNELS = {"mono": 1, "stereo": 2, "2.1": 3, "quad": 4, "5.0": 5, "5.1": 6, "7.1": 8}


def parse_stream_info(stderr: str) -> StreamInfo | None:
    audio = _AUDIO_RE.search(stderr)
    if audio is None:
        return None
    container_match = _INPUT_RE.search(stderr)
    container = container_match.group(1) if container_match else "unknown"
    layout = audio.group(3).strip()
    channels_match = re.match(r"(\d+) channels", layout)
    if channels_match:
        channels = int(channels_match.group(1))
    else:
        channels = _LAYOUT_CHANNELS.get(layout.split("(")[0], 0)
    duration = None
    dmatch = _DURATION_RE.search(stderr)
    if dmatch:
        h, m, s = dmatch.groups()
        duration = int(h) * 3600 + int(m) * 60 + float(s)
    return StreamInfo(container, audio.group(1), int(audio.group(2)), channels, duration)


def decode(
    source: Path | bytes,
    *,
    rate: int | None = None,
    max_seconds: float | None = None,
    error: type[VoxpipeError] = EncodeError,
    what: str = "audio",
) -> tuple[Audio, StreamInfo]:
    """Decode any input ffmpeg understands into mono float32 :class:`Audio`.

    ``rate=None`` keeps the stream's own rate. With ``max_seconds`` ffmpeg
    stops just past the limit so an overlong input costs little to reject.
    """
    args = ["-i", "pipe:0" if isinstance(source, bytes) else str(source)]
    if max_seconds is not None:
        args += ["-t", f"{max_seconds + 0.5:.3f}"]
    args += ["-map", "0:a:0", "-ac", "1"]
    if rate is not None:
        args += ["-ar", str(rate)]
    args += ["-f", "f32le", "-acodec", "pcm_f32le", "pipe:1"]
    proc = run(args, input=source if isinstance(source, bytes) else None, error=error, what=what)
    info = parse_stream_info(proc.stderr.decode("utf-8", "replace"))
    if info is None:
        raise error(f"{what}: no audio stream found")
    samples = np.frombuffer(proc.stdout, dtype="<f4").astype(np.float32)
    return Audio(samples, rate or info.rate), info
