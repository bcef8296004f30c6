"""Mastering: one message's audio made right for one profile.

Order: resample to the profile rate, high-pass, trim edge silence, 10 ms
fades, pad lead/tail, gain to the loudness target, true-peak limit,
re-measure and repeat the gain step while the limiter has pulled loudness off
target.

The gain is decided from the signal: the noise floor (the level of steady
noise in the pauses, see :func:`voxpipe.pipeline.dsp.noise_floor_db`)
may rise to :attr:`MasterSettings.noise_ceiling_dbfs` and no further. A clean
quiet recording is raised all the way to the target; a noisy one stops where
its noise would become audible, with a warning that says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from . import dsp
from .audio import Audio, db_to_gain
from .errors import AudioInputError
from .profiles import Profile

__all__ = ["MasterSettings", "Mastered", "master"]


_GAIN_STEPS = 8
_LUFS_STEP = 0.05
#: Loudness the limiter may take back (so much more gain goes in) with a given fast range
#: before a faster limiter is tried: more would flatten whole syllables.
_MAX_TAKEN_BACK_DB = 1.5
#: The same for the last, fastest setting.
_MAX_LIMITING_DB = 12.0
_FAST_RANGES_DB = (0.5, 2.0, 4.0, 8.0, 24.0)


@dataclass(frozen=True)
class MasterSettings:
    """Adjustments on top of a profile (the encode loop uses them to correct)."""

    gain_offset_db: float = 0.0
    """Added to the gain that would hit the target (corrects codec loudness shift)."""
    ceiling_margin_db: float = 0.0
    """Limit this far below the profile's ceiling (room for codec peak overshoot)."""
    trim_threshold_db: float = -60.0
    """Edge silence is what stays below this (dBFS), or 50 dB under the peak if lower."""
    trim_margin_ms: float = 50.0
    """Kept beyond the first and last sound above the threshold: the quiet ends of words
    (a trailing fricative, a breath) live there, and cutting them is audible."""
    noise_ceiling_dbfs: float = -60.0
    """Gain stops where it would lift the input's noise floor above this (dBFS RMS)."""


@dataclass(frozen=True)
class Mastered:
    audio: Audio
    lufs: float
    true_peak_dbtp: float
    gain_db: float
    warnings: tuple[str, ...] = field(default=())
    gain_limited: bool = False
    """The target needed more gain than the noise floor (or the profile's cap) allowed."""
    noise_floor_dbfs: float = float("-inf")
    """The input's noise floor before gain (dBFS RMS of its quietest frames)."""


def master(audio: Audio, profile: Profile, settings: MasterSettings = MasterSettings()) -> Mastered:
    warnings: list[str] = []
    x = dsp.resample(audio, profile.sample_rate)
    x = dsp.highpass(x, profile.highpass_hz)
    peak_db = 20 * math.log10(x.peak) if x.peak > 0 else -math.inf
    bounds = dsp.active_bounds(x, min(settings.trim_threshold_db, peak_db - 50.0))
    if bounds is None or peak_db < -90:
        raise AudioInputError("the audio is silent: nothing to master")
    margin = int(x.rate * settings.trim_margin_ms / 1000)
    start, end = max(0, bounds[0] - margin), min(len(x.samples), bounds[1] + margin)
    x = x.with_samples(x.samples[start:end])
    noise = dsp.noise_floor_db(x)
    # Fades fall on the kept margin, not on speech; the lead and tail count the margin in.
    x = dsp.fade_edges(x, profile.fade_ms)
    lead = max(0.0, profile.lead_ms - (bounds[0] - start) * 1000 / x.rate)
    tail = max(0.0, profile.tail_ms - (end - bounds[1]) * 1000 / x.rate)
    x = Audio.concat([Audio.silence(lead, x.rate), x, Audio.silence(tail, x.rate)])

    weighted = dsp.k_weighted(x)
    measured = dsp.gated_loudness(weighted, x.rate)
    if not np.isfinite(measured):
        raise AudioInputError("the audio is silent: nothing to master")
    ceiling = profile.true_peak_dbtp - settings.ceiling_margin_db
    wanted = profile.lufs - measured + settings.gain_offset_db
    allowed = _allowed_gain(profile, settings, noise)
    gain = min(wanted, allowed)
    if wanted > allowed:
        warnings.append(_short_of_target(profile, settings, measured, noise, wanted, allowed))
    # The true-peak envelope scales with gain, so it is computed once, at unity.
    env = dsp.true_peak_envelope(x.samples, floor=db_to_gain(ceiling - gain - 8.0))
    target = profile.lufs + settings.gain_offset_db
    # The slow limiter stage alone is the most transparent; the fast stage gets
    # more room only when the target cannot be reached without it.
    for fast_range in _FAST_RANGES_DB:
        search = _Search(x, env, weighted, measured, allowed, ceiling, fast_range)
        out, lufs, gain, reached = search.find(target)
        if reached:
            break
    exact = dsp.integrated_loudness(out)
    if abs(exact - lufs) > _LUFS_STEP and lufs < target + _LUFS_STEP:  # the weighted-once estimate was off
        out, lufs, gain, _ = search.find(target - (exact - lufs))
        exact = dsp.integrated_loudness(out)
    lufs = exact
    peak = dsp.true_peak_db(out)
    if peak > ceiling:  # the gain curve itself reshapes peaks a little
        out = out.gain(ceiling - peak)
        lufs, peak = lufs + ceiling - peak, ceiling
    return Mastered(out, lufs, peak, gain, tuple(warnings), gain_limited=wanted > allowed, noise_floor_dbfs=noise)


