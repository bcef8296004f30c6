"""voxpipe as a library: the README's send snippet, checks before work, dry runs that write nothing."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli import REPO, voxpipe
from tests.simulators import MessageBirdSim, NineBitsSim
from voxpipe import Message, SendSettings, send_message
from voxpipe.pipeline.preparation import PrepareSettings
from voxpipe.sender import ConfigError, RecipientError
from voxpipe.sender.providers import provider_class


def _readme_snippet(title: str) -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split(f"### {title}", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_sends_from_python_in_five_lines(tmp_path: Path) -> None:
    snippet = _readme_snippet("Sending from Python")
    assert len(snippet.strip().splitlines()) <= 5
    with MessageBirdSim(access_key="mb-key") as sim:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VOXPIPE_")}
        env.update(VOXPIPE_MESSAGEBIRD_KEY="mb-key", VOXPIPE_MESSAGEBIRD_URL=sim.base_url)
        proc = subprocess.run(
            [sys.executable, "-c", snippet], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120
        )
        assert proc.returncode == 0, proc.stderr
        assert sim.accepted_counts() == {"447911123456": 1}
        [request] = sim.requests
    assert json.loads(request.body)["body"] == "Your code is 4, 8, 3, 9."
    assert proc.stdout.strip() == "{'accepted': 1}"
    assert (tmp_path / "voxpipe-journal.db").is_file()


def test_a_dry_run_needs_no_credentials_writes_nothing_and_shows_the_media_url(tmp_path: Path) -> None:
    out, media = tmp_path / "out", tmp_path / "media"
    settings = SendSettings(prepare=PrepareSettings(out_dir=out))
    report = send_message(
        provider_class("9bits")(), "Your parcel arrives today.", ["+2348020000001"], store=str(media),
        journal=tmp_path / "j.db", settings=settings, dry_run=True,
    )  # fmt: skip
    [request] = report.requests or []
    assert request["headers"]["authorization"] == "Bearer ***"
    assert re.fullmatch(r"http://127\.0\.0\.1:8765/pstn-[0-9a-f]{24}\.mp3", request["body"]["media_url"])
    assert not out.exists() and not media.exists() and not (tmp_path / "j.db").exists()


def test_the_cli_dry_run_for_9bits_does_no_work_either(tmp_path: Path) -> None:
    proc = voxpipe(
        "send", "-P", "9bits", "--text", "Your parcel arrives today.", "--to", "+2348020000001", "--dry-run",
        "--store", str(tmp_path / "media"), "--out", str(tmp_path / "out"), "--journal", str(tmp_path / "j.db"),
        env={"VOXPIPE_9BITS_TOKEN": ""},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["requests"][0]["body"]["to"] == ["2348020000001"]
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    no_store = voxpipe(
        "send", "-P", "9bits", "--text", "Hi.", "--to", "+2348020000001", "--dry-run", "--out", str(tmp_path / "out")
    )
    assert no_store.returncode == 1 and "give a --store" in no_store.stderr and not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"recipients": []}, RecipientError, "no recipients: give `recipients`"),
        ({"recipients": ["+234 802 OOO 0001"]}, RecipientError, "no valid recipient: +234 802 OOO 0001: letters"),
        (
            {"message": Message(media_url="https://x/a.mp3"), "provider": "messagebird"},
            ConfigError,
            "cannot play audio files",
        ),
        ({"settings": SendSettings(mode="tts")}, ConfigError, "9bits cannot speak text"),
        ({"store": None}, ConfigError, "9bits fetches audio from a URL: give a `store`"),
    ],
)
def test_checks_run_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kwargs: dict, error: type, message: str
) -> None:
    """No synthesis (the output folder stays empty), no journal, no request: the first problem is raised."""
    monkeypatch.setenv("VOXPIPE_9BITS_TOKEN", "t")
    monkeypatch.setenv("VOXPIPE_MESSAGEBIRD_KEY", "k")
    call = {
        "provider": "9bits", "message": "Hello.", "recipients": ["+2348020000001"], "store": str(tmp_path / "media"),
        "journal": tmp_path / "j.db", "settings": SendSettings(prepare=PrepareSettings(out_dir=tmp_path / "out")),
    }  # fmt: skip
    call.update(kwargs)
    with NineBitsSim(token="t") as sim:
        monkeypatch.setenv("VOXPIPE_9BITS_URL", sim.base_url)
        with pytest.raises(error, match=re.escape(message)):
            send_message(call.pop("provider"), call.pop("message"), call.pop("recipients"), **call)
        assert sim.requests_count == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_real_send_asks_for_credentials_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VOXPIPE_9BITS_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="9bits: missing credential token: set VOXPIPE_9BITS_TOKEN"):
        send_message("9bits", "Hello.", ["+2348020000001"], store=str(tmp_path / "media"), journal=tmp_path / "j.db")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("language", ["not a language", "en_US!", " "])
def test_a_malformed_text_language_is_refused_not_guessed(language: str) -> None:
    from voxpipe import MarkupError

    with pytest.raises(MarkupError, match=re.escape(f"`language` {language!r}: a language tag like en or en-US")):
        Message(text="hi", language=language)
