"""Every input format people send decodes, each from a file generated here (none committed).

Fixtures are written from real piper speech by the ffmpeg program (the test
extra's imageio-ffmpeg), except AMR-WB, for which no encoder is at hand: its
frames are built by hand in the AMR-WB storage format and muxed into 3GP with
PyAV. Each decoded input is compared with the speech it was made from:
duration, and level within a few dB (lossy and narrow-band codecs move it).
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
import soundfile

from tests.audio_checks import run_ffmpeg
from tests.cli import voxpipe
from voxpipe.pipeline.decoding import decode
from voxpipe.pipeline.errors import AudioInputError
from voxpipe.pipeline.load import load_audio

CLIP_S = 2.5

# name: (file name, ffmpeg output arguments, codec as PyAV reports it, container's first demuxer name)
FORMATS: dict[str, tuple[str, list[str], str, str]] = {
    "wav-u8-8k": ("a.wav", ["-ar", "8000", "-c:a", "pcm_u8"], "pcm_u8", "wav"),
    "wav-s16-11k": ("a.wav", ["-ar", "11025", "-c:a", "pcm_s16le"], "pcm_s16le", "wav"),
    "wav-s16-16k": ("a.wav", ["-ar", "16000", "-c:a", "pcm_s16le"], "pcm_s16le", "wav"),
    "wav-s24-44k": ("a.wav", ["-ar", "44100", "-c:a", "pcm_s24le"], "pcm_s24le", "wav"),
    "wav-float-48k": ("a.wav", ["-ar", "48000", "-c:a", "pcm_f32le"], "pcm_f32le", "wav"),
    "wav-stereo-22k": ("a.wav", ["-ac", "2", "-c:a", "pcm_s16le"], "pcm_s16le", "wav"),
    "flac": ("a.flac", ["-c:a", "flac"], "flac", "flac"),
    "mp3-id3-xing": ("a.mp3", ["-c:a", "libmp3lame", "-b:a", "64k", "-metadata", "title=Outage"], "mp3", "mp3"),
    "mp3-bare": (
        "a.mp3",
        ["-c:a", "libmp3lame", "-q:a", "4", "-id3v2_version", "0", "-write_id3v1", "0", "-write_xing", "0"],
        "mp3",
        "mp3",
    ),
    "ogg-vorbis": ("a.ogg", ["-ar", "44100", "-c:a", "libvorbis"], "vorbis", "ogg"),
    "ogg-opus": ("a.opus", ["-ar", "48000", "-c:a", "libopus", "-b:a", "32k"], "opus", "ogg"),
    "webm-opus": ("a.webm", ["-ar", "48000", "-c:a", "libopus", "-b:a", "32k"], "opus", "matroska"),
    "m4a-index-at-end": ("a.m4a", ["-c:a", "aac", "-b:a", "64k"], "aac", "mov"),
    "m4a-faststart": ("a.m4a", ["-c:a", "aac", "-b:a", "64k", "-movflags", "+faststart"], "aac", "mov"),
    "3gp-amr-nb": ("a.3gp", ["-ar", "8000", "-c:a", "libopencore_amrnb", "-b:a", "12.2k"], "amr_nb", "mov"),
    "mp4-video": ("a.mp4", ["VIDEO", "-c:v", "mpeg4", "-c:a", "aac", "-b:a", "64k"], "aac", "mov"),
    "mov-video": ("a.mov", ["VIDEO", "-c:v", "mpeg4", "-c:a", "aac", "-b:a", "64k"], "aac", "mov"),
    "mp3-named-wav": ("lies.wav", ["-c:a", "libmp3lame", "-b:a", "48k", "-f", "mp3"], "mp3", "mp3"),
    "ogg-named-m4a": ("lies.m4a", ["-c:a", "libopus", "-b:a", "24k", "-f", "ogg"], "opus", "ogg"),
}


@pytest.fixture(scope="module")
def clip(speech_wav: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first seconds of real speech, 22,050 Hz mono 16-bit."""
    samples, rate = soundfile.read(str(speech_wav), dtype="float32")
    path = tmp_path_factory.mktemp("clip") / "clip.wav"
    soundfile.write(str(path), samples[: int(CLIP_S * rate)], rate, subtype="PCM_16")
    return path


def _rms_db(samples: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.square(samples.astype(np.float64))) + 1e-20))


def _write(clip: Path, folder: Path, name: str, args: list[str]) -> Path:
    out = folder / name
    inputs = ["-i", str(clip)]
    if args[:1] == ["VIDEO"]:  # a short video track beside the speech
        inputs = ["-f", "lavfi", "-i", f"testsrc=size=160x120:rate=10:duration={CLIP_S}", *inputs]
        args = ["-map", "0:v", "-map", "1:a", *args[1:]]
    run_ffmpeg(["-y", *inputs, *args, str(out)])
    return out


