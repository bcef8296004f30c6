"""A folder's own secret key: names files that must not reveal what they say, and signs URLs.

A sensitive message (a one-time code) must not be guessable from its file
name: content addressing by plain SHA-256 would let anyone who knows the
template hash the million possible codes and read the code off the URL. Such
files are named by an HMAC under a key kept in the output folder instead:
re-runs still find their files, nobody without the key can compute a name.
The same kind of key in a local store's folder signs expiring media URLs.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from .errors import VoxpipeError

__all__ = ["SECRET_FILE", "folder_secret", "keyed_digest"]

SECRET_FILE = ".voxpipe-secret"
"""Name of the key file (32 random bytes, hex, readable by its owner only)."""

_CACHE: dict[str, bytes] = {}


def folder_secret(folder: Path) -> bytes:
    """The key kept in ``folder``, created on first use; every process sharing the folder gets the same one."""
    path = Path(folder) / SECRET_FILE
    key = str(path.resolve())
    if key in _CACHE:
        return _CACHE[key]
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):  # two processes at once: the first one's key wins
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
                fh.flush()
                os.fsync(fh.fileno())
        text = ""
        for _ in range(50):  # the creator may not have written it yet
            text = path.read_text(encoding="ascii").strip()
            if text:
                break
            os.sched_yield()
        secret = bytes.fromhex(text)
    except (OSError, ValueError) as exc:
        raise VoxpipeError(f"{path}: cannot read or create the folder's secret key: {exc}") from exc
    if len(secret) < 16:
        raise VoxpipeError(f"{path}: the secret key is too short; delete the file to make a new one")
    _CACHE[key] = secret
    return secret


def keyed_digest(secret: bytes, text: str) -> str:
    """HMAC-SHA256 of ``text`` under ``secret``, in hex."""
    return hmac.new(secret, text.encode("utf-8"), hashlib.sha256).hexdigest()
