"""Headless Chromium for the page tests, driven over the DevTools protocol, plus a static file server.

Debian's ``chromium`` package (``.ci/run`` installs it); nothing is downloaded
at test time. Tests that need it are marked ``browser`` and skip, saying
why, where it is missing. Pages and media are served over real HTTP on
127.0.0.1 (file:// media may be restricted), by a small server that answers
byte ranges as a media host does.
"""

from __future__ import annotations

import base64
import itertools
import json
import mimetypes
import os
import re
import shutil
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
# Flags without which this machine's closed network meets Chromium's background connections.
QUIET_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def find_chromium() -> str | None:
    found = os.environ.get("VOXPIPE_CHROMIUM") or next((p for p in CHROMIUM_PATHS if os.access(p, os.X_OK)), None)
    return found or shutil.which("chromium")


def require_chromium() -> str:
    """Chromium's path; the test skips without it, except in CI (.ci/run installs it, so it must be there)."""
    exe = find_chromium()
    if exe is None:
        reason = "no headless Chromium here: install Debian's chromium package (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return exe


class CdpError(RuntimeError):
    pass


class Tab:
    """One page target: commands answered in order, events kept for inspection."""

    def __init__(self, ws_url: str) -> None:
        import websocket

        self.ws = websocket.create_connection(ws_url, timeout=60, suppress_origin=True, enable_multithread=True)
        self.ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable")

    def call(self, method: str, timeout: float = 60, **params: Any) -> dict[str, Any]:
        n = next(self.ids)
        self.ws.send(json.dumps({"id": n, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.ws.settimeout(max(0.1, deadline - time.monotonic()))
            message = json.loads(self.ws.recv())
            if message.get("id") == n:
                if "error" in message:
                    raise CdpError(f"{method}: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)
        raise CdpError(f"{method}: no answer in {timeout} s")

    def wait_event(self, method: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        seen = len(self.events)
        while time.monotonic() < deadline:
            for event in self.events[seen:]:
                if event["method"] == method:
                    return event
            seen = len(self.events)
            self.ws.settimeout(max(0.1, deadline - time.monotonic()))
            message = json.loads(self.ws.recv())
            if "method" in message:
                self.events.append(message)
        raise CdpError(f"no {method} in {timeout} s")

    def open(self, url: str, width: int = 1280, height: int = 1600) -> None:
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)
        self.events.clear()
        self.call("Page.navigate", url=url)
        self.wait_event("Page.loadEventFired")

    def evaluate(self, expression: str, timeout: float = 60) -> Any:
        result = self.call(
            "Runtime.evaluate", timeout=timeout, expression=expression, awaitPromise=True, returnByValue=True
        )
        if "exceptionDetails" in result:
            raise CdpError(f"script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and browser log errors (failed loads, CSP refusals) so far."""
        found = []
        for event in self.events:
            method, params = event["method"], event.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append(str(params["exceptionDetails"]))
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                found.append(" ".join(str(a.get("value", a.get("description"))) for a in params.get("args", [])))
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                found.append(f"{params['entry'].get('url', '')}: {params['entry']['text']}")
        return found

    def screenshot(self, path: Path, full_page: bool = True) -> Path:
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            size = self.call("Page.getLayoutMetrics")["cssContentSize"]
            height = min(int(size["height"]), 6000)
            params["clip"] = {"x": 0, "y": 0, "width": int(size["width"]), "height": height, "scale": 1}
            params["captureBeyondViewport"] = True
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", **params)["data"]))
        return path

    def close(self) -> None:
        self.ws.close()


@contextmanager
def chromium(tmp: Path) -> Iterator[Tab]:
    """Headless Chromium with a fresh profile; yields its first tab."""
    exe = require_chromium()
    profile = tmp / "chromium-profile"
    profile.mkdir(parents=True)
    log = (tmp / "chromium.log").open("wb")
    proc = subprocess.Popen(
        [exe, *QUIET_FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0", "--mute-audio", "about:blank"],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    tab = None
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.is_file() and port_file.read_text().count("\n") >= 1):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise CdpError(f"Chromium did not start: {(tmp / 'chromium.log').read_text(errors='replace')[-2000:]}")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
            pages = [t for t in json.load(answer) if t["type"] == "page"]
        tab = Tab(pages[0]["webSocketDebuggerUrl"])
        yield tab
    finally:
        if tab is not None:
            tab.close()
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()


class StaticServer:
    """Files under ``root`` over HTTP on 127.0.0.1, with byte ranges (players seek to read Ogg durations)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        outer = self

        class _Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer(body=True)

            def do_HEAD(self) -> None:
                self._answer(body=False)

            def _answer(self, body: bool) -> None:
                path = (outer.root / urllib.request.url2pathname(self.path.split("?", 1)[0]).lstrip("/")).resolve()
                if not path.is_file() or outer.root not in path.parents:
                    self.send_error(404)
                    return
                data = path.read_bytes()
                start, end, status = 0, len(data) - 1, 200
                wanted = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", ""))
                if wanted and (wanted.group(1) or wanted.group(2)):
                    if wanted.group(1):
                        start = int(wanted.group(1))
                        end = min(int(wanted.group(2)) if wanted.group(2) else end, end)
                    else:
                        start = max(0, len(data) - int(wanted.group(2)))
                    status = 206
                self.send_response(status)
                kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                self.send_header("Content-Type", {".ogg": "audio/ogg"}.get(path.suffix, kind))
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Content-Length", str(end - start + 1))
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
                self.end_headers()
                if body:
                    try:
                        self.wfile.write(data[start : end + 1])
                    except (BrokenPipeError, ConnectionResetError):
                        pass  # the player had what it wanted

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> StaticServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def keep_for_docs(shot: Path, name: str) -> None:
    """With ``VOXPIPE_DOCS_SCREENSHOTS=1``, copy a test's screenshot into docs/ (how docs/*.png are made)."""
    if os.environ.get("VOXPIPE_DOCS_SCREENSHOTS") == "1":
        shutil.copyfile(shot, REPO / "docs" / name)
