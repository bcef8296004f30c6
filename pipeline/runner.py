"""Many items at once: those already on disk are answered at once, the rest run on worker processes.

This is the local default; ``PrepareSettings.cluster`` hands the batch to a
Dask cluster instead (:mod:`voxpipe.pipeline.cluster`).

Streaming: items are read only as workers free up (a few per worker in
flight), so a batch of a million rows costs the memory of a few dozen.
Results come back as they complete, not in input order.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import replace
from multiprocessing import get_context
from typing import TYPE_CHECKING

from .artifact import remove_stale_parts
from .preparation import Item, ItemResult, PrepareSettings, cpu_count, described, prepare
from .triage import triage

if TYPE_CHECKING:
    from .store import Store

__all__ = ["IN_FLIGHT_PER_WORKER", "parallelism", "prepare_many"]

IN_FLIGHT_PER_WORKER = 4
"""Items handed to each worker ahead of time: enough to keep it busy, few enough to stream."""

_WORKER_SETTINGS: PrepareSettings | None = None


def _init_worker(settings: PrepareSettings) -> None:
    global _WORKER_SETTINGS
    _WORKER_SETTINGS = settings


def _work(item: Item) -> ItemResult:
    assert _WORKER_SETTINGS is not None
    return prepare(item, _WORKER_SETTINGS)


def parallelism(settings: PrepareSettings, pending: int) -> tuple[int, int]:
    """(workers, threads per worker) with workers x threads never above the cores."""
    cores = cpu_count()
    jobs = settings.jobs or cores
    jobs = max(1, min(jobs, pending, cores))
    threads = settings.threads or max(1, cores // jobs)
    return jobs, min(threads, max(1, cores // jobs))


def prepare_many(
    items: Iterable[Item | ItemResult], settings: PrepareSettings = PrepareSettings(), store: Store | None = None
) -> Iterator[ItemResult]:
    """Prepare many items, yielding each result as it completes (not in input order).

    Worker processes each load the voice once; they are started only when at
    least one item needs work, and no more of them than such items. A result
    among ``items`` (a row that was bad before it became an item) is passed through.

    With ``settings.cluster`` the items run on Dask instead (see
    :mod:`voxpipe.pipeline.cluster.runner`), results in input order; a remote
    cluster's workers put their files in ``store`` themselves. Otherwise
    ``store`` is not used here: the caller hosts the files afterwards.
    """
    if settings.cluster is not None:
        from .cluster.runner import prepare_on_cluster

        yield from prepare_on_cluster(items, settings, store)
        return
    remove_stale_parts(settings.out_dir)
    work = triage(items, settings)
    wanted, _ = parallelism(settings, cpu_count())
    head: list[Item] = []
    for entry in work:  # enough of the stream to know how many workers are worth starting
        if isinstance(entry, ItemResult):
            yield entry
            continue
        head.append(entry)
        if len(head) > wanted:
            break
    if not head:
        return
    jobs, threads = parallelism(settings, len(head))
    settings = replace(settings, threads=threads)
    stream = itertools.chain(head, work)
    if jobs == 1:
        for entry in stream:
            yield entry if isinstance(entry, ItemResult) else prepare(entry, settings)
        return
    with ProcessPoolExecutor(
        jobs, mp_context=get_context("spawn"), initializer=_init_worker, initargs=(settings,)
    ) as pool:
        in_flight: dict[Future[ItemResult], Item] = {}
        for entry in stream:
            if isinstance(entry, ItemResult):
                yield entry
                continue
            in_flight[pool.submit(_work, entry)] = entry
            while len(in_flight) >= jobs * IN_FLIGHT_PER_WORKER:
                yield from _completed(in_flight)
        while in_flight:
            yield from _completed(in_flight)


def _completed(in_flight: dict[Future[ItemResult], Item]) -> Iterator[ItemResult]:
    done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
    for future in done:
        item = in_flight.pop(future)
        try:
            yield future.result()
        except Exception as exc:  # noqa: BLE001 - a worker that died (e.g. out of memory) fails its item only
            yield described(ItemResult(item.id, "error", error=f"worker failed: {exc!r}"), item, None)
