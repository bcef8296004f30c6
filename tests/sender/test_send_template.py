"""``voxpipe send --template --data``: rows that say the same share requests; secrets stay out of every output."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.appserver import AppServer
from tests.cli import voxpipe
from tests.simulators import MessageBirdSim, NineBitsSim
from voxpipe.pipeline.templates import mask_values
from voxpipe.serve import create_app

KEY = "mb-test-key"
ENV = {"VOXPIPE_MESSAGEBIRD_KEY": KEY}
OTP = 'Your code is <say-as interpret-as="digits">{code}</say-as>.'
ROWS = [
    ("r1", "+447911000001", "482913"),
    ("r2", "+447911000002", "482913"),  # the same code: shares r1's request
    ("r3", "+447911000003", "771204"),
    ("r4", "+447911000004", "77x1"),  # not digits: fails alone
    ("r5", "", "123456"),  # nobody to send to: fails alone
]


def _files(tmp_path: Path) -> tuple[Path, Path]:
    template, data = tmp_path / "otp.ssml", tmp_path / "rows.csv"
    template.write_text(OTP, encoding="utf-8")
    data.write_text("id,to,code\n" + "".join(f"{i},{t},{c}\n" for i, t, c in ROWS), encoding="utf-8")
    return template, data


def _send(sim: MessageBirdSim, tmp_path: Path, *extra: str):
    template, data = _files(tmp_path)
    return voxpipe(
        "send", "-P", "messagebird", "--api-url", sim.base_url, "-O", "originator=+15550001111",
        "--template", str(template), "--data", str(data), "--journal", str(tmp_path / "j.db"), *extra,
        env=ENV,
    )  # fmt: skip


def test_rows_with_the_same_body_share_a_request_and_bad_rows_fail_alone(tmp_path: Path) -> None:
    with MessageBirdSim(KEY) as sim:
        proc = _send(sim, tmp_path, "--json")
        bodies = [json.loads(r.body) for r in sim.requests if r.method == "POST"]
    assert proc.returncode == 1, proc.stderr  # two rows failed
    assert sorted((b["body"], sorted(b["recipients"])) for b in bodies) == [
        ("Your code is 4, 8, 2, 9, 1, 3.", ["447911000001", "447911000002"]),
        ("Your code is 7, 7, 1, 2, 0, 4.", ["447911000003"]),
    ]
    reports = {r["id"]: r for r in json.loads(proc.stdout)}
    assert reports["r1 (+1 rows)"]["counts"] == {"accepted": 2}
    assert reports["r3"]["counts"] == {"accepted": 1}
    assert reports["r4"]["error"] == "rows.csv line 5: code: the value is not digits"
    assert reports["r5"]["error"] == "rows.csv line 6: to: missing (the row's recipients)"


def test_a_rerun_sends_nobody_twice(tmp_path: Path) -> None:
    with MessageBirdSim(KEY) as sim:
        _send(sim, tmp_path)
        again = _send(sim, tmp_path, "--json")
        assert sim.accepted_counts() == {"447911000001": 1, "447911000002": 1, "447911000003": 1}
    assert {r["id"]: r.get("counts") for r in json.loads(again.stdout) if "counts" in r} == {
        "r1 (+1 rows)": {"accepted": 2},
        "r3": {"accepted": 1},
    }


def test_codes_never_reach_the_screen_the_report_or_the_journal(tmp_path: Path) -> None:
    with MessageBirdSim(KEY) as sim:
        dry = _send(sim, tmp_path, "--dry-run", "--json")
        real = _send(sim, tmp_path, "--json")
        assert len(sim.requests) == 2  # the dry run sent nothing
    dry_bodies = [r["requests"][0]["body"]["body"] for r in json.loads(dry.stdout) if "requests" in r]
    assert dry_bodies == ["Your code is ****.", "Your code is ****."]
    seen = dry.stdout + dry.stderr + real.stdout + real.stderr
    journal = (tmp_path / "j.db").read_bytes().decode("latin-1")
    for code in ("482913", "771204"):
        for text in (seen, journal):
            assert code not in text
            assert mask_values(text, [code]) == text  # nor with separators, nor read out


def test_media_provider_gets_one_short_lived_file_and_request_per_distinct_message(tmp_path: Path) -> None:
    """9bits plays files: r1 and r2 say the same and share one file and one request; the files are
    sensitive (a digits placeholder), so their URLs carry an expiring token the real server checks."""
    template, data = _files(tmp_path)
    root = tmp_path / "media"
    root.mkdir()
    with AppServer(create_app(root)) as server, NineBitsSim(token="nb-token") as sim:
        proc = voxpipe(
            "send", "-P", "9bits", "--api-url", sim.base_url, "--template", str(template), "--data", str(data),
            "--store", str(root), "--base-url", server.url, "--out", str(tmp_path / "out"),
            "--journal", str(tmp_path / "j.db"), "--json",
            env={"VOXPIPE_9BITS_TOKEN": "nb-token"},
        )  # fmt: skip
        bodies = [json.loads(r.body) for r in sim.requests if r.method == "POST"]
        assert sim.accepted_counts() == {"447911000001": 1, "447911000002": 1, "447911000003": 1}, proc.stderr
        url = bodies[0]["media_url"]
        assert httpx.get(url.split("?", 1)[0]).status_code == 404  # without its token the file is not there
    assert proc.returncode == 1, proc.stderr  # r4 and r5 fail alone
    assert len(bodies) == 2 and sorted(len(b["to"]) for b in bodies) == [1, 2]
    urls = [b["media_url"] for b in bodies]
    assert len(set(urls)) == 2 and all("-private.mp3?expires=" in u and "&token=" in u for u in urls)
    hosted = sorted(p.name for p in root.iterdir() if not p.name.startswith("."))
    assert len(hosted) == 2 and all(name.endswith("-private.mp3") for name in hosted)
    seen = proc.stdout + proc.stderr + (tmp_path / "j.db").read_bytes().decode("latin-1")
    seen += "".join(p.read_text() for p in (tmp_path / "out").glob("*.json"))
    for code in ("482913", "771204"):
        assert code not in seen and mask_values(seen, [code]) == seen
