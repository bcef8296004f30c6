"""Bad option values, as a user types them: one line on stderr, non-zero exit, nothing done.

Numbers must be finite and in range (``--rate nan`` once disabled rate
limiting), URLs must parse (bad ports and IPv6 literals were tracebacks),
``--expires`` must mean something, ids must be safe file-name parts, and a
password in a URL never reaches the screen.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli import REPO
from tests.simulators import NineBitsSim

SEND = ["send", "-P", "9bits", "--to", "+2348020000001", "--media-url", "http://127.0.0.1:9/a.mp3"]
PREPARE = ["prepare", "--text", "Hello.", "-p", "wav"]
PASSWORD = "pa55-w0rd-xyz"

# (args, exit status, a text the one stderr line must contain)
CASES = [
    # finite, in-range numbers
    ([*SEND, "--rate", "nan"], 2, "Invalid value for '--rate': 'nan' is not a finite number"),
    ([*SEND, "--rate", "inf"], 2, "Invalid value for '--rate': 'inf' is not a finite number"),
    ([*SEND, "--rate", "-inf"], 2, "'-inf' is not a finite number"),
    ([*SEND, "--rate", "0"], 2, "Invalid value for '--rate': 0 is not in the range >= 0.01 and <= 10000"),
    ([*SEND, "--rate", "fast"], 2, "Invalid value for '--rate': 'fast' is not a number"),
    ([*SEND, "--timeout", "nan"], 2, "Invalid value for '--timeout': 'nan' is not a finite number"),
    ([*SEND, "--timeout", "inf"], 2, "Invalid value for '--timeout': 'inf' is not a finite number"),
    ([*SEND, "--timeout", "1e300"], 2, "Invalid value for '--timeout': 1e300 is not in the range"),
    ([*SEND, "--timeout", "0"], 2, "Invalid value for '--timeout': 0 is not in the range >= 0.1"),
    ([*SEND, "--concurrency", "0"], 2, "Invalid value for '--concurrency': 0 is not in the range 1<=x<=64"),
    ([*SEND, "--concurrency", "nan"], 2, "Invalid value for '--concurrency': 'nan' is not a valid integer"),
    ([*SEND, "--retries", "-1"], 2, "Invalid value for '--retries'"),
    (["status", "--timeout", "nan"], 2, "Invalid value for '--timeout': 'nan' is not a finite number"),
    (["status", "--timeout", "inf"], 2, "Invalid value for '--timeout': 'inf' is not a finite number"),
    (["status", "--interval", "nan"], 2, "Invalid value for '--interval': 'nan' is not a finite number"),
    (["status", "--interval", "0"], 2, "Invalid value for '--interval': 0 is not in the range >= 0.05"),
    (["status", "--rate", "nan"], 2, "Invalid value for '--rate': 'nan' is not a finite number"),
    ([*PREPARE, "--max-seconds", "nan"], 2, "Invalid value for '--max-seconds': 'nan' is not a finite number"),
    ([*PREPARE, "--max-seconds", "inf"], 2, "Invalid value for '--max-seconds': 'inf' is not a finite number"),
    ([*PREPARE, "--max-seconds", "0"], 2, "Invalid value for '--max-seconds': 0 is not in the range > 0"),
    ([*PREPARE, "--max-seconds", "-5"], 2, "Invalid value for '--max-seconds': -5 is not in the range > 0"),
    ([*PREPARE, "--jobs", "0"], 2, "Invalid value for '-j' / '--jobs'"),
    ([*PREPARE, "--upload-workers", "0"], 2, "Invalid value for '--upload-workers'"),
    (["serve", ".", "--port", "70000"], 2, "Invalid value for '--port': 70000 is not in the range 0<=x<=65535"),
    # --expires only where it means something
    (
        [*PREPARE, "--store", "STORE", "--expires", "99999999"],
        2,
        "--expires applies only to presigned URLs: --store s3://bucket/prefix --url-mode presigned",
    ),
    ([*PREPARE, "--expires", "600"], 2, "--expires applies only to presigned URLs"),
    ([*PREPARE, "--store", "s3://bucket-ok/p", "--expires", "600"], 2, "--expires applies only to presigned URLs"),
    ([*SEND, "--store", "STORE", "--expires", "99999999"], 2, "--expires applies only to presigned URLs"),
    (
        [*PREPARE, "--store", "s3://bucket-ok/p", "--url-mode", "presigned", "--expires", "99999999"],
        1,
        "presigned URLs last 1 s to 7 days",
    ),
    ([*PREPARE, "--expires", "nan"], 2, "Invalid value for '--expires': 'nan' is not a valid integer"),
    # ids become file-name parts
    ([*PREPARE, "--id", "../../x"], 2, "Invalid value for '--id': '../../x': an id is 1-128 letters, digits"),
    ([*PREPARE, "--id", "a/b"], 2, "Invalid value for '--id': 'a/b'"),
    # URLs: ports, IPv6 literals
    (
        [*SEND, "--api-url", "http://127.0.0.1:99999"],
        2,
        "Invalid value for '--api-url': http://127.0.0.1:99999: Port out of range 0-65535",
    ),
    (
        [*SEND, "--api-url", "http://127.0.0.1:http"],
        2,
        "Invalid value for '--api-url': http://127.0.0.1:http: Port could not be cast to integer value",
    ),
    (
        [*SEND, "--api-url", "http://127.0.0.1:0"],
        2,
        "Invalid value for '--api-url': http://127.0.0.1:0: port 0 cannot be connected to",
    ),
    ([*SEND, "--api-url", "http://[::1"], 2, "Invalid value for '--api-url': http://[::1: Invalid IPv6 URL"),
    ([*SEND, "--api-url", "http://[zz]:80/"], 2, "Invalid value for '--api-url': http://[zz]:80/:"),
    ([*SEND, "--api-url", "http://[fe80::1%25eth0]:99999/"], 2, "Port out of range"),
    (
        ["send", "-P", "9bits", "--to", "+2348020000001", "--media-url", "http://h:99999/a.mp3"],
        2,
        "Invalid value for '--media-url': http://h:99999/a.mp3: Port out of range",
    ),
    (
        ["send", "-P", "9bits", "--to", "+2348020000001", "--media-url", "http://[::1/a.mp3"],
        2,
        "Invalid value for '--media-url': http://[::1/a.mp3: Invalid IPv6 URL",
    ),
    (
        ["send", "-P", "9bits", "--to", "+2348020000001", "--audio", "http://[::1/a.wav"],
        2,
        "Invalid value for '--audio': http://[::1/a.wav: Invalid IPv6 URL",
    ),
    (
        ["prepare", "--audio", "https://h:65536/a.wav"],
        2,
        "Invalid value for '--audio': https://h:65536/a.wav: Port out of range",
    ),
    (
        [*PREPARE, "--store", "STORE", "--base-url", "http://h:99999"],
        2,
        "Invalid value for '--base-url': http://h:99999: Port out of range",
    ),
    (
        [*PREPARE, "--store", "s3://bucket-ok/p", "--endpoint-url", "http://[::1"],
        2,
        "Invalid value for '--endpoint-url': http://[::1: Invalid IPv6 URL",
    ),
    ([*PREPARE, "--store", "s3://bucket-ok:99999/p"], 1, "'bucket-ok:99999' is not a valid bucket name"),
    (
        ["send", "-P", "messagebird", "--to", "+447911123456", "--text", "Hi.", "-O", "report_url=http://[::1/x"],
        1,
        "messagebird: option report_url='http://[::1/x': Invalid IPv6 URL",
    ),
    (
        ["hooks", "--public-url", "http://h:99999"],
        2,
        "Invalid value for '--public-url': http://h:99999: Port out of range",
    ),
    (["hooks", "--public-url", "http://[::1"], 2, "Invalid value for '--public-url': http://[::1: Invalid IPv6 URL"),
    (["status", "--refresh", "--api-url", "http://[::1"], 2, "Invalid value for '--api-url'"),
    (["cancel", "--campaign", "c", "--api-url", "http://h:-1"], 2, "Invalid value for '--api-url'"),
    (["serve", ".", "--base-url", "http://[::1"], 2, "Invalid value for '--base-url'"),
    (
        ["storage", "init", "s3://bucket-ok/p", "--endpoint-url", "http://h:99999"],
        2,
        "Invalid value for '--endpoint-url'",
    ),
    # usage errors are one line too
    (["send", "-P", "9bits", "--nope"], 2, "No such option: --nope"),
    (["nosuchcommand"], 2, "No such command 'nosuchcommand'"),
]


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("VOXPIPE_", "AWS_"))}
    base = {
        **clean,
        "VOXPIPE_9BITS_TOKEN": "t" * 12,
        "VOXPIPE_MESSAGEBIRD_KEY": "k" * 12,
        "VOXPIPE_JOURNAL": str(cwd / "j.db"),
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "voxpipe", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**base, "PYTHONPATH": str(REPO)},
        timeout=120,
    )


def assert_one_line(proc: subprocess.CompletedProcess[str], status: int, text: str) -> None:
    lines = proc.stderr.splitlines()
    assert proc.returncode == status, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("Error: ") and text in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout and proc.stdout == ""


@pytest.mark.parametrize("args, status, text", CASES, ids=[" ".join(c[0][-2:]) for c in CASES])
def test_bad_option_is_one_line_and_nothing_is_done(tmp_path: Path, args: list[str], status: int, text: str) -> None:
    store = tmp_path / "store"
    args = [str(store) if a == "STORE" else a for a in args]
    with NineBitsSim(token="t" * 12) as sim:
        if args[0] == "send" and "--api-url" not in args:
            args = [*args, "--api-url", sim.base_url]
        proc = run(args, tmp_path)
        assert sim.requests_count == 0
    assert_one_line(proc, status, text)
    leftovers = sorted(p.name for p in tmp_path.iterdir())
    assert leftovers == [], leftovers  # no journal, no output folder, no store


@pytest.mark.parametrize(
    "args, flag",
    [
        (["prepare", "--audio", f"http://user:{PASSWORD}@127.0.0.1:99999/a.mp3"], "--audio"),
        (
            [
                "prepare",
                "--text",
                "Hi.",
                "-p",
                "wav",
                "--store",
                "s3://bucket-ok/p",
                "--endpoint-url",
                f"http://user:{PASSWORD}@[::1",
            ],
            "--endpoint-url",
        ),
        ([*SEND, "--api-url", f"http://user:{PASSWORD}@127.0.0.1:99999"], "--api-url"),
        (
            ["send", "-P", "9bits", "--to", "+2348020000001", "--media-url", f"ftp://user:{PASSWORD}@127.0.0.1/a.mp3"],
            "--media-url",
        ),
        (
            ["send", "-P", "9bits", "--to", "+2348020000001", "--media-url", f"http://user:{PASSWORD}@h:99999/a.mp3"],
            "--media-url",
        ),
        (["hooks", "--public-url", f"http://user:{PASSWORD}@h:99999"], "--public-url"),
    ],
)
def test_a_url_password_never_reaches_an_error_line(tmp_path: Path, args: list[str], flag: str) -> None:
    proc = run(args, tmp_path)
    assert proc.returncode in (1, 2) and len(proc.stderr.splitlines()) == 1, proc.stderr
    assert PASSWORD not in proc.stderr + proc.stdout
    assert flag in proc.stderr and "user:***@" in proc.stderr


def test_url_passwords_are_hidden_in_item_errors_reports_and_dry_runs(tmp_path: Path) -> None:
    """Errors that come back per item (a failed fetch, a failed store) and the request a dry run prints."""
    fetch = run(
        [
            "prepare",
            "--audio",
            f"http://user:{PASSWORD}@127.0.0.1:9/a.mp3",
            "--allow-private-urls",
            "--out",
            str(tmp_path / "out"),
            "--report",
            str(tmp_path / "r.json"),
        ],
        tmp_path,
    )
    assert fetch.returncode == 1 and "error  message: http://user:***@127.0.0.1:9/a.mp3" in fetch.stderr
    store = run(
        [
            *PREPARE,
            "--out",
            str(tmp_path / "out"),
            "--store",
            "s3://bucket-ok/p",
            "--endpoint-url",
            f"http://user:{PASSWORD}@127.0.0.1:9",
            "--json",
        ],
        tmp_path,
        {"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"},
    )
    assert store.returncode == 1 and "cannot reach the endpoint" in store.stdout
    dry = run(
        [
            "send",
            "-P",
            "9bits",
            "--to",
            "+2348020000001",
            "--media-url",
            f"http://user:{PASSWORD}@127.0.0.1:9/a.mp3",
            "--dry-run",
        ],
        tmp_path,
    )
    assert dry.returncode == 0 and '"media_url": "http://user:***@127.0.0.1:9/a.mp3"' in dry.stdout
    wawp = run(
        [
            "send",
            "-P",
            "wawp",
            "--to",
            "+201012345678",
            "--media-url",
            f"http://user:{PASSWORD}@127.0.0.1:9/a.ogg",
            "--dry-run",
        ],
        tmp_path,
        {"VOXPIPE_WAWP_INSTANCE_ID": "i" * 10, "VOXPIPE_WAWP_ACCESS_TOKEN": "a" * 10},
    )
    assert wawp.returncode == 0 and "file%5Burl%5D=http%3A%2F%2Fuser%3A***%40127.0.0.1" in wawp.stdout
    for proc in (fetch, store, dry, wawp):
        assert PASSWORD not in proc.stdout + proc.stderr
    assert PASSWORD not in (tmp_path / "r.json").read_text()


def test_a_url_password_in_a_provider_rejection_is_hidden(tmp_path: Path) -> None:
    """The simulator cannot fetch the media URL and says so; the reason quotes the URL back."""
    with NineBitsSim(token="t" * 12) as sim:
        proc = run(
            [
                "send",
                "-P",
                "9bits",
                "--api-url",
                sim.base_url,
                "--to",
                "+2348020000001",
                "--retries",
                "0",
                "--media-url",
                f"http://user:{PASSWORD}@127.0.0.1:9/a.mp3",
                "--json",
            ],
            tmp_path,
        )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert PASSWORD not in proc.stdout + proc.stderr
