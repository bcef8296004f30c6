"""Benchmark of preparation on a Dask cluster (run by hand, not a test).

Prints, from one run on this machine:
  * items/s of distinct ~5-8 s piper messages (pstn) on ``local:1`` pinned to
    one core and on ``local:2`` on two cores, goal >= 1.7x;
  * the same batch on ``local:1`` without pinning (one worker, its piper
    rendering sentences on every core), for comparison;
  * the cost per item of going through Dask, with a no-op engine (a fixed
    short tone, so synthesis costs nothing): ``local:1`` against the same items
    prepared in this process one after another, in wall time and in CPU time
    (client, scheduler, nanny and worker together; CPU is what a loaded
    machine does not distort), goal <= 5 ms;
  * from those, the cluster size for 1,000,000 messages per hour.

The no-op engine is registered here with ``register_engine``; the batch's
worker plugin carries it to the workers (this module travels by value).
Cluster start-up (worker processes, imports, loading the voice) is timed
apart from the batches.

    python bench/bench_cluster.py [--n 40] [--noop-n 300] [--out bench/out/cluster]
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.bench_prepare import texts  # noqa: E402
from voxpipe.pipeline.audio import Audio  # noqa: E402
from voxpipe.pipeline.cluster.runner import prepare_on_cluster  # noqa: E402
from voxpipe.pipeline.engines import EngineInfo, VoiceSettings, register_engine  # noqa: E402
from voxpipe.pipeline.preparation import Item, PrepareSettings, prepare  # noqa: E402

MESSAGES_PER_HOUR = 1_000_000


class ToneEngine:
    """A no-op engine: every text is the same 0.5 s tone, so a batch measures everything but synthesis."""

    name: ClassVar[str] = "tone"

    def __init__(self, settings: VoiceSettings = VoiceSettings()) -> None:
        self.settings = settings

    @property
    def language(self) -> str:
        return "en-US"

    def identity(self) -> dict[str, Any]:
        return {"engine": "tone", "hz": 440, "s": 0.5}

    def synthesize(self, text: str) -> Audio:
        t = np.arange(int(0.5 * 22050)) / 22050
        return Audio((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 22050)

    @staticmethod
    def info() -> EngineInfo:
        return EngineInfo("tone", "a fixed tone (benchmark)", True, "none", ("tone",), ("en-US",))


@contextlib.contextmanager
def local_cluster(workers: int, cpus: set[int] | None) -> Iterator[Any]:
    """A LocalCluster of ``workers`` processes (one thread each), this process and its children on ``cpus``."""
    from distributed import Client, LocalCluster

    before = os.sched_getaffinity(0)
    if cpus:
        os.sched_setaffinity(0, cpus)
    try:
        with (
            LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                silence_logs=logging.ERROR,
            ) as cluster,
            Client(cluster, set_as_default=False) as client,
        ):
            yield client
    finally:
        os.sched_setaffinity(0, before)


def items(prefix: str, all_texts: list[str]) -> list[Item]:
    return [Item(f"{prefix}{i:04d}", text=t) for i, t in enumerate(all_texts)]


def on_cluster(client: Any, spec: str, batch: list[Item], out: Path, engine: str = "piper") -> float:
    """Wall seconds for ``batch`` on the connected cluster (every item must succeed)."""
    shutil.rmtree(out, ignore_errors=True)
    settings = PrepareSettings(out_dir=out, profiles=("pstn",), engine=engine, cluster=spec)
    start = time.perf_counter()
    results = list(prepare_on_cluster(batch, settings, client=client))
    wall = time.perf_counter() - start
    failed = [r for r in results if not r.ok]
    if failed:
        raise SystemExit(f"{len(failed)} item(s) failed, e.g. {failed[0].id}: {failed[0].error}")
    assert [r.id for r in results] == [i.id for i in batch]
    return wall


def noop_here(batch: list[Item], out: Path) -> tuple[float, float]:
    """(wall, CPU seconds incl. ffmpeg) for ``batch`` prepared in this process one after another."""
    shutil.rmtree(out, ignore_errors=True)
    settings = PrepareSettings(out_dir=out, profiles=("pstn",), engine="tone")
    prepare(Item("warm", text="Warm up."), settings)
    cpu = _cpu()
    start = time.perf_counter()
    for item in batch:
        assert prepare(item, settings).ok
    return time.perf_counter() - start, _cpu() - cpu


def _cpu() -> float:
    """CPU seconds of this process and its finished children (ffmpeg)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def cluster_cpu(client: Any) -> float:
    """CPU seconds so far of this process (client, scheduler, nannies) and of every worker (with its ffmpeg)."""
    return _cpu() + sum(client.run(_cpu).values())


