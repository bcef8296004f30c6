"""Encoding in-process with PyAV, and verification of what was written.

MP3 is libmp3lame CBR with the Xing/Info header kept and no ID3 tag; Ogg/Opus
is libopus (voip, 20 ms frames, VBR as the profile says); WAV is 16-bit PCM.
Container and codec run with FFmpeg's ``bitexact`` flags, so no version or
random stream serial gets into the bytes: the same samples give the same file.

Every file is decoded again after writing, by libsndfile (soundfile), not by
the encoder's own library: container, codec, channels, rate and duration must
be what the profile asks for, and loudness and true peak are measured on the
decoded file (lossy codecs move both).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import dsp
from .audio import Audio
from .errors import EncodeError
from .profiles import Profile

# PyAV is imported inside the functions: it costs ~0.1 s, and a re-run that
# reuses every file must not pay it.

__all__ = ["Verified", "encode", "verify"]

_FORMATS = {"libmp3lame": "mp3", "libopus": "ogg", "pcm_s16le": "wav"}


def _muxer_options(profile: Profile) -> dict[str, str]:
    options = {"fflags": "+bitexact"}
    if profile.codec == "libmp3lame":
        options |= {"id3v2_version": "0", "write_id3v1": "0", "write_xing": "1"}
    return options


def _encoder_options(profile: Profile) -> dict[str, str]:
    if profile.codec != "libopus":
        return {}
    options = {"vbr": "on" if profile.vbr else "off"}
    if profile.application:
        options["application"] = profile.application
    if profile.frame_ms:
        options["frame_duration"] = str(profile.frame_ms)
    return options


def encode(audio: Audio, profile: Profile, dest: Path, *, bitrate_kbps: int | None = None) -> None:
    """Write ``audio`` (already at the profile's rate) to ``dest`` in the profile's format."""
    if audio.rate != profile.sample_rate:
        raise EncodeError(
            f"{dest.name}: audio at {audio.rate} Hz, profile {profile.name} wants {profile.sample_rate} Hz"
        )
    import av

    from .libav import FFmpegMessages

    kbps = bitrate_kbps or profile.bitrate_kbps
    with FFmpegMessages() as ffmpeg:
        try:
            _encode(audio, profile, dest, kbps)
        except OSError as exc:  # PyAV's FileNotFoundError, PermissionError... are OSErrors too
            raise EncodeError(f"encoding {profile.name}: cannot write {dest}: {exc.strerror or exc}") from exc
        except (av.error.FFmpegError, ValueError) as exc:
            raise EncodeError(f"encoding {profile.name}: {ffmpeg.reason(exc)}") from exc


def _encode(audio: Audio, profile: Profile, dest: Path, kbps: int | None) -> None:
    import av

    with av.open(str(dest), "w", format=_FORMATS[profile.codec], container_options=_muxer_options(profile)) as out:
        stream = out.add_stream(profile.codec, rate=audio.rate, layout="mono")
        assert isinstance(stream, av.AudioStream)
        ctx = stream.codec_context
        if kbps and profile.codec != "pcm_s16le":
            ctx.bit_rate = kbps * 1000
        ctx.flags |= av.codec.context.Flags.bitexact
        floats = [f.name for f in ctx.codec.audio_formats or () if f.name in ("flt", "fltp")]
        if floats:  # no 16-bit rounding before a lossy encoder
            ctx.format = floats[0]
        ctx.options = _encoder_options(profile)
        ctx.open()  # opened now so that its frame size is known
        # Encoders take frames of exactly their frame size, in their own sample format.
        resampler = av.AudioResampler(
            format=ctx.format.name, layout="mono", rate=audio.rate, frame_size=ctx.frame_size or 1024
        )
        frame = av.AudioFrame.from_ndarray(audio.samples.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate, frame.pts = audio.rate, 0
        for chunk in [*resampler.resample(frame), *resampler.resample(None), None]:
            out.mux(stream.encode(chunk))


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
