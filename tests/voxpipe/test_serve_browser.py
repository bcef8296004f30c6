"""A real client: headless Chromium plays an MP3 and an Ogg/Opus file from ``voxpipe serve`` through
``<audio>`` elements, seeking in both (which makes it send Range requests).

The files are prepared by ``voxpipe prepare`` (piper, the ``pstn`` MP3 and
``whatsapp`` Ogg/Opus profiles) into a directory store, served by a real
``voxpipe serve`` process; a small page on another local server holds the
players. Each must report the duration measured when the file was written,
within 0.1 s, and reach ``ended``.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from tests.browser import StaticServer, chromium
from tests.cli import voxpipe
from tests.serveprocess import Served

pytestmark = pytest.mark.browser

PAGE = """<!doctype html>
<meta charset="utf-8">
<title>voxpipe serve in a browser</title>
<link rel="icon" href="data:,">
<audio id="mp3" preload="metadata" src="{mp3}"></audio>
<audio id="ogg" preload="metadata" src="{ogg}"></audio>
"""

# Wait for the duration, seek close to the end (a Range request), play to the end.
PLAY = """
(async () => {
  const one = async (audio) => {
    if (!(audio.readyState >= 1 && isFinite(audio.duration))) {
      await new Promise((ok, fail) => {
        audio.addEventListener("durationchange", () => isFinite(audio.duration) && ok(), {once: false});
        audio.addEventListener("error", () => fail(new Error("media error " + audio.error.code)), {once: true});
        audio.load();
      });
    }
    const duration = audio.duration;
    audio.muted = true;
    const ended = new Promise((ok) => audio.addEventListener("ended", ok, {once: true}));
    audio.currentTime = Math.max(0, duration - 0.4);
    await new Promise((ok) => audio.addEventListener("seeked", ok, {once: true}));
    await audio.play();
    await Promise.race([ended, new Promise((_, fail) => setTimeout(() => fail(new Error("no ended")), 20000))]);
    return {duration, ended: audio.ended, error: audio.error && audio.error.code};
  };
  return {mp3: await one(document.getElementById("mp3")), ogg: await one(document.getElementById("ogg"))};
})()
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_chromium_plays_and_seeks_mp3_and_opus_from_voxpipe_serve(tmp_path: Path) -> None:
    port = _free_port()
    media = tmp_path / "media"
    proc = voxpipe(
        "prepare", "--text", "Your parcel arrives today between ten and noon.", "--out", str(tmp_path / "out"),
        "-p", "pstn", "-p", "whatsapp", "--store", str(media), "--base-url", f"http://127.0.0.1:{port}", "--json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    artifacts = {a["profile"]: a for a in json.loads(proc.stdout)["items"][0]["artifacts"]}
    mp3, ogg = artifacts["pstn"], artifacts["whatsapp"]
    assert mp3["mime"] == "audio/mpeg" and ogg["mime"].startswith("audio/ogg")
    page = tmp_path / "page"
    page.mkdir()
    (page / "play.html").write_text(PAGE.format(mp3=mp3["media_url"], ogg=ogg["media_url"]))

    server = Served(media, port=port)
    try:
        with StaticServer(page) as site, chromium(tmp_path) as tab:
            tab.open(f"{site.url}/play.html")
            result = tab.call(
                "Runtime.evaluate", timeout=90, expression=PLAY, awaitPromise=True, returnByValue=True, userGesture=True
            )
            assert "exceptionDetails" not in result, result
            played = result["result"]["value"]
            assert tab.errors() == []
    finally:
        assert server.stop() == 0
    for name, artifact in (("mp3", mp3), ("ogg", ogg)):
        got = played[name]
        assert abs(got["duration"] - artifact["duration_s"]) <= 0.1, (name, got, artifact["duration_s"])
        assert got["ended"] is True and got["error"] is None, (name, got)
        file = Path(artifact["path"]).name
        ranges = [line for line in server.lines if f'"GET /{file}" 206 ' in line]
        assert ranges, f"{name}: Chromium sent no Range request for {file}:\n{server.log[-3000:]}"
