"""Profiles: presets, user overrides, and every way a preset can be wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from voxpipe.pipeline.errors import ProfileError
from voxpipe.pipeline.profiles import available_profiles, load_profile


def test_presets() -> None:
    assert available_profiles() == ["pstn", "wav", "whatsapp"]
    pstn, wa, wav = load_profile("pstn"), load_profile("whatsapp"), load_profile("wav")
    assert (pstn.codec, pstn.sample_rate, pstn.bitrate_kbps, pstn.lufs, pstn.true_peak_dbtp) == (
        "libmp3lame",
        22050,
        48,
        -22.0,
        -2.0,
    )
    assert (wa.codec, wa.sample_rate, wa.bitrate_kbps, wa.lufs, wa.true_peak_dbtp, wa.mime) == (
        "libopus",
        16000,
        24,
        -18.0,
        -1.5,
        "audio/ogg; codecs=opus",
    )
    assert (wa.lead_ms, wa.tail_ms, wa.size_budget_bytes, wa.max_bytes) == (100, 200, 524288, 16777216)
    assert (wav.codec, wav.sample_rate, wav.max_bytes) == ("pcm_s16le", 16000, 5000000)


def test_a_user_directory_overrides_and_adds(tmp_path: Path, monkeypatch) -> None:
    louder = {**json.loads(Path("assets/profiles/pstn.json").read_text()), "lufs": -19.0}
    (tmp_path / "pstn.json").write_text(json.dumps(louder))
    (tmp_path / "hd.json").write_text(json.dumps({**louder, "name": "hd", "sample_rate": 44100, "bitrate_kbps": 96}))
    monkeypatch.setenv("VOXPIPE_PROFILES_DIR", str(tmp_path))
    assert load_profile("pstn").lufs == -19.0
    assert load_profile("hd").sample_rate == 44100
    assert "hd" in available_profiles()


@pytest.mark.parametrize(
    "change, message",
    [
        ({"lufs": -3}, "profile 'bad': lufs -3 is outside -40..-5"),
        ({"true_peak_dbtp": 1.0}, "profile 'bad': true_peak_dbtp 1.0 is outside -12..0"),
        ({"codec": "libopus"}, "profile 'bad': container 'mp3' with codec 'libopus' is not supported"),
        ({"sample_rate": 22051}, "profile 'bad': sample_rate 22051 is not supported"),
        ({"channels": 2}, "profile 'bad': only mono output is supported"),
        ({"bitrate_kbps": None}, "profile 'bad': a lossy profile needs bitrate_kbps"),
        ({"loudness": -20}, "unknown field(s) loudness"),
    ],
)
def test_invalid_presets_are_refused_with_the_reason(tmp_path: Path, change: dict, message: str) -> None:
    data = {**json.loads(Path("assets/profiles/pstn.json").read_text()), "name": "bad", **change}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ProfileError) as err:
        load_profile(str(path))
    assert message in str(err.value)


def test_unreadable_and_unknown_profiles(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ProfileError, match=r"^profile file .*broken\.json: Expecting property name"):
        load_profile(str(broken))
    with pytest.raises(ProfileError) as err:
        load_profile("nope")
    assert str(err.value) == "unknown profile 'nope' (known: pstn, wav, whatsapp)"
