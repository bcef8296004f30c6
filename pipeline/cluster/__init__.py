"""Preparation on a Dask cluster: the same items, the same report, more machines.

```python
from voxpipe.pipeline import PrepareSettings, prepare_many

settings = PrepareSettings(out_dir=Path("out"), cluster="local:2")  # or "tcp://scheduler:8786"
for result in prepare_many(items, settings, store=store):  # in input order
    ...
```

``spec`` parses addresses without Dask; ``runner`` (the client side) and
``worker`` (what runs on each worker) import Dask, installed with the
``cluster`` extra (``pip install 'voxpipe[cluster]'``), on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .spec import DEFAULT_SCHEDULER_PORT, MAX_LOCAL_WORKERS, ClusterSpec, cluster_problem, parse_cluster

if TYPE_CHECKING:
    from .runner import CONNECT_TIMEOUT_S, IN_FLIGHT_PER_THREAD, check_cluster_store, prepare_on_cluster

__all__ = [
    "CONNECT_TIMEOUT_S",
    "DEFAULT_SCHEDULER_PORT",
    "IN_FLIGHT_PER_THREAD",
    "MAX_LOCAL_WORKERS",
    "ClusterSpec",
    "check_cluster_store",
    "cluster_problem",
    "parse_cluster",
    "prepare_on_cluster",
]

_RUNNER_NAMES = frozenset({"CONNECT_TIMEOUT_S", "IN_FLIGHT_PER_THREAD", "check_cluster_store", "prepare_on_cluster"})


def __getattr__(name: str) -> Any:
    if name in _RUNNER_NAMES:
        from . import runner

        return getattr(runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
