"""Everything the CLI says about failures goes through here, so no secret reaches a terminal or a report.

Error texts come from libraries and may quote a URL the user gave (with a
password or a presigned query) or a callback path (with the hook secret).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import click

from voxpipe.pipeline.redaction import redact_text

__all__ = [
    "FLAGS",
    "REDACTOR_KEY",
    "_ERROR_KEYS",
    "_PARAM",
    "_URL_PASSWORD",
    "StreamedReport",
    "check_report_target",
    "echo_err",
    "error_line",
    "flag_names",
    "forget_in_logs",
    "hide_url_passwords",
    "redact_errors",
    "url_passwords",
    "write_report",
]

FLAGS = {
    "text": "--text/--ssml/--ssml-file",
    "audio": "--audio",
    "media_url": "--media-url",
    "mode": "--mode",
    "store": "--store",
    "cluster": "--cluster",
    "recipients": "--to/--recipients",
    "api_url": "--api-url",
    "concurrency": "--concurrency",
    "rate_per_s": "--rate",
    "timeout_s": "--timeout",
    "max_chars": "--max-chars",
    "max_seconds": "--max-seconds",
    "resend_unknown": "--resend-unknown",
    "campaign": "--campaign",
    "wait": "--wait",
    "allow_vanity": "--allow-vanity",
    "default_region": "--default-region",
    "language": "--language",
}
"""Library parameter -> the flags that give it, for error lines."""

_PARAM = re.compile(r"`([a-z_]+)`")


def flag_names(message: str) -> str:
    """A library message with its `parameter` names written as this command line's flags."""
    return _PARAM.sub(lambda m: FLAGS.get(m.group(1), m.group(1)), message)


_ERROR_KEYS = ("error", "reason", "warnings")
REDACTOR_KEY = "voxpipe.log_redactor"


def forget_in_logs(secrets: Iterable[str]) -> None:
    """Have the CLI's log filter blank out these values too (credentials given as flags)."""
    ctx = click.get_current_context(silent=True)
    redactor = ctx.find_root().meta.get(REDACTOR_KEY) if ctx else None
    if redactor is not None:
        redactor.add_secrets(secrets)


def echo_err(text: str) -> None:
    """One line on stderr, secrets redacted, library parameter names written as flags."""
    click.echo(flag_names(redact_text(text)), err=True)


_URL_PASSWORD = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]{1,15}://[^/@\s:?#\"'<>]*):[^@/\s?#\"'<>]*@")


def url_passwords(*urls: str | None) -> set[str]:
    """The passwords in these URLs (``https://user:pass@host``), to hide wherever they are echoed."""
    found = set()
    for url in urls:
        if url and "://" in url:
            userinfo = url.split("://", 1)[1].split("/", 1)[0].rpartition("@")[0]
            if ":" in userinfo:
                found.add(userinfo.split(":", 1)[1])
    return found


def hide_url_passwords(data: Any, passwords: Iterable[str] = ()) -> Any:
    """``data`` (text, or a report made of dicts and lists) with every URL password replaced by ``***``:
    in plain URLs, and in percent-encoded ones (a media URL inside a query string) for ``passwords``."""
    if isinstance(data, list):
        return [hide_url_passwords(v, passwords) for v in data]
    if isinstance(data, dict):
        return {k: hide_url_passwords(v, passwords) for k, v in data.items()}
    if not isinstance(data, str):
        return data
    text = _URL_PASSWORD.sub(r"\1:***@", data)
    for password in passwords:
        for form in {quote(password, safe=""), quote_plus(password)}:
            text = re.sub(rf"(?i)%3A{re.escape(form)}%40", "%3A***%40", text)
    return text


def error_line(item_id: str, error: str | None) -> str:
    """``error  <id>: <reason>``, without repeating an id the reason already starts with."""
    reason = error or "failed"
    return f"error  {reason}" if reason.startswith(f"{item_id}:") else f"error  {item_id}: {reason}"


