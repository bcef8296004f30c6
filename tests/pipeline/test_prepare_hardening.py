"""``voxpipe prepare`` against hostile and careless input, run as a user runs it:
each bad input is one line and a non-zero exit, nothing is synthesised for it,
and the rest of a batch goes on whatever the job count."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.audio_checks import ffmpeg_exe
from tests.cli import REPO, voxpipe
from voxpipe.pipeline.artifact import remove_stale_parts
from voxpipe.pipeline.errors import MarkupError
from voxpipe.pipeline.markup import parse
from voxpipe.pipeline.preparation import Item, PrepareSettings, check_item_id, check_script_length, prepare

BAD_URLS = {
    "port": "http://media.example:99999/a.wav",
    "ipv6": "http://[::1/a.wav",
    "zone": "http://[fe80::1%eth0]/a.wav",
    "idna": "http://xn--/a.wav",
    "snowman": "http://\u2603\u2603.com/a.wav",
    "private": "http://127.0.0.1:9/a.wav",
    "nohost": "http:///a.wav",
    "password": "https://user:s3cr3t@[::1/a.wav",
}


def _artifacts(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*") if not p.name.startswith(".")) if folder.exists() else []


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_every_broken_audio_url_fails_alone(tmp_path: Path, jobs: str) -> None:
    manifest = tmp_path / "batch.jsonl"
    rows = [{"id": "good", "text": "Hello there.", "profiles": ["pstn"]}]
    rows += [{"id": name, "audio": url} for name, url in BAD_URLS.items()]
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = tmp_path / "report.json"
    proc = voxpipe("prepare", str(manifest), "-o", str(tmp_path / "out"), "-j", jobs, "--report", str(report))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr + proc.stdout and "s3cr3t" not in proc.stderr + proc.stdout
    items = {i["id"]: i for i in json.loads(report.read_text())["items"]}
    assert items["good"]["status"] == "ok"
    for name in BAD_URLS:
        assert items[name]["status"] == "error", name
        assert "\n" not in items[name]["error"] and not items[name]["error"].startswith("unexpected error"), items[name]
    error_lines = [line for line in proc.stderr.splitlines() if line.startswith("error")]
    assert len(error_lines) == len(BAD_URLS)


def test_five_megabytes_of_text_is_refused_before_parsing(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_text("All work and no play makes Jack a dull boy. " * 120_000)  # ~5.3 MB: over the markup file cap
    proc = voxpipe("prepare", str(big), "-o", str(tmp_path / "out"))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"error  big: {big}: 5,280,000 bytes; at most 1,048,576 are read" in proc.stderr.splitlines()
    assert _artifacts(tmp_path / "out") == []
    long = tmp_path / "long.txt"
    long.write_text("All work and no play makes Jack a dull boy. " * 6_000)  # 264 KB: read, then over max_chars
    proc = voxpipe("prepare", str(long), "-o", str(tmp_path / "out"))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert (
        "error  long: markup error: the text has 264,000 characters; the limit is 100,000" in proc.stderr.splitlines()
    )
    assert _artifacts(tmp_path / "out") == []


@pytest.mark.parametrize("breaks, total", [(400, 4000), (100, 1000)])
def test_scripts_of_long_pauses_are_refused_before_synthesis(tmp_path: Path, breaks: int, total: int) -> None:
    # Adjacent breaks merge into one of at most 10 s; separated by words, each one counts.
    markup = "<speak>Hello." + ' Wait. <break time="10s"/>' * breaks + "Bye.</speak>"
    proc = voxpipe("prepare", "--ssml", markup, "-o", str(tmp_path / "out"))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    [line] = [x for x in proc.stderr.splitlines() if x.startswith("error")]
    assert line.startswith("error  message: markup error: the script runs at least ")
    assert f" s ({total} s of written pauses, about " in line
    assert line.endswith("the limit is 600 s")
    assert _artifacts(tmp_path / "out") == []


def test_max_chars_and_max_seconds_are_settings(tmp_path: Path) -> None:
    proc = voxpipe(
        "prepare", "--text", "Hello there, this is a little too long.", "--max-chars", "10", "-o", str(tmp_path / "o")
    )
    assert proc.returncode == 1 and "the limit is 10\n" in proc.stderr + "\n"
    markup = "<speak>Hi." + ' Hi. <break time="10s"/>' * 3 + "</speak>"
    proc = voxpipe("prepare", "--ssml", markup, "--max-seconds", "20", "-o", str(tmp_path / "o"))
    assert proc.returncode == 1 and "the limit is 20 s" in proc.stderr
    for bad in ("nan", "inf", "-5", "0"):
        proc = voxpipe("prepare", "--text", "Hi.", "--max-seconds", bad, "-o", str(tmp_path / "o"))
        assert proc.returncode != 0 and "Traceback" not in proc.stderr, (bad, proc.stderr)
        [line] = [x for x in proc.stderr.splitlines() if x.startswith("Error")]
        assert "max-seconds" in line or "max_seconds" in line


def test_speech_estimate_counts_say_as_words_and_slow_rates() -> None:
    long_number = (
        '<speak><prosody rate="x-slow"><say-as interpret-as="digits">' + "7" * 3000 + "</say-as></prosody></speak>"
    )
    with pytest.raises(MarkupError, match=r"about \d+ s of speech\); the limit is 600 s"):
        check_script_length(parse(long_number), "en-US", 600)
    check_script_length(parse("A short message. " * 50), "en-US", 600)  # ~35 s: fine


@pytest.fixture(scope="module")
def seven_hundred_seconds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("long") / "long.wav"
    subprocess.run(
        [
            ffmpeg_exe(),
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=300:sample_rate=8000:duration=700",
            "-af",
            "volume=0.3",
            "-ac",
            "1",
            str(path),
        ],
        check=True,
    )
    return path


def test_max_seconds_applies_to_audio(tmp_path: Path, seven_hundred_seconds: Path) -> None:
    refused = voxpipe("prepare", "--audio", str(seven_hundred_seconds), "-p", "pstn", "-o", str(tmp_path / "a"))
    assert refused.returncode == 1
    assert f"error  message: {seven_hundred_seconds}: longer than the 600 s limit" in refused.stderr.splitlines()
    accepted = voxpipe(
        "prepare",
        "--audio",
        str(seven_hundred_seconds),
        "-p",
        "pstn",
        "--max-seconds",
        "800",
        "-o",
        str(tmp_path / "b"),
        "--json",
    )
    assert accepted.returncode == 0, accepted.stderr
    [artifact] = json.loads(accepted.stdout)["items"][0]["artifacts"]
    assert 700 < artifact["duration_s"] < 702


@pytest.mark.parametrize(
    "item_id", ["../../x", "/etc/passwd", ".hidden", "a/b", "", "x" * 129, "semi;colon", "new\nline"]
)
def test_unsafe_item_ids_are_refused_by_the_library(tmp_path: Path, item_id: str) -> None:
    result = prepare(Item(item_id, text="Hello."), PrepareSettings(out_dir=tmp_path / "out", profiles=("pstn",)))
    assert result.status == "error" and result.error.startswith("item id ")
    assert _artifacts(tmp_path / "out") == []


@pytest.mark.parametrize("item_id", ["otp", "msg-1.v2", "campaign:42_a", "X" * 128])
def test_safe_item_ids_pass(item_id: str) -> None:
    check_item_id(item_id)


def test_unsafe_id_on_the_command_line(tmp_path: Path) -> None:
    proc = voxpipe("prepare", "--text", "Hello.", "--id", "../../x", "-o", str(tmp_path / "out"))
    # Refused as the option is parsed (a usage error), before any work; the library refuses it too (above).
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    [line] = proc.stderr.splitlines()
    assert line.startswith("Error: Invalid value for '--id': '../../x':")
    assert not (tmp_path / "x").exists() and _artifacts(tmp_path / "out") == []


@pytest.mark.parametrize(
    "markup, where",
    [
        ('<speak><prosody pitch="+99999999999st">Hi</prosody></speak>', "line 1, column 8"),
        ('<speak>\n  <prosody pitch="+' + "9" * 400 + '%">Hi</prosody></speak>', "line 2, column 3"),
        ('<speak><prosody rate="' + "9" * 400 + '">Hi</prosody></speak>', "line 1, column 8"),
        ('<speak><prosody rate="1e999">Hi</prosody></speak>', "line 1, column 8"),
        ('<speak><prosody volume="+' + "9" * 400 + 'dB">Hi</prosody></speak>', "line 1, column 8"),
        ('<speak>Hi <break time="1e999ms"/></speak>', "line 1, column 11"),
        ('<speak>Hi <break time="' + "9" * 400 + 'ms"/></speak>', "line 1, column 11"),
        ('<speak>Call <say-as interpret-as="cardinal">' + "9" * 5000 + "</say-as></speak>", "line 1, column 13"),
        ('<speak>The <say-as interpret-as="ordinal">' + "9" * 4400 + "</say-as></speak>", "line 1, column 12"),
    ],
)
def test_numeric_overflow_in_markup_is_one_line_with_a_position(tmp_path: Path, markup: str, where: str) -> None:
    proc = voxpipe("prepare", "--ssml", markup, "-o", str(tmp_path / "out"))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    [line] = [x for x in proc.stderr.splitlines() if x.startswith("error")]
    assert f"markup error at {where}: " in line and len(line) < 300
    assert _artifacts(tmp_path / "out") == []


def test_stale_part_files_of_a_killed_run_are_removed_next_time(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    text = "This message is long enough that mastering and encoding take a moment. " * 12
    proc = subprocess.Popen(
        [sys.executable, "-m", "voxpipe", "prepare", "--text", text, "-o", str(out), "-j", "1", "-p", "wav"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 240
        while not list(out.glob(".*.part*")) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(30)
    left = list(out.glob(".*.part*"))
    if not left:
        pytest.skip("the run finished before a part file could be caught")  # pragma: no cover
    assert all(f".pid{proc.pid}-" in p.name for p in left)
    # A part file of a process that is alive (this one) must survive the clean-up.
    live = out / f".other.wav.pid{os.getpid()}-abc123.part.wav"
    live.write_bytes(b"being written")
    again = voxpipe("prepare", "--text", "Short.", "-o", str(out), "-p", "pstn")
    assert again.returncode == 0, again.stderr
    assert [p.name for p in out.glob(".*.part*")] == [live.name]
    assert remove_stale_parts(out) == []
