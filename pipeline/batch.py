"""A batch: every input prepared (on worker processes), hosted if a store is given, reported in input order.

```python
from voxpipe.pipeline import PrepareSettings, expand_sources, prepare_batch

report = prepare_batch(expand_sources([Path("messages.csv")]), PrepareSettings(out_dir=Path("out")))
print(report.to_dict()["summary"])
```

:func:`iter_prepare` yields each :class:`~voxpipe.pipeline.preparation.ItemResult`
as it completes (for a progress bar), then the :class:`BatchReport`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .manifest import Row
from .preparation import ItemResult, PrepareSettings
from .runner import prepare_many
from .store import Store, publish

__all__ = ["BatchReport", "iter_prepare", "prepare_batch"]


@dataclass(frozen=True)
class BatchReport:
    """Every input's result in input order, with how long the stages took."""

    results: tuple[ItemResult, ...]
    timing: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        return {
            "items": [r.to_dict() for r in self.results],
            "summary": {
                "items": len(self.results),
                "ok": sum(r.ok for r in self.results),
                "error": sum(not r.ok for r in self.results),
                "retried": sum(r.retried > 0 for r in self.results),
                "timing": dict(self.timing),
            },
        }


def iter_prepare(
    rows: Iterable[Row | ItemResult], settings: PrepareSettings, store: Store | None = None
) -> Iterator[ItemResult | BatchReport]:
    """Prepare every row (a row that was already an error stays one), then host the files in ``store``.

    With ``settings.cluster`` the rows run on Dask; the workers of a remote
    cluster host their files themselves, and those are not uploaded again.
    """
    rows = list(rows)
    items = [r.item for r in rows if isinstance(r, Row)]
    done: dict[str, ItemResult] = {}
    started = time.perf_counter()
    for result in prepare_many(items, settings, store):
        done[result.id] = result
        yield result
    timing = {"prepare_s": round(time.perf_counter() - started, 3)}
    results = [done[r.item.id] if isinstance(r, Row) else r for r in rows]
    if store is not None:
        started = time.perf_counter()
        results = publish(results, store)
        timing["upload_s"] = round(time.perf_counter() - started, 3)
    yield BatchReport(tuple(results), timing)


def prepare_batch(
    rows: Iterable[Row | ItemResult], settings: PrepareSettings, store: Store | None = None
) -> BatchReport:
    """:func:`iter_prepare` without the progress: the report only."""
    report = None
    for event in iter_prepare(rows, settings, store):
        if isinstance(event, BatchReport):
            report = event
    assert report is not None
    return report
