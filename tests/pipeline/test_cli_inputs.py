"""``voxpipe prepare`` inputs as a user gives them: --ssml vs --ssml-file, manifests, odd files, --report.

Every bad input is one line, a non-zero exit, and no work done (no output
folder created, no synthesis). FIFOs and devices must be refused, not
waited on: the subprocess timeout would fail these tests if one blocked.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.cli import voxpipe


def one_line(proc, status: int = 1) -> str:
    assert proc.returncode == status, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.fixture
def odd_files(tmp_path: Path) -> dict[str, Path]:
    """A FIFO, a device, a folder and a sparse file over every input limit, each with a usable suffix."""
    fifo = tmp_path / "pipe.ssml"
    os.mkfifo(fifo)
    huge = tmp_path / "huge.ssml"
    with huge.open("wb") as f:
        f.truncate(65 * 1024 * 1024)
    folder = tmp_path / "folder.ssml"
    folder.mkdir()
    return {"fifo": fifo, "zero": Path("/dev/zero"), "huge": huge, "folder": folder}


def test_a_mistyped_ssml_path_is_refused_not_spoken(tmp_path: Path) -> None:
    proc = voxpipe("prepare", "--ssml", "/srv/messages/otp.ssmll", "--out", str(tmp_path / "out"))
    assert one_line(proc, 2) == (
        "Error: Invalid value for --ssml: '/srv/messages/otp.ssmll' looks like a file path; "
        "for a file of markup use --ssml-file /srv/messages/otp.ssmll (see 'voxpipe prepare --help')"
    )
    assert not (tmp_path / "out").exists()


def test_ssml_text_and_ssml_file_give_the_same_audio(tmp_path: Path) -> None:
    markup = "<speak>Code <say-as interpret-as='digits'>42</say-as>.</speak>"
    source = tmp_path / "otp.ssml"
    source.write_text(markup)
    inline = voxpipe("prepare", "--ssml", markup, "--id", "otp", "-p", "wav", "--out", str(tmp_path / "out"), "--json")
    from_file = voxpipe(
        "prepare", "--ssml-file", str(source), "--id", "otp", "-p", "wav", "--out", str(tmp_path / "out"), "--json"
    )
    assert inline.returncode == from_file.returncode == 0, inline.stderr + from_file.stderr
    first, second = (json.loads(p.stdout)["items"][0]["artifacts"][0] for p in (inline, from_file))
    assert second["reused"] and first["sha256"] == second["sha256"]  # the same input, so the same file


@pytest.mark.parametrize(
    "args, message",
    [
        (["--ssml-file", "{missing}"], "Error: markup error: {missing}: cannot read: no such file"),
        (["--ssml-file", "{fifo}"], "Error: markup error: {fifo}: a FIFO, socket or device, not a regular file"),
        (["--ssml-file", "{zero}"], "Error: markup error: {zero}: a FIFO, socket or device, not a regular file"),
        (["--ssml-file", "{folder}"], "Error: markup error: {folder}: a folder, not a regular file"),
        (["--ssml-file", "{huge}"], "Error: markup error: {huge}: 68,157,440 bytes; at most 1,048,576 are read"),
        (["{fifo}"], "Error: {fifo}: a FIFO, socket or device, not a regular file or folder"),
        (["--text", "Hi", "--ssml-file", "{huge}"], "Error: give only one of --text, --ssml, --audio or --ssml-file"),
    ],
)
def test_odd_input_files_are_one_line(
    tmp_path: Path, odd_files: dict[str, Path], args: list[str], message: str
) -> None:
    paths = {**odd_files, "missing": tmp_path / "missing.ssml"}
    proc = voxpipe("prepare", *[a.format(**paths) for a in args], "--out", str(tmp_path / "out"), timeout=60)
    assert one_line(proc, 2 if "give only one" in message else 1).startswith(message.format(**paths))
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("header.csv", "id,text\n", "header.csv: no rows to prepare (only a header)"),
        (
            "merged.csv",
            'id,text\na,"Hello\nb,Bye\nc,Hi"\n',
            "merged.csv line 2: a quoted field runs on to line 4 and holds whole rows; is a quote missing?",
        ),
        ("dup.csv", "id,text,id\na,b,c\n", "dup.csv line 1: column 'id' appears more than once in the header"),
        ("open.csv", 'id,text\na,"Hello\n', "open.csv line 2: a quote opened here is never closed"),
        ("long.csv", "id,text\na," + "x" * 131_073 + "\n", "long.csv line 2: a field longer than 131,072 characters"),
        ("none.jsonl", "", "none.jsonl: no rows to prepare"),
    ],
)
def test_bad_manifests_are_one_line_and_nothing_is_prepared(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    manifest = tmp_path / name
    manifest.write_text(content)
    proc = voxpipe("prepare", str(manifest), "--out", str(tmp_path / "out"), "--report", str(tmp_path / "r.json"))
    assert one_line(proc) == f"Error: {tmp_path / message}"
    assert not (tmp_path / "out").exists() and not (tmp_path / "r.json").exists()


def test_json_traps_in_a_manifest_fail_their_row_only(tmp_path: Path) -> None:
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(
        '{"id": "deep", "text": ' + "[" * 50_000 + "]" * 50_000 + "}\n"
        '{"id": "bigint", "text": ' + "9" * 5000 + "}\n"
        '{"id": "good", "text": "Hello.", "profiles": ["wav"]}\n'
    )
    proc = voxpipe("prepare", str(manifest), "--out", str(tmp_path / "out"), "--json")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    items = {i["id"]: i for i in json.loads(proc.stdout)["items"]}
    assert items["m.jsonl line 1"]["error"] == "m.jsonl line 1: invalid JSON: nested too deeply"
    assert items["m.jsonl line 2"]["error"] == "m.jsonl line 2: invalid JSON: a number with more than 4300 digits"
    assert items["good"]["status"] == "ok"


@pytest.mark.parametrize(
    "target, message",
    [
        ("file/report.json", "{tmp}/file is not a folder"),
        ("file/deeper/report.json", "{tmp}/file is not a folder"),
        ("folder.ssml", "a folder, not a file"),
        ("fifo", "a FIFO, socket or device, not a regular file"),
        ("/dev/full", "a FIFO, socket or device, not a regular file"),
    ],
)
def test_an_unwritable_report_is_refused_before_any_work(
    tmp_path: Path, odd_files: dict[str, Path], target: str, message: str
) -> None:
    (tmp_path / "file").write_text("a file, not a folder")
    report = (
        str(odd_files["fifo"]) if target == "fifo" else target if target.startswith("/") else str(tmp_path / target)
    )
    proc = voxpipe(
        "prepare", "--text", "Hello.", "-p", "wav", "--out", str(tmp_path / "out"), "--report", report, timeout=60
    )
    assert one_line(proc) == f"Error: --report {report}: {message.format(tmp=tmp_path)}"
    assert not (tmp_path / "out").exists()  # nothing was synthesised


def test_the_report_is_written_whole_in_a_new_folder(tmp_path: Path) -> None:
    report = tmp_path / "reports" / "today" / "r.json"
    proc = voxpipe("prepare", "--text", "Hello.", "-p", "wav", "--out", str(tmp_path / "out"), "--report", str(report))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(report.read_text())["summary"]["ok"] == 1
    assert sorted(p.name for p in report.parent.iterdir()) == ["r.json"]  # no temporary left behind
    assert oct(report.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