@pytest.mark.parametrize("kind", list(FORMATS))
def test_input_format_decodes(kind: str, clip: Path, tmp_path: Path) -> None:
    name, args, codec, container = FORMATS[kind]
    path = _write(clip, tmp_path, name, args)
    reference, _ = soundfile.read(str(clip), dtype="float32")
    audio = load_audio(str(path))
    _, info = decode(path)
    assert info.codec == codec and info.container.split(",")[0] == container, info
    assert abs(audio.duration - CLIP_S) < 0.1, audio.duration
    assert abs(_rms_db(audio.samples) - _rms_db(reference)) < 3.0
    assert np.isfinite(audio.samples).all()


def _amr_wb_frames(seconds: float) -> bytes:
    """AMR-WB storage format (RFC 4867 section 5) with 12.65 kbit/s frames of random bits.

    Any bit pattern is a valid set of codec parameters, so every frame
    decodes: this checks the decoder and the container, not speech quality.
    """
    rng = np.random.default_rng(11)
    toc = bytes([(2 << 3) | 0x04])  # frame type 2 (12.65 kbit/s, 253 bits in 32 bytes), quality bit set
    frames = [toc + rng.integers(0, 256, 32, dtype=np.uint8).tobytes() for _ in range(int(seconds / 0.02))]
    return b"#!AMR-WB\n" + b"".join(frames)


def test_3gp_with_amr_wb_decodes(tmp_path: Path) -> None:
    amr = tmp_path / "a.amr"
    amr.write_bytes(_amr_wb_frames(CLIP_S))
    phone = tmp_path / "recording.3gp"
    with av.open(str(amr)) as source, av.open(str(phone), "w", format="3gp") as out:
        stream = out.add_stream_from_template(source.streams.audio[0])
        for packet in source.demux(source.streams.audio[0]):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    for path, container in ((amr, "amr"), (phone, "mov")):
        audio = load_audio(str(path))
        _, info = decode(path)
        assert (info.codec, info.rate, info.container.split(",")[0]) == ("amr_wb", 16000, container)
        assert audio.rate == 16000 and abs(audio.duration - CLIP_S) < 0.05
        assert audio.peak > 0.01


def test_m4a_with_its_index_at_the_end_prepares_from_the_command_line(clip: Path, tmp_path: Path) -> None:
    source = _write(clip, tmp_path, "outage.m4a", ["-c:a", "aac", "-b:a", "64k"])
    assert source.read_bytes()[4:8] == b"ftyp" and b"moov" in source.read_bytes()[-4096:]  # index at the end
    proc = voxpipe("prepare", "--audio", str(source), "--out", str(tmp_path / "out"), "--json")
    assert proc.returncode == 0, proc.stderr
    assert len(list((tmp_path / "out").glob("*.ogg"))) == 1 and len(list((tmp_path / "out").glob("*.mp3"))) == 1


def _video_only(clip: Path, folder: Path) -> Path:
    path = folder / "video.mp4"
    run_ffmpeg(["-y", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=1", "-c:v", "mpeg4", str(path)])
    return path


def _empty_wav(clip: Path, folder: Path) -> Path:
    path = folder / "zero.wav"
    soundfile.write(str(path), np.zeros(0, dtype=np.float32), 16000, subtype="PCM_16")
    return path


def _m4a_cut(clip: Path, folder: Path) -> Path:
    whole = _write(clip, folder, "whole.m4a", ["-c:a", "aac", "-b:a", "64k"])
    path = folder / "cut.m4a"
    path.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    return path


def _wav_header_only(clip: Path, folder: Path) -> Path:
    path = folder / "header.wav"
    path.write_bytes(clip.read_bytes()[:44])
    return path


def _mp3_cut(clip: Path, folder: Path) -> Path:
    whole = _write(clip, folder, "whole.mp3", ["-c:a", "libmp3lame", "-b:a", "48k"])
    path = folder / "cut.mp3"
    path.write_bytes(whole.read_bytes()[:300])  # the ID3 tag and no whole frame
    return path


@pytest.mark.parametrize(
    "make, reason",
    [
        (
            lambda clip, d: (d / "notes.wav").write_text("meeting notes, not audio\n" * 40) and d / "notes.wav",
            "not an audio file ffmpeg can decode",
        ),
        (lambda clip, d: (d / "empty.mp3").write_bytes(b"") or d / "empty.mp3", "the file is empty"),
        (_video_only, "not an audio file ffmpeg can decode (no audio stream)"),
        (_empty_wav, "contains no audio samples (pcm_s16le in wav)"),
        (_wav_header_only, "contains no audio samples (pcm_s16le in wav)"),
        (_m4a_cut, "an MP4/M4A file without its index (moov atom): truncated, or still being written"),
        (_mp3_cut, "not an audio file ffmpeg can decode"),
    ],
    ids=["not-audio", "empty", "video-only", "zero-duration", "wav-header-only", "m4a-truncated", "mp3-truncated"],
)
def test_unusable_input_is_one_clear_line(make, reason: str, clip: Path, tmp_path: Path) -> None:
    path = make(clip, tmp_path)
    with pytest.raises(AudioInputError) as err:
        load_audio(str(path))
    assert str(err.value) == f"{path}: {reason}"
    proc = voxpipe("prepare", "--audio", str(path), "--out", str(tmp_path / "out"))
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [f"error  message: {path}: {reason}"], proc.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