class _Search:
    """The gain whose limited output measures a target loudness, for one limiter setting."""

    def __init__(
        self,
        x: Audio,
        env: np.ndarray,
        weighted: np.ndarray,
        measured: float,
        allowed: float,
        ceiling: float,
        fast_range: float,
    ) -> None:
        self.x, self.peaks, self.weighted, self.measured = x, dsp.block_peaks(env, x.rate), weighted, measured
        self.allowed, self.ceiling, self.fast_range = allowed, ceiling, fast_range
        self.last = fast_range == _FAST_RANGES_DB[-1]

    def level(self, gain: float) -> tuple[Audio, float]:
        """Output and its loudness (estimated from the one K-weighting) at ``gain``."""
        x = self.x
        # Raising the gain by G dB is lowering the ceiling by G dB.
        curve = dsp.limiter_gain_from_peaks(
            self.peaks, len(x.samples), self.ceiling - gain, x.rate, fast_range_db=self.fast_range
        )
        scale = db_to_gain(gain) * curve
        out = x.with_samples(x.samples * scale.astype(np.float32))
        if curve.min() >= 1.0:  # gain alone moves loudness exactly
            return out, self.measured + gain
        weighted = self.weighted.copy()
        weighted[: len(scale)] *= scale
        return out, dsp.gated_loudness(weighted, x.rate)

    def find(self, target: float) -> tuple[Audio, float, float, bool]:
        """(output, LUFS, gain, reached). Loudness rises with gain, ever more slowly as the
        limiter takes more back: the gain is bracketed (the unlimited gain falls short,
        that plus :data:`_MAX_TAKEN_BACK_DB` must not) and found by regula falsi."""
        low = min(target - self.measured, self.allowed)
        out, lufs = self.level(low)
        if target - lufs < _LUFS_STEP or low >= self.allowed:
            return out, lufs, low, True
        high = min(self.allowed, low + (_MAX_LIMITING_DB if self.last else _MAX_TAKEN_BACK_DB))
        out_high, lufs_high = self.level(high)
        if lufs_high < target - _LUFS_STEP:  # this limiter cannot get there
            return out_high, lufs_high, high, False
        a, fa, b, fb = low, lufs - target, high, lufs_high - target
        best = (abs(fb), out_high, lufs_high, high)
        for _ in range(_GAIN_STEPS):
            gain = b - fb * (b - a) / (fb - fa)
            out, lufs = self.level(gain)
            f = lufs - target
            if abs(f) < best[0]:
                best = (abs(f), out, lufs, gain)
            if abs(f) < _LUFS_STEP:
                break
            if f < 0:
                a, fa = gain, f
                fb /= 2  # Illinois: keep the far end from sticking
            else:
                b, fb = gain, f
                fa /= 2
        return best[1], best[2], best[3], True


def _allowed_gain(profile: Profile, settings: MasterSettings, noise: float) -> float:
    """Most gain that keeps the noise floor under the ceiling (never below 0 dB: quieter is no fix)."""
    by_noise = settings.noise_ceiling_dbfs - noise if math.isfinite(noise) else math.inf
    return min(profile.max_gain_db, max(0.0, by_noise))


def _short_of_target(
    profile: Profile, settings: MasterSettings, measured: float, noise: float, wanted: float, allowed: float
) -> str:
    if allowed < profile.max_gain_db:
        return (
            f"input is {measured:.1f} LUFS over a noise floor at {noise:.0f} dBFS: raised by +{allowed:.1f} dB "
            f"only, so the noise stays under {settings.noise_ceiling_dbfs:g} dBFS (target {profile.lufs:g} LUFS "
            f"would need +{wanted:.1f} dB and make the noise audible)"
        )
    return (
        f"input is {measured:.1f} LUFS: raised by the profile's cap of +{profile.max_gain_db:g} dB only "
        f"(target {profile.lufs:g} LUFS would need +{wanted:.1f} dB)"
    )
