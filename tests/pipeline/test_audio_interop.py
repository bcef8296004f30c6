"""pydub interop: AudioSegment in and out; pydub pointed at an ffmpeg only where one is installed."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.audio_checks import ffmpeg_exe
from voxpipe.pipeline.audio import Audio
from voxpipe.pipeline.ffmpeg import configure_pydub, find_ffmpeg
from voxpipe.pipeline.mastering import master
from voxpipe.pipeline.profiles import load_profile


def test_pydub_uses_the_installed_ffmpeg() -> None:
    segment_class = configure_pydub()
    assert segment_class.converter == find_ffmpeg() == ffmpeg_exe()  # imageio-ffmpeg, from the test extra


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


_WITHOUT_FFMPEG = """
import sys, numpy as np
from pathlib import Path

class NoImageioFfmpeg:
    def find_spec(self, name, path=None, target=None):
        if name.startswith("imageio_ffmpeg"):
            raise ImportError("blocked for this test")

sys.meta_path.insert(0, NoImageioFfmpeg())
from voxpipe.pipeline.audio import Audio
from voxpipe.pipeline.encoding import encode, verify
from voxpipe.pipeline.ffmpeg import configure_pydub, find_ffmpeg
from voxpipe.pipeline.mastering import master
from voxpipe.pipeline.profiles import load_profile

assert find_ffmpeg() is None
AudioSegment = configure_pydub()
assert AudioSegment.converter == "ffmpeg", AudioSegment.converter  # pydub's own default, untouched
rate = 16000
t = np.arange(3 * rate) / rate
tone = (0.2 * np.sin(2 * np.pi * 220 * t) * (t > 0.5)).astype(np.float32)
segment = Audio(tone, rate).to_segment()
profile = load_profile("whatsapp")
mastered = master(Audio.from_segment(segment), profile)
out = Path(sys.argv[1])
encode(mastered.audio, profile, out)
print(verify(out, profile).codec)
"""


def test_without_any_ffmpeg_program_pydub_segments_still_master_and_encode(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "PATH": str(tmp_path / "empty")}  # no ffmpeg on the PATH either
    proc = subprocess.run(
        [sys.executable, "-c", _WITHOUT_FFMPEG, str(tmp_path / "note.ogg")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "opus"


def test_the_readme_pydub_example_runs(speech_wav: Path, tmp_path: Path) -> None:
    import os
    import re
    import shutil
    import subprocess
    import sys

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### pydub") :]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    shutil.copy(speech_wav, tmp_path / "greeting.wav")
    proc = subprocess.run(
        [sys.executable, "-c", code.group(1)], cwd=tmp_path, capture_output=True, text=True, env=os.environ, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "Verified(container='ogg', codec='opus'" in proc.stdout


def test_no_import_cycle_between_audio_and_the_pydub_glue() -> None:
    """audio.py reaches ffmpeg.py (lazily, for pydub); ffmpeg.py must import nothing of voxpipe's."""
    import ast

    source = (Path(__file__).resolve().parents[2] / "pipeline" / "ffmpeg.py").read_text(encoding="utf-8")
    imported = [
        node.module or "" if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    ]
    relative = [node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.ImportFrom) and node.level]
    assert relative == [] and not any(name.startswith("voxpipe") for name in imported), imported
