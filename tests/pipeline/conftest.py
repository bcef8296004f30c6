"""Fixtures for the preparation tests: real piper speech, made once per session."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import soundfile

from voxpipe.pipeline.audio import Audio
from voxpipe.pipeline.engines import get_engine


class MemoEngine:
    """The real piper voice, each text synthesised once and then remembered.

    voxpipe's piper is deterministic (see tests/pipeline/test_determinism.py);
    remembering saves the synthesis time and lets a test count engine calls.
    """

    name: ClassVar[str] = "piper"

    def __init__(self) -> None:
        self.inner = get_engine("piper")
        self.cache: dict[str, Audio] = {}
        self.calls = 0

    @property
    def language(self) -> str:
        return self.inner.language

    def identity(self) -> dict[str, Any]:
        return self.inner.identity()

    def synthesize(self, text: str) -> Audio:
        self.calls += 1
        if text not in self.cache:
            self.cache[text] = self.inner.synthesize(text)
        return self.cache[text]


@pytest.fixture(scope="session")
def memo_engine() -> MemoEngine:
    return MemoEngine()


@pytest.fixture(scope="session")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 6 s of real speech at 22,050 Hz, 16-bit mono, unmastered."""
    engine = get_engine("piper")
    audio = engine.synthesize("Good morning. This is a recorded message from the city council about the water supply.")
    path = tmp_path_factory.mktemp("src") / "speech.wav"
    soundfile.write(str(path), audio.samples, audio.rate, subtype="PCM_16")
    return path


@pytest.fixture(scope="session")
def long_speech_wav(speech_wav: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 200 s of speech (the short clip repeated), over the voice-note size budget at 24 kbps."""
    samples, rate = soundfile.read(str(speech_wav), dtype="float32")
    reps = int(np.ceil(200 * rate / len(samples)))
    path = tmp_path_factory.mktemp("src") / "long.wav"
    soundfile.write(str(path), np.tile(samples, reps), rate, subtype="PCM_16")
    return path
