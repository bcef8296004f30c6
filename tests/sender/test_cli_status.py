"""``voxpipe status``, ``hooks``, ``cancel`` and ``serve`` as a user runs them:
real subprocesses against the simulators over real HTTP, with journals
filled by real sends."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.cli import REPO, voxpipe
from tests.simulators import AlphaSmsSim, MessageBirdSim, NineBitsSim
from voxpipe.sender.journal import Journal

from .tracking_support import KEYS, alpha, bird, get, nine, post, rows, send_to, start_serve, statuses, stop_serve

NL = ["+31612345671", "+31612345672"]
UA = ["+380971234561", "+380971234562"]
MB_ENV = {"VOXPIPE_MESSAGEBIRD_KEY": KEYS["messagebird"]["key"]}


@pytest.fixture
def journal_file(journal_at: str) -> str:
    """A fresh journal on each backend: an SQLite path, or a postgresql:// URL."""
    return journal_at


def test_hooks_prints_every_providers_url_and_where_to_configure_it(journal_file: str) -> None:
    proc = voxpipe("hooks", "--public-url", "https://voice.example.com/", "--journal", str(journal_file), "--json")
    assert proc.returncode == 0, proc.stderr
    with Journal(journal_file) as journal:
        secret = journal.hook_secret()  # made by the command, kept in the journal
    listed = {h["provider"]: h for h in json.loads(proc.stdout)}
    assert {p: h["url"] for p, h in listed.items()} == {
        p: f"https://voice.example.com/hooks/{p}/{secret}" for p in ("9bits", "messagebird", "wawp", "alphasms")
    }
    assert listed["messagebird"]["method"] == "GET" and "-O report_url=URL" in listed["messagebird"]["configure"]
    assert "Dashboard → Settings → Webhook" in listed["9bits"]["configure"]
    assert "/v2/session/webhook" in listed["wawp"]["configure"] and "message.ack" in listed["wawp"]["configure"]
    assert "voice.php hook" in listed["alphasms"]["configure"]
    text = voxpipe("hooks", "--public-url", "https://voice.example.com", "--journal", str(journal_file))
    assert (
        f"messagebird: https://voice.example.com/hooks/messagebird/{secret}\n  GET; configure: pass it" in text.stdout
    )
    bad = voxpipe("hooks", "--public-url", "ftp://x", "--journal", str(journal_file))
    assert bad.returncode == 2 and "'ftp://x': must be an http:// or https:// URL" in bad.stderr
    bad = voxpipe("hooks", "--public-url", "https://voice.example.com/?a=1", "--journal", str(journal_file))
    assert bad.returncode == 2 and "an http(s) URL without a query" in bad.stderr


def test_status_refresh_looks_up_messagebird_and_alphasms(journal_file: str) -> None:
    env = {**MB_ENV, "VOXPIPE_ALPHASMS_KEY": KEYS["alphasms"]["key"]}
    with (
        MessageBirdSim(access_key=KEYS["messagebird"]["key"]) as msim,
        AlphaSmsSim(key=KEYS["alphasms"]["key"]) as asim,
        Journal(journal_file) as journal,
    ):
        send_to(bird(msim.base_url), NL, journal, "bird")
        send_to(alpha(asim.base_url), UA, journal, "alpha")
        msim.outcomes = {NL[1].lstrip("+"): "busy"}
        asim.outcomes = {UA[1].lstrip("+"): "no_answer"}
        msim.advance(), asim.advance()
        missing = voxpipe(
            "status", "--refresh", "--campaign", "bird", "--journal", str(journal_file), "--api-url", msim.base_url
        )
        assert (
            missing.returncode == 1
            and "messagebird: missing credential key: set VOXPIPE_MESSAGEBIRD_KEY" in missing.stderr
        )
        proc = voxpipe(
            "status",
            "--refresh",
            "--json",
            "--campaign",
            "bird",
            "--journal",
            str(journal_file),
            "--api-url",
            msim.base_url,
            env=env,
        )
        assert proc.returncode == 0, proc.stderr
        (report,) = json.loads(proc.stdout)
        assert (report["campaign"], report["counts"], report["final"], report["refresh"]["requests"]) == (
            "bird",
            {"answered": 1, "busy": 1},
            True,
            1,
        )
        assert {r["address"]: (r["status"], r["reason"], r["cost"]) for r in report["recipients"]} == {
            NL[0]: ("answered", "successfully delivered", "0.055 EUR"),
            NL[1]: ("busy", "generic delivery failure", None),
        }
        # AlphaSMS found through its own URL variable; the table shows both campaigns.
        table = voxpipe(
            "status", "--refresh", "--journal", str(journal_file), env={**env, "VOXPIPE_ALPHASMS_URL": asim.base_url}
        )
        assert table.returncode == 0, table.stderr
        assert statuses(journal, "alpha") == {UA[0]: "answered", UA[1]: "no_answer"}
    assert "campaign bird via messagebird (tts): 1 answered, 1 busy (all final)" in table.stdout
    assert "campaign alpha via alphasms (tts): 1 answered, 1 no_answer (all final)" in table.stdout
    assert re.search(r"\+31612345671\s+answered\s+answered\s+successfully delivered\s+0\.055 EUR\s+\w+", table.stdout)
    assert all(
        k not in proc.stdout + proc.stderr + table.stdout + table.stderr
        for k in (KEYS["messagebird"]["key"], KEYS["alphasms"]["key"])
    )


