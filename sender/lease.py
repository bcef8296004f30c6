"""One sender per campaign: the lease a run holds in the journal while it sends.

A run takes the campaign's lease before it looks at anything in flight
(another live run's chunks are not "interrupted") and keeps it alive with a
heartbeat thread. Every chunk it claims checks and renews the lease in the
same journal transaction (:meth:`voxpipe.sender.journal.Journal.claim`), so two runs
can never both have the same campaign on the wire. The lease of a run that
died expires after ``ttl_s``; on the same host it is taken over at once when
its pid no longer exists. A run that finds its lease taken stops claiming.
"""

from __future__ import annotations

import os
import secrets
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from .errors import JournalError
from .journal import Journal, Lease, LeaseHeld, LeaseLost

__all__ = ["WAIT_BOUND_S", "CampaignLease", "LeaseSettings"]

WAIT_BOUND_S = 600.0
"""How long ``voxpipe send --wait`` waits for another run's lease: ten times a dead owner's expiry."""


@dataclass(frozen=True)
class LeaseSettings:
    ttl_s: float = 60.0
    """A lease not renewed for this long is free: how long a crashed run on another host blocks others."""
    heartbeat_s: float = 15.0
    """How often a live run renews its lease."""
    wait_s: float = 0.0
    """How long to wait for another run's lease before refusing (0: refuse at once)."""
    poll_s: float = 1.0
    """How often a waiting run looks at the lease again."""


class CampaignLease:
    """Hold ``campaign``'s lease in ``journal`` for a ``with`` block::

    lease = CampaignLease(journal, campaign, settings)
    for held in lease.acquire():      # only while another run holds it (within settings.wait_s)
        print("waiting for", held.describe())
    with lease:
        lease.claim(chunk_index, addresses)   # raises LeaseLost once another run took over
    """

    def __init__(self, journal: Journal, campaign: str, settings: LeaseSettings = LeaseSettings()) -> None:
        self.journal = journal
        self.campaign = campaign
        self.settings = settings
        self.owner = secrets.token_hex(8)
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None
        self._taken = False

    def __enter__(self) -> CampaignLease:
        for _ in self.acquire():
            pass
        self._heartbeat = threading.Thread(target=self._beat, name=f"lease:{self.campaign}", daemon=True)
        self._heartbeat.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join()
        self.journal.release_lease(self.campaign, self.owner)

    def acquire(self) -> Iterator[Lease]:
        """Take the lease; while another run holds it, yield that run's lease before each pause.

        Raises :class:`LeaseHeld` once ``settings.wait_s`` has passed (at once by default).
        """
        deadline = time.monotonic() + self.settings.wait_s
        waited = False
        while not self._taken:
            try:
                self.journal.take_lease(self.campaign, self.owner, self.host, self.pid, self.settings.ttl_s)
                self._taken = True
            except LeaseHeld as held:
                left = deadline - time.monotonic()
                if left <= 0:
                    if waited:
                        raise LeaseHeld(f"{held} (waited {self.settings.wait_s:g} s)", held.lease) from None
                    raise
                yield held.lease
                waited = True
                time.sleep(min(self.settings.poll_s, left))

    def _beat(self) -> None:
        while not self._stop.wait(self.settings.heartbeat_s):
            try:
                if not self.journal.renew_lease(self.campaign, self.owner, self.settings.ttl_s):
                    self.lost.set()
                    return
            except (
                JournalError,
                sqlite3.Error,
            ):  # a busy journal: the next beat (or claim) tries again before the lease runs out
                continue

    def claim(self, chunk: int, addresses: list[str]) -> None:
        """Mark a chunk in flight under the lease; :class:`LeaseLost` once it is gone."""
        if self.lost.is_set():
            raise LeaseLost(
                f"campaign {self.campaign!r}: another run took over this campaign's lease; this run stops sending"
            )
        try:
            self.journal.claim(self.campaign, self.owner, chunk, addresses, self.settings.ttl_s)
        except LeaseLost:
            self.lost.set()
            raise
