"""Signal helpers shared by synthesis and mastering (numpy/scipy, pyloudnorm).

Loudness is BS.1770-4 integrated loudness from pyloudnorm; true peak is the
maximum of the signal oversampled to at least 192 kHz (BS.1770 asks for 4x at
48 kHz; lower rates need more to catch inter-sample peaks).
"""

# scipy is imported inside the functions: it costs ~0.7 s, and a re-run that
# reuses every file must not pay it.

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from .audio import Audio, db_to_gain, gain_to_db

__all__ = [
    "active_bounds",
    "block_peaks",
    "fade_edges",
    "gated_loudness",
    "highpass",
    "integrated_loudness",
    "k_weighted",
    "limiter_gain",
    "limiter_gain_from_peaks",
    "noise_floor_db",
    "resample",
    "time_stretch",
    "true_peak_db",
    "true_peak_envelope",
]

_MIN_MEASURE_S = 0.5  # pyloudnorm needs one 400 ms gating block


def resample(audio: Audio, rate: int) -> Audio:
    from scipy import signal

    if audio.rate == rate or len(audio.samples) == 0:
        return Audio(audio.samples, rate)
    g = math.gcd(audio.rate, rate)
    up, down = rate // g, audio.rate // g
    out = signal.resample_poly(audio.samples.astype(np.float64), up, down, window=_resampling_filter(up, down))
    return Audio(out.astype(np.float32), rate)


@lru_cache(maxsize=8)
def _resampling_filter(up: int, down: int) -> np.ndarray:
    """scipy's default resample_poly filter, designed once: 22.05->16 kHz needs 8,821 taps."""
    from scipy import signal

    max_rate = max(up, down)
    half_len = 10 * max_rate
    return np.asarray(signal.firwin(2 * half_len + 1, 1.0 / max_rate, window=("kaiser", 5.0)), dtype=np.float64)


