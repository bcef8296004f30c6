"""``voxpipe prepare`` as a user runs it: reports, bad rows, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import voxpipe


def test_examples_folder_prepares_every_item(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    proc = voxpipe("prepare", "assets/examples", "--out", str(tmp_path / "out"), "--report", str(report), "--jobs", "2")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(report.read_text())
    assert data["summary"]["error"] == 0 and data["summary"]["ok"] == data["summary"]["items"] >= 4
    for item in data["items"]:
        for art in item["artifacts"]:
            assert Path(art["path"]).is_file()
            assert {
                "path",
                "profile",
                "mime",
                "sha256",
                "bytes",
                "duration_s",
                "sample_rate",
                "channels",
                "lufs",
                "true_peak_dbtp",
            } <= set(art)
    again = voxpipe("prepare", "assets/examples", "--out", str(tmp_path / "out"), "--json")
    assert again.returncode == 0
    assert all(a["reused"] for item in json.loads(again.stdout)["items"] for a in item["artifacts"])


def test_a_bad_row_is_reported_and_the_batch_goes_on(tmp_path: Path) -> None:
    manifest = tmp_path / "batch.csv"
    manifest.write_text(
        "id,text,audio,profiles\n"
        "good,Hello there.,,pstn\n"
        'badmarkup,"Hello <foo>x</foo>",,pstn\n'
        ",No id here.,,pstn\n"
        "both,Hi,/tmp/x.wav,pstn\n"
        "noaudio,,/nonexistent/file.wav,pstn\n"
        "badprofile,Hi,,nosuchprofile\n"
        "good,Duplicate id.,,pstn\n"
    )
    proc = voxpipe("prepare", str(manifest), "--out", str(tmp_path / "out"), "--json")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    listed = json.loads(proc.stdout)["items"]
    assert [(i["status"], i["error"]) for i in listed if i["id"] == "good"] == [
        ("ok", None),
        ("error", "batch.csv: duplicate id 'good'"),
    ]
    items = {i["id"]: i for i in listed if i["id"] != "good"}
    errors = {k: v["error"] for k, v in items.items() if v["status"] == "error"}
    assert errors["badmarkup"].startswith("markup error at line 1, column 7: unknown tag <foo>")
    assert errors["batch.csv line 4"] == "batch.csv line 4: missing id"
    assert errors["both"] == "batch.csv line 5: give text or audio, not both"
    assert errors["noaudio"] == "/nonexistent/file.wav: no such file"
    assert errors["badprofile"].startswith("unknown profile 'nosuchprofile' (known: pstn, wav, whatsapp")
    summary = json.loads(proc.stdout)["summary"]
    assert {k: summary[k] for k in ("items", "ok", "error")} == {"items": 7, "ok": 1, "error": 6}


def test_jsonl_manifest_and_text_file(tmp_path: Path) -> None:
    manifest = tmp_path / "m.jsonl"
    manifest.write_text('{"id": "one", "text": "One.", "profiles": ["wav"]}\nnot json\n[1]\n')
    note = tmp_path / "note.txt"
    note.write_text("A & B < C, said Tom > Jerry.")
    proc = voxpipe("prepare", str(manifest), str(note), "--out", str(tmp_path / "out"), "--json", "-p", "pstn")
    data = json.loads(proc.stdout)
    by_id = {i["id"]: i for i in data["items"]}
    assert by_id["one"]["status"] == "ok" and [a["profile"] for a in by_id["one"]["artifacts"]] == ["wav"]
    assert by_id["note"]["status"] == "ok" and [a["profile"] for a in by_id["note"]["artifacts"]] == ["pstn"]
    assert by_id["m.jsonl line 2"]["error"].startswith("m.jsonl line 2: invalid JSON")
    assert by_id["m.jsonl line 3"]["error"] == "m.jsonl line 3: expected a JSON object"
    assert proc.returncode == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--ssml", "<speak>Hello <break time='20s'/></speak>"],
            'error  message: markup error at line 1, column 14: bad value "20s" for time on <break>; expected at most 10s',
        ),
        (["--text", "Hi", "-p", "nope"], "Error: unknown profile 'nope' (known: pstn, wav, whatsapp)"),
        (["--text", "Hi", "--engine", "espeak"], "error  message: unknown engine 'espeak' (known: piper, gtts)"),
        (
            ["--text", "Hi", "--voice", "/nonexistent/voice.onnx"],
            "error  message: piper: voice file /nonexistent/voice.onnx not found",
        ),
        (
            ["--audio", "ftp://host/a.mp3", "--id", "clip"],
            "error  clip: ftp://host/a.mp3: only http and https URLs can be fetched",
        ),
        (["missing-manifest.csv"], "Error: missing-manifest.csv: no such file or folder"),
    ],
)
def test_bad_input_is_one_line_and_non_zero(tmp_path: Path, args: list[str], message: str) -> None:
    proc = voxpipe("prepare", *args, "--out", str(tmp_path))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.splitlines()[0] == message
    assert proc.stdout == ""


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    proc = voxpipe("prepare", "--text", "a", "--ssml", "b")
    assert proc.returncode == 2 and "give only one of --text, --ssml, --audio" in proc.stderr
    assert voxpipe("prepare").returncode == 2


def test_ssml_from_a_file_and_human_output(tmp_path: Path) -> None:
    proc = voxpipe(
        "prepare", "--ssml-file", "assets/examples/otp.ssml", "--id", "otp", "-p", "whatsapp", "--out", str(tmp_path)
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("ok     otp  whatsapp")
    assert proc.stderr == ""  # one input: its line says it all, no batch summary


def test_engines_and_profiles_listings() -> None:
    engines = voxpipe("engines")
    assert engines.returncode == 0
    assert (
        "piper  (offline" in engines.stdout
        and "en_US-joe-medium" in engines.stdout
        and "gtts  (online" in engines.stdout
    )
    profiles = voxpipe("profiles")
    assert [ln.split()[0] for ln in profiles.stdout.splitlines() if not ln.startswith(" ")] == [
        "pstn",
        "wav",
        "whatsapp",
    ]


def test_an_output_folder_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    proc = voxpipe("prepare", "--text", "Hi.", "-p", "wav", "--out", str(blocker / "out"))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.splitlines()[0] == f"error  message: cannot write {blocker / 'out'}: Not a directory"
