"""Pacing requests: ``rate_per_s`` at most, and a 429's ``Retry-After`` held for everyone.

:class:`Pacer` paces the threads of one process. :class:`SharedPacer`
paces every process sending one campaign from one journal (several senders
on PostgreSQL): the next free slot lives in the journal (table
``pacers``), each request reserves one in a short transaction and sleeps
until it starts, so three senders at ``rate_per_s=10`` make 10 requests a
second between them, not 30. Slots are spaced by each sender's own rate:
senders should be given the same one. A 429's ``Retry-After`` moves the
shared next slot, so it holds every sender of the campaign.
"""

from __future__ import annotations

import threading
import time

from .journal import Journal

__all__ = ["Pacer", "SharedPacer"]


class Pacer:
    """Token bucket shared by the sending threads of one process (no burst: slots ``1/rate`` apart)."""

    def __init__(self, rate: float | None) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self.next = time.monotonic()
        self.lock = threading.Lock()

    def wait(self, cancel: threading.Event | None = None) -> bool:
        """Sleep until this thread's slot; False when ``cancel`` was set during the wait (the slot is unused)."""
        # Without a rate the bucket still carries a 429's hold (see hold()).
        with self.lock:
            now = time.monotonic()
            slot = max(now, self.next)
            self.next = slot + self.interval
        return _sleep(slot - now, cancel)

    def hold(self, seconds: float) -> None:
        """A 429's Retry-After applies to every thread, not just the one that got it."""
        with self.lock:
            self.next = max(self.next, time.monotonic() + seconds)


class SharedPacer(Pacer):
    """A :class:`Pacer` whose slots are shared through the journal by every process using ``key``."""

    def __init__(self, journal: Journal, key: str, rate: float | None) -> None:
        super().__init__(rate)
        self.journal = journal
        self.key = key

    def wait(self, cancel: threading.Event | None = None) -> bool:
        return _sleep(self.journal.take_slot(self.key, self.interval), cancel)

    def hold(self, seconds: float) -> None:
        self.journal.hold_slots(self.key, seconds)


def _sleep(seconds: float, cancel: threading.Event | None) -> bool:
    if seconds <= 0:
        return not (cancel is not None and cancel.is_set())
    if cancel is None:
        time.sleep(seconds)
        return True
    return not cancel.wait(seconds)
