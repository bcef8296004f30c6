"""What runs on a Dask worker: a plugin that sets the worker up once, and the task that prepares one item.

The plugin travels with the batch's whole :class:`PrepareSettings` (so a
setting added later, such as a cache folder, reaches every worker as given)
and, for a remote cluster, the recipe of the store (location and
:class:`StoreSettings`, never credentials: a worker uses its own AWS chain).
On each worker, once: engines registered in the client process are
registered here too, the inference threads are fitted to the worker's cores,
the voice is loaded and the store opened. Workers that join later (a
restarted one) get the same setup from the scheduler.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from distributed import WorkerPlugin, get_worker
from distributed.comm.addressing import get_address_host

from ..engines import Engine, VoiceSettings, get_engine, register_engine
from ..errors import StoreError, VoxpipeError
from ..preparation import Item, ItemResult, PrepareSettings, cpu_count, prepare
from ..store import Store, StoreSettings, open_store

__all__ = ["PrepareWorker", "StoreRecipe", "host_item", "prepare_on_worker", "worker_threads"]

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoreRecipe:
    """How a worker opens the batch's store itself: ``location`` (``s3://bucket/prefix``) and its settings."""

    location: str
    settings: StoreSettings


def worker_threads(wanted: int | None, cores: int, host_threads: int) -> int:
    """Inference threads per task: the worker threads of a host times this never exceed its cores."""
    fair = max(1, cores // max(1, host_threads))
    return min(wanted, fair) if wanted else fair


class PrepareWorker(WorkerPlugin):
    """Per-worker state of one batch: settings fitted to the worker, the voice loaded, the store open."""

    def __init__(
        self,
        settings: PrepareSettings,
        store: StoreRecipe | None = None,
        host_threads: Mapping[str, int] | None = None,
        engines: Mapping[str, Callable[[VoiceSettings], Engine]] | None = None,
    ) -> None:
        self.settings = settings
        self.recipe = store
        self.host_threads = dict(host_threads or {})
        """Worker threads per host when the batch started (workers sharing a host share its cores)."""
        self.engines = dict(engines or {})
        self.store: Store | None = None

    def setup(self, worker: Any) -> None:
        for name, factory in self.engines.items():
            register_engine(name, factory)
        nthreads = int(worker.state.nthreads)
        sharing = self.host_threads.get(get_address_host(worker.address), nthreads)
        threads = worker_threads(self.settings.threads, cpu_count(), max(sharing, nthreads))
        self.settings = replace(self.settings, threads=threads)
        if self.recipe is not None:
            self.store = open_store(self.recipe.location, self.recipe.settings)
        self._load_voice()

    def _load_voice(self) -> None:
        """Load the batch's voice now, once for the worker (items that name their own voice load it on first use)."""
        s = self.settings
        try:
            engine = get_engine(
                s.engine, VoiceSettings(voice=s.voice, language=s.language, tld=s.tld, threads=s.threads)
            )
            preload = getattr(engine, "preload", None)
            if callable(preload):
                preload()
        except VoxpipeError as exc:  # each item then reports the problem itself
            _LOG.warning("voice not loaded at worker start: %s", exc)

    def teardown(self, worker: Any) -> None:
        if self.store is not None:
            self.store.close()

    def prepare(self, item: Item) -> ItemResult:
        result = prepare(item, self.settings)
        return host_item(result, self.store) if self.store is not None else result


def host_item(result: ItemResult, store: Store) -> ItemResult:
    """Put an ok result's files in ``store``: the result with media URLs, or failed with the store's reason.

    One item at a time, without the batch listing ``publish`` does for many.
    A key already holding other bytes keeps them; the item gets that URL and a warning.
    """
    if not result.ok:
        return result
    artifacts, warnings = [], list(result.warnings)
    for artifact in result.artifacts:
        try:
            hosted = store.put(artifact)
        except StoreError as exc:
            return replace(result, status="error", error=str(exc))
        fields = hosted.report_fields()
        artifacts.append(replace(artifact, media_url=fields["media_url"], expires_at=fields.get("expires_at")))
        if hosted.warning and hosted.warning not in warnings:
            warnings.append(hosted.warning)
    return replace(result, artifacts=tuple(artifacts), warnings=tuple(warnings))


def prepare_on_worker(item: Item, plugin: str) -> ItemResult:
    """The task: prepare ``item`` with the worker's set-up state of the batch registered as ``plugin``."""
    state = get_worker().plugins[plugin]
    assert isinstance(state, PrepareWorker)
    return state.prepare(item)
