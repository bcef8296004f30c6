"""Reading a user's input file (manifest, recipients, markup) without blocking or running away.

A FIFO given as an input blocks a plain ``open`` until a writer appears, and
``/dev/zero`` never ends. The file is opened non-blocking, checked to be a
regular file on the descriptor that was opened (no race with a swap), and
read up to a documented size.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TextIO

from .errors import VoxpipeError

__all__ = ["MAX_MANIFEST_BYTES", "MAX_MARKUP_FILE_BYTES", "MAX_RECIPIENTS_BYTES", "open_text_file", "read_text_file"]

MiB = 1024 * 1024
MAX_MANIFEST_BYTES = 64 * MiB
MAX_RECIPIENTS_BYTES = 64 * MiB
MAX_MARKUP_FILE_BYTES = 1 * MiB


def _open_regular(path: Path, error: type[VoxpipeError]) -> int:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise error(f"{path}: cannot read: no such file") from None
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror or exc}") from exc
    try:
        info = os.fstat(fd)
    except OSError as exc:
        os.close(fd)
        raise error(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else "a FIFO, socket or device"
        raise error(f"{path}: {kind}, not a regular file")
    return fd


def open_text_file(path: Path, *, error: type[VoxpipeError] = VoxpipeError, newline: str | None = "") -> TextIO:
    """A regular file opened for streaming as UTF-8 text (a byte-order mark is skipped).

    For inputs too large to hold at once (a template's data rows); reading
    raises ``UnicodeDecodeError`` where the bytes are not UTF-8, for the
    caller to name the line.
    """
    fd = _open_regular(path, error)
    os.set_blocking(fd, True)
    return open(fd, encoding="utf-8-sig", newline=newline)


def read_text_file(
    path: Path, *, max_bytes: int, error: type[VoxpipeError] = VoxpipeError, encoding: str = "utf-8-sig"
) -> str:
    """The UTF-8 text of a regular file of at most ``max_bytes``, or ``error`` with one line naming it."""
    fd = _open_regular(path, error)
    try:
        if os.fstat(fd).st_size > max_bytes:
            raise error(f"{path}: {os.fstat(fd).st_size:,} bytes; at most {max_bytes:,} are read")
        with os.fdopen(os.dup(fd), "rb") as stream:
            data = stream.read(max_bytes + 1)  # st_size can be 0 for files that still have content (/proc)
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise error(f"{path}: more than {max_bytes:,} bytes; at most {max_bytes:,} are read")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise error(f"{path}: cannot read it as UTF-8 text ({exc.reason} at byte {exc.start})") from exc