def highpass(audio: Audio, hz: float, order: int = 2) -> Audio:
    """Zero-phase Butterworth high-pass of ``order`` (run forwards and backwards at half the order).

    A one-way IIR filter shifts the phase of everything near the cutoff,
    which smears speech enough to cost PESQ points; run both ways it does not.
    """
    from scipy import signal

    if hz <= 0 or len(audio.samples) == 0:
        return audio
    sos = signal.butter(max(1, order // 2), hz, btype="highpass", fs=audio.rate, output="sos")
    if len(audio.samples) <= 3 * (2 * len(sos) + 1):  # too short to pad for the backward pass
        return audio.with_samples(signal.sosfilt(sos, audio.samples).astype(np.float32))
    return audio.with_samples(signal.sosfiltfilt(sos, audio.samples).astype(np.float32))


def _frame_peaks(samples: np.ndarray, rate: int, frame_ms: float) -> tuple[np.ndarray, int]:
    frame = max(1, int(rate * frame_ms / 1000))
    n = len(samples) // frame
    if n == 0:
        return np.array([np.max(np.abs(samples))] if len(samples) else [0.0]), frame
    peaks = np.abs(samples[: n * frame]).reshape(n, frame).max(axis=1)
    if len(samples) > n * frame:
        peaks = np.append(peaks, np.abs(samples[n * frame :]).max())
    return peaks, frame


def active_bounds(audio: Audio, threshold_db: float, frame_ms: float = 2.0) -> tuple[int, int] | None:
    """Sample range [start, end) from the first to the last frame above ``threshold_db`` (dBFS)."""
    if len(audio.samples) == 0:
        return None
    peaks, frame = _frame_peaks(audio.samples, audio.rate, frame_ms)
    loud = np.nonzero(peaks > db_to_gain(threshold_db))[0]
    if len(loud) == 0:
        return None
    return int(loud[0] * frame), int(min(len(audio.samples), (loud[-1] + 1) * frame))


def noise_floor_db(audio: Audio, frame_ms: float = 20.0, plateau_db: float = 6.0) -> float:
    """Level (dBFS RMS) of steady noise under the speech, or ``-inf`` when there is none to see.

    Steady noise makes a plateau: the quietest tenth of the 20 ms frames (the
    pauses) sit within a few dB of each other, at the noise level, and that
    level is returned. When they spread wider than ``plateau_db`` the quiet
    frames are the onsets and decays of words, not noise: a clean recording,
    or one too short to have pauses. Digital silence (a recorder's gate,
    padding) says nothing about the noise and is left out.
    """
    frame = max(1, int(audio.rate * frame_ms / 1000))
    n = len(audio.samples) // frame
    if n == 0:
        return float("-inf")
    frames = audio.samples[: n * frame].astype(np.float64).reshape(n, frame)
    rms = np.sqrt(np.mean(np.square(frames), axis=1))
    rms = rms[rms > 1e-7]
    if len(rms) == 0:
        return float("-inf")
    levels = 20.0 * np.log10(rms)
    quietest, tenth = np.quantile(levels, [0.01, 0.1])
    if tenth - quietest > plateau_db:
        return float("-inf")
    return float(np.quantile(levels, 0.05))


def fade_edges(audio: Audio, ms: float) -> Audio:
    n = min(int(audio.rate * ms / 1000), len(audio.samples) // 2)
    if n <= 0:
        return audio
    out = audio.samples.copy()
    ramp = np.linspace(0.0, 1.0, n, dtype=np.float32)
    out[:n] *= ramp
    out[-n:] *= ramp[::-1]
    return audio.with_samples(out)


@lru_cache(maxsize=8)
def _meter(rate: int):  # type: ignore[no-untyped-def]
    import pyloudnorm

    return pyloudnorm.Meter(rate)


def integrated_loudness(audio: Audio) -> float:
    """LUFS; ``-inf`` for silence. Short clips are padded with silence to one gating block."""
    x = audio.samples.astype(np.float64)
    min_len = int(_MIN_MEASURE_S * audio.rate)
    if len(x) < min_len:
        x = np.pad(x, (0, min_len - len(x)))
    if not np.any(x):
        return float("-inf")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(_meter(audio.rate).integrated_loudness(x))


def k_weighted(audio: Audio) -> np.ndarray:
    """The samples through BS.1770's K-weighting filters (pyloudnorm's), padded like :func:`integrated_loudness`."""
    x = audio.samples.astype(np.float64)
    min_len = int(_MIN_MEASURE_S * audio.rate)
    if len(x) < min_len:
        x = np.pad(x, (0, min_len - len(x)))
    for stage in _meter(audio.rate)._filters.values():
        x = stage.apply_filter(x)
    return x


def gated_loudness(weighted: np.ndarray, rate: int) -> float:
    """BS.1770-4 gated loudness (LUFS) of an already K-weighted mono signal.

    The same 400 ms blocks, 75 % overlap and gates as pyloudnorm, from
    cumulative sums: mastering measures many gain curves over one weighting
    (the filters are linear and the limiter's gain changes slowly, so
    weighting once and scaling is close; the final figure is measured exactly).
    """
    block = 0.4
    n_blocks = int(np.round((len(weighted) / rate - block) / (block * 0.25))) + 1
    if n_blocks < 1:
        return float("-inf")
    j = np.arange(n_blocks)
    lower = (block * (j * 0.25) * rate).astype(np.int64)
    upper = np.minimum((block * (j * 0.25 + 1) * rate).astype(np.int64), len(weighted))
    energy = np.concatenate([[0.0], np.cumsum(np.square(weighted))])
    z = (energy[upper] - energy[lower]) / (block * rate)
    with np.errstate(divide="ignore"):
        blockwise = -0.691 + 10.0 * np.log10(z)
    z = z[blockwise >= -70.0]
    if len(z) == 0:
        return float("-inf")
    relative = -0.691 + 10.0 * np.log10(np.mean(z)) - 10.0
    with np.errstate(divide="ignore"):
        gated = z[-0.691 + 10.0 * np.log10(z) > relative]
    if len(gated) == 0:
        return float("-inf")
    return float(-0.691 + 10.0 * np.log10(np.mean(gated)))


_OVERSAMPLE = 4
_TAPS_PER_PHASE = 12  # the BS.1770-4 Annex 2 interpolator is 48 taps at 4x
_BLOCK = 256


@lru_cache(maxsize=1)
def _interpolator() -> np.ndarray:
    from scipy import signal

    taps = _OVERSAMPLE * _TAPS_PER_PHASE
    return np.asarray(signal.firwin(taps, 1.0 / _OVERSAMPLE, window=("kaiser", 8.0)), dtype=np.float64) * _OVERSAMPLE


def _oversampled_abs(samples: np.ndarray) -> np.ndarray:
    from scipy import signal

    """|x| oversampled 4x, aligned so row n holds the peaks from sample n to n+1."""
    h = _interpolator()
    up: np.ndarray = np.abs(np.asarray(signal.upfirdn(h, samples.astype(np.float64), up=_OVERSAMPLE)))
    delay = (len(h) - 1) // 2
    up = up[delay : delay + len(samples) * _OVERSAMPLE]
    up = np.pad(up, (0, len(samples) * _OVERSAMPLE - len(up)))
    peaks: np.ndarray = up.reshape(len(samples), _OVERSAMPLE).max(axis=1)
    return peaks


def true_peak_envelope(samples: np.ndarray, floor: float = 0.0) -> np.ndarray:
    """Per-sample true-peak magnitude; exact only where it can exceed ``floor``.

    Inter-sample peaks stay within a few dB of the sample peaks around them,
    so only blocks whose sample peak is within 6 dB of ``floor`` are
    oversampled; elsewhere |x| stands in (it is below ``floor`` anyway).
    """
    env: np.ndarray = np.abs(samples).astype(np.float64)
    if len(env) == 0:
        return env
    n_blocks = -(-len(env) // _BLOCK)
    padded = np.pad(env, (0, n_blocks * _BLOCK - len(env)))
    hot = padded.reshape(n_blocks, _BLOCK).max(axis=1) > floor * 0.5
    hot = hot | np.roll(hot, 1) | np.roll(hot, -1)
    ctx = _TAPS_PER_PHASE
    for start, stop in _runs(hot):
        a, b = start * _BLOCK, min(len(env), stop * _BLOCK)
        lo, hi = max(0, a - ctx), min(len(env), b + ctx)
        local = _oversampled_abs(samples[lo:hi])
        env[a:b] = np.maximum(env[a:b], local[a - lo : b - lo])
    # An inter-sample peak between n-1 and n counts for both neighbours.
    env[1:] = np.maximum(env[1:], env[:-1])
    return env


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0], strict=True))


def true_peak_db(audio: Audio) -> float:
    if len(audio.samples) == 0 or not np.any(audio.samples):
        return float("-inf")
    env = true_peak_envelope(audio.samples, floor=audio.peak)
    return gain_to_db(float(env.max()))


def limiter_gain(
    env: np.ndarray,
    ceiling_db: float,
    rate: int,
    lookahead_ms: float = 150.0,
    release_ms: float = 600.0,
    fast_range_db: float = 3.0,
    fast_lookahead_ms: float = 2.0,
    fast_release_ms: float = 30.0,
) -> np.ndarray:
    """Smooth gain curve that keeps ``env * gain`` at or below the ceiling.

    Two look-ahead stages, each changing gain in Hann-shaped ramps (in dB).
    The slow one brings peaks to within ``fast_range_db`` of the ceiling: its
    gain is reached over the ``lookahead_ms`` before a peak and held for
    ``release_ms`` after it, so it rides whole syllables. A fast stage (2 ms
    look-ahead, 30 ms release) shaves the last few dB off single peaks, which
    a syllable-long gain change cannot do, so the loudness target stays
    reachable. Mastering gives the fast stage as little range as reaches
    the target (see :mod:`voxpipe.pipeline.mastering`); PESQ figures for the
    choice are in docs/benchmarks.md.
    """
    return limiter_gain_from_peaks(
        block_peaks(env, rate),
        len(env),
        ceiling_db,
        rate,
        (lookahead_ms, release_ms),
        fast_range_db,
        (fast_lookahead_ms, fast_release_ms),
    )


def block_peaks(env: np.ndarray, rate: int) -> np.ndarray:
    """The loudest value of ``env`` in each 1 ms block (the limiter's working resolution)."""
    block = max(1, int(rate / 1000))
    n = -(-len(env) // block)
    peaks: np.ndarray = np.pad(env, (0, n * block - len(env))).reshape(n, block).max(axis=1)
    return peaks


def limiter_gain_from_peaks(
    peaks: np.ndarray,
    n_samples: int,
    ceiling_db: float,
    rate: int,
    slow_ms: tuple[float, float] = (150.0, 600.0),
    fast_range_db: float = 3.0,
    fast_ms: tuple[float, float] = (2.0, 30.0),
) -> np.ndarray:
    """:func:`limiter_gain` from :func:`block_peaks` (reusable: a gain of G dB is a ceiling G dB lower)."""
    if n_samples == 0 or peaks.max() <= db_to_gain(ceiling_db):
        return np.ones(n_samples, dtype=np.float64)
    block = max(1, int(rate / 1000))
    n = len(peaks)
    slow = _lookahead_gain(peaks, ceiling_db + fast_range_db, *slow_ms)
    # Interpolation may carry a neighbour's (larger) slow gain into a block: plan for it.
    slow_near = np.maximum(slow, np.maximum(np.roll(slow, 1), np.roll(slow, -1)))
    fast = _lookahead_gain(peaks * slow_near, ceiling_db, *fast_ms)
    centres = (np.arange(n) + 0.5) * block
    gain = np.asarray(np.interp(np.arange(n_samples), centres, slow * fast), dtype=np.float64)
    return np.minimum(gain, 1.0)


def _lookahead_gain(peaks: np.ndarray, ceiling_db: float, lookahead_ms: float, release_ms: float) -> np.ndarray:
    """One limiter stage over 1 ms block peaks; changes are Hann-shaped ramps in dB.

    The widening (a minimum over [t - release, t + lookahead]) is wider than
    the smoothing, so every block, and its neighbours, still get at least the
    reduction they need.
    """
    from scipy import ndimage

    need = np.minimum(1.0, db_to_gain(ceiling_db) / np.maximum(peaks, 1e-12))
    if need.min() >= 1.0:
        return np.ones_like(need)
    look = max(2, round(lookahead_ms))
    hold = max(look, round(release_ms))
    widened: np.ndarray = ndimage.minimum_filter1d(
        np.log(need), size=look + hold + 1, origin=(hold - look) // 2, mode="nearest"
    )
    kernel = np.hanning(2 * (look - 1) + 3)[1:-1]  # half-width look - 1 blocks: inside the widening
    smooth = np.minimum(widened, ndimage.convolve1d(widened, kernel / kernel.sum(), mode="nearest"))
    return np.asarray(np.exp(smooth), dtype=np.float64)


def time_stretch(audio: Audio, rate: float = 1.0, pitch_semitones: float = 0.0) -> Audio:
    """Change speed by ``rate`` (>1 faster) and pitch without touching the other.

    Rubber Band through pedalboard (bundled in its wheel), formants preserved,
    as the rubberband filter of the ffmpeg program did before.
    """
    if (rate == 1.0 and pitch_semitones == 0.0) or len(audio.samples) == 0:
        return audio
    from pedalboard import time_stretch as rubberband

    out = rubberband(
        audio.samples.reshape(1, -1),
        float(audio.rate),
        stretch_factor=float(rate),
        pitch_shift_in_semitones=float(pitch_semitones),
        high_quality=True,
        preserve_formants=True,
    )
    return audio.with_samples(np.ascontiguousarray(out[0], dtype=np.float32))
