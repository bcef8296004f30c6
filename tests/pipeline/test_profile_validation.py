"""Every profile field is checked for type and range, and every broken profile
file is one line naming the file (and the field)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import voxpipe
from voxpipe.pipeline.errors import ProfileError
from voxpipe.pipeline.profiles import load_profile

PSTN = json.loads(Path("assets/profiles/pstn.json").read_text())
WHATSAPP = json.loads(Path("assets/profiles/whatsapp.json").read_text())


@pytest.mark.parametrize(
    "base, change, message",
    [
        (PSTN, {"fade_ms": -10}, "fade_ms -10 is outside 0..1000"),
        (PSTN, {"lead_ms": -1}, "lead_ms -1 is outside 0..10000"),
        (PSTN, {"tail_ms": 999999}, "tail_ms 999999 is outside 0..10000"),
        (PSTN, {"bitrate_kbps": 2000}, "bitrate_kbps 2000 is outside 8..320 for libmp3lame"),
        (WHATSAPP, {"bitrate_kbps": 4}, "bitrate_kbps 4 is outside 6..510 for libopus"),
        (WHATSAPP, {"min_bitrate_kbps": 32}, "min_bitrate_kbps 32 is above bitrate_kbps 24"),
        (PSTN, {"max_gain_db": 1e6}, "max_gain_db 1000000.0 is outside 0..60"),
        (PSTN, {"max_gain_db": -3}, "max_gain_db -3 is outside 0..60"),
        (WHATSAPP, {"size_budget_bytes": 0}, "size_budget_bytes 0 must be positive"),
        (PSTN, {"max_bytes": -5}, "max_bytes -5 must be positive"),
        (PSTN, {"highpass_hz": 20000}, "highpass_hz 20000 is outside 0..11025"),
        (WHATSAPP, {"frame_ms": 7}, "frame_ms 7 is not one of 5, 10, 20, 40, 60"),
        (WHATSAPP, {"application": "music"}, "application 'music' is not one of voip, audio, lowdelay"),
        (PSTN, {"vbr": "yes"}, 'vbr must be true or false, not "yes"'),
        (PSTN, {"vbr": 1}, "vbr must be true or false, not 1"),
        (PSTN, {"lufs": "loud"}, 'lufs must be a finite number, not "loud"'),
        (PSTN, {"lufs": True}, "lufs must be a finite number, not true"),
        (PSTN, {"sample_rate": 16000.5}, "sample_rate must be a whole number, not 16000.5"),
        (PSTN, {"fade_ms": None}, "fade_ms must be a whole number, not null"),
        (PSTN, {"bitrate_kbps": True}, "bitrate_kbps must be a whole number, not true"),
        (PSTN, {"mime": 5}, "mime must be a string, not 5"),
        (PSTN, {"description": ["x"]}, 'description must be a string, not ["x"]'),
        (PSTN, {"name": "../evil"}, "name '../evil' must be a plain file-name stem"),
    ],
)
def test_each_field_is_validated_with_the_file_and_field_named(
    tmp_path: Path, base: dict, change: dict, message: str
) -> None:
    path = tmp_path / "custom.json"
    path.write_text(json.dumps({**base, **change}))
    with pytest.raises(ProfileError) as err:
        load_profile(str(path))
    line = str(err.value)
    assert line.startswith(f"profile file {path}: ") and message in line and "\n" not in line


def test_non_finite_numbers_in_json(tmp_path: Path) -> None:
    for literal in ("NaN", "Infinity", "-Infinity"):
        path = tmp_path / "custom.json"
        path.write_text(json.dumps(PSTN).replace('"lufs": -22.0', f'"lufs": {literal}'))
        with pytest.raises(ProfileError, match=r"lufs must be a finite number"):
            load_profile(str(path))


def test_missing_required_field(tmp_path: Path) -> None:
    path = tmp_path / "custom.json"
    path.write_text(json.dumps({k: v for k, v in PSTN.items() if k != "codec"}))
    with pytest.raises(ProfileError, match=r"custom\.json: missing field\(s\) codec$"):
        load_profile(str(path))


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda p: p.write_text("{not json"), "Expecting property name"),
        (lambda p: p.write_bytes(b"\xff\xfe\x00garbage"), "not UTF-8 text"),
        (lambda p: p.write_text("[" * 100_000 + "]" * 100_000), "not valid JSON"),
        (lambda p: p.write_text('{"lufs": ' + "9" * 5000 + "}"), "not valid JSON"),
        (lambda p: p.write_text("[1, 2]"), "expected a JSON object"),
        (lambda p: p.write_text(""), "Expecting value"),
        (lambda p: p.mkdir(), "not a regular file"),
    ],
)
def test_broken_profile_files_are_one_line(tmp_path: Path, make, reason: str) -> None:
    path = tmp_path / "x.json"
    make(path)
    with pytest.raises(ProfileError) as err:
        load_profile(str(path))
    line = str(err.value)
    assert line.startswith(f"profile file {path}: ") and reason in line and "\n" not in line and len(line) < 400


def test_broken_profile_on_the_command_line(tmp_path: Path) -> None:
    folder = tmp_path / "x.json"
    folder.mkdir()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**PSTN, "fade_ms": -10}))
    for profile, reason in ((folder, "not a regular file"), (bad, "fade_ms -10 is outside 0..1000")):
        proc = voxpipe("prepare", "--text", "Hi.", "-p", str(profile), "-o", str(tmp_path / "out"))
        assert proc.returncode == 1 and "Traceback" not in proc.stderr
        assert proc.stderr.strip().splitlines() == [
            f"Error: profile file {profile}: " + proc.stderr.split(": ", 2)[2].strip()
        ]
        assert reason in proc.stderr
