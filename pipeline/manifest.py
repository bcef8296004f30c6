"""Batch inputs: manifests (CSV or JSONL), markup/text files, audio files, folders.

A manifest row needs ``id`` and one of ``text`` (plain text or markup),
``ssml`` (markup), ``ssml_file`` (a file of markup, relative to the
manifest's folder) or ``audio``; optional ``engine``, ``voice``,
``language`` and ``profiles`` (a list, or names separated by spaces, commas
or semicolons). Other columns are ignored here (a send manifest carries
recipients in the same file). A bad row becomes an error result naming its
id (or its line) and the batch goes on.

A file whose rows cannot be told apart is refused as a whole, naming the
file and line: a quote that is never closed or that swallows whole rows, a
header naming a column twice, a header with no rows. Manifests are read up
to :data:`~pipeline.textfile.MAX_MANIFEST_BYTES`; a CSV field holds at most
131,072 characters (Python's csv limit, above any text we would speak).
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from .errors import ManifestError, VoxpipeError
from .preparation import Item, ItemResult
from .textfile import MAX_MANIFEST_BYTES, MAX_MARKUP_FILE_BYTES, open_text_file, read_text_file
from .urlcheck import url_problem

__all__ = [
    "AUDIO_SUFFIXES",
    "ID_RULE",
    "MANIFEST_SUFFIXES",
    "MAX_LINE_CHARS",
    "TEXT_SUFFIXES",
    "Row",
    "expand_sources",
    "iter_records",
    "looks_like_path",
    "read_manifest",
    "read_records",
    "row_text",
    "valid_id",
]

MANIFEST_SUFFIXES = (".csv", ".jsonl")
TEXT_SUFFIXES = (".ssml", ".xml", ".txt")
AUDIO_SUFFIXES = (".wav", ".mp3", ".ogg", ".opus", ".flac", ".m4a", ".aac", ".webm")
MAX_LINE_CHARS = 1_000_000
"""Longest JSONL line read when streaming (a row of a template's data is a few hundred)."""
ID_RULE = "1-128 letters, digits, '.', '_', ':' or '-', starting with a letter or digit"
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")

Record = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class Row:
    """A manifest row: the item to prepare plus every column as read."""

    item: Item
    fields: dict[str, Any]


def valid_id(value: str) -> bool:
    """Whether ``value`` is a usable item id (it becomes part of file names and reports)."""
    return bool(_ID_RE.match(value))


def looks_like_path(value: str) -> bool:
    """Whether markup text is more likely a file path: no ``<``, no whitespace, and a ``/`` or a
    markup/text file suffix. Such a value was once spoken as the message."""
    v = value.strip()
    return (
        bool(v) and "<" not in v and not any(c.isspace() for c in v) and ("/" in v or v.lower().endswith(TEXT_SUFFIXES))
    )


def row_text(fields: dict[str, Any], base_dir: Path) -> str | None:
    """The text of a row from ``text``, ``ssml`` or ``ssml_file`` (read from ``base_dir``), or None.

    Raises ManifestError (one line) for a bad combination, a path in ``ssml`` or an unreadable file.
    """
    given = [k for k in ("text", "ssml", "ssml_file") if fields.get(k) not in (None, "")]
    if len(given) > 1:
        raise ManifestError(f"give one of {', '.join(given)}, not {len(given)}")
    if not given:
        return None
    key = given[0]
    value = fields[key]
    if not isinstance(value, str):
        raise ManifestError(f"{key} must be a string")
    if key == "ssml" and looks_like_path(value):
        raise ManifestError(f"ssml {value.strip()!r} looks like a file path; put files in an ssml_file column")
    if key == "ssml_file":
        return read_text_file(base_dir / value.strip(), max_bytes=MAX_MARKUP_FILE_BYTES, error=ManifestError)
    return value


def _profiles(value: Any) -> tuple[str, ...] | None:
    if value in (None, ""):
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        names = value
    elif isinstance(value, str):
        names = re.split(r"[\s,;]+", value.strip())
    else:
        raise ValueError("profiles must be a list of names or a string of names")
    return tuple(n for n in names if n) or None


def _row(fields: dict[str, Any], where: str, base_dir: Path) -> Row | ItemResult:
    raw_id = fields.get("id")
    item_id = str(raw_id).strip() if raw_id not in (None, "") else ""
    label = item_id or where

    def bad(reason: str) -> ItemResult:
        return ItemResult(label, "error", error=f"{where}: {reason}")

    if not item_id:
        return bad("missing id")
    if not valid_id(item_id):
        return bad(f"id {item_id!r} must be {ID_RULE}")
    for key in ("audio", "engine", "voice", "language"):
        if fields.get(key) not in (None, "") and not isinstance(fields[key], str):
            return bad(f"{key} must be a string")
    audio = fields.get("audio") or None
    problem = url_problem(audio) if audio and "://" in audio else None
    if problem:
        return bad(f"audio {audio}: {problem}")
    try:
        text = row_text(fields, base_dir) or None
    except ManifestError as exc:
        return bad(str(exc))
    if text is not None and audio is not None:
        return bad("give text or audio, not both")
    if text is None and audio is None:
        return bad("needs a text, ssml, ssml_file or audio column")
    try:
        profiles = _profiles(fields.get("profiles"))
    except ValueError as exc:
        return bad(str(exc))
    item = Item(
        id=item_id,
        text=text,
        audio=audio,
        engine=fields.get("engine") or None,
        voice=fields.get("voice") or None,
        language=fields.get("language") or None,
        profiles=profiles,
    )
    return Row(item, dict(fields))


# --------------------------------------------------------------------------- JSONL


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError(f"key {key!r} appears twice")
        obj[key] = value
    return obj


def _jsonl_lines(stream: TextIO) -> Iterator[str | None]:
    """Each line (``None`` for one over :data:`MAX_LINE_CHARS`, whose rest is skipped)."""
    while True:
        line = stream.readline(MAX_LINE_CHARS + 1)
        if not line:
            return
        if len(line) > MAX_LINE_CHARS and not line.endswith("\n"):
            while (rest := stream.readline(MAX_LINE_CHARS)) and not rest.endswith("\n"):
                pass
            yield None
            continue
        yield line


def _jsonl_records(path: Path, stream: TextIO) -> Iterator[Record | ItemResult]:
    # The stream splits at "\n" only: U+2028 is allowed inside JSON strings.
    for n, line in enumerate(_jsonl_lines(stream), start=1):
        where = f"{path.name} line {n}"
        if line is None:
            yield ItemResult(where, "error", error=f"{where}: longer than {MAX_LINE_CHARS:,} characters")
            continue
        if not line.strip():
            continue
        try:
            obj = json.loads(line, parse_constant=_no_constants, object_pairs_hook=_unique_keys)
        except json.JSONDecodeError as exc:
            yield ItemResult(where, "error", error=f"{where}: invalid JSON: {exc.msg}")
            continue
        except RecursionError:
            yield ItemResult(where, "error", error=f"{where}: invalid JSON: nested too deeply")
            continue
        except ValueError as exc:  # a duplicate key, NaN/Infinity, an integer over Python's digit limit
            reason = str(exc)
            if "integer string conversion" in reason:
                reason = f"a number with more than {sys.get_int_max_str_digits()} digits"
            yield ItemResult(where, "error", error=f"{where}: invalid JSON: {reason}")
            continue
        if not isinstance(obj, dict):
            yield ItemResult(where, "error", error=f"{where}: expected a JSON object")
            continue
        yield where, obj


# --------------------------------------------------------------------------- CSV


def _csv_problem(exc: csv.Error, start: int, line: int) -> str:
    reason = str(exc)
    if "field larger than field limit" in reason:
        return f"line {start}: a field longer than {csv.field_size_limit():,} characters"
    if "unexpected end of data" in reason:
        return f"line {start}: a quote opened here is never closed"
    if "expected after" in reason:
        return f'line {line}: text after a closing quote (inside a quoted field write a quote as ""; a quote may be missing)'
    return f"line {line}: {reason}"


def _swallowed_row(field: str, width: int) -> bool:
    """Whether a multi-line field holds a line that reads as a whole row of its own: a quote was
    left open on an earlier line and closed on a later one, merging the rows between."""
    for line in field.splitlines()[1:]:
        cells = next(csv.reader([line]), [])
        if len(cells) == width and valid_id(cells[0].strip()):
            return True
    return False


def _csv_records(path: Path, stream: TextIO) -> Iterator[Record | ItemResult]:
    reader = csv.reader(stream, strict=True)
    header: list[str] | None = None
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise ManifestError(f"{path} {_csv_problem(exc, start, reader.line_num)}") from exc
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue
        if header is None:
            header = [c.strip() for c in cells]
            named = [h for h in header if h]
            twice = sorted({h for h in named if named.count(h) > 1})
            if twice:
                raise ManifestError(f"{path} line {start}: column {twice[0]!r} appears more than once in the header")
            if "id" not in header:
                raise ManifestError(f"{path}: the CSV header must name an id column (found: {header})")
            continue
        end = reader.line_num
        if end > start and any("\n" in c or "\r" in c for c in cells) and _swallowed_row("\n".join(cells), len(header)):
            raise ManifestError(
                f"{path} line {start}: a quoted field runs on to line {end} and holds whole rows; is a quote missing?"
            )
        where = f"{path.name} line {start}"
        if len(cells) != len(header):
            label = cells[header.index("id")].strip() if len(cells) > header.index("id") else ""
            more = "more" if len(cells) > len(header) else "fewer"
            problem = f"{where}: {more} fields than the header ({len(cells)}, not {len(header)})"
            yield ItemResult(label or where, "error", error=problem)
            continue
        fields = {k: (v if k in ("text", "ssml") else v.strip()) for k, v in zip(header, cells, strict=False) if k}
        yield where, fields
    if header is None:
        raise ManifestError(f"{path}: empty; a CSV manifest starts with a header naming its columns (id, ...)")


def read_records(path: Path, purpose: str = "read") -> list[Record | ItemResult]:
    """The rows of a CSV or JSONL file as (where, fields); an unreadable row is an error result.

    Shared by ``prepare`` and ``send`` manifests (``purpose`` names the verb in
    the "no rows" error). A file that cannot be read or split into rows, or that
    has no rows, raises ManifestError naming the file (and line).
    """
    suffix = path.suffix.lower()
    if suffix not in MANIFEST_SUFFIXES:
        raise ManifestError(f"{path}: a manifest is .csv or .jsonl")
    text = read_text_file(path, max_bytes=MAX_MANIFEST_BYTES, error=ManifestError)
    newline = "\n" if suffix == ".jsonl" else ""
    return list(_records(path, io.StringIO(text, newline=newline), purpose))


def _records(path: Path, stream: TextIO, purpose: str) -> Iterator[Record | ItemResult]:
    suffix = path.suffix.lower()
    rows = _jsonl_records(path, stream) if suffix == ".jsonl" else _csv_records(path, stream)
    empty = True
    for row in rows:
        empty = False
        yield row
    if empty:
        only = " (only a header)" if suffix == ".csv" else ""
        raise ManifestError(f"{path}: no rows to {purpose}{only}")


def iter_records(path: Path, purpose: str = "read") -> Iterator[Record | ItemResult]:
    """:func:`read_records` streamed: rows are read as they are wanted, with no limit on the file's size.

    For data files of any length (a template's rows): memory stays that of
    one row. Errors are those of :func:`read_records`, raised when reached.
    """
    suffix = path.suffix.lower()
    if suffix not in MANIFEST_SUFFIXES:
        raise ManifestError(f"{path}: a data file is .csv or .jsonl")
    with open_text_file(path, error=ManifestError, newline="\n" if suffix == ".jsonl" else "") as stream:
        try:
            yield from _records(path, stream, purpose)
        except UnicodeDecodeError as exc:
            raise ManifestError(f"{path}: cannot read it as UTF-8 text ({exc.reason})") from exc
        except OSError as exc:
            raise ManifestError(f"{path}: cannot read: {exc.strerror or exc}") from exc


def read_manifest(path: Path) -> list[Row | ItemResult]:
    """Rows of a CSV or JSONL manifest; unreadable files raise ManifestError."""
    return [r if isinstance(r, ItemResult) else _row(r[1], r[0], path.parent) for r in read_records(path, "prepare")]


def _file_rows(path: Path) -> list[Row | ItemResult]:
    suffix = path.suffix.lower()
    if suffix in MANIFEST_SUFFIXES:
        return read_manifest(path)
    if suffix in TEXT_SUFFIXES:
        try:
            text = read_text_file(path, max_bytes=MAX_MARKUP_FILE_BYTES)
        except VoxpipeError as exc:
            return [ItemResult(path.stem, "error", error=str(exc))]
        return [Row(Item(id=path.stem, text=text), {"id": path.stem})]
    if suffix in AUDIO_SUFFIXES:
        return [Row(Item(id=path.stem, audio=str(path)), {"id": path.stem})]
    return [ItemResult(path.name, "error", error=f"{path}: not a manifest, markup, text or audio file")]


def expand_sources(sources: list[Path]) -> Iterator[Row | ItemResult]:
    """Rows from every source; a folder contributes its manifest, text and audio files."""
    seen: set[str] = set()
    for source in sources:
        if source.is_dir():
            known = MANIFEST_SUFFIXES + TEXT_SUFFIXES + AUDIO_SUFFIXES
            files = sorted(p for p in source.iterdir() if p.is_file() and p.suffix.lower() in known)
            if not files:
                raise ManifestError(f"{source}: no manifests, markup or audio files in this folder")
        elif source.is_file():
            files = [source]
        elif source.exists():
            raise ManifestError(f"{source}: a FIFO, socket or device, not a regular file or folder")
        else:
            raise ManifestError(f"{source}: no such file or folder")
        for path in files:
            for row in _file_rows(path):
                if isinstance(row, Row):
                    if row.item.id in seen:
                        yield ItemResult(row.item.id, "error", error=f"{path.name}: duplicate id {row.item.id!r}")
                        continue
                    seen.add(row.item.id)
                yield row
