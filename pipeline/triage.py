"""Which items of a batch need work: those whose files are all on disk already are answered at once.

Shared by the local process pool and the ``local:N`` cluster (both write into
this machine's output folder).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from .errors import VoxpipeError
from .preparation import Item, ItemResult, PrepareSettings, described, plan, result_of, reused, unexpected

__all__ = ["triage"]


def triage(items: Iterable[Item | ItemResult], settings: PrepareSettings) -> Iterator[Item | ItemResult]:
    """Each item, or its result when every artifact is on disk already (or it cannot be planned);
    a result already among ``items`` passes through."""
    for item in items:
        if isinstance(item, ItemResult):
            yield item
        elif item.text is not None:
            try:
                planned = plan(item, settings)
                found = reused(planned)
            except VoxpipeError as exc:
                yield described(ItemResult(item.id, "error", error=str(exc)), item, None)
                continue
            except Exception as exc:  # noqa: BLE001 - one bad item must not stop the batch
                yield described(unexpected(item.id, exc), item, None)
                continue
            if all(found):
                yield described(result_of(item.id, [a for a in found if a]), item, planned)
            else:
                yield item
        else:
            yield item
