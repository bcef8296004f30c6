"""A batch on a Dask cluster: the same ``prepare(item)`` as the local pool, run by Dask's workers.

* ``local:N`` starts a ``LocalCluster`` of N worker processes (one thread
  each) on this machine. They write into the output folder as the local pool
  does, and the caller hosts the files afterwards, in any store.
* ``tcp://host:port`` uses a running scheduler. Its workers do not share this
  machine's folders, so each worker puts its files in the store itself: the
  store must be S3 (no store, or a directory, is refused before any work),
  and ``out_dir`` names a folder on each worker (it keeps the worker's copies,
  so an unchanged item is not synthesised there again).

Results come back in input order, with at most :data:`IN_FLIGHT_PER_THREAD`
tasks per worker thread submitted ahead. An item that fails, fails alone. A
worker that dies mid-task has its tasks given to another worker by the
scheduler (up to Dask's ``distributed.scheduler.allowed-failures``, 3 by
default, after which the item fails); names are content hashes, so a task
that ran twice writes the same files and objects. Each result says how often
that happened (``retried``), counted from the scheduler's ``remove-worker``
events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..artifact import remove_stale_parts
from ..engines import REGISTERED
from ..errors import ClusterError
from ..preparation import Item, ItemResult, PrepareSettings, described
from ..redaction import redact_text
from ..triage import triage
from .spec import ClusterSpec, parse_cluster

if TYPE_CHECKING:
    from distributed import Client, Future

    from ..store import Store
    from .worker import StoreRecipe

__all__ = ["CONNECT_TIMEOUT_S", "IN_FLIGHT_PER_THREAD", "MIN_IN_FLIGHT", "check_cluster_store", "prepare_on_cluster"]

CONNECT_TIMEOUT_S = 5.0
"""How long to try reaching a scheduler (and to wait for its first worker) before giving up."""
IN_FLIGHT_PER_THREAD = 4
"""Tasks submitted ahead per worker thread: enough to keep workers busy, few enough to stream."""
MIN_IN_FLIGHT = 16
"""At least this many ahead: a small cluster's round trips hide behind the queue."""

_Pending = ItemResult | tuple[Item, "Future[ItemResult]"]


def check_cluster_store(spec: ClusterSpec, store: Store | None) -> StoreRecipe | None:
    """How remote workers open ``store`` themselves (None for ``local:N``); ClusterError when they cannot."""
    if not spec.remote:
        return None
    from ..store.s3 import S3Store
    from .worker import StoreRecipe

    if store is None:
        raise ClusterError(
            f"`cluster` {spec}: the workers of a remote cluster need an s3:// `store` to put their files in "
            "(a directory is accepted with local:N only)"
        )
    if not isinstance(store, S3Store):
        raise ClusterError(
            f"`store` {store.name}: a directory on this machine cannot be reached by the workers of {spec}; "
            "use an s3:// store (a directory is accepted with local:N only)"
        )
    location = f"s3://{store.bucket}/{store.prefix}" if store.prefix else f"s3://{store.bucket}"
    return StoreRecipe(location, store.settings)


def prepare_on_cluster(
    items: Iterable[Item | ItemResult],
    settings: PrepareSettings,
    store: Store | None = None,
    *,
    client: Client | None = None,
    connect_timeout_s: float = CONNECT_TIMEOUT_S,
) -> Iterator[ItemResult]:
    """Prepare ``items`` on the cluster ``settings.cluster``, yielding results in input order.

    ``client`` is an already connected ``distributed.Client`` for that cluster
    (the caller keeps it open); without it one is connected (``tcp://``) or a
    ``LocalCluster`` started (``local:N``) and closed at the end. Problems with
    the cluster itself (address, scheduler, store) raise ClusterError before
    any item is prepared.
    """
    if settings.cluster is None:
        raise ClusterError("`cluster` is not set: give tcp://host:port or local:N")
    spec = parse_cluster(settings.cluster)
    recipe = check_cluster_store(spec, store)
    if spec.remote:
        stream: Iterator[Item | ItemResult] = iter(items)
    else:  # workers share this machine's output folder: answer what is on disk already, here
        remove_stale_parts(settings.out_dir)
        stream = triage(items, settings)
    for entry in stream:
        if isinstance(entry, ItemResult):
            yield entry  # nothing needs a worker yet: in order, at once
            continue
        with _connected(spec, client, connect_timeout_s) as dask:
            yield from _Batch(dask, settings, recipe).run(entry, stream)
        return


