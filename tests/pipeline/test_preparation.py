"""End-to-end preparation with real piper synthesis and the bundled ffmpeg.

Loudness and peaks are graded with ffmpeg's ebur128 filter and files are
decoded with ffmpeg, not with the pyloudnorm/libsndfile pair the code uses.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from tests.audio_checks import ebur128, ffmpeg_decode, silent_gaps_ms
from voxpipe.pipeline import engines
from voxpipe.pipeline.artifact import sha256_file
from voxpipe.pipeline.preparation import Item, PrepareSettings, prepare
from voxpipe.pipeline.profiles import load_profile

OTP = (
    '<speak>Your verification code is <break time="400ms"/>'
    '<prosody rate="slow"><say-as interpret-as="digits">4839</say-as></prosody>.</speak>'
)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("out")
    result = prepare(Item("otp", text=OTP), PrepareSettings(out_dir=out, profiles=("pstn", "whatsapp", "wav")))
    assert result.ok, result.error
    return {a.profile: a for a in result.artifacts}


@pytest.mark.parametrize(
    "profile, codec, rate",
    [("pstn", "mp3", 22050), ("whatsapp", "opus", 48000), ("wav", "pcm_s16le", 16000)],
)
def test_profile_meets_loudness_peak_and_format(prepared, profile: str, codec: str, rate: int) -> None:
    art = prepared[profile]
    spec = load_profile(profile)
    measured = ebur128(art.path)
    assert abs(measured.integrated_lufs - spec.lufs) <= 0.5, measured
    assert measured.true_peak_dbtp <= spec.true_peak_dbtp, measured
    samples, decoded_rate, stream = ffmpeg_decode(art.path)
    assert f"Audio: {codec}" in stream and "mono" in stream or "1 channels" in stream
    assert decoded_rate == rate  # ffmpeg decodes Opus at 48 kHz whatever the input rate
    assert art.sample_rate == spec.sample_rate and art.channels == 1
    assert abs(len(samples) / decoded_rate - art.duration_s) < 0.08
    assert art.bytes == art.path.stat().st_size and art.sha256 == sha256_file(art.path)
    assert art.mime == spec.mime


def test_pstn_mp3_has_no_tags_and_keeps_lead_silence(prepared) -> None:
    data = prepared["pstn"].path.read_bytes()
    assert not data.startswith(b"ID3") and data[-128:-125] != b"TAG"
    assert b"ID3" not in data and b"TSSE" not in data  # no tag frames anywhere
    assert b"Info" in data[:200]  # the CBR Info (Xing) frame with its gapless data is kept
    samples, rate, _ = ffmpeg_decode(prepared["pstn"].path)
    first_sound = next(i for i, v in enumerate(abs(samples) > 10 ** (-50 / 20)) if v) / rate
    assert 0.45 <= first_sound <= 0.56


def test_whatsapp_is_a_voice_note(prepared) -> None:
    art = prepared["whatsapp"]
    head = art.path.read_bytes()[:200]
    assert head.startswith(b"OggS") and b"OpusHead" in head
    opus_head = head[head.index(b"OpusHead") :]
    assert opus_head[9] == 1  # one channel
    assert int.from_bytes(opus_head[12:16], "little") == 16000  # input rate, as native notes have
    assert art.mime == "audio/ogg; codecs=opus" and art.bitrate_kbps == 24


def test_sidecar_records_the_metadata(prepared) -> None:
    art = prepared["whatsapp"]
    side = json.loads(art.path.with_name(art.path.name + ".json").read_text())
    for key in (
        "profile",
        "mime",
        "sha256",
        "bytes",
        "duration_s",
        "sample_rate",
        "channels",
        "lufs",
        "true_peak_dbtp",
    ):
        assert side[key] == getattr(art, key), key


@pytest.mark.parametrize("profile", ["pstn", "whatsapp"])
@pytest.mark.parametrize(
    "markup, pause_ms",
    [
        ('Please hold the line. <break time="300ms"/> Thank you for waiting.', 300),
        ('Please hold the line. <break time="1s"/> Thank you for waiting.', 1000),
        ('Please hold the line. <break time="2.5s"/> Thank you for waiting.', 2500),
        ('Please hold the line. <break strength="strong"/> Thank you for waiting.', 600),
        ("Please hold the line <break/> thank you for waiting.", 250),
    ],
)
def test_pause_around_a_break_is_exact(tmp_path: Path, profile: str, markup: str, pause_ms: int) -> None:
    result = prepare(Item("gap", text=markup), PrepareSettings(out_dir=tmp_path, profiles=(profile,)))
    assert result.ok, result.error
    samples, rate, _ = ffmpeg_decode(result.artifacts[0].path)
    gaps = silent_gaps_ms(samples, rate, min_ms=min(200, pause_ms * 0.6))
    assert any(abs(g - pause_ms) <= 20 for g in gaps), gaps


def test_a_second_prepare_reuses_files_without_synthesis(tmp_path: Path, monkeypatch, memo_engine) -> None:
    monkeypatch.setitem(engines.REGISTERED, "piper", lambda settings: memo_engine)
    settings = PrepareSettings(out_dir=tmp_path)
    first = prepare(Item("a", text="Reuse me, please."), settings)
    calls, mtimes = memo_engine.calls, [a.path.stat().st_mtime_ns for a in first.artifacts]
    second = prepare(Item("b", text="Reuse me, please."), settings)
    assert second.ok and all(a.reused for a in second.artifacts) and not any(a.reused for a in first.artifacts)
    assert memo_engine.calls == calls
    assert [a.path for a in second.artifacts] == [a.path for a in first.artifacts]
    assert [a.path.stat().st_mtime_ns for a in second.artifacts] == mtimes
    changed = prepare(Item("c", text="Reuse me, please!"), settings)
    assert {a.path for a in changed.artifacts}.isdisjoint(a.path for a in first.artifacts)


def test_a_failed_encode_leaves_nothing_under_a_final_name(tmp_path: Path, monkeypatch) -> None:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    # A profile that passes validation but that the encoder refuses: Opus at 510 kbps for 8 kHz mono.
    broken = {
        **json.loads(Path("assets/profiles/whatsapp.json").read_text()),
        "name": "broken",
        "sample_rate": 8000,
        "bitrate_kbps": 510,
    }
    (profiles / "broken.json").write_text(json.dumps(broken))
    monkeypatch.setenv("VOXPIPE_PROFILES_DIR", str(profiles))
    out = tmp_path / "out"
    result = prepare(Item("x", text="This will not encode."), PrepareSettings(out_dir=out, profiles=("broken",)))
    assert result.status == "error" and result.error.startswith("encoding broken: ")
    assert list(out.iterdir()) == []


def test_long_note_lowers_bitrate_to_fit_the_play_icon_budget(tmp_path: Path, long_speech_wav: Path) -> None:
    result = prepare(
        Item("long", audio=str(long_speech_wav)), PrepareSettings(out_dir=tmp_path, profiles=("whatsapp",))
    )
    assert result.ok, result.error
    art = result.artifacts[0]
    assert art.bytes <= 512 * 1024 and 16 <= art.bitrate_kbps < 24
    assert any("play-icon budget" in w and "bitrate lowered from 24" in w for w in result.warnings)


def test_a_file_over_the_profile_limit_is_an_error(tmp_path: Path, monkeypatch, speech_wav: Path) -> None:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    small = {**json.loads(Path("assets/profiles/wav.json").read_text()), "name": "tinywav", "max_bytes": 20000}
    (profiles / "tinywav.json").write_text(json.dumps(small))
    monkeypatch.setenv("VOXPIPE_PROFILES_DIR", str(profiles))
    result = prepare(Item("big", audio=str(speech_wav)), PrepareSettings(out_dir=tmp_path / "o", profiles=("tinywav",)))
    assert result.status == "error"
    assert "over the profile's 20000-byte limit; shorten the message" in result.error
    assert not (tmp_path / "o").exists() or not any(p.suffix == ".wav" for p in (tmp_path / "o").iterdir())


def test_stereo_source_becomes_mono_at_the_profile_rate(tmp_path: Path, speech_wav: Path) -> None:
    import numpy as np
    import soundfile

    samples, rate = soundfile.read(str(speech_wav), dtype="float32")
    stereo = tmp_path / "stereo.flac"
    soundfile.write(str(stereo), np.stack([samples, samples * 0.5], axis=1), rate)
    result = prepare(Item("st", audio=str(stereo)), PrepareSettings(out_dir=tmp_path / "o", profiles=("pstn",)))
    assert result.ok, result.error
    _, decoded_rate, stream = ffmpeg_decode(result.artifacts[0].path)
    assert "mono" in stream and decoded_rate == 22050


def test_items_settings_override_batch_settings(tmp_path: Path) -> None:
    settings = PrepareSettings(out_dir=tmp_path, profiles=("pstn", "whatsapp"))
    result = prepare(Item("only-wav", text="Hello.", profiles=("wav",)), settings)
    assert [a.profile for a in result.artifacts] == ["wav"]
    assert replace(settings, profiles=("wav",)).profiles == ("wav",)
