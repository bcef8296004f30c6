"""``GET /healthz``: for load balancers and container probes.

200 when the process answers, the media folder can be read and the journal
can be written (the file opened for writing, its folder writable for
SQLite's -wal and -shm files; a journal not created yet needs only the
folder; a PostgreSQL journal answers a query); 503 otherwise. The answer is JSON naming each check, without paths::

    {"status": "ok", "media": "ok", "journal": "ok"}
    {"status": "unavailable", "media": "ok", "journal": "not writable (EPERM)"}
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import anyio.to_thread
from starlette.types import Receive, Scope, Send

from voxpipe.sender.errors import JournalError
from voxpipe.sender.hooks import HookReceiver
from voxpipe.sender.journal_db import is_database

from ._asgi import send_text

__all__ = ["Health", "database_problem", "journal_problem", "media_problem"]


def _reason(what: str, exc: OSError) -> str:
    return f"{what} ({errno.errorcode.get(exc.errno or 0, type(exc).__name__)})"


def media_problem(root: Path) -> str | None:
    """Why the media folder cannot be served, or None."""
    try:
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        return _reason("not readable", exc)
    os.close(fd)
    return None


def journal_problem(path: Path) -> str | None:
    """Why the journal at ``path`` cannot be written, or None."""
    folder = path.parent
    if not os.access(folder, os.W_OK | os.X_OK):
        return "its folder is not writable"
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return None  # created on the first send or `voxpipe hooks`; the folder takes it
    except OSError as exc:
        return _reason("not writable", exc)
    os.close(fd)
    return None


def database_problem(receiver: HookReceiver) -> str | None:
    """Why a journal on a database server cannot be used (the driver's reason is logged, not shown), or None."""
    try:
        journal = receiver.journal
        if journal is None:
            return "not open"
        journal.ping()
    except JournalError:
        return "unreachable"
    return None


class Health:
    """The ASGI app behind ``/healthz``."""

    def __init__(self, media_root: Path, receiver: HookReceiver | None) -> None:
        self.media_root = media_root
        self.receiver = receiver

    def checks(self) -> dict[str, str]:
        found = {"media": media_problem(self.media_root)}
        if self.receiver is not None:
            path = self.receiver.path
            found["journal"] = database_problem(self.receiver) if is_database(path) else journal_problem(path)
        return {name: problem or "ok" for name, problem in found.items()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] not in ("GET", "HEAD"):
            await send_text(send, 405, "method not allowed\n", {"Allow": "GET, HEAD"})
            return
        checks = await anyio.to_thread.run_sync(self.checks)
        healthy = all(value == "ok" for value in checks.values())
        body = json.dumps({"status": "ok" if healthy else "unavailable", **checks}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store"),
        ]
        await send({"type": "http.response.start", "status": 200 if healthy else 503, "headers": headers})
        await send({"type": "http.response.body", "body": body})
