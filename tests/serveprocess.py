"""A real ``voxpipe serve`` process for tests: started as a user starts it, on a free port, its stderr
collected line by line (tests read the log)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path


class Served:
    """A running ``voxpipe serve``; its stderr is collected line by line."""

    def __init__(self, media: Path, *args: str, port: int = 0, cwd: Path | None = None) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VOXPIPE_")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "voxpipe", "serve", str(media), "--port", str(port), *args],
            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, env=env, cwd=cwd,
        )  # fmt: skip
        assert self.proc.stderr is not None
        self.lines: list[str] = []
        first = self.proc.stderr.readline()
        self.lines.append(first)
        found = re.search(r" at (https?://127\.0\.0\.1:\d+)", first)
        if not found:
            self.proc.kill()
            raise AssertionError(f"voxpipe serve did not start: {first}{self.proc.stderr.read()}")
        self.url = found.group(1)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._wait_ready()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        port = int(self.url.rsplit(":", 1)[1])
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("voxpipe serve is not accepting connections")

    @property
    def log(self) -> str:
        return "".join(self.lines)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        self._reader.join(10)
        return code
