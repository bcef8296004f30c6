"""Personalised messages: one template, a stream of rows, one prepared message per row.

``prepare_template(template, rows, settings)`` renders each row (values
checked against their placeholders; a bad row fails alone), prepares the
rendered messages on worker processes and hosts them, yielding each result as
it is done. Nothing is held back: a million rows cost the memory of a few.
Rows with the same values share files (content addressing), so a repeated
message is prepared once.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from .manifest import iter_records
from .preparation import Item, ItemResult, PrepareSettings
from .runner import prepare_many
from .store import Store
from .store.publish import publish
from .templates import Template, render_row

__all__ = ["PUBLISH_BATCH", "iter_data", "prepare_template", "template_items"]

PUBLISH_BATCH = 32
"""Results hosted together (uploads run in parallel within a group)."""


def iter_data(path: Path) -> Iterator[tuple[str, Mapping[str, Any]] | ItemResult]:
    """The rows of a CSV or JSONL data file, streamed: (where, columns), or an error result for a row that cannot be read."""
    return iter_records(path, "prepare")


def template_items(
    template: Template,
    rows: Iterable[Mapping[str, Any] | tuple[str, Mapping[str, Any]] | ItemResult],
    settings: PrepareSettings = PrepareSettings(),
) -> Iterator[Item | ItemResult]:
    """Each row as an :class:`Item` of rendered markup, or an error result naming the row and field.

    A row is a mapping (``id``, the placeholders, optionally ``language``), a
    (where, mapping) pair as :func:`iter_data` gives, or an error result,
    which is passed through.
    """
    language = settings.language or "en"
    for n, row in enumerate(rows, start=1):
        if isinstance(row, ItemResult):
            yield row
            continue
        where, fields = row if isinstance(row, tuple) else (f"row {n}", row)
        rendered = render_row(template, where, fields, language=language)
        if isinstance(rendered, tuple):
            yield ItemResult(rendered[0], "error", error=rendered[1])
            continue
        row_language = fields.get("language")
        yield Item(
            rendered.id,
            text=rendered.text,
            language=row_language if isinstance(row_language, str) and row_language else None,
            template=template,
            values=tuple(rendered.values.items()),
        )


def prepare_template(
    template: Template | str,
    rows: Iterable[Mapping[str, Any] | tuple[str, Mapping[str, Any]] | ItemResult],
    settings: PrepareSettings = PrepareSettings(),
    store: Store | None = None,
) -> Iterator[ItemResult]:
    """Prepare (and host, with ``store``) one message per row of ``rows``, yielding results as they are done.

    ``template`` is a :class:`Template` or its markup. Results come in the
    order they complete; each names its row's ``id``.
    """
    if isinstance(template, str):
        template = Template.parse(template)
    results = prepare_many(template_items(template, rows, settings), settings, store)
    if store is None:
        yield from results
        return
    while group := list(itertools.islice(results, PUBLISH_BATCH)):
        yield from publish(group, store)
