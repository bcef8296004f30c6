"""What a review page shows of one audio file, measured from the file itself.

The report has the file's integrated loudness and true peak; a page also
wants its shape: peaks for a waveform, momentary loudness over time (BS.1770
K-weighting, 400 ms blocks every 100 ms, as a meter's "M" reading), the
silences inside the message and how long the speech itself lasts. The file is
decoded with libsndfile (``soundfile``), the decoder ``verify`` trusts too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import VoxpipeError

__all__ = ["AudioFacts", "FactSettings", "k_weighted", "measure_file", "momentary_loudness"]

_BLOCK_S = 0.4
_HOP_S = 0.1


@dataclass(frozen=True)
class FactSettings:
    """How finely a file is drawn and what counts as silence."""

    peaks: int = 160
    """Waveform columns per file."""
    loudness_points: int = 300
    """At most this many momentary-loudness points per file (longer files are thinned, keeping maxima)."""
    frame_ms: float = 10.0
    """Frame length for telling speech from silence."""
    silence_db: float = -50.0
    """A frame is silent below this level (dBFS RMS), or 35 dB under the loudest frame if that is higher."""
    pause_s: float = 0.25
    """Silences at least this long are pauses: left out of the speaking time."""


@dataclass(frozen=True)
class AudioFacts:
    duration_s: float
    peaks: list[int]
    """Peak level per column, 0-1000 of full scale."""
    momentary: list[float | None]
    """Momentary loudness (LUFS) every ``hop_s`` seconds; None where the block is silent."""
    hop_s: float
    speech_s: float
    """From the first to the last sound, less the pauses: the time spent speaking."""
    silences: list[tuple[float, float]] = field(default_factory=list)
    """Pauses inside the message (not the lead or tail): (start, length) in seconds."""

    @property
    def longest_silence_s(self) -> float:
        return max((length for _, length in self.silences), default=0.0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "duration_s": round(self.duration_s, 3),
            "peaks": self.peaks,
            "momentary": self.momentary,
            "hop_s": self.hop_s,
            "speech_s": round(self.speech_s, 2),
            "silences": [[round(s, 2), round(n, 2)] for s, n in self.silences],
            "longest_silence_s": round(self.longest_silence_s, 2),
        }


@lru_cache(maxsize=8)
def _k_filters(rate: int) -> tuple[Any, Any]:
    from pyloudnorm.iirfilter import IIRfilter

    # pyloudnorm's own K-weighting stages (its Meter builds the same two), so the curve agrees with its LUFS.
    return (
        IIRfilter(4.0, 1 / np.sqrt(2), 1500.0, rate, "high_shelf"),
        IIRfilter(0.0, 0.5, 38.0, rate, "high_pass"),
    )


def k_weighted(samples: np.ndarray, rate: int) -> np.ndarray:
    """``samples`` through the BS.1770 K-weighting filter (pre-filter, then RLB high-pass)."""
    x = samples.astype(np.float64)
    for stage in _k_filters(rate):
        x = stage.apply_filter(x)
    return x


def momentary_loudness(samples: np.ndarray, rate: int, hop_s: float = _HOP_S) -> np.ndarray:
    """Loudness (LUFS) of every 400 ms block starting each ``hop_s``; ``-inf`` for a silent block."""
    block = int(round(_BLOCK_S * rate))
    hop = max(1, int(round(hop_s * rate)))
    if len(samples) < block:
        samples = np.pad(samples, (0, block - len(samples)))
    energy = np.concatenate(([0.0], np.cumsum(k_weighted(samples, rate) ** 2)))
    starts = np.arange(0, len(samples) - block + 1, hop)
    mean_square = (energy[starts + block] - energy[starts]) / block
    with np.errstate(divide="ignore"):
        return -0.691 + 10 * np.log10(np.maximum(mean_square, 0.0))


def _decode(path: Path) -> tuple[np.ndarray, int]:
    import soundfile

    try:
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError, OSError) as exc:
        raise VoxpipeError(f"{path}: cannot decode: {exc}") from exc
    return data.mean(axis=1), int(rate)


def _peaks(samples: np.ndarray, columns: int) -> list[int]:
    if not len(samples):
        return []
    edges = np.linspace(0, len(samples), min(columns, len(samples)) + 1).astype(int)
    tops = np.maximum.reduceat(np.abs(samples), edges[:-1])
    return [int(v) for v in np.minimum(np.round(tops * 1000), 1000)]


def _thinned(values: np.ndarray, points: int) -> tuple[np.ndarray, int]:
    """At most ``points`` values, each the loudest of a group (so short loud words still show)."""
    group = max(1, int(np.ceil(len(values) / points)))
    if group == 1:
        return values, 1
    pad = (-len(values)) % group
    padded = np.concatenate((values, np.full(pad, -np.inf)))
    return padded.reshape(-1, group).max(axis=1), group


def _silences(samples: np.ndarray, rate: int, s: FactSettings) -> tuple[list[tuple[float, float]], float]:
    """(pauses inside the message, speaking time)."""
    frame = max(1, int(rate * s.frame_ms / 1000))
    n = len(samples) // frame
    if n == 0:
        return [], 0.0
    rms = np.sqrt(np.mean(samples[: n * frame].astype(np.float64).reshape(n, frame) ** 2, axis=1))
    with np.errstate(divide="ignore"):
        level = 20 * np.log10(rms)
    active = level > max(s.silence_db, float(level.max()) - 35.0)
    if not active.any():
        return [], 0.0
    first, last = int(np.argmax(active)), n - 1 - int(np.argmax(active[::-1]))
    inner = ~active[first : last + 1]
    edges = np.flatnonzero(np.diff(np.concatenate(([0], inner.view(np.int8), [0]))))
    frame_s = frame / rate
    runs = [
        (float((first + a) * frame_s), float((b - a) * frame_s)) for a, b in zip(edges[::2], edges[1::2], strict=True)
    ]
    pauses = [(start, length) for start, length in runs if length >= s.pause_s]
    span = (last + 1 - first) * frame_s
    return pauses, max(0.0, span - sum(length for _, length in pauses))


def measure_file(path: Path, settings: FactSettings = FactSettings()) -> AudioFacts:
    """Decode ``path`` and measure it; :class:`VoxpipeError` if it cannot be decoded."""
    samples, rate = _decode(path)
    loud, group = _thinned(momentary_loudness(samples, rate), settings.loudness_points)
    pauses, speech = _silences(samples, rate, settings)
    return AudioFacts(
        duration_s=len(samples) / rate,
        peaks=_peaks(samples, settings.peaks),
        momentary=[round(float(v), 1) if v > -70 else None for v in loud],
        hop_s=round(_HOP_S * group, 3),
        speech_s=speech,
        silences=pauses,
    )
