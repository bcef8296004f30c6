"""Small helpers for reading command-line inputs."""

from __future__ import annotations

from pathlib import Path


def read_ssml(value: str) -> str:
    """--ssml takes markup text or the path of a file holding it."""
    path = Path(value)
    if "<" not in value and len(value) < 4096 and path.is_file():
        return path.read_text(encoding="utf-8")
    return value


def error_line(item_id: str, error: str | None) -> str:
    """``error  <id>: <reason>``, without repeating an id the reason already starts with."""
    reason = error or "failed"
    return f"error  {reason}" if reason.startswith(f"{item_id}:") else f"error  {item_id}: {reason}"
