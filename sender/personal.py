"""Sending a template: one rendered message per distinct set of values, to every row that has it.

Rows (``id``, ``to``, the placeholders, optionally ``language``) are read a
window at a time. Within a window, rows that render to the same message are
one campaign: a TTS-body provider gets one body for all of their recipients
(in requests of its size), a media provider one hosted file and one request
per chunk. A row that cannot be rendered fails alone with one line naming the
row and field. Campaign ids come from the template and the row ids, never
from the values, so a sensitive value never appears in one.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from voxpipe.pipeline.errors import ManifestError
from voxpipe.pipeline.manifest import iter_records
from voxpipe.pipeline.preparation import ItemResult
from voxpipe.pipeline.store import Store
from voxpipe.pipeline.templates import Template, render_row

from .dispatch import SendSettings
from .journal import Journal
from .message import Message
from .providers import Provider
from .recipients import split_recipients
from .sending import Event, ManifestRow, RowDone, provider_of, send_rows

__all__ = ["GROUP_WINDOW", "iter_send_template", "template_rows"]

GROUP_WINDOW = 10_000
"""Rows read and grouped at a time: rows further apart than this send their shared message twice
(two campaigns), which costs one more request and keeps memory bounded."""

Row = Mapping[str, Any] | tuple[str, Mapping[str, Any]] | ItemResult


def template_rows(
    template: Template, rows: Iterable[Row], *, language: str | None = None, campaign: str | None = None
) -> Iterator[ManifestRow]:
    """The rows grouped into one :class:`ManifestRow` per distinct message (per window of rows)."""
    numbered = enumerate(rows, start=1)
    while window := list(itertools.islice(numbered, GROUP_WINDOW)):
        groups: dict[tuple[str, str | None], list[tuple[str, list[str], Mapping[str, str]]]] = {}
        for n, row in window:
            if isinstance(row, ItemResult):
                yield ManifestRow(row.id, None, [], error=row.error)
                continue
            where, fields = row if isinstance(row, tuple) else (f"row {n}", row)
            rendered = render_row(template, where, fields, language=language or "en")
            if isinstance(rendered, tuple):
                yield ManifestRow(rendered[0], None, [], error=rendered[1])
                continue
            to = fields.get("to") or ""
            if not isinstance(to, (str, list)) or (isinstance(to, list) and not all(isinstance(t, str) for t in to)):
                yield ManifestRow(rendered.id, None, [], error=f"{where}: to must be a string or a list of strings")
                continue
            recipients = list(to) if isinstance(to, list) else split_recipients(to)
            if not recipients:
                yield ManifestRow(rendered.id, None, [], error=f"{where}: to: missing (the row's recipients)")
                continue
            row_language = fields.get("language") if isinstance(fields.get("language"), str) else None
            key = (rendered.text, row_language or language)
            groups.setdefault(key, []).append((rendered.id, recipients, rendered.values))
        for (_, group_language), members in groups.items():
            ids = [m[0] for m in members]
            label = ids[0] if len(ids) == 1 else f"{ids[0]} (+{len(ids) - 1} rows)"
            message = Message(
                text=template.render(members[0][2], group_language or "en"),
                language=group_language,
                template=template,
                values=tuple(members[0][2].items()),
            )
            digest = hashlib.sha256(template.source.encode())
            for row_id in ids:
                digest.update(row_id.encode() + b"\0")
            name = f"{campaign}-{ids[0]}" if campaign else f"t-{digest.hexdigest()[:16]}"
            yield ManifestRow(label, message, [r for m in members for r in m[1]], name)


def iter_send_template(
    provider: Provider | str,
    template: Template | str,
    rows: Iterable[Row] | Path | str,
    *,
    store: Store | str | None = None,
    journal: Journal | str | Path | None = None,
    settings: SendSettings | None = None,
    dry_run: bool = False,
    campaign: str | None = None,
) -> Iterator[Event | RowDone]:
    """Send ``template`` filled from each row of ``rows`` (an iterable of mappings, or a CSV/JSONL path).

    Yields progress events and a :class:`~voxpipe.sender.sending.RowDone` per
    distinct message (its ``id`` names the first row and how many share it).
    """
    settings = settings or SendSettings()
    provider = provider_of(provider)
    if not dry_run:
        provider.require_credentials()
    if isinstance(template, str):
        template = Template.parse(template)
    if isinstance(rows, (str, Path)):
        path = Path(rows)
        rows = iter_records(path, "send")
        first = next(iter(rows), None)  # an unreadable file is one line before any work
        if first is None:
            raise ManifestError(f"{path}: no rows to send")
        rows = itertools.chain([first], rows)
    grouped = template_rows(template, rows, language=settings.prepare.language, campaign=campaign)
    yield from send_rows(provider, grouped, store=store, journal=journal, settings=settings, dry_run=dry_run)