@contextlib.contextmanager
def _connected(spec: ClusterSpec, client: Client | None, timeout_s: float) -> Iterator[Client]:
    try:
        import distributed  # noqa: F401 - only whether it is there
    except ImportError as exc:
        raise ClusterError(
            f"`cluster` {spec}: Dask is not installed; install it with pip install 'voxpipe[cluster]'"
        ) from exc
    with _dask_logs_quiet():
        if client is not None:
            yield client
            return
        with _own_client(spec, timeout_s) as own:
            yield own


@contextlib.contextmanager
def _dask_logs_quiet() -> Iterator[None]:
    """Dask logs every worker start and stop (and the tracebacks of closed connections) at INFO: hold it to
    errors while the batch runs, unless the program asked for INFO itself."""
    logger = logging.getLogger("distributed")
    level = logger.level
    if logging.getLogger().getEffectiveLevel() > logging.INFO:
        logger.setLevel(max(level, logging.ERROR))
    try:
        yield
    finally:
        logger.setLevel(level)


@contextlib.contextmanager
def _own_client(spec: ClusterSpec, timeout_s: float) -> Iterator[Client]:
    from distributed import Client, LocalCluster

    if spec.local_workers is not None:
        try:
            cluster = LocalCluster(
                n_workers=spec.local_workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
        except Exception as exc:  # whatever stops the cluster from starting is one line
            raise ClusterError(f"`cluster` {spec}: cannot start the local cluster: {_reason(exc)}") from exc
        try:
            with Client(cluster, set_as_default=False) as local:
                yield local
        finally:
            cluster.close()
        return
    assert spec.address is not None
    _probe(spec.address, timeout_s)
    try:
        remote = Client(spec.address, timeout=timeout_s, set_as_default=False)
    except Exception as exc:  # see _probe
        raise ClusterError(f"`cluster` {spec}: cannot connect to the Dask scheduler: {_reason(exc)}") from exc
    with remote:
        try:
            remote.wait_for_workers(1, timeout=timeout_s)
        except TimeoutError:
            raise ClusterError(
                f"`cluster` {spec}: the Dask scheduler has no workers (none joined in {timeout_s:g} s)"
            ) from None
        yield remote


def _probe(address: str, timeout_s: float) -> None:
    """Ask ``address`` who it is, so that a wrong or dead address is one line after ``timeout_s``
    (a failed ``Client`` leaves a half-made object that reports its own errors at exit)."""
    from distributed.comm.core import connect

    async def identity() -> Any:
        comm = await connect(address, timeout=timeout_s)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await asyncio.wait_for(comm.read(), timeout_s)
        finally:
            comm.abort()

    try:
        answer = asyncio.run(identity())
    except Exception as exc:  # refused, timed out, or something that is not Dask answered
        raise ClusterError(f"`cluster` {address}: no Dask scheduler answers there: {_reason(exc)}") from exc
    if not isinstance(answer, dict) or answer.get("type") != "Scheduler":
        raise ClusterError(f"`cluster` {address}: what answers there is not a Dask scheduler")


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return redact_text(text)[:300]


class _Batch:
    """One batch on a connected cluster: workers set up, tasks submitted in a window, results in order."""

    def __init__(self, client: Client, settings: PrepareSettings, recipe: StoreRecipe | None) -> None:
        self.client = client
        self.settings = settings
        self.recipe = recipe
        self.name = f"voxpipe-prepare-{uuid.uuid4().hex[:12]}"
        self.retried: Counter[str] = Counter()

    def run(self, first: Item, rest: Iterator[Item | ItemResult]) -> Iterator[ItemResult]:
        self._set_up_workers()
        threads = sum(self.client.nthreads().values())
        window = max(MIN_IN_FLIGHT, threads * IN_FLIGHT_PER_THREAD)
        pending: deque[_Pending] = deque()
        self.client.subscribe_topic("all", self._on_event)
        try:
            for n, entry in enumerate(_chain(first, rest)):
                pending.append(entry if isinstance(entry, ItemResult) else (entry, self._submit(entry, n)))
                yield from self._done_at_head(pending, wait_for_one=len(pending) >= window)
            while pending:
                yield from self._done_at_head(pending, wait_for_one=True)
        finally:
            for left in pending:
                if not isinstance(left, ItemResult):
                    left[1].cancel()
            self._tear_down()

    def _set_up_workers(self) -> None:
        from distributed.comm.addressing import get_address_host

        from .worker import PrepareWorker

        host_threads: Counter[str] = Counter()
        for address, nthreads in self.client.nthreads().items():
            host_threads[get_address_host(address)] += nthreads
        plugin = PrepareWorker(self.settings, self.recipe, host_threads, REGISTERED)
        try:
            self.client.register_plugin(plugin, name=self.name)
        except Exception as exc:  # a setup that fails on a worker, or settings that cannot travel
            raise ClusterError(f"`cluster` {self.settings.cluster}: cannot set up the workers: {_reason(exc)}") from exc

    def _tear_down(self) -> None:
        with contextlib.suppress(Exception):
            self.client.unsubscribe_topic("all")
        with contextlib.suppress(Exception):
            self.client.unregister_worker_plugin(self.name)

    def _submit(self, item: Item, n: int) -> Future[ItemResult]:
        from .worker import prepare_on_worker

        return self.client.submit(prepare_on_worker, item, self.name, key=f"{self.name}-{n}", pure=False)

    def _on_event(self, event: tuple[float, Any]) -> None:
        """A worker left: the tasks it held (running, queued, or done but not yet fetched) run again elsewhere."""
        msg = event[1]
        if not isinstance(msg, dict) or msg.get("action") != "remove-worker":
            return
        for key in (*msg.get("processing-tasks", ()), *msg.get("lost-computed-tasks", ())):
            if isinstance(key, str) and key.startswith(self.name):
                self.retried[key] += 1

    def _done_at_head(self, pending: deque[_Pending], *, wait_for_one: bool) -> Iterator[ItemResult]:
        """The finished entries at the head of ``pending``, in order (first waiting for the head if asked).

        Their results are fetched in one round trip: one at a time, the client's
        wait for each answer would cost more than the scheduler does.
        """
        if not pending:
            return
        head = pending[0]
        if wait_for_one and not isinstance(head, ItemResult):
            from distributed import wait

            with self.client.as_current():
                wait([head[1]])
        run: list[_Pending] = []
        while pending and _ready(pending[0]):
            run.append(pending.popleft())
        finished = [e[1] for e in run if not isinstance(e, ItemResult) and e[1].status == "finished"]
        try:
            values = dict(zip((str(f.key) for f in finished), self.client.gather(finished), strict=True))
        except Exception:  # noqa: BLE001 - e.g. a result lost with its worker: each is asked for on its own
            values = {}
        for entry in run:
            yield self._result(entry, values)

    def _result(self, entry: _Pending, values: dict[str, ItemResult]) -> ItemResult:
        if isinstance(entry, ItemResult):
            return entry
        item, future = entry
        key = str(future.key)
        try:
            result: ItemResult = values[key] if key in values else future.result()
        except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker: this item fails, the batch goes on
            result = described(ItemResult(item.id, "error", error=_worker_failure(exc)), item, None)
        finally:
            future.release()
        count = self.retried.get(key, 0)
        return replace(result, retried=count) if count else result


def _worker_failure(exc: BaseException) -> str:
    from distributed import KilledWorker

    if isinstance(exc, KilledWorker):
        return f"worker failed: {exc.allowed_failures + 1} workers died while preparing it; given up"
    return f"worker failed: {type(exc).__name__}: {_reason(exc)}"


def _ready(entry: _Pending) -> bool:
    return isinstance(entry, ItemResult) or entry[1].done()


def _chain(first: Item, rest: Iterator[Item | ItemResult]) -> Iterator[Item | ItemResult]:
    yield first
    yield from rest
