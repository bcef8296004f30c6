"""Rendering markup with the real piper voice: rate, pitch, volume, pauses."""

from __future__ import annotations

import numpy as np
import pytest

from voxpipe.pipeline import dsp
from voxpipe.pipeline.errors import MarkupError, SynthesisError
from voxpipe.pipeline.markup import parse
from voxpipe.pipeline.synthesis import synthesize

SENTENCE = "Your appointment is on Tuesday at three in the afternoon."


def _speech_s(audio) -> float:
    start, end = dsp.active_bounds(audio, 20 * np.log10(audio.peak) - 40)
    return (end - start) / audio.rate


@pytest.mark.parametrize(
    "rate, ratio",
    [
        ("x-slow", 0.75),
        ("slow", 0.9),
        ("fast", 1.1),
        ("x-fast", 1.25),
        ("85%", 0.85),
        ("-10%", 0.9),
        ("+20%", 1.2),
        ("0.3", 0.5),
        ("300%", 2.0),
    ],
)
def test_prosody_rate_changes_duration_by_the_requested_ratio(memo_engine, rate: str, ratio: float) -> None:
    natural = _speech_s(synthesize(parse(SENTENCE), memo_engine))
    changed = _speech_s(synthesize(parse(f'<prosody rate="{rate}">{SENTENCE}</prosody>'), memo_engine))
    assert natural / changed == pytest.approx(ratio, rel=0.05)


def test_volume_is_a_gain_relative_to_the_rest(memo_engine) -> None:
    audio = synthesize(parse(f'{SENTENCE}<break time="1s"/><prosody volume="-6dB">{SENTENCE}</prosody>'), memo_engine)
    half = len(audio.samples) // 2
    first, second = audio.samples[:half], audio.samples[half:]
    level = lambda x: 20 * np.log10(np.sqrt(np.mean(x.astype(np.float64) ** 2)))  # noqa: E731
    assert level(first) - level(second) == pytest.approx(6.0, abs=0.3)


def _frame_f0s(audio) -> list[float | None]:
    """Fundamental per 40 ms frame by autocorrelation (60-400 Hz, parabolic peak); None when unvoiced."""
    x, rate = audio.samples.astype(np.float64), audio.rate
    frame, lo, hi = int(0.04 * rate), int(rate / 400), int(rate / 60)
    loud = np.abs(x).max() * 0.3
    f0s: list[float | None] = []
    for start in range(0, len(x) - frame, frame // 2):
        seg = x[start : start + frame]
        if np.abs(seg).max() < loud:
            f0s.append(None)
            continue
        seg = seg - seg.mean()
        ac = np.correlate(seg, seg, "full")[frame - 1 :]
        lag = lo + int(np.argmax(ac[lo:hi]))
        if ac[lag] < 0.5 * ac[0] or lag + 1 >= len(ac):
            f0s.append(None)
            continue
        a, b, c = ac[lag - 1], ac[lag], ac[lag + 1]
        shift = 0.5 * (a - c) / (a - 2 * b + c) if (a - 2 * b + c) else 0.0
        f0s.append(rate / (lag + shift))
    return f0s


def test_pitch_shift_keeps_duration(memo_engine) -> None:
    natural = synthesize(parse(SENTENCE), memo_engine)
    high = synthesize(parse(f'<prosody pitch="+3st">{SENTENCE}</prosody>'), memo_engine)
    assert _speech_s(high) == pytest.approx(_speech_s(natural), rel=0.02)
    # Same frames in both (the duration is kept): the median ratio is robust to octave slips.
    ratios = [h / n for n, h in zip(_frame_f0s(natural), _frame_f0s(high), strict=False) if n and h]
    assert len(ratios) > 10
    assert float(np.median(ratios)) == pytest.approx(2 ** (3 / 12), rel=0.05)


def test_say_as_is_spoken_as_words(memo_engine) -> None:
    synthesize(parse('Code <say-as interpret-as="digits">42</say-as>.'), memo_engine)
    assert "Code four, two." in memo_engine.cache


def test_exact_pause_between_runs(memo_engine) -> None:
    audio = synthesize(parse(f'{SENTENCE}<break time="700ms"/>{SENTENCE}'), memo_engine)
    from tests.audio_checks import silent_gaps_ms

    assert any(abs(g - 700) <= 5 for g in silent_gaps_ms(audio.samples, audio.rate, min_ms=400))


def test_nothing_to_say_is_a_markup_error(memo_engine) -> None:
    with pytest.raises(MarkupError):
        synthesize(parse('<break time="1s"/>'), memo_engine)


def test_punctuation_only_gives_a_clear_error(memo_engine) -> None:
    with pytest.raises((MarkupError, SynthesisError), match="no audio|nothing to say"):
        synthesize(parse("..."), memo_engine)
