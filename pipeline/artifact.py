"""Artifacts: encoded files plus their measured facts, named by content.

A file's name is a hash over everything that decides its bytes (normalised
input, engine, voice and versions, profile settings), so preparing the same
thing twice finds the file already there, and a URL built from the name never
points at changed bytes. Files are written to a temporary name and renamed,
so an interrupted run never leaves a half-written file under a final name.
A JSON sidecar (``NAME.json``) keeps the measured facts for reuse.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

__all__ = [
    "Artifact",
    "atomic_path",
    "content_key",
    "load_sidecar",
    "remove_stale_parts",
    "sha256_file",
    "sidecar_path",
    "write_sidecar",
]

# Bump when the mastering or encoding code changes the bytes it produces.
PIPELINE_VERSION = "6"  # 6: PyAV encoders, look-ahead limiter, trim margin (4); codes read with pauses (5)


@dataclass(frozen=True)
class Artifact:
    """One encoded file and what was measured by decoding it after writing."""

    path: Path
    profile: str
    mime: str
    sha256: str
    bytes: int
    duration_s: float
    sample_rate: int
    channels: int
    lufs: float
    true_peak_dbtp: float
    container: str = ""
    codec: str = ""
    bitrate_kbps: int | None = None
    reused: bool = False
    warnings: tuple[str, ...] = field(default=())
    media_url: str | None = None
    """Where a provider can fetch it, once hosted (see :mod:`voxpipe.pipeline.store`)."""
    expires_at: str | None = None
    """When a presigned ``media_url`` stops working (ISO 8601, UTC)."""

    @property
    def name(self) -> str:
        return self.path.name

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["path"] = str(self.path)
        data["warnings"] = list(self.warnings)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Artifact:
        data = {k: v for k, v in data.items() if k in _FIELDS}
        data["path"] = Path(data["path"])
        data["warnings"] = tuple(data.get("warnings", ()))
        return cls(**data)

    def reused_at(self, path: Path) -> Artifact:
        return replace(self, path=path, reused=True)


_FIELDS = set(Artifact.__dataclass_fields__)


def content_key(parts: dict[str, Any]) -> str:
    """A stable hex digest over a JSON-able description of the inputs."""
    blob = json.dumps({"pipeline": PIPELINE_VERSION, **parts}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# Temporary files are ".NAME.pid<PID>-<random>.part<ext>": the owner's pid tells a
# file being written now from one left by a killed run.
_PART = re.compile(r"^\..+\.part(\.[A-Za-z0-9]+)?$")
_PART_OWNER = re.compile(r"\.pid(\d+)-[^.]+\.part(\.[A-Za-z0-9]+)?$")
#: A part file older than this is stale whoever owns it (a pid may have been reused).
STALE_PART_S = 24 * 3600.0
#: A part file without an owner pid (written by an older voxpipe) is stale after this.
STALE_UNOWNED_PART_S = 3600.0


@contextlib.contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; rename it into place on success."""
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{final.name}.pid{os.getpid()}-", suffix=".part" + final.suffix, dir=final.parent
    )
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return pid > 0  # exists but belongs to someone else (or is no valid pid)
    return True


def remove_stale_parts(folder: Path) -> list[Path]:
    """Delete temporary files a killed run left in ``folder``; return what was removed.

    A part file is stale when the process named in it is gone, when it is
    older than :data:`STALE_PART_S` (pids get reused), or, without an owner
    pid, older than :data:`STALE_UNOWNED_PART_S`. Files of a run still going
    into the same folder are left alone. Assumes the runs sharing a folder
    share a pid namespace (one machine, one container).
    """
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        if not _PART.match(entry.name):
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            age = now - entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue
        owner = _PART_OWNER.search(entry.name)
        if owner is not None:
            stale = age > STALE_PART_S or not _alive(int(owner.group(1)))
        else:
            stale = age > STALE_UNOWNED_PART_S
        if stale:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def write_sidecar(artifact: Artifact) -> None:
    data = artifact.to_dict()
    for transient in ("reused", "media_url", "expires_at"):
        data.pop(transient)
    data["path"] = artifact.path.name
    with atomic_path(sidecar_path(artifact.path)) as tmp:
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")


def load_sidecar(path: Path) -> Artifact | None:
    """The artifact at ``path`` if it and its sidecar exist and agree; else None."""
    side = sidecar_path(path)
    try:
        data = json.loads(side.read_text(encoding="utf-8"))
        size = path.stat().st_size
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("bytes") != size:
        return None
    data["path"] = str(path)
    try:
        return Artifact.from_dict(data).reused_at(path)
    except TypeError:
        return None
