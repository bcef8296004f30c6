"""The one delivery-status vocabulary: every recipient has exactly one :class:`Status`.

Before a provider has it, a recipient is ``pending`` (never sent),
``in_flight`` (its request is on the wire) or ``rejected`` (refused, or not
a usable number). After that, in the order a message moves:

    queued → accepted → ringing → {failed, busy, no_answer, machine, expired}
                                 → answered / delivered → played
    cancelled (only before the call); unknown (whether it was sent is uncertain)

``rank`` orders them for the never-backwards rule (success outranks failure,
because providers retry; ``cancelled`` ranks above everything), ``final``
says nothing more is expected. Provider modules translate their own words
with :func:`normalise` and report what they learn as :class:`StatusUpdate`
values, which :mod:`voxpipe.sender.delivery` applies to the journal.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from voxpipe.pipeline.redaction import redact_text

__all__ = ["Status", "StatusUpdate", "normalise"]

_LOG = logging.getLogger(__name__)


class Status(StrEnum):
    """Where a recipient stands (stored in the journal as the value)."""

    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    REJECTED = "rejected"
    QUEUED = "queued"
    UNKNOWN = "unknown"
    ACCEPTED = "accepted"
    RINGING = "ringing"
    FAILED = "failed"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    MACHINE = "machine"
    EXPIRED = "expired"
    ANSWERED = "answered"
    DELIVERED = "delivered"
    PLAYED = "played"
    CANCELLED = "cancelled"

    @property
    def rank(self) -> int:
        """Position in the order a message moves; a status never moves to a lower rank."""
        return _RANK[self]

    @property
    def final(self) -> bool:
        """Nothing more is expected (a later attempt may still upgrade a failure)."""
        return self in _FINAL

    @property
    def unsent(self) -> bool:
        """Not (or not yet) with the provider: nothing can arrive by callback or look-up."""
        return self in (Status.PENDING, Status.IN_FLIGHT, Status.REJECTED)

    @property
    def settled_ok(self) -> bool:
        """A send that went through: accepted or any delivery state after it."""
        return self not in _NOT_OK

    @property
    def awaiting(self) -> bool:
        """Sent (or maybe sent) and not final: a callback or look-up may still move it."""
        return not self.final and self not in (Status.PENDING, Status.IN_FLIGHT)

    @classmethod
    def reported(cls) -> tuple[Status, ...]:
        """The statuses a report lists, in the order a reader expects them."""
        return _REPORTED


_RANK = {
    Status.PENDING: 0,
    Status.IN_FLIGHT: 0,
    Status.REJECTED: 0,
    Status.QUEUED: 1,
    Status.UNKNOWN: 1,
    Status.ACCEPTED: 2,
    Status.RINGING: 3,
    Status.FAILED: 4,
    Status.BUSY: 4,
    Status.NO_ANSWER: 4,
    Status.MACHINE: 4,
    Status.EXPIRED: 4,
    Status.ANSWERED: 5,
    Status.DELIVERED: 5,
    Status.PLAYED: 6,
    Status.CANCELLED: 7,
}
_FINAL = frozenset(
    {Status.FAILED, Status.BUSY, Status.NO_ANSWER, Status.MACHINE, Status.EXPIRED, Status.ANSWERED}
    | {Status.DELIVERED, Status.PLAYED, Status.CANCELLED, Status.REJECTED}
)
_NOT_OK = frozenset({Status.REJECTED, Status.FAILED, Status.UNKNOWN, Status.PENDING, Status.IN_FLIGHT})
_REPORTED = (
    Status.QUEUED, Status.ACCEPTED, Status.RINGING, Status.ANSWERED, Status.DELIVERED, Status.PLAYED, Status.FAILED,
    Status.BUSY, Status.NO_ANSWER, Status.MACHINE, Status.EXPIRED, Status.CANCELLED, Status.UNKNOWN,
    Status.REJECTED, Status.PENDING, Status.IN_FLIGHT,
)  # fmt: skip


def normalise(provider: str, raw: str, table: Mapping[str, Status]) -> Status:
    """The status of a provider's ``raw`` word; ``unknown`` (logged) when ``table`` lacks it."""
    status = table.get(raw)
    if status is None:
        _LOG.warning(
            "%s: status %s is not one voxpipe knows; kept as raw status, counted as unknown",
            provider,
            redact_text(repr(raw)),
        )
        return Status.UNKNOWN
    return status


@dataclass(frozen=True)
class StatusUpdate:
    """What one callback or poll says about one recipient.

    A recipient is found by ``client_id`` (our id, AlphaSMS), by ``ref`` (the
    provider's message id; with ``address`` when one id covers several
    recipients), by ``address`` within ``campaign``, or, where the provider
    sends no reference at all (9bits), by the latest send to ``address``
    within a time window (``sent_before``, ``sent_within_s``).
    """

    provider: str
    status: Status
    raw_status: str
    ref: str | None = None
    client_id: int | None = None
    address: str | None = None
    campaign: str | None = None
    at: float | None = None
    """The event's own time (epoch seconds), for ordering within a rank."""
    reason: str | None = None
    duration_s: float | None = None
    dtmf: str | None = None
    cost: str | None = None
    sent_before: float | None = None
    """With ``address`` and no reference: the send happened at or before this time..."""
    sent_within_s: float | None = None
    """...and at most this many seconds before it."""
    raw: Any = field(default=None, compare=False)
    """The provider's own payload, kept in the event (not on the recipient)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", Status(self.status))  # a plain word is checked here
