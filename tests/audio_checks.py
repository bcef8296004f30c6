"""Independent measurements for tests: ffmpeg's ebur128 filter and ffmpeg decoding.

The code under test measures with pyloudnorm and decodes with PyAV and
libsndfile; tests check with the ffmpeg program (imageio-ffmpeg, in the test
extra) so that one implementation does not grade itself. :func:`run_ffmpeg`
also writes the test fixtures in formats voxpipe itself never writes.
"""

from __future__ import annotations

import functools
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@functools.cache
def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def run_ffmpeg(args: list[str], *, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run the ffmpeg program; a failure raises with its last stderr line."""
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", *args], input=input, capture_output=True, check=False
    )
    if proc.returncode != 0:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines() or ["ffmpeg failed"]
        raise RuntimeError(f"ffmpeg {' '.join(args)}: {lines[-1]}")
    return proc


@dataclass(frozen=True)
class Ebur128:
    integrated_lufs: float
    true_peak_dbtp: float


def ebur128(path: Path) -> Ebur128:
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostats", "-i", str(path), "-af", "ebur128=peak=true", "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    summary = proc.stderr[proc.stderr.rfind("Summary:") :]
    lufs = float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1))
    peak = float(re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary).group(1))
    return Ebur128(lufs, peak)


def ffmpeg_decode(path: Path) -> tuple[np.ndarray, int, str]:
    """Samples (mono float32), rate and the stream line, decoded by ffmpeg."""
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostats", "-i", str(path), "-ac", "1", "-f", "f32le", "-"],
        capture_output=True,
        check=True,
    )
    err = proc.stderr.decode()
    stream = re.search(r"Stream #0:\d+.*?: Audio: .*", err).group(0)
    rate = int(re.search(r"(\d+) Hz", stream).group(1))
    return np.frombuffer(proc.stdout, dtype="<f4"), rate, stream


def silent_gaps_ms(samples: np.ndarray, rate: int, rel_db: float = -40.0, min_ms: float = 100.0) -> list[float]:
    """Lengths of the silences inside the speech (not at the edges), in ms.

    Silence is any run of 2 ms frames whose peak stays ``rel_db`` below the
    file's peak.
    """
    frame = max(1, int(rate * 0.002))
    n = len(samples) // frame
    env = np.abs(samples[: n * frame]).reshape(n, frame).max(axis=1)
    loud = env > env.max() * 10 ** (rel_db / 20)
    idx = np.nonzero(loud)[0]
    gaps, run = [], 0
    for i in range(idx[0], idx[-1] + 1):
        if loud[i]:
            if run * frame * 1000 / rate >= min_ms:
                gaps.append(run * frame * 1000 / rate)
            run = 0
        else:
            run += 1
    return gaps


def speech_seconds(samples: np.ndarray, rate: int, rel_db: float = -40.0) -> float:
    """Time from the first to the last sound above ``rel_db`` below the peak."""
    loud = np.nonzero(np.abs(samples) > np.abs(samples).max() * 10 ** (rel_db / 20))[0]
    return (loud[-1] - loud[0]) / rate
