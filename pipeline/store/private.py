"""Short-lived media for secrets: files of sensitive messages and their signed, expiring URLs.

A sensitive message (a one-time code) is a secret on a URL, so its files are
marked by name (``…-private.mp3``, chosen at preparation) and every store
treats them apart:

* a local store's URL carries ``?expires=EPOCH&token=HMAC``, signed with the
  key in the store folder's ``.voxpipe-secret``; ``voxpipe serve`` answers
  such a file only with a valid, unexpired token (else 404, like a missing
  file) and never lets caches keep it;
* an S3 store keeps them under ``private/`` at the bucket root (outside the
  prefix a public bucket policy opens) and gives presigned URLs, whatever the
  store's URL mode;
* both lifetimes default to :data:`SENSITIVE_EXPIRES_S`.

``voxpipe store gc`` deletes the old ones from a folder; on S3 a lifecycle
rule set by ``voxpipe storage init --expire-days`` does it.
"""

from __future__ import annotations

import contextlib
import hmac
import time
from pathlib import Path
from urllib.parse import parse_qs

from ..artifact import sidecar_path
from ..errors import StoreError
from ..secret import SECRET_FILE, keyed_digest

__all__ = [
    "PRIVATE_MARK",
    "PRIVATE_PREFIX",
    "SENSITIVE_EXPIRES_S",
    "collect_private",
    "is_private",
    "read_secret",
    "signed_query",
    "token_holds",
]

PRIVATE_MARK = "-private"
"""The end of a sensitive file's stem."""
PRIVATE_PREFIX = "private/"
"""Where an S3 store keeps sensitive objects, from the bucket root."""
SENSITIVE_EXPIRES_S = 900
"""Default lifetime of a sensitive message's URL: 15 minutes."""


def is_private(name: str) -> bool:
    """Whether the file (or key) ``name`` holds a sensitive message."""
    stem = name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return stem.endswith(PRIVATE_MARK)


def read_secret(folder: Path) -> bytes | None:
    """The folder's key if it has one (a server must not create it: nothing was signed without it)."""
    try:
        return bytes.fromhex((Path(folder) / SECRET_FILE).read_text(encoding="ascii").strip()) or None
    except (OSError, ValueError):
        return None


def _token(secret: bytes, name: str, expires: int) -> str:
    return keyed_digest(secret, f"media:{name}:{expires}")[:32]


def signed_query(secret: bytes, name: str, lifetime_s: int, now: float | None = None) -> tuple[str, int]:
    """``(query, expires)``: the query string granting ``name`` until ``expires`` (epoch seconds)."""
    expires = int(time.time() if now is None else now) + lifetime_s
    return f"expires={expires}&token={_token(secret, name, expires)}", expires


def token_holds(secret: bytes | None, name: str, query: str, now: float | None = None) -> bool:
    """Whether ``query`` (a raw query string) carries a valid, unexpired token for ``name``."""
    if secret is None:
        return False
    try:
        fields = parse_qs(query, strict_parsing=True, max_num_fields=8)
    except ValueError:
        return False
    expires, token = fields.get("expires", [""]), fields.get("token", [""])
    if len(expires) != 1 or len(token) != 1 or not expires[0].isdecimal() or len(expires[0]) > 12:
        return False
    if int(expires[0]) <= (time.time() if now is None else now):
        return False
    return hmac.compare_digest(token[0], _token(secret, name, int(expires[0])))


def collect_private(folder: Path, older_than_s: float, now: float | None = None) -> list[Path]:
    """Delete the sensitive files in ``folder`` (and their sidecars) modified more than ``older_than_s`` ago.

    Returns what was deleted. Other files are never touched.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise StoreError(f"{folder}: not a directory")
    cutoff = (time.time() if now is None else now) - older_than_s
    removed: list[Path] = []
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        raise StoreError(f"{folder}: cannot list: {exc.strerror or exc}") from exc
    for path in entries:
        if path.suffix == ".json" or not is_private(path.name) or path.is_symlink() or not path.is_file():
            continue
        try:
            if path.stat().st_mtime > cutoff:
                continue
            path.unlink()
        except FileNotFoundError:
            continue  # another collector was first
        except OSError as exc:
            raise StoreError(f"{path}: cannot delete: {exc.strerror or exc}") from exc
        removed.append(path)
        with contextlib.suppress(FileNotFoundError):
            sidecar_path(path).unlink()
    return removed
