"""``voxpipe send`` end to end against the 9bits simulator over real HTTP.

Text is synthesised with piper, mastered to the pstn profile, hosted in a
directory served by the real media server, fetched and decoded by the
simulator: the whole path a user runs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.appserver import AppServer
from tests.cli import REPO, voxpipe
from tests.simulators import MediaServer as SimMediaServer
from tests.simulators import MessageBirdSim, NineBitsSim, make_audio
from voxpipe.serve import create_app

TOKEN = "secret-token-9b"
ENV = {"VOXPIPE_9BITS_TOKEN": TOKEN}


def numbers(n: int, start: int = 0) -> list[str]:
    return [f"+23480{20000000 + start + i}" for i in range(n)]


@pytest.fixture
def hosted(tmp_path: Path):
    """A directory store served over real HTTP: (directory, base URL)."""
    root = tmp_path / "media"
    root.mkdir()
    with AppServer(create_app(root)) as server:
        yield root, server.url


@pytest.fixture
def mp3_url():
    with SimMediaServer() as media:
        yield media.add("/hello.mp3", make_audio("mp3", 1.0), "audio/mpeg")


def test_text_is_prepared_hosted_fetched_and_accepted(tmp_path: Path, hosted) -> None:
    root, base = hosted
    with NineBitsSim(token=TOKEN) as sim:
        proc = voxpipe(
            "send",
            "-P",
            "9bits",
            "--api-url",
            sim.base_url,
            "--text",
            "Your code is 4 8 3 9.",
            "--to",
            "+2348020000001",
            "--to",
            "2348020000002",
            "--to",
            "+234 802 000 0001",
            "--to",
            "12345",
            "--store",
            str(root),
            "--base-url",
            base,
            "--out",
            str(tmp_path / "out"),
            "--journal",
            str(tmp_path / "j.db"),
            "--json",
            env=ENV,
        )
        report = json.loads(proc.stdout)
        assert proc.returncode == 1  # the invalid number is not accepted
        assert sim.accepted_counts() == Counter({"2348020000001": 1, "2348020000002": 1})
        body = json.loads(sim.requests[0].body)
        assert body["media_url"].startswith(base + "/pstn-") and body["media_url"].endswith(".mp3")
    statuses = {r["address"]: (r["status"], r["error"]) for r in report["recipients"]}
    assert statuses["+2348020000001"][0] == statuses["+2348020000002"][0] == "accepted"
    assert statuses["12345"] == (
        "rejected",
        "12345: not a phone number (unknown country code; write it as +<country code><number> or give a --default-region)",
    )
    assert report["mode"] == "media" and report["counts"] == {"accepted": 2, "rejected": 1}
    assert TOKEN not in proc.stdout + proc.stderr


def test_dry_run_shows_redacted_requests_and_sends_nothing(tmp_path: Path, mp3_url: str) -> None:
    with NineBitsSim(token=TOKEN) as sim:
        proc = voxpipe(
            "send",
            "-P",
            "9bits",
            "--api-url",
            sim.base_url,
            "--media-url",
            mp3_url,
            "--dry-run",
            "--json",
            *[a for n in numbers(1500) for a in ("--to", n)],
            "--journal",
            str(tmp_path / "j.db"),
            env=ENV,
        )
        assert proc.returncode == 0, proc.stderr
        assert sim.requests_count == 0
    plan = json.loads(proc.stdout)
    assert [len(r["body"]["to"]) for r in plan["requests"]] == [1000, 500]
    assert plan["requests"][0]["headers"]["authorization"] == "Bearer ***"
    assert TOKEN not in proc.stdout and not (tmp_path / "j.db").exists()


@pytest.mark.parametrize(
    "args, env, message",
    [
        (["--mode", "tts", "--text", "hi"], ENV, "Error: 9bits cannot speak text (modes: media); use --mode media"),
        (
            ["--text", "hi"],
            ENV,
            "Error: 9bits fetches audio from a URL: give a --store (a directory served by `voxpipe serve`, or s3://bucket/prefix) or a --media-url",
        ),
        (
            ["--media-url", "http://x/a.mp3"],
            {},
            "Error: 9bits: missing credential token: set VOXPIPE_9BITS_TOKEN",
        ),
        (
            ["--media-url", "http://x/a.mp3", "-O", "repeat=2"],
            ENV,
            "Error: 9bits: option repeat is not one of 9bits's (its options: none)",
        ),
    ],
)
def test_errors_before_anything_is_sent(tmp_path: Path, args: list[str], env: dict, message: str) -> None:
    with NineBitsSim(token=TOKEN) as sim:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("VOXPIPE_")}
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "voxpipe",
                "send",
                "-P",
                "9bits",
                "--api-url",
                sim.base_url,
                "--to",
                "+2348020000001",
                "--journal",
                str(tmp_path / "j.db"),
                *args,
            ],
            capture_output=True,
            text=True,
            cwd=REPO,
            env={**clean, **env},
            timeout=120,
        )
        assert sim.requests_count == 0
    assert proc.returncode == 1 and proc.stderr.strip() == message


def test_a_media_url_that_is_not_http_is_a_usage_error(tmp_path: Path) -> None:
    with NineBitsSim(token=TOKEN) as sim:
        proc = voxpipe(
            "send",
            "-P",
            "9bits",
            "--api-url",
            sim.base_url,
            "--to",
            "+2348020000001",
            "--journal",
            str(tmp_path / "j.db"),
            "--media-url",
            "ftp://x/a.mp3",
            env=ENV,
        )
        assert sim.requests_count == 0
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "Error: Invalid value for '--media-url': 'ftp://x/a.mp3': must be an http:// or https:// URL "
        "(see 'voxpipe send --help')"
    )
    assert not (tmp_path / "j.db").exists()


def test_unknown_provider() -> None:
    proc = voxpipe("send", "-P", "nope", "--to", "+2348020000001", "--text", "x")
    assert proc.returncode == 1 and proc.stderr.strip().startswith("Error: unknown provider 'nope' (known: 9bits")


def test_retryable_faults_deliver_exactly_once(tmp_path: Path, mp3_url: str) -> None:
    with NineBitsSim(token=TOKEN) as sim:
        sim.inject("429", times=2, retry_after=0)
        sim.inject("503", times=1)
        sim.inject("502", times=1)
        proc = voxpipe(
            "send",
            "-P",
            "9bits",
            "--api-url",
            sim.base_url,
            "--media-url",
            mp3_url,
            "--json",
            *[a for n in numbers(2500) for a in ("--to", n)],
            "--journal",
            str(tmp_path / "j.db"),
            env=ENV,
        )
        assert proc.returncode == 0, proc.stderr
        counts = sim.accepted_counts()
        assert len(counts) == 2500 and set(counts.values()) == {1}
        assert sum(1 for r in sim.requests if r.fault) == 4


@pytest.mark.parametrize("fault", ["accept_then_500", "accept_then_drop", "slow"])
def test_ambiguous_failures_are_unknown_and_not_resent(tmp_path: Path, mp3_url: str, fault: str) -> None:
    args = [
        "send",
        "-P",
        "9bits",
        "--media-url",
        mp3_url,
        "--json",
        "--timeout",
        "1",
        *[a for n in numbers(3) for a in ("--to", n)],
        "--journal",
        str(tmp_path / "j.db"),
    ]
    with NineBitsSim(token=TOKEN) as sim:
        sim.inject(fault, seconds=2.5)
        first = voxpipe(*args, "--api-url", sim.base_url, env=ENV)
        assert first.returncode == 1
        assert {r["status"] for r in json.loads(first.stdout)["recipients"]} == {"unknown"}
        sim.wait_for_accepted(3, timeout=5)
        again = voxpipe(*args, "--api-url", sim.base_url, env=ENV)
        assert {r["status"] for r in json.loads(again.stdout)["recipients"]} == {"unknown"}
        assert set(sim.accepted_counts().values()) == {1} and len(sim.accepted_counts()) == 3
        explicit = voxpipe(*args, "--api-url", sim.base_url, "--resend-unknown", env=ENV)
        assert explicit.returncode == 0
        assert set(sim.accepted_counts().values()) == {2}  # 9bits cannot dedupe: resending duplicates, on request only


def test_connection_never_established_is_failed_then_sent_on_rerun(tmp_path: Path, mp3_url: str) -> None:
    with NineBitsSim(token=TOKEN) as sim:
        port = sim.port
        base = sim.base_url
    args = [
        "send",
        "-P",
        "9bits",
        "--media-url",
        mp3_url,
        "--json",
        "--retries",
        "1",
        "--to",
        "+2348020000001",
        "--journal",
        str(tmp_path / "j.db"),
        "--api-url",
        base,
    ]
    first = voxpipe(*args, env=ENV)
    row = json.loads(first.stdout)["recipients"][0]
    assert first.returncode == 1 and row["status"] == "failed"
    assert "cannot connect to 127.0.0.1 (ConnectError) after 2 attempts; nothing was accepted" in row["error"]
    with NineBitsSim(token=TOKEN, port=port) as sim:
        second = voxpipe(*args, env=ENV)
        assert second.returncode == 0 and sim.accepted_counts() == Counter({"2348020000001": 1})


def test_killed_mid_run_resumes_without_duplicates(tmp_path: Path, mp3_url: str) -> None:
    recipients = tmp_path / "to.txt"
    recipients.write_text("\n".join(numbers(6000)) + "\n")
    args = [
        sys.executable,
        "-m",
        "voxpipe",
        "send",
        "-P",
        "9bits",
        "--media-url",
        mp3_url,
        "--recipients",
        str(recipients),
        "--concurrency",
        "1",
        "--journal",
        str(tmp_path / "j.db"),
        "--json",
    ]
    with NineBitsSim(token=TOKEN, latency_s=0.4) as sim:
        proc = subprocess.Popen(
            [*args, "--api-url", sim.base_url],
            cwd=REPO,
            env={**os.environ, **ENV},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert sim.wait_for_accepted(2000, timeout=60)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        time.sleep(0.6)  # let the request that was on the wire finish at the provider
        sim.latency_s = 0
        before = sum(sim.accepted_counts().values())
        assert 2000 <= before < 6000
        rerun = subprocess.run(
            [*args, "--api-url", sim.base_url],
            cwd=REPO,
            env={**os.environ, **ENV},
            capture_output=True,
            text=True,
            timeout=120,
        )
        counts = sim.accepted_counts()
    report = json.loads(rerun.stdout)
    status = {r["address"].lstrip("+"): r["status"] for r in report["recipients"]}
    assert max(counts.values()) == 1  # nothing duplicated
    assert set(status) == {n.lstrip("+") for n in numbers(6000)}  # nothing lost from the report
    assert all(n in counts for n, s in status.items() if s == "accepted")
    unknown = [n for n, s in status.items() if s == "unknown"]
    # Only the one chunk that was on the wire at the kill is unknown; the provider took it meanwhile.
    assert set(status.values()) <= {"accepted", "unknown"} and len(unknown) <= 1000
    assert len(counts) == 6000 - sum(1 for n in unknown if n not in counts)


def test_manifest_sends_one_message_per_row_and_goes_on_past_a_bad_row(tmp_path: Path) -> None:
    from tests.simulators import MessageBirdSim

    manifest = tmp_path / "campaign.csv"
    manifest.write_text(
        "id,text,to\n"
        'otp,"Your code is <say-as interpret-as=""digits"">4839</say-as>.",+447911123456 +447911123457\n'
        "reminder,Your appointment is tomorrow at 10.,+447911123458\n"
        "broken,,+447911123459\n"
    )
    with MessageBirdSim(access_key="mb-key") as sim:
        proc = voxpipe(
            "send",
            str(manifest),
            "-P",
            "messagebird",
            "--api-url",
            sim.base_url,
            "--campaign",
            "spring",
            "--journal",
            str(tmp_path / "j.db"),
            "--json",
            env={"VOXPIPE_MESSAGEBIRD_KEY": "mb-key"},
        )
        bodies = [json.loads(r.body)["body"] for r in sim.requests]
        assert sorted(sim.accepted_counts()) == ["447911123456", "447911123457", "447911123458"]
    reports = {r["id"]: r for r in json.loads(proc.stdout)}
    assert proc.returncode == 1
    assert reports["otp"]["campaign"] == "spring-otp" and reports["otp"]["counts"] == {"accepted": 2}
    assert reports["reminder"]["counts"] == {"accepted": 1}
    assert reports["broken"]["error"] == "give exactly one of --text/--ssml/--ssml-file, --audio or --media-url"
    assert "Your code is 4, 8, 3, 9." in bodies


def test_whatsapp_voice_note_from_text(tmp_path: Path, hosted) -> None:
    from tests.simulators import WawpSim

    root, base = hosted
    env = {"VOXPIPE_WAWP_INSTANCE_ID": "inst-1", "VOXPIPE_WAWP_ACCESS_TOKEN": "wa-secret-token"}
    with WawpSim(instance_id="inst-1", access_token="wa-secret-token") as sim:
        proc = voxpipe(
            "send",
            "-P",
            "wawp",
            "--api-url",
            sim.base_url,
            "--text",
            "Your table is ready.",
            "--to",
            "+201012345678",
            "--to",
            "201012345678@c.us",
            "--store",
            str(root),
            "--base-url",
            base,
            "--out",
            str(tmp_path / "out"),
            "--journal",
            str(tmp_path / "j.db"),
            "--json",
            env=env,
        )
        assert proc.returncode == 0, proc.stderr
        assert sim.accepted_counts() == Counter({"201012345678@c.us": 1})
        query = sim.requests[0].query
    assert query["file[mimetype]"] == ["audio/ogg; codecs=opus"] and query["convert"] == ["false"]
    assert query["file[url]"][0].startswith(base + "/whatsapp-")
    assert "wa-secret-token" not in proc.stdout + proc.stderr


def test_a_broken_jsonl_row_fails_alone(tmp_path: Path, mp3_url: str) -> None:
    manifest = tmp_path / "rows.jsonl"
    manifest.write_text(
        '{"id": "bad"\n' + json.dumps({"id": "good", "media_url": mp3_url, "to": ["+2348020000001"]}) + "\n"
    )
    with NineBitsSim(token=TOKEN) as sim:
        proc = voxpipe(
            "send",
            str(manifest),
            "-P",
            "9bits",
            "--api-url",
            sim.base_url,
            "--journal",
            str(tmp_path / "j.db"),
            env=ENV,
        )
        assert sim.accepted_counts() == Counter({"2348020000001": 1})
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "error  rows.jsonl line 1: invalid JSON: Expecting ',' delimiter" in proc.stderr


@pytest.mark.parametrize(
    "files, args, message",
    [
        (
            {"n.jsonl": '{"id": "a", "to": "+447911123456", "text": 5}\n'},
            ["n.jsonl"],
            "error  a: n.jsonl line 1: text must be a string",
        ),
        (
            {"bin.ssml": b"\xff\xfe\x00x"},
            ["--to", "+447911123456", "--ssml-file", "bin.ssml"],
            "Error: markup error: bin.ssml: cannot read it as UTF-8 text",
        ),
        ({"e.jsonl": ""}, ["e.jsonl"], "Error: e.jsonl: no rows to send"),
        (
            {"t.txt": "x"},
            ["--to", "+447911123456", "--text", "hi", "--journal", "t.txt/j.db"],
            "Error: journal t.txt/j.db: cannot create its folder",
        ),
        (
            {},
            ["--to", "07911123456", "--text", "hi", "--default-region", "ZZ"],
            "'ZZ' is not a region phonenumbers knows",
        ),
    ],
)
def test_bad_send_inputs_are_one_line(tmp_path: Path, files: dict, args: list[str], message: str) -> None:
    for name, content in files.items():
        (tmp_path / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    proc = voxpipe(
        "send",
        "-P",
        "messagebird",
        "--api-url",
        "http://127.0.0.1:9",
        *args,
        cwd=tmp_path,
        env={"VOXPIPE_MESSAGEBIRD_KEY": "k"},
    )
    assert proc.returncode in (1, 2) and "Traceback" not in proc.stderr
    assert message in proc.stderr


def test_a_foreign_sqlite_file_is_not_taken_for_a_journal(tmp_path: Path) -> None:
    import sqlite3

    other = tmp_path / "other.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE notes (text)")
    proc = voxpipe("status", "--journal", str(other))
    assert (
        proc.returncode == 1
        and proc.stderr.strip() == f"Error: journal {other}: an SQLite file of something else, not a voxpipe journal"
    )
    with sqlite3.connect(other) as db:
        assert [r[0] for r in db.execute("SELECT name FROM sqlite_master")] == ["notes"]


# --------------------------------------------------------------------------- inputs refused before anything is sent

MB_ENV = {"VOXPIPE_MESSAGEBIRD_KEY": "mb-key-123456"}


def _dry_bodies(proc: subprocess.CompletedProcess[str]) -> list[dict]:
    return [r["body"] for r in json.loads(proc.stdout)["requests"]]


def test_a_mistyped_ssml_path_is_refused_not_spoken(tmp_path: Path) -> None:
    proc = voxpipe(
        "send",
        "-P",
        "messagebird",
        "--ssml",
        "/srv/messages/otp.ssmll",
        "--to",
        "+447911123456",
        "--dry-run",
        env=MB_ENV,
        cwd=tmp_path,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.splitlines() == [
        "Error: Invalid value for --ssml: '/srv/messages/otp.ssmll' looks like a file path; "
        "for a file of markup use --ssml-file /srv/messages/otp.ssmll (see 'voxpipe send --help')"
    ]


def test_ssml_file_and_ssml_text_send_the_same_body(tmp_path: Path) -> None:
    markup = "<speak>Your code is <say-as interpret-as='digits'>4839</say-as>.</speak>"
    (tmp_path / "otp.ssml").write_text(markup)
    common = ["send", "-P", "messagebird", "--to", "+447911123456", "--dry-run", "--json"]
    from_file = voxpipe(*common, "--ssml-file", "otp.ssml", env=MB_ENV, cwd=tmp_path)
    inline = voxpipe(*common, "--ssml", markup, env=MB_ENV, cwd=tmp_path)
    assert from_file.returncode == inline.returncode == 0, from_file.stderr + inline.stderr
    assert (
        _dry_bodies(from_file) == _dry_bodies(inline) and _dry_bodies(inline)[0]["body"] == "Your code is 4, 8, 3, 9."
    )


def test_letters_in_a_number_are_refused_unless_vanity_is_asked_for(tmp_path: Path) -> None:
    common = [
        "send",
        "-P",
        "messagebird",
        "--text",
        "Hi.",
        "--to",
        "+234 802 OOO 0001",
        "--to",
        "+447911123456",
        "--dry-run",
        "--json",
    ]
    plain = voxpipe(*common, env=MB_ENV, cwd=tmp_path)
    assert plain.returncode == 1
    report = json.loads(plain.stdout)
    assert [b["recipients"] for b in _dry_bodies(plain)] == [["447911123456"]]
    assert report["rejected"] == [
        {
            "recipient": "+234 802 OOO 0001",
            "error": "+234 802 OOO 0001: letters in a phone number (OOO); to dial them as keypad digits use --allow-vanity",
        }
    ]
    vanity = voxpipe(*common, "--allow-vanity", env=MB_ENV, cwd=tmp_path)
    assert vanity.returncode == 0 and sorted(_dry_bodies(vanity)[0]["recipients"]) == ["2348026660001", "447911123456"]


_ODD = {
    "fifo": "a FIFO, socket or device, not a regular file",
    "zero": "a FIFO, socket or device, not a regular file",
    "huge": "67,108,865 bytes; at most 67,108,864 are read",
    "folder": "a folder, not a regular file",
}


# /dev/zero is no manifest: a manifest is named by its suffix (.csv, .jsonl).
@pytest.mark.parametrize(
    "kind, message, as_",
    [
        (k, m, a)
        for a in ("--recipients", "--ssml-file", "MANIFEST")
        for k, m in _ODD.items()
        if (k, a) != ("zero", "MANIFEST")
    ],
)
def test_fifo_device_or_huge_inputs_are_refused_without_blocking(
    tmp_path: Path, kind: str, message: str, as_: str
) -> None:
    path = {
        "fifo": tmp_path / "in.csv",
        "zero": Path("/dev/zero"),
        "huge": tmp_path / "in.csv",
        "folder": tmp_path / "in.csv",
    }[kind]
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "huge":
        with path.open("wb") as f:
            f.truncate(64 * 1024 * 1024 + 1)
    elif kind == "folder":
        path.mkdir()
    if as_ == "--recipients":
        args = ["--recipients", str(path), "--text", "Hi."]
    elif as_ == "--ssml-file":
        args = ["--ssml-file", str(path), "--to", "+447911123456"]
        if kind == "huge":
            message = "67,108,865 bytes; at most 1,048,576 are read"
    else:
        args = [str(path)]
    with MessageBirdSim(access_key="mb-key-123456") as sim:
        proc = voxpipe(
            "send",
            "-P",
            "messagebird",
            "--api-url",
            sim.base_url,
            *args,
            "--journal",
            str(tmp_path / "j.db"),
            env=MB_ENV,
            timeout=60,
        )
        assert sim.requests_count == 0
    lines = proc.stderr.splitlines()
    assert (
        proc.returncode == 1 and len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in proc.stderr
    )
    assert f"{path}: {message}" in lines[0]
    assert not (tmp_path / "j.db").exists()


@pytest.mark.parametrize(
    "content, message",
    [
        ("id,text,to\n", "m.csv: no rows to send (only a header)"),
        (
            'id,text,to\na,"Hello,+447911123456\nb,Bye,+447911123457\nc,Hi",+447911123458\n',
            "m.csv line 2: a quoted field runs on to line 4 and holds whole rows; is a quote missing?",
        ),
        ("id,text,id\na,Hello,b\n", "m.csv line 1: column 'id' appears more than once in the header"),
    ],
)
def test_a_manifest_that_cannot_be_split_into_rows_sends_nothing(tmp_path: Path, content: str, message: str) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_text(content)
    with MessageBirdSim(access_key="mb-key-123456") as sim:
        proc = voxpipe(
            "send",
            str(manifest),
            "-P",
            "messagebird",
            "--api-url",
            sim.base_url,
            "--journal",
            str(tmp_path / "j.db"),
            env=MB_ENV,
        )
        assert sim.requests_count == 0
    assert proc.returncode == 1 and proc.stderr.splitlines() == [f"Error: {tmp_path / message}"]


def test_manifest_rows_take_markup_inline_or_from_an_ssml_file(tmp_path: Path) -> None:
    (tmp_path / "msgs").mkdir()
    (tmp_path / "msgs" / "otp.ssml").write_text("<speak>Code <say-as interpret-as='digits'>12</say-as>.</speak>")
    manifest = tmp_path / "m.csv"
    manifest.write_text(
        "id,ssml,ssml_file,to\n"
        "inline,<speak>Hello.</speak>,,+447911123456\n"
        "fromfile,,msgs/otp.ssml,+447911123457\n"
        "mistyped,msgs/otp.ssmll,,+447911123458\n"
    )
    proc = voxpipe("send", str(manifest), "-P", "messagebird", "--dry-run", "--json", env=MB_ENV)
    reports = {r["id"]: r for r in json.loads(proc.stdout)}
    assert proc.returncode == 1
    assert reports["inline"]["requests"][0]["body"]["body"] == "Hello."
    assert reports["fromfile"]["requests"][0]["body"]["body"] == "Code 1, 2."
    assert (
        reports["mistyped"]["error"]
        == "m.csv line 4: ssml 'msgs/otp.ssmll' looks like a file path; put files in an ssml_file column"
    )


def test_manifest_urls_that_do_not_parse_fail_their_row(tmp_path: Path, mp3_url: str) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_text(
        f"id,media_url,to\nport,http://user:pw-row-secret@h:99999/a.mp3,+2348020000001\ngood,{mp3_url},+2348020000002\n"
    )
    with NineBitsSim(token=TOKEN) as sim:
        proc = voxpipe(
            "send",
            str(manifest),
            "-P",
            "9bits",
            "--api-url",
            sim.base_url,
            "--journal",
            str(tmp_path / "j.db"),
            env=ENV,
        )
        assert sim.accepted_counts() == Counter({"2348020000002": 1})
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and "pw-row-secret" not in proc.stderr + proc.stdout
    assert (
        "error  port: m.csv line 2: media_url http://user:***@h:99999/a.mp3: Port out of range 0-65535"
        in proc.stderr.splitlines()
    )
