"""Layered configuration: defaults < voxpipe.toml < environment < flags, each value checked once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import voxpipe
from voxpipe.config import SettingsError, load_config


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_each_layer_overrides_the_one_before(tmp_path: Path) -> None:
    file = _write(tmp_path / "voxpipe.toml", '[send]\nrate = 5\nconcurrency = 2\n[store]\nlocation = "media"\n')
    config = load_config(None, {"VOXPIPE_SEND_RATE": "7"}, cwd=tmp_path).with_flags(
        {"send.concurrency": 3, "out": None}
    )
    assert config.file == file
    assert config.values["send.rate"].value == 7.0 and config.values["send.rate"].source == "env:VOXPIPE_SEND_RATE"
    assert config.values["send.concurrency"].value == 3 and config.values["send.concurrency"].source == "flag"
    assert config.values["store.location"].source == str(file)
    assert "out" not in config.values  # an unset flag leaves the layers below


def test_config_file_from_the_environment_or_a_flag(tmp_path: Path) -> None:
    named = _write(tmp_path / "elsewhere.toml", 'journal = "j.db"\n')
    assert load_config(None, {"VOXPIPE_CONFIG": str(named)}, cwd=tmp_path).get("journal") == "j.db"
    assert load_config(named, {}, cwd=tmp_path / "nowhere").get("journal") == "j.db"
    with pytest.raises(SettingsError, match=r"missing\.toml: no such configuration file"):
        load_config(tmp_path / "missing.toml", {})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[send]\nrate = "fast"\n', r"voxpipe\.toml: send\.rate: 'fast' is not a number"),
        ("[send]\nrate = nan\n", r"voxpipe\.toml: send\.rate: nan is not in the range"),
        ("[send]\nconcurrency = 1.5\n", r"send\.concurrency: 1\.5 is not a whole number"),
        ('[store]\nendpoint_url = "http://[::1"\n', r"store\.endpoint_url: http://\[::1: Invalid IPv6 URL"),
        ('[store]\nurl_mode = "secret"\n', r"store\.url_mode: 'secret' is not one of public, presigned"),
        ("[sned]\nrate = 1\n", r"voxpipe\.toml: unknown key sned\.rate"),
        ("providers = 3\n", r"voxpipe\.toml: providers: expected \[providers\.<name>\] tables"),
        ("[send\nrate = 1\n", r"voxpipe\.toml: not valid TOML"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    _write(tmp_path / "voxpipe.toml", text)
    with pytest.raises(SettingsError, match=message):
        load_config(None, {}, cwd=tmp_path)


def test_a_bad_environment_value_names_the_variable() -> None:
    with pytest.raises(SettingsError, match=r"^env:VOXPIPE_SEND_TIMEOUT: send\.timeout: inf is not in the range"):
        load_config(None, {"VOXPIPE_SEND_TIMEOUT": "inf"}, cwd=Path("/"))


def test_provider_settings_merge_file_environment_and_flags(tmp_path: Path) -> None:
    _write(tmp_path / "voxpipe.toml", '[providers.messagebird]\nlanguage = "en-us"\nrepeat = 2\nkey = "from-file"\n')
    config = load_config(None, {"VOXPIPE_MESSAGEBIRD_KEY": "from-env"}, cwd=tmp_path)
    provider = config.with_flags({"providers.messagebird.repeat": "3"}).provider("messagebird")
    assert provider.settings == {"language": "en-us", "repeat": 3}
    assert provider.secrets == {"key": "from-env"}


def test_config_show_names_every_source_and_hides_credentials(tmp_path: Path) -> None:
    _write(tmp_path / "voxpipe.toml", '[send]\nrate = 5\n[providers.messagebird]\nkey = "file-secret-key"\n')
    proc = voxpipe(
        "config",
        "show",
        "--json",
        cwd=tmp_path,
        env={"VOXPIPE_SEND_TIMEOUT": "12", "VOXPIPE_9BITS_TOKEN": "env-secret-token"},
    )
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout)
    assert shown["file"] == str(tmp_path / "voxpipe.toml")
    assert shown["send.rate"] == {"value": "5", "source": str(tmp_path / "voxpipe.toml")}
    assert shown["send.timeout"] == {"value": "12.0", "source": "env:VOXPIPE_SEND_TIMEOUT"}
    assert shown["send.concurrency"]["source"] == "default"
    assert shown["providers.messagebird.key"] == {"value": "***", "source": str(tmp_path / "voxpipe.toml")}
    assert shown["providers.9bits.token"] == {"value": "***", "source": "env:VOXPIPE_9BITS_TOKEN"}
    assert "secret" not in proc.stdout + proc.stderr


def test_a_send_uses_the_configuration_and_a_flag_wins(tmp_path: Path) -> None:
    _write(tmp_path / "voxpipe.toml", '[providers.messagebird]\nlanguage = "en-us"\nrepeat = 2\n')
    args = ("send", "-P", "messagebird", "--text", "Hi.", "--to", "+447911123456", "--dry-run")
    body = json.loads(voxpipe(*args, cwd=tmp_path).stdout)["requests"][0]["body"]
    assert (body["language"], body["repeat"]) == ("en-us", 2)
    flagged = voxpipe(*args, "-O", "repeat=3", cwd=tmp_path)
    assert json.loads(flagged.stdout)["requests"][0]["body"]["repeat"] == 3
    bad = voxpipe("--config", str(_write(tmp_path / "bad.toml", "[send]\nrate = -1\n")), *args, cwd=tmp_path)
    assert bad.returncode == 1 and bad.stderr.strip().startswith("Error: ") and "bad.toml: send.rate: -1" in bad.stderr
