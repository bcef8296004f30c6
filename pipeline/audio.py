"""The in-memory audio type passed between stages.

Samples are mono float32 in [-1, 1]. Stages convert at the edges only: ``load``
decodes into :class:`Audio`, ``encode`` writes it out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Audio", "db_to_gain", "gain_to_db"]


def db_to_gain(db: float) -> float:
    return float(10.0 ** (db / 20.0))


def gain_to_db(gain: float) -> float:
    return float(20.0 * np.log10(max(gain, 1e-12)))


@dataclass(frozen=True, eq=False)
class Audio:
    """Mono samples plus their rate."""

    samples: np.ndarray
    rate: int

    def __post_init__(self) -> None:
        samples = np.asarray(self.samples, dtype=np.float32)
        if samples.ndim != 1:
            raise ValueError("Audio holds mono samples (a 1-D array)")
        object.__setattr__(self, "samples", samples)

    @property
    def duration(self) -> float:
        return len(self.samples) / self.rate

    @property
    def peak(self) -> float:
        return float(np.max(np.abs(self.samples))) if len(self.samples) else 0.0

    @classmethod
    def silence(cls, ms: float, rate: int) -> Audio:
        return cls(np.zeros(int(round(ms * rate / 1000.0)), dtype=np.float32), rate)

    def with_samples(self, samples: np.ndarray) -> Audio:
        return Audio(samples, self.rate)

    def gain(self, db: float) -> Audio:
        if db == 0:
            return self
        return self.with_samples(self.samples * db_to_gain(db))

    @classmethod
    def from_segment(cls, segment: Any) -> Audio:
        """From a pydub ``AudioSegment`` (any width or channel count; mixed down to mono)."""
        mono = segment.set_channels(1)
        samples = np.array(mono.get_array_of_samples(), dtype=np.float32)
        return cls(samples / float(1 << (8 * mono.sample_width - 1)), mono.frame_rate)

    def to_segment(self) -> Any:
        """As a 16-bit mono pydub ``AudioSegment`` (pydub pointed at an ffmpeg where one is installed).

        :mod:`.ffmpeg` imports nothing of voxpipe's, so there is no import cycle.
        """
        from .ffmpeg import configure_pydub

        AudioSegment = configure_pydub()
        pcm = np.clip(np.round(self.samples * 32768.0), -32768, 32767).astype("<i2")
        return AudioSegment(pcm.tobytes(), frame_rate=self.rate, sample_width=2, channels=1)

    @staticmethod
    def concat(parts: list[Audio]) -> Audio:
        if not parts:
            raise ValueError("nothing to concatenate")
        rate = parts[0].rate
        if any(p.rate != rate for p in parts):
            raise ValueError("cannot concatenate audio of different rates")
        return Audio(np.concatenate([p.samples for p in parts]), rate)
