"""Level decisions from the signal: a clean quiet recording reaches the target,
a noisy one stops where its noise would become audible, and says so.

Loudness is graded by ffmpeg's ebur128 filter on the encoded files, not by
the pyloudnorm meter the code uses.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile

from tests.audio_checks import ebur128
from voxpipe.pipeline import dsp
from voxpipe.pipeline.audio import Audio
from voxpipe.pipeline.mastering import master
from voxpipe.pipeline.preparation import Item, PrepareSettings, prepare
from voxpipe.pipeline.profiles import load_profile

PROFILES = ("pstn", "whatsapp", "wav")


def _pink_noise(n: int, rate: int, dbfs: float, seed: int = 7) -> np.ndarray:
    """Pink (1/f power) noise with an RMS of ``dbfs``."""
    white = np.random.default_rng(seed).standard_normal(n)
    spectrum = np.fft.rfft(white)
    freqs = np.fft.rfftfreq(n, 1 / rate)
    spectrum[1:] /= np.sqrt(freqs[1:])
    spectrum[0] = 0
    pink = np.fft.irfft(spectrum, n)
    return (pink * 10 ** (dbfs / 20) / np.sqrt(np.mean(pink**2))).astype(np.float32)


@pytest.fixture(scope="module")
def quiet(speech_wav: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same speech at -40 LUFS, once clean and once over pink noise at -45 dBFS."""
    samples, rate = soundfile.read(str(speech_wav), dtype="float32")
    clean = Audio(samples, rate)
    clean = clean.gain(-40.0 - dsp.integrated_loudness(clean))
    folder = tmp_path_factory.mktemp("levels")
    paths = {"clean": folder / "clean.wav", "noisy": folder / "noisy.wav"}
    soundfile.write(str(paths["clean"]), clean.samples, rate, subtype="FLOAT")
    noisy = clean.samples + _pink_noise(len(clean.samples), rate, -45.0)
    soundfile.write(str(paths["noisy"]), noisy, rate, subtype="FLOAT")
    return paths


@pytest.mark.parametrize("profile", PROFILES)
def test_a_clean_quiet_recording_reaches_the_target_without_warning(quiet, profile: str, tmp_path: Path) -> None:
    result = prepare(Item("clean", audio=str(quiet["clean"])), PrepareSettings(out_dir=tmp_path, profiles=(profile,)))
    assert result.ok, result.error
    assert result.warnings == ()
    spec = load_profile(profile)
    measured = ebur128(result.artifacts[0].path)
    assert abs(measured.integrated_lufs - spec.lufs) <= 0.5, measured
    assert measured.true_peak_dbtp <= spec.true_peak_dbtp, measured


@pytest.mark.parametrize("profile", PROFILES)
def test_the_same_recording_over_noise_stops_short_and_warns(quiet, profile: str, tmp_path: Path) -> None:
    result = prepare(Item("noisy", audio=str(quiet["noisy"])), PrepareSettings(out_dir=tmp_path, profiles=(profile,)))
    assert result.ok, result.error
    spec = load_profile(profile)
    [warning] = result.warnings
    assert "over a noise floor at" in warning and "so the noise stays under -60 dBFS" in warning, warning
    assert f"target {spec.lufs:g} LUFS would need" in warning
    measured = ebur128(result.artifacts[0].path)
    assert measured.integrated_lufs < spec.lufs - 10, measured  # the noise was not blown up to the target


def test_the_profiles_own_cap_still_holds(quiet) -> None:
    samples, rate = soundfile.read(str(quiet["clean"]), dtype="float32")
    capped = replace(load_profile("pstn"), max_gain_db=10.0)
    mastered = master(Audio(samples, rate), capped)
    assert mastered.gain_limited and abs(mastered.gain_db - 10.0) < 1e-9
    before = mastered.lufs - 10.0  # gain alone, nothing limited at -30 LUFS
    assert mastered.warnings == (
        f"input is {before:.1f} LUFS: raised by the profile's cap of +10 dB only "
        f"(target -22 LUFS would need +{-22.0 - before:.1f} dB)",
    )


def test_the_noise_floor_is_read_from_the_quiet_frames(quiet) -> None:
    for name, low, high in (("clean", -math.inf, -75.0), ("noisy", -52.0, -44.0)):
        samples, rate = soundfile.read(str(quiet[name]), dtype="float32")
        floor = dsp.noise_floor_db(dsp.highpass(Audio(samples, rate), 80))
        assert low <= floor < high, (name, floor)


@pytest.mark.parametrize("text", ["Hello.", "Yes.", "Your code is 4 8 3 9."])
def test_a_short_clean_word_is_not_taken_for_noise(text: str, memo_engine) -> None:
    """No pauses to hear noise in: the quietest frames are the word's own onset and decay."""
    audio = memo_engine.synthesize(text)
    for profile in ("pstn", "whatsapp"):
        mastered = master(audio, load_profile(profile))
        assert mastered.warnings == () and abs(mastered.lufs - load_profile(profile).lufs) < 0.1, mastered.warnings