def piper_run(workers: int, cpus: set[int] | None, all_texts: list[str], out: Path) -> tuple[float, float]:
    """(start-up seconds including a warm-up item per worker, items per second)."""
    start = time.perf_counter()
    with local_cluster(workers, cpus) as client:
        on_cluster(client, f"local:{workers}", items("warm", texts(workers)), out / "warm")
        startup = time.perf_counter() - start
        wall = on_cluster(client, f"local:{workers}", items("m", all_texts), out / "batch")
    return startup, len(all_texts) / wall


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=40, help="piper messages per run")
    parser.add_argument("--noop-n", type=int, default=300, help="no-op items for the overhead")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "cluster")
    opts = parser.parse_args()
    cores = sorted(os.sched_getaffinity(0))
    one = {cores[0]}
    register_engine("tone", ToneEngine)
    print(f"machine: {len(cores)} cores, load average {os.getloadavg()[0]:.1f}; profile pstn")

    all_texts = texts(opts.n)
    start_1, rate_1 = piper_run(1, one, all_texts, opts.out / "piper-1")
    print(f"piper, local:1 on 1 core:        {rate_1:.3f} items/s  (start-up {start_1:.1f} s)")
    start_2, rate_2 = piper_run(2, None, all_texts, opts.out / "piper-2")
    print(f"piper, local:2 on {len(cores)} cores:       {rate_2:.3f} items/s  (start-up {start_2:.1f} s)")
    print(f"  scaling local:1 -> local:2: {rate_2 / rate_1:.2f}x  (goal >= 1.7x)")
    start_u, rate_u = piper_run(1, None, all_texts, opts.out / "piper-1-unpinned")
    print(f"piper, local:1 on {len(cores)} cores:       {rate_u:.3f} items/s  (one worker, sentences on every core)")

    noop = [f"Message number {i}, for the overhead." for i in range(opts.noop_n)]
    here_wall, here_cpu = noop_here(items("n", noop), opts.out / "noop-here")
    with local_cluster(1, None) as client:
        on_cluster(client, "local:1", items("warm", ["Warm up."]), opts.out / "noop-warm", "tone")
        cpu_before = cluster_cpu(client)
        there_wall = on_cluster(client, "local:1", items("n", noop), opts.out / "noop-cluster", "tone")
        there_cpu = cluster_cpu(client) - cpu_before
        idle_before = cluster_cpu(client)
        time.sleep(10)
        upkeep = (cluster_cpu(client) - idle_before) / 10
        null_ms = null_task_cpu_ms(client, opts.noop_n)
    n = opts.noop_n
    wall_ms = (there_wall - here_wall) / n * 1000
    cpu_ms = (there_cpu - here_cpu) / n * 1000
    upkeep_ms = upkeep * there_wall / n * 1000
    print(f"no-op engine, {n} items; in this process, one after another: {here_wall / n * 1000:.1f} ms wall and")
    print(
        f"  {here_cpu / n * 1000:.1f} ms CPU per item (ffmpeg included); on local:1 (2 cores): {there_wall / n * 1000:.1f} ms"
    )
    print(f"  wall and {there_cpu / n * 1000:.1f} ms CPU per item (client, scheduler, nanny, worker)")
    print(
        f"  Dask adds {wall_ms:.1f} ms wall and {cpu_ms:.1f} ms CPU per item, of which {upkeep_ms:.1f} ms is upkeep that"
    )
    print(f"  runs per second whatever the items ({upkeep * 100:.1f}% of a core: heartbeats, monitors)")
    print(f"  per item: {cpu_ms - upkeep_ms:.1f} ms CPU  (goal <= 5 ms); a null task: {null_ms:.1f} ms CPU")

    per_core = rate_2 / len(cores)
    needed = MESSAGES_PER_HOUR / 3600
    dask_cores = needed * max(cpu_ms - upkeep_ms, 0) / 1000
    print(
        f"1,000,000 messages/hour = {needed:.0f} items/s; at {per_core:.2f} items/s per core: "
        f"{needed / per_core:.0f} worker cores (e.g. {needed / per_core / 8:.0f} 8-core workers), "
        f"plus {dask_cores:.1f} cores of Dask per-item work"
    )


def null_task_cpu_ms(client: Any, n: int) -> float:
    """CPU ms (client, scheduler, nanny, worker) per task that does nothing: Dask's own floor."""
    before = cluster_cpu(client)
    futures = [client.submit(abs, -i, key=f"null-{i}", pure=False) for i in range(n)]
    client.gather(futures)
    del futures
    return (cluster_cpu(client) - before) / n * 1000


if __name__ == "__main__":
    main()
