"""The voxpipe app under a real uvicorn on 127.0.0.1, in a thread: for tests that need files (or
callbacks) over real HTTP.

    with AppServer(create_app(root)) as server:
        httpx.get(f"{server.url}/{name}")

It is served as ``voxpipe serve`` serves it (the same uvicorn configuration,
protocol limits and header timeout), on a free port; log records go to the
test's logging (caplog), not to a handler of their own.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

from voxpipe.sender.journal import Journal
from voxpipe.serve import ServerSettings, create_app
from voxpipe.serve.run import bind, uvicorn_config

LOCAL = ServerSettings(host="127.0.0.1", port=0)


class AppServer:
    """``app`` served in a thread until :meth:`close`; ``url`` and ``port`` once started."""

    def __init__(self, app: ASGIApp, settings: ServerSettings = LOCAL) -> None:
        self.app = app
        self.settings = replace(settings, workers=1)
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> int:
        sock = bind(self.settings.host, self.settings.port)
        self.port = sock.getsockname()[1]
        app = self.app
        server = uvicorn.Server(uvicorn_config(lambda: app, self.settings, log_config=None))
        self._server = server
        self._thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="app-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the app server did not start")
            time.sleep(0.01)
        return self.port

    def close(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join(30)

    def __enter__(self) -> AppServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve_media(root: Path, journal: Journal | Path | None = None) -> AppServer:
    """A started server for the files in ``root`` (and callbacks into ``journal``)."""
    server = AppServer(create_app(root, journal))
    server.start()
    return server
