"""Encoding with the bundled ffmpeg, and verification of what was written.

Every file is decoded again after writing: container, codec, channels, rate
and duration must be what the profile asks for, and loudness and true peak
are measured on the decoded file (lossy codecs move both).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import dsp
from .audio import Audio
from .errors import EncodeError
from .ffmpeg import run
from .profiles import Profile

__all__ = ["Verified", "encode", "verify"]


def _codec_args(profile: Profile, bitrate_kbps: int | None) -> list[str]:
    kbps = bitrate_kbps or profile.bitrate_kbps
    if profile.codec == "libmp3lame":
        # CBR with the Xing/Info header kept, no ID3 tag at all.
        return ["-c:a", "libmp3lame", "-b:a", f"{kbps}k", "-id3v2_version", "0", "-write_id3v1", "0", "-f", "mp3"]
    if profile.codec == "libopus":
        args = ["-c:a", "libopus", "-b:a", f"{kbps}k", "-vbr", "on" if profile.vbr else "off"]
        if profile.application:
            args += ["-application", profile.application]
        if profile.frame_ms:
            args += ["-frame_duration", str(profile.frame_ms)]
        return args + ["-f", "ogg"]
    return ["-c:a", "pcm_s16le", "-f", "wav", "-bitexact"]


def encode(audio: Audio, profile: Profile, dest: Path, *, bitrate_kbps: int | None = None) -> None:
    """Write ``audio`` (already at the profile's rate) to ``dest`` in the profile's format."""
    if audio.rate != profile.sample_rate:
        raise EncodeError(
            f"{dest.name}: audio at {audio.rate} Hz, profile {profile.name} wants {profile.sample_rate} Hz"
        )
    run(
        [
            "-f",
            "f32le",
            "-ar",
            str(audio.rate),
            "-ac",
            "1",
            "-i",
            "pipe:0",
            "-map_metadata",
            "-1",
            "-fflags",
            "+bitexact",
            "-flags:a",
            "+bitexact",
            *_codec_args(profile, bitrate_kbps),
            "-y",
            str(dest),
        ],
        input=audio.samples.astype("<f4").tobytes(),
        what=f"encoding {profile.name}",
    )


@dataclass(frozen=True)
class Verified:
    """Facts read back from an encoded file."""

    container: str
    codec: str
    sample_rate: int
    channels: int
    duration_s: float
    lufs: float
    true_peak_dbtp: float


_SF_FORMATS = {"mp3": ("MP3", "MPEG_LAYER_III"), "ogg": ("OGG", "OPUS"), "wav": ("WAV", "PCM_16")}


def verify(path: Path, profile: Profile) -> Verified:
    """Decode ``path`` with libsndfile (a decoder independent of the encoder) and check it."""
    import soundfile

    try:
        info = soundfile.info(str(path))
        samples, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError) as exc:
        raise EncodeError(f"verifying {path.name}: does not decode: {exc}") from exc
    want_format, want_subtype = _SF_FORMATS[profile.container]
    problems = []
    if (info.format, info.subtype) != (want_format, want_subtype):
        problems.append(f"{info.format}/{info.subtype} (want {want_format}/{want_subtype})")
    if info.channels != profile.channels:
        problems.append(f"{info.channels} channels (want {profile.channels})")
    if rate != profile.sample_rate:
        problems.append(f"{rate} Hz (want {profile.sample_rate})")
    if len(samples) == 0:
        problems.append("no audio")
    if problems:
        raise EncodeError(f"verifying {path.name}: " + ", ".join(problems))
    audio = Audio(samples[:, 0], rate)
    return Verified(
        container=profile.container,
        codec={"libmp3lame": "mp3", "libopus": "opus"}.get(profile.codec, profile.codec),
        sample_rate=rate,
        channels=info.channels,
        duration_s=round(audio.duration, 3),
        lufs=round(dsp.integrated_loudness(audio), 2),
        true_peak_dbtp=round(dsp.true_peak_db(audio), 2),
    )
