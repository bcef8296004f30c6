"""Reading command-line inputs: markup text or a markup file, never a guess between them."""

from __future__ import annotations

from pathlib import Path

import click

from voxpipe.pipeline.errors import MarkupError
from voxpipe.pipeline.manifest import looks_like_path
from voxpipe.pipeline.textfile import MAX_MARKUP_FILE_BYTES, read_text_file

__all__ = ["message_text", "read_ssml_file", "ssml_text"]


def ssml_text(value: str) -> str:
    """--ssml takes markup text only; a value that looks like a path is refused, not spoken."""
    if looks_like_path(value):
        raise click.BadParameter(
            f"{value.strip()!r} looks like a file path; for a file of markup use --ssml-file {value.strip()}",
            param_hint="--ssml",
        )
    return value


def read_ssml_file(path: Path) -> str:
    """The markup in ``path`` (a regular UTF-8 file of at most 1 MiB)."""
    return read_text_file(path, max_bytes=MAX_MARKUP_FILE_BYTES, error=MarkupError)


def message_text(text: str | None, ssml: str | None, ssml_file: Path | None) -> str | None:
    """The one text given by --text, --ssml or --ssml-file (None when none was)."""
    given = [flag for flag, v in (("--text", text), ("--ssml", ssml), ("--ssml-file", ssml_file)) if v is not None]
    if len(given) > 1:
        raise click.UsageError(f"give only one of {', '.join(given)}")
    if ssml is not None:
        return ssml_text(ssml)
    if ssml_file is not None:
        return read_ssml_file(ssml_file)
    return text