def test_watch_ends_when_every_recipient_is_final_and_fails_on_timeout(journal_file: str) -> None:
    with MessageBirdSim(access_key=KEYS["messagebird"]["key"]) as sim, Journal(journal_file) as journal:
        send_to(bird(sim.base_url), NL[:1], journal)
        late = voxpipe(
            "status",
            "--watch",
            "--timeout",
            "1",
            "--interval",
            "0.2",
            "--journal",
            str(journal_file),
            "--api-url",
            sim.base_url,
            env=MB_ENV,
        )
        assert late.returncode == 1
        assert "timed out after 1 s: 1 recipient(s) still without a final status" in late.stderr
        assert "1 ringing (1 not final)" in late.stdout
        watch = subprocess.Popen(
            [sys.executable, "-m", "voxpipe", "status", "--watch", "--timeout", "30", "--interval", "0.2", "--json",
             "--journal", str(journal_file), "--api-url", sim.base_url],
            cwd=REPO, env={**os.environ, **MB_ENV}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        time.sleep(1.5)
        assert watch.poll() is None  # still waiting
        sim.advance()
        out, err = watch.communicate(timeout=20)
    assert watch.returncode == 0, err
    assert json.loads(out)[0]["counts"] == {"answered": 1}


def test_cancel_withdraws_scheduled_messages_and_says_when_it_cannot(journal_file: str, tmp_path: Path) -> None:
    with (
        MessageBirdSim(access_key=KEYS["messagebird"]["key"]) as msim,
        NineBitsSim(token=KEYS["9bits"]["token"], fetch_media=False) as nsim,
        Journal(journal_file) as journal,
    ):
        ref = send_to(bird(msim.base_url, schedule="2099-01-01T09:00:00Z"), NL, journal, "later")[NL[0]].ref
        send_to(bird(msim.base_url), NL[:1], journal, "now")
        send_to(nine(nsim.base_url), ["+2348020000001"], journal, "nine")
        done = voxpipe(
            "cancel", "--campaign", "later", "--journal", str(journal_file), "--api-url", msim.base_url, env=MB_ENV
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout == f"cancelled  {ref}  2 recipient(s): deleted before it was called\n"
        assert msim.deleted == {ref} and statuses(journal, "later") == dict.fromkeys(NL, "cancelled")
        late = voxpipe(
            "cancel", "--campaign", "now", "--journal", str(journal_file), "--api-url", msim.base_url, env=MB_ENV
        )
        assert (
            late.returncode == 1
            and late.stdout.startswith("too_late")
            and "too late: already calling or done" in late.stdout
        )
        assert statuses(journal, "now") == {NL[0]: "accepted"}
        nine_run = voxpipe(
            "cancel", "--campaign", "nine", "--journal", str(journal_file), "--api-url", nsim.base_url
        )  # no token needed to learn this
        assert (nine_run.returncode, nine_run.stderr) == (1, "Error: 9bits cannot cancel a message once it is sent\n")
        assert nsim.requests_count == 1  # the send only
        gone = voxpipe("cancel", "--campaign", "nope", "--journal", str(journal_file))
        assert gone.returncode == 1 and f"no campaign 'nope' in {journal.location}" in gone.stderr
    nothing = tmp_path / "none.db"
    missing = voxpipe("status", "--journal", str(nothing))
    assert (missing.returncode, missing.stderr) == (
        1,
        f"Error: no journal at {nothing} (send something first, or pass --journal)\n",
    )
    assert not nothing.exists()


_serve = start_serve
_stop = stop_serve


def test_serve_receives_callbacks_into_the_journal_and_never_logs_the_secret(tmp_path: Path, journal_file: str) -> None:
    media = tmp_path / "media"
    media.mkdir()
    server, url = _serve(media, "--journal", str(journal_file))  # creates the journal
    try:
        with Journal(journal_file) as journal:
            secret = journal.hook_secret()
            with NineBitsSim(token=KEYS["9bits"]["token"], fetch_media=False) as sim:
                send_to(nine(sim.base_url), ["+2348020000001"], journal)
                sim.callback_url = f"{url}/hooks/9bits/{secret}"
                assert sim.fire_callbacks() == 1
            row = rows(journal)["+2348020000001"]
            assert (row.status, row.cost) == ("answered", "10")
        assert post(f"{url}/hooks/9bits/{secret[:-2]}", json={}).status_code == 404
    finally:
        log = _stop(server)
    assert '"POST /hooks/9bits/***" 200' in log and '"POST /hooks/9bits/***" 404' in log and secret not in log


def test_status_json_never_prints_nan_or_infinity(journal_file: str) -> None:
    with Journal(journal_file) as journal, NineBitsSim(token=KEYS["9bits"]["token"], fetch_media=False) as sim:
        send_to(nine(sim.base_url), ["+2348020000001", "+2348020000002"], journal)
        with journal.transaction() as db:  # what an older voxpipe stored for `call_duration: "1e400"`
            db.execute(
                text("UPDATE recipients SET duration_s = :d, status = 'answered' WHERE address = '+2348020000001'"),
                {"d": float("inf")},
            )
            db.execute(
                text("UPDATE recipients SET duration_s = :d WHERE address = '+2348020000002'"), {"d": float("nan")}
            )
    proc = voxpipe("status", "--journal", str(journal_file), "--json")
    assert proc.returncode == 0, proc.stderr
    assert "Infinity" not in proc.stdout and "NaN" not in proc.stdout

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} in the JSON output")

    (report,) = json.loads(proc.stdout, parse_constant=refuse)
    assert [r["duration_s"] for r in report["recipients"]] == [None, None]


def test_serve_never_logs_the_secret_of_a_malformed_hook_path(tmp_path: Path, journal_file: str) -> None:
    media = tmp_path / "media"
    media.mkdir()
    server, url = _serve(media, "--journal", str(journal_file))
    try:
        with Journal(journal_file) as journal:
            secret = journal.hook_secret()
        paths = [f"/hooks//{secret}", f"/hooks/{secret}", f"/hooks///{secret}", f"/hooks/{secret}/9bits", f"/hooks/nope/{secret}",
                 f"/hooks/9bits%2F{secret}", f"/hooks%2F9bits/{secret}", f"/hooks/9bits/{secret}/extra", f"/hooks/9bits//{secret}"]  # fmt: skip
        answers = {path: post(url + path, json={}).status_code for path in paths}
        good = get(
            f"{url}/hooks/messagebird/{secret}", params={"id": "x", "recipient": "31612345671", "status": "answered"}
        )
    finally:
        log = _stop(server)
    assert set(answers.values()) <= {404, 405} and good.status_code == 200
    assert secret not in log
    assert log.count('"POST /hooks/***" 404') >= 5 and '"GET /hooks/messagebird/***" 200' in log
    requests = [line for line in log.splitlines() if "voxpipe.serve.access" in line]
    assert len(requests) == len(paths) + 1  # every request logged, each without the secret


def test_serve_without_a_journal_creates_none_and_refuses_every_callback(tmp_path: Path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    server, url = _serve(media, cwd=tmp_path)
    try:
        assert post(f"{url}/hooks/9bits/anything", json={}).status_code == 404
    finally:
        log = _stop(server)
    assert "receiving delivery callbacks into voxpipe-journal.db under /hooks/" in log
    assert sorted(p.name for p in tmp_path.iterdir()) == ["media"]
