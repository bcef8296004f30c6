"""Progress drawing for long batches (the library yields, the CLI draws)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator

__all__ = ["progress_bar"]


@contextlib.contextmanager
def progress_bar(total: int | None, label: str, enabled: bool | None) -> Iterator[Callable[..., None]]:
    """Yield ``advance(id, ok, n=1)``; draws a rich bar on stderr when it is a terminal.

    ``total`` None: the count is not known ahead (a streamed data file); the bar counts up.
    """
    known = total if total is not None else 2
    show = sys.stderr.isatty() and known > 1 if enabled is None else enabled and known > 0
    if not show:
        yield lambda _id, _ok, _n=1: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    failed = 0
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[failed]} failed"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    ) as bar:
        task = bar.add_task(label, total=total, failed=0)

        def advance(_id: str, ok: bool, n: int = 1) -> None:
            nonlocal failed
            failed += 0 if ok else n
            bar.update(task, advance=n, failed=failed)

        yield advance
