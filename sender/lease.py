"""Who may send a campaign: one run holding a lease (SQLite), or several sharing it by chunk (PostgreSQL).

Both kinds of run claim their work one chunk at a time
(:meth:`~voxpipe.sender.journal.Journal.claim_next`): the next recipients
by address, marked in flight and written into ``chunks`` with the owner,
host, pid and an expiry, in one transaction, right before the request goes
on the wire. A heartbeat thread renews what the run holds; a chunk whose
run died stays in flight until its claim expires (at once on the same host,
when its pid no longer exists). Then the next run looks it up where the
provider can be asked, and otherwise reports it ``unknown``
(:mod:`voxpipe.sender.reconcile`).

**SQLite: one run per campaign** (:class:`CampaignLease`). An SQLite file
serialises every writer anyway, and it cannot be shared across hosts, so
the run takes the campaign's lease before it looks at anything in flight
(another live run's chunks are not "interrupted"). Every claim checks and
renews the lease in the same transaction, so two runs can never both have
the campaign on the wire. The lease of a run that died expires after
``ttl_s``; a run that finds its lease taken stops claiming. A second run
refuses, or waits (``wait_s``).

**PostgreSQL: several runs per campaign** (:class:`ChunkClaims`). There is
no campaign lease. A claim selects its recipients ``FOR UPDATE SKIP
LOCKED``, so concurrent runs take disjoint chunks without waiting for each
other, and each chunk's claim has its own expiry, renewed by its run's
heartbeat. A run taking over a dead run's chunk (to look it up or report
it unknown) swaps the claim in one compare-and-swap, so only one run
settles it. Recipients a chunk put back to pending while it waits out a
back-off stay that chunk's until its claim ends. When a run finds nothing
left to claim it waits for the other runs' chunks, so its report is the
whole campaign's.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from .errors import JournalError
from .journal import Journal, Lease, LeaseHeld, LeaseLost
from .providers import Chunk

__all__ = ["WAIT_BOUND_S", "CampaignLease", "ChunkClaims", "LeaseSettings", "Sender", "sender_for"]

WAIT_BOUND_S = 600.0
"""How long ``voxpipe send --wait`` waits for another run's lease: ten times a dead owner's expiry."""


@dataclass(frozen=True)
class LeaseSettings:
    ttl_s: float = 60.0
    """A lease or chunk claim not renewed for this long is free: how long a crashed run on another host blocks."""
    heartbeat_s: float = 15.0
    """How often a live run renews what it holds."""
    wait_s: float = 0.0
    """How long to wait for another run's lease before refusing (0: refuse at once; SQLite only)."""
    poll_s: float = 1.0
    """How often a waiting run looks at the lease (or the other runs' chunks) again."""


class Sender:
    """One run sending one campaign: its identity, its heartbeat, and how it claims chunks.

    Use one of :func:`sender_for`'s: :class:`CampaignLease` or :class:`ChunkClaims`.
    """

    exclusive = True
    """Whether this run holds the whole campaign (the SQLite lease)."""

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
        self.since = 0
        """The last chunk claimed before this run began: it sends what was sendable then, once."""

    def acquire(self) -> Iterator[Lease]:
        """Take what the run needs before it starts; yields another run's lease while waiting for it."""
        yield from ()

    def __enter__(self) -> Sender:
        for _ in self.acquire():
            pass
        self.since = self.journal.last_chunk(self.campaign)
        self._heartbeat = threading.Thread(target=self._beat, name=f"lease:{self.campaign}", daemon=True)
        self._heartbeat.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join()

    def _beat(self) -> None:
        while not self._stop.wait(self.settings.heartbeat_s):
            try:
                if not self._renew():
                    self.lost.set()
                    return
            except JournalError:  # a busy journal: the next beat (or claim) tries again before the lease runs out
                continue

    def _renew(self) -> bool:
        raise NotImplementedError

    def claim_next(self, size: int) -> Chunk | None:
        """The next chunk of at most ``size`` recipients, in flight now; None when nothing is left."""
        if self.lost.is_set():
            raise LeaseLost(
                f"campaign {self.campaign!r}: another run took over this campaign's lease; this run stops sending"
            )
        try:
            claimed = self.journal.claim_next(
                self.campaign, self.owner, self.host, self.pid, size, self.settings.ttl_s, lease=self.exclusive,
                since=self.since,
            )  # fmt: skip
        except LeaseLost:
            self.lost.set()
            raise
        if claimed is None:
            return None
        index, members = claimed
        return Chunk(self.campaign, index, tuple(r for r, _ in members), tuple(c for _, c in members))

    def claim(self, chunk: int, addresses: list[str]) -> None:
        """Mark a chunk in flight again (a retry); :class:`LeaseLost` once it is no longer this run's."""
        if self.lost.is_set():
            raise LeaseLost(
                f"campaign {self.campaign!r}: another run took over this campaign's lease; this run stops sending"
            )
        self.journal.claim(self.campaign, self.owner, chunk, addresses, self.settings.ttl_s, lease=self.exclusive)

    def finish(self, chunk: Chunk, outcomes: list[tuple[str, str, str | None, str | None]]) -> None:
        """Record the chunk's outcomes and end its claim, in one transaction."""
        with self.journal.transaction():
            self.journal.record(chunk.campaign, outcomes)
            self.journal.finish_chunk(chunk.index, self.owner)

    def wait_for_others(self) -> None:
        """Until no other live run has a chunk of the campaign on the wire (bounded by :data:`WAIT_BOUND_S`)."""


class CampaignLease(Sender):
    """Hold ``campaign``'s lease in ``journal`` for a ``with`` block (SQLite: one run per campaign)::

    lease = CampaignLease(journal, campaign, settings)
    for held in lease.acquire():      # only while another run holds it (within settings.wait_s)
        print("waiting for", held.describe())
    with lease:
        chunk = lease.claim_next(50)  # raises LeaseLost once another run took over
    """

    def __init__(self, journal: Journal, campaign: str, settings: LeaseSettings = LeaseSettings()) -> None:
        super().__init__(journal, campaign, settings)
        self._taken = False

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
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

    def _renew(self) -> bool:
        return self.journal.renew_lease(self.campaign, self.owner, self.settings.ttl_s)


class ChunkClaims(Sender):
    """Send part of ``campaign`` beside other runs (PostgreSQL): per-chunk claims, no campaign lease."""

    exclusive = False

    def _renew(self) -> bool:
        self.journal.renew_claims(self.owner, self.settings.ttl_s)
        return True  # a claim taken over is noticed by the next try of that chunk

    def wait_for_others(self) -> None:
        deadline = time.monotonic() + WAIT_BOUND_S
        while time.monotonic() < deadline:
            now = time.time()
            others = [
                c for c in self.journal.open_claims(self.campaign) if c.owner != self.owner and c.live(now, self.host)
            ]
            if not others:
                return
            time.sleep(min(self.settings.poll_s, 0.25))


def sender_for(journal: Journal, campaign: str, settings: LeaseSettings = LeaseSettings()) -> Sender:
    """The right kind of run for ``journal``: several per campaign where it allows them (PostgreSQL)."""
    return (ChunkClaims if journal.concurrent_senders else CampaignLease)(journal, campaign, settings)
