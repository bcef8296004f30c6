"""Small helpers for reading command-line inputs."""

from __future__ import annotations

from pathlib import Path

from pipeline.errors import MarkupError


def read_ssml(value: str) -> str:
    """--ssml takes markup text or the path of a file holding it."""
    path = Path(value)
    if "<" not in value and len(value) < 4096 and path.is_file():
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise MarkupError(f"{path}: cannot read it as UTF-8 text: {exc}") from exc
    return value


def error_line(item_id: str, error: str | None) -> str:
    """``error  <id>: <reason>``, without repeating an id the reason already starts with."""
    reason = error or "failed"
    return f"error  {reason}" if reason.startswith(f"{item_id}:") else f"error  {item_id}: {reason}"