def redact_errors(data: Any) -> Any:
    """``data`` (a report) with every ``error``/``reason``/``warnings`` text redacted; media URLs are kept."""
    if isinstance(data, list):
        return [redact_errors(v) for v in data]
    if not isinstance(data, dict):
        return data
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key in _ERROR_KEYS and isinstance(value, str):
            out[key] = flag_names(redact_text(value))
        elif key in _ERROR_KEYS and isinstance(value, list):
            out[key] = [flag_names(redact_text(v)) if isinstance(v, str) else v for v in value]
        else:
            out[key] = redact_errors(value)
    return out


def check_report_target(path: Path) -> None:
    """Refuse a --report target that could not be written, before any work is done.

    It must be a regular file or not exist yet, in a folder that exists (or can
    be made) and takes new files: the report is written next to it and renamed.
    """
    where = f"--report {path}"
    try:
        if path.exists():
            mode = path.stat().st_mode
            if stat.S_ISDIR(mode):
                raise click.ClickException(f"{where}: a folder, not a file")
            if not stat.S_ISREG(mode):
                raise click.ClickException(f"{where}: a FIFO, socket or device, not a regular file")
        folder = path.parent
        while not folder.exists():
            folder = folder.parent
        if not folder.is_dir():
            raise click.ClickException(f"{where}: {folder} is not a folder")
        if folder == path.parent:
            with tempfile.NamedTemporaryFile(dir=folder, prefix=f".{path.name}.", suffix=".probe"):
                pass
        elif not os.access(folder, os.W_OK | os.X_OK):
            raise click.ClickException(f"{where}: cannot create folders in {folder}")
    except OSError as exc:
        raise click.ClickException(f"{where}: cannot write there: {exc.strerror or exc}") from exc


def write_report(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all (temporary file, then rename)."""
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # as an ordinary new file would be, not mkstemp's 0600
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise click.ClickException(f"--report {path}: cannot write it: {exc.strerror or exc}") from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


class StreamedReport:
    """A JSON report ``{"items": [...], "summary": {...}}`` written item by item, for batches too long to hold.

    The file (``--report``) is written next to its target and renamed at
    :meth:`close`, so it is whole or absent; with ``to_stdout`` the same JSON
    goes to stdout as it is made.
    """

    def __init__(self, path: Path | None, *, to_stdout: bool = False) -> None:
        self.path = path
        self.to_stdout = to_stdout
        self._count = 0
        self._tmp: str | None = None
        self._out: Any = None
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd, self._tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
                umask = os.umask(0)
                os.umask(umask)
                os.fchmod(fd, 0o666 & ~umask)
                self._out = os.fdopen(fd, "w", encoding="utf-8")
            except OSError as exc:
                raise click.ClickException(f"--report {path}: cannot write it: {exc.strerror or exc}") from exc
        self._write('{\n "items": [')

    def _write(self, text: str) -> None:
        if self.to_stdout:
            click.echo(text, nl=False)
        if self._out is not None:
            try:
                self._out.write(text)
            except OSError as exc:
                raise click.ClickException(f"--report {self.path}: cannot write it: {exc.strerror or exc}") from exc

    def add(self, item: dict[str, Any]) -> None:
        self._write(("," if self._count else "") + "\n  " + json.dumps(item))
        self._count += 1

    def close(self, summary: dict[str, Any]) -> None:
        """End the report with ``summary`` and put the file in place."""
        self._write(("\n " if self._count else "") + '],\n "summary": ' + json.dumps(summary) + "\n}\n")
        if self._out is not None and self._tmp is not None:
            try:
                self._out.close()
                os.replace(self._tmp, str(self.path))
                self._tmp = None
            except OSError as exc:
                raise click.ClickException(f"--report {self.path}: cannot write it: {exc.strerror or exc}") from exc

    def discard(self) -> None:
        """Remove the unfinished file (the batch stopped)."""
        if self._out is not None:
            with contextlib.suppress(OSError):
                self._out.close()
        if self._tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._tmp)
            self._tmp = None
