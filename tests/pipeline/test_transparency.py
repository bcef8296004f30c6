"""Transparent mastering: on clean speech, voxpipe's mastered and encoded file scores
no worse (PESQ) than a plain encode of the same input by the ffmpeg program at
the same bitrate, by more than 0.05.

Wide-band PESQ at 16 kHz for the WhatsApp Ogg/Opus profile; narrow-band PESQ
at 8 kHz for the phone MP3 profile, after the G.711 mu-law transcode a phone
provider applies. Both files are decoded by the ffmpeg program and aligned to
the reference by cross-correlation before scoring. Figures: docs/benchmarks.md.

MP3 meets the 0.05 bound. Ogg/Opus does not yet: reaching -18 LUFS under a
-1.5 dBTP ceiling takes 4-7 dB of peak reduction on this speech, and the
best limiter found loses 0.00-0.12 (0.07 on average; before the fixes listed
in docs/benchmarks.md it lost up to 0.32, 0.19 on average). That bound is
kept as a strict expected failure, so the day it passes the test says so; a
second test holds what was reached, with room for PESQ's jitter.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import soundfile
from pesq import pesq
from scipy import signal

from tests.audio_checks import run_ffmpeg
from voxpipe.pipeline.audio import Audio
from voxpipe.pipeline.engines import get_engine
from voxpipe.pipeline.preparation import produce
from voxpipe.pipeline.profiles import load_profile

TEXTS = [
    "Good morning. This is a recorded message from the city council about the water supply.",
    "Your appointment with doctor Patel is confirmed for Friday at ten thirty in the morning.",
    "Please note that the office will be closed on Monday for the public holiday.",
    "Hello, this is a reminder that your parcel will be delivered tomorrow between nine and twelve.",
    "We detected an unusual sign in on your account. If this was not you, please call us immediately.",
    "Thank you for your payment of forty five dollars. Your balance is now zero.",
]
ALLOWED_LOSS = 0.05
#: What the Opus profile reaches today, per file and on average (see the module docstring).
OPUS_REACHED = (0.20, 0.10)

# profile: (PESQ mode, plain ffmpeg encode at the profile's rate and bitrate)
PLAIN = {
    "whatsapp": (
        "wb",
        [
            "-ar",
            "16000",
            "-c:a",
            "libopus",
            "-b:a",
            "24k",
            "-vbr",
            "on",
            "-application",
            "voip",
            "-frame_duration",
            "20",
        ],
    ),
    "pstn": ("nb", ["-ar", "22050", "-c:a", "libmp3lame", "-b:a", "48k"]),
}


@pytest.fixture(scope="module")
def speech() -> list[Audio]:
    engine = get_engine("piper")
    return [engine.synthesize(text) for text in TEXTS]


def _resample(x: np.ndarray, rate: int, to: int) -> np.ndarray:
    g = math.gcd(rate, to)
    return np.asarray(signal.resample_poly(x, to // g, rate // g))


def _decoded(path: Path, rate: int) -> np.ndarray:
    proc = run_ffmpeg(["-i", str(path), "-ac", "1", "-ar", str(rate), "-f", "f32le", "-"])
    return np.frombuffer(proc.stdout, dtype="<f4").astype(np.float64)


def _aligned(reference: np.ndarray, degraded: np.ndarray) -> np.ndarray:
    lag = int(np.argmax(signal.fftconvolve(degraded, reference[::-1], mode="full"))) - (len(reference) - 1)
    degraded = degraded[lag:] if lag >= 0 else np.concatenate([np.zeros(-lag), degraded])
    return np.pad(degraded[: len(reference)], (0, max(0, len(reference) - len(degraded))))


def _score(source: Audio, encoded: Path, mode: str) -> float:
    reference = source.samples.astype(np.float64)
    if mode == "wb":
        ref = _resample(reference, source.rate, 16000)
        return float(pesq(16000, ref, _aligned(ref, _decoded(encoded, 16000)), "wb"))
    phone = encoded.with_name(encoded.stem + ".mulaw.wav")
    run_ffmpeg(["-y", "-i", str(encoded), "-ac", "1", "-ar", "8000", "-c:a", "pcm_mulaw", str(phone)])
    ref = _resample(reference, source.rate, 8000)
    return float(pesq(8000, ref, _aligned(ref, _decoded(phone, 8000)), "nb"))


def _losses(speech: list[Audio], profile: str, folder: Path) -> list[float]:
    """PESQ of the plain encode minus PESQ of voxpipe's file, per clip."""
    mode, plain_args = PLAIN[profile]
    spec = load_profile(profile)
    losses = []
    for i, source in enumerate(speech):
        wav = folder / f"source{i}.wav"
        soundfile.write(str(wav), source.samples, source.rate, subtype="FLOAT")
        plain = folder / f"plain{i}.{spec.extension}"
        run_ffmpeg(["-y", "-i", str(wav), "-ac", "1", *plain_args, str(plain)])
        mastered = produce(source, spec, folder / f"mastered{i}.{spec.extension}")
        losses.append(_score(source, plain, mode) - _score(source, mastered.path, mode))
    return losses


@pytest.fixture(scope="module")
def opus_losses(speech: list[Audio], tmp_path_factory: pytest.TempPathFactory) -> list[float]:
    return _losses(speech, "whatsapp", tmp_path_factory.mktemp("opus"))


def test_mp3_scores_as_well_as_a_plain_encode(speech: list[Audio], tmp_path: Path) -> None:
    losses = _losses(speech, "pstn", tmp_path)
    assert max(losses) <= ALLOWED_LOSS, [round(x, 3) for x in losses]


@pytest.mark.xfail(
    strict=True, reason="Opus loses up to 0.12 PESQ-WB to the limiting -18 LUFS needs; docs/benchmarks.md"
)
def test_opus_scores_as_well_as_a_plain_encode(opus_losses: list[float]) -> None:
    assert max(opus_losses) <= ALLOWED_LOSS, [round(x, 3) for x in opus_losses]


def test_opus_keeps_what_was_reached(opus_losses: list[float]) -> None:
    worst, mean = OPUS_REACHED
    assert max(opus_losses) <= worst and float(np.mean(opus_losses)) <= mean, [round(x, 3) for x in opus_losses]
