"""pydub interop: AudioSegment in and out, with pydub pointed at the bundled ffmpeg."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from voxpipe.pipeline.audio import Audio
from voxpipe.pipeline.ffmpeg import configure_pydub, ffmpeg_exe
from voxpipe.pipeline.mastering import master
from voxpipe.pipeline.profiles import load_profile


def test_pydub_uses_the_bundled_ffmpeg() -> None:
    segment_class = configure_pydub()
    assert segment_class.converter == ffmpeg_exe()


def test_round_trip_through_an_audio_segment(speech_wav: Path) -> None:
    AudioSegment = configure_pydub()
    segment = AudioSegment.from_file(str(speech_wav))  # WAV needs no ffprobe
    audio = Audio.from_segment(segment)
    assert audio.rate == 22050 and abs(audio.duration - segment.duration_seconds) < 1e-3
    back = audio.to_segment()
    assert back.frame_rate == 22050 and back.channels == 1 and back.sample_width == 2
    assert np.array_equal(np.array(back.get_array_of_samples()), np.array(segment.get_array_of_samples()))


def test_a_stereo_segment_masters_like_any_audio(speech_wav: Path, tmp_path: Path) -> None:
    AudioSegment = configure_pydub()
    mono = AudioSegment.from_file(str(speech_wav))
    stereo = AudioSegment.from_mono_audiosegments(mono, mono - 6)
    mastered = master(Audio.from_segment(stereo), load_profile("pstn"))
    assert abs(mastered.lufs - (-22.0)) < 0.1 and mastered.true_peak_dbtp <= -2.0
    out = tmp_path / "x.mp3"
    mastered.audio.to_segment().export(str(out), format="mp3", bitrate="48k")  # export goes through ffmpeg
    assert out.stat().st_size > 1000
