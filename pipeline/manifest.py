"""Batch inputs: manifests (CSV or JSONL), markup/text files, audio files, folders.

A manifest row needs ``id`` and one of ``text`` or ``audio``; optional
``engine``, ``voice``, ``language`` and ``profiles`` (a list, or names
separated by spaces, commas or semicolons). Other columns are ignored here
(a send manifest carries recipients in the same file). A bad row becomes an
error result naming its id (or its line) and the batch goes on.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from .errors import ManifestError
from .preparation import Item, ItemResult

__all__ = ["AUDIO_SUFFIXES", "MANIFEST_SUFFIXES", "TEXT_SUFFIXES", "Row", "expand_sources", "read_manifest", "read_records"]

MANIFEST_SUFFIXES = (".csv", ".jsonl")
TEXT_SUFFIXES = (".ssml", ".xml", ".txt")
AUDIO_SUFFIXES = (".wav", ".mp3", ".ogg", ".opus", ".flac", ".m4a", ".aac", ".webm")
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")


@dataclass(frozen=True)
class Row:
    """A manifest row: the item to prepare plus every column as read."""

    item: Item
    fields: dict[str, Any]


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


def _row(fields: dict[str, Any], where: str) -> Row | ItemResult:
    raw_id = fields.get("id")
    item_id = str(raw_id).strip() if raw_id not in (None, "") else ""
    label = item_id or where

    def bad(reason: str) -> ItemResult:
        return ItemResult(label, "error", error=f"{where}: {reason}")

    if not item_id:
        return bad("missing id")
    if not _ID_RE.match(item_id):
        return bad(f"id {item_id!r} must be 1-128 letters, digits, '.', '_', ':' or '-'")
    text = fields.get("text") or None
    audio = fields.get("audio") or None
    if text is not None and audio is not None:
        return bad("give text or audio, not both")
    if text is None and audio is None:
        return bad("needs a text or an audio column")
    for key in ("text", "audio", "engine", "voice", "language"):
        if fields.get(key) not in (None, "") and not isinstance(fields[key], str):
            return bad(f"{key} must be a string")
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


def read_records(path: Path) -> list[tuple[str, dict[str, Any]] | ItemResult]:
    """The rows of a CSV or JSONL file as (where, fields); an unreadable row is an error result.

    Shared by ``prepare`` and ``send`` manifests; a file that cannot be read at
    all raises ManifestError.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path}: cannot read: {exc}") from exc
    records: list[tuple[str, dict[str, Any]] | ItemResult] = []
    if path.suffix.lower() == ".jsonl":
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{path.name} line {n}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                records.append(ItemResult(where, "error", error=f"{where}: invalid JSON: {exc.msg}"))
                continue
            if not isinstance(obj, dict):
                records.append(ItemResult(where, "error", error=f"{where}: expected a JSON object"))
                continue
            records.append((where, obj))
    elif path.suffix.lower() == ".csv":
        reader = csv.DictReader(text.splitlines(keepends=True))
        if not reader.fieldnames or "id" not in reader.fieldnames:
            raise ManifestError(f"{path}: the CSV header must name an id column (found: {reader.fieldnames})")
        for n, record in enumerate(reader, start=2):
            where = f"{path.name} line {n}"
            if None in record:
                records.append(ItemResult(record.get("id") or where, "error", error=f"{where}: more fields than the header"))
                continue
            records.append((where, {k: (v.strip() if k != "text" else v) for k, v in record.items() if v is not None}))
    else:
        raise ManifestError(f"{path}: a manifest is .csv or .jsonl")
    return records


def read_manifest(path: Path) -> list[Row | ItemResult]:
    """Rows of a CSV or JSONL manifest; unreadable files raise ManifestError."""
    return [r if isinstance(r, ItemResult) else _row(r[1], r[0]) for r in read_records(path)]


def _file_rows(path: Path) -> list[Row | ItemResult]:
    suffix = path.suffix.lower()
    if suffix in MANIFEST_SUFFIXES:
        return read_manifest(path)
    if suffix in TEXT_SUFFIXES:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            return [ItemResult(path.stem, "error", error=f"{path}: cannot read: {exc}")]
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
