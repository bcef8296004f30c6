"""Group commit: callbacks that arrive together are stored in one journal transaction.

The journal syncs every commit to disk (a crash must not lose an answered
callback), and one sync costs milliseconds; at hundreds of callbacks a second
that alone would queue them. So one writer (a worker thread at a time) takes
every callback waiting, runs the receiver on each inside one
``journal.transaction()`` and commits once; only then is each answered. Under
light load a batch is one callback, with the latency it always had.

If the batch's transaction fails, nothing of it was stored: every callback's
parse is undone (:meth:`~voxpipe.sender.providers.Provider.release_callback`)
and, when the failure came from one of them rather than from the journal's
lock, each is run again on its own, so only the failing one fails.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import anyio.to_thread

from voxpipe.sender.errors import JournalError
from voxpipe.sender.hooks import HookAnswer, HookReceiver
from voxpipe.sender.providers import Callback

__all__ = ["GroupCommit"]

_Result = HookAnswer | BaseException


class GroupCommit:
    """:meth:`HookReceiver.receive`, with the callbacks waiting at the same time committed together."""

    def __init__(self, receiver: HookReceiver, max_batch: int = 500) -> None:
        self.receiver = receiver
        self.max_batch = max_batch
        self._waiting: list[tuple[str, Callback, asyncio.Future[HookAnswer]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def receive(self, name: str, callback: Callback) -> HookAnswer:
        """The receiver's answer once the callback is committed; raises what storing it raised."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[HookAnswer] = loop.create_future()
        self._waiting.append((name, callback, answer))
        if self._writer is None or self._writer.done() or self._writer.get_loop() is not loop:
            self._writer = loop.create_task(self._write())
        return await answer

    async def _write(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[: self.max_batch], self._waiting[self.max_batch :]
            try:
                results = await anyio.to_thread.run_sync(self._commit, [(n, c) for n, c, _ in batch])
            except BaseException as exc:  # noqa: BLE001 - every caller must hear of it, whatever it is
                results = [exc] * len(batch)
            for (_, _, answer), result in zip(batch, results, strict=True):
                if answer.done():
                    continue  # the request is gone (client left, server stopping)
                if isinstance(result, BaseException):
                    answer.set_exception(result)
                else:
                    answer.set_result(result)

    def _commit(self, batch: Sequence[tuple[str, Callback]]) -> list[_Result]:
        journal = self.receiver.journal
        if journal is None or len(batch) == 1:
            return [self._one(name, callback) for name, callback in batch]
        entered = ran = False
        try:
            with journal.transaction():
                entered = True
                results: list[_Result] = [self.receiver.receive(name, callback) for name, callback in batch]
                ran = True
        except Exception as exc:  # noqa: BLE001 - rolled back: decided below, per callback
            if not entered:  # the lock: nothing ran, the callers try again
                return [exc] * len(batch)
            self._release(batch)
            if ran:  # the commit itself failed: nothing of the batch is stored
                failed = exc if isinstance(exc, JournalError) else JournalError(f"journal {journal.path}: {exc}")
                return [failed] * len(batch)
            return [self._one(name, callback) for name, callback in batch]  # one of them failed: each alone
        return results

    def _one(self, name: str, callback: Callback) -> _Result:
        try:
            return self.receiver.receive(name, callback)
        except Exception as exc:  # noqa: BLE001 - handed to that callback's request
            return exc

    def _release(self, batch: Sequence[tuple[str, Callback]]) -> None:
        for name, callback in batch:
            provider = self.receiver.providers.get(name)
            if provider is not None:
                provider.release_callback(callback)
