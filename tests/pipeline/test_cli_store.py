"""``voxpipe prepare --store``, ``voxpipe serve`` and ``voxpipe storage init`` end to end."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.cli import REPO, voxpipe


def test_prepare_into_s3_public_then_presigned(tmp_path: Path, s3_server) -> None:
    env = s3_server.env()
    init = voxpipe("storage", "init", "s3://voice-cli/public", "--endpoint-url", s3_server.endpoint, env=env)
    assert init.returncode == 0, init.stderr
    assert "voice-cli" in init.stdout
    proc = voxpipe(
        "prepare",
        "--text",
        "Your parcel arrives today.",
        "--out",
        str(tmp_path / "out"),
        "--store",
        "s3://voice-cli/public",
        "--endpoint-url",
        s3_server.endpoint,
        "--verify-url",
        "--json",
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    arts = data["items"][0]["artifacts"]
    assert {a["profile"] for a in arts} == {"pstn", "whatsapp"}
    for art in arts:
        assert art["media_url"] == f"{s3_server.endpoint}/voice-cli/public/{Path(art['path']).name}"
        resp = httpx.get(art["media_url"])  # anonymous
        assert resp.status_code == 200 and resp.headers["content-type"] == art["mime"]
        assert resp.content == Path(art["path"]).read_bytes()
    assert data["summary"]["timing"]["upload_s"] >= 0

    presigned = voxpipe(
        "prepare",
        "--text",
        "Your parcel arrives today.",
        "--out",
        str(tmp_path / "out"),
        "-p",
        "pstn",
        "--store",
        "s3://voice-cli/private",
        "--endpoint-url",
        s3_server.endpoint,
        "--url-mode",
        "presigned",
        "--expires",
        "600",
        "--json",
        env=env,
    )
    assert presigned.returncode == 0, presigned.stderr
    art = json.loads(presigned.stdout)["items"][0]["artifacts"][0]
    assert art["expires_at"].endswith("Z") and "X-Amz-Signature=" in art["media_url"]
    assert httpx.get(art["media_url"]).status_code == 200
    assert httpx.get(art["media_url"].split("?")[0]).status_code == 403
    assert "X-Amz-Signature" not in presigned.stderr


def test_failed_upload_marks_the_item_failed_and_keeps_local_files(tmp_path: Path, s3_server) -> None:
    proc = voxpipe(
        "prepare",
        "--text",
        "Nowhere to go.",
        "--out",
        str(tmp_path / "out"),
        "-p",
        "pstn",
        "--store",
        "s3://no-such-bucket-here/x",
        "--endpoint-url",
        s3_server.endpoint,
        "--json",
        env=s3_server.env(),
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    item = json.loads(proc.stdout)["items"][0]
    assert item["status"] == "error" and "no-such-bucket-here" in item["error"] and "does not exist" in item["error"]
    assert Path(item["artifacts"][0]["path"]).is_file()


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--store", "s3://bucket-ok/p", "--url-mode", "presigned", "--expires", "700000"],
            "presigned URLs last 1 s to 7 days (604800 s)",
        ),
        (["--store", "ftp://x/y"], "unsupported scheme; give a directory or s3://bucket/prefix"),
        (["--base-url", "http://example.com"], "--base-url needs --store"),
    ],
)
def test_bad_store_options_fail_before_any_work(tmp_path: Path, args: list[str], message: str) -> None:
    proc = voxpipe("prepare", "--text", "Hi.", "--out", str(tmp_path / "out"), *args)
    assert proc.returncode in (1, 2) and message in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_directory_store_served_by_voxpipe_serve(tmp_path: Path) -> None:
    port = _free_port()
    media = tmp_path / "media"
    proc = voxpipe(
        "prepare",
        "--text",
        "Served locally.",
        "--out",
        str(tmp_path / "out"),
        "-p",
        "whatsapp",
        "--store",
        str(media),
        "--base-url",
        f"http://127.0.0.1:{port}/",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    art = json.loads(proc.stdout)["items"][0]["artifacts"][0]
    server = subprocess.Popen(
        [sys.executable, "-m", "voxpipe", "serve", str(media), "--port", str(port)],
        cwd=REPO,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                resp = httpx.get(art["media_url"], headers={"Range": "bytes=0-3"})
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and server.poll() is None
                time.sleep(0.1)
        assert resp.status_code == 206 and resp.content == b"OggS"
        assert resp.headers["content-type"] == "audio/ogg; codecs=opus"
        assert "immutable" in resp.headers["cache-control"]
        assert httpx.get(f"http://127.0.0.1:{port}/").status_code == 404
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(10)
    assert f"serving {media} at http://127.0.0.1:{port}" in server.stderr.read()
