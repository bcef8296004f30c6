"""One normalised delivery status per recipient, whatever the provider says.

Statuses, in the order a message moves through them:

    queued → accepted → ringing → {failed, busy, no_answer, machine, expired}
                                 → answered / delivered → played
    cancelled (only before the call); unknown (the send itself is uncertain)

Updates from callbacks and polls are applied with two rules: a duplicate
changes nothing, and a status never moves back to an earlier rank, so a late
or out-of-order callback is kept as an event but does not undo progress.
Success outranks failure, because providers retry: 9bits reports every
attempt, and an answered second attempt beats an unanswered first one.
Within one rank the newer event (by its own timestamp) wins; an event without
a timestamp never replaces one of the same rank. An update that repeats the
current status may still fill details the recipient does not have yet (a
poll's reason or price after a callback that had none); it never overwrites
them. Every update is recorded in the journal's events, matched or not
(a poll repeating what is known can skip that: ``keep_unchanged=False``), and
the read-compare-write runs in one journal transaction, so concurrent
callbacks (threads of the receiver, or a receiver and a poll in another
process) cannot move a recipient back either.

A recipient is found by ``client_id`` (our id, AlphaSMS), by ``ref`` (the
provider's message id; with ``address`` when one id covers several
recipients), by ``address`` within ``campaign``, or, where the provider
sends no reference at all (9bits), by the latest send to ``address`` within
a time window (``sent_before``, ``sent_within_s``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from voxpipe.pipeline.redaction import redact_text

from .journal import Journal, RecipientRow
from .recipients import Recipient

__all__ = ["FINAL", "RANK", "STATUSES", "Applied", "StatusUpdate", "apply_update", "is_final", "normalise"]

_LOG = logging.getLogger(__name__)

RANK: dict[str, int] = {
    "pending": 0,
    "in_flight": 0,
    "rejected": 0,
    "queued": 1,
    "unknown": 1,
    "accepted": 2,
    "ringing": 3,
    "failed": 4,
    "busy": 4,
    "no_answer": 4,
    "machine": 4,
    "expired": 4,
    "answered": 5,
    "delivered": 5,
    "played": 6,
    "cancelled": 7,
}
STATUSES = (
    "queued",
    "accepted",
    "ringing",
    "answered",
    "delivered",
    "played",
    "failed",
    "busy",
    "no_answer",
    "machine",
    "expired",
    "cancelled",
    "unknown",
)
FINAL = frozenset(
    {"failed", "busy", "no_answer", "machine", "expired", "answered", "delivered", "played", "cancelled", "rejected"}
)
"""States after which nothing more is expected (a later attempt may still upgrade a failure)."""
_DETAILS = ("reason", "duration_s", "dtmf", "cost")


def is_final(status: str) -> bool:
    return status in FINAL


def normalise(provider: str, raw: str, table: Mapping[str, str]) -> str:
    """The normalised status of a provider's ``raw`` status; ``unknown`` (logged) when the table lacks it."""
    status = table.get(raw)
    if status is None:
        _LOG.warning(
            "%s: status %s is not one voxpipe knows; kept as raw status, counted as unknown",
            provider,
            redact_text(repr(raw)),
        )
        return "unknown"
    return status


@dataclass(frozen=True)
class StatusUpdate:
    """What one callback or poll says about one recipient (see the module docstring for matching)."""

    provider: str
    status: str
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
        if self.status not in RANK:
            raise ValueError(f"unknown normalised status {self.status!r}")


@dataclass(frozen=True)
class Applied:
    matched: list[RecipientRow]
    """The recipients the update is about (as they were before it)."""
    changed: list[RecipientRow]
    """Those whose status or details it changed."""


def _match(journal: Journal, update: StatusUpdate) -> list[RecipientRow]:
    provider = update.provider
    if update.client_id is not None:
        return journal.find(provider, client_id=update.client_id)
    if update.ref is not None and update.address is not None:
        digits = Recipient(update.address).digits
        return [r for r in journal.find(provider, ref=update.ref) if Recipient(r.address).digits == digits]
    if update.ref is not None:
        return journal.find(provider, ref=update.ref)
    if update.address is not None and update.campaign is not None:
        return journal.find(provider, campaign=update.campaign, address=update.address)
    if update.address is not None and update.sent_before is not None:
        found = journal.sent_to(provider, update.address, update.sent_before, update.sent_within_s or 0.0)
        return [found] if found else []
    return []


def apply_update(journal: Journal, update: StatusUpdate, *, source: str, keep_unchanged: bool = True) -> Applied:
    """Record the event and move matching recipients forward."""
    changed: list[RecipientRow] = []
    with journal.transaction():
        rows = _match(journal, update)
        if not rows:
            _LOG.warning("%s: %s update for a recipient this journal does not know (ref=%s)", source, update.provider,
                         redact_text(str(update.ref)))  # fmt: skip
            journal.add_event(None, update.address, source, {"unmatched": True, **_payload(update)})
            return Applied([], [])
        for row in rows:
            fields = _changes(row, update)
            if fields or keep_unchanged:
                journal.add_event(row.campaign, row.address, source, _payload(update))
            if fields:
                journal.update_delivery(row.campaign, row.address, **fields)
                changed.append(row)
    return Applied(rows, changed)


def _payload(update: StatusUpdate) -> dict[str, Any]:
    return {k: v for k, v in asdict(update).items() if v is not None}


def _changes(row: RecipientRow, update: StatusUpdate) -> dict[str, Any]:
    if _moves_forward(row, update):
        fields: dict[str, Any] = {
            "status": update.status,
            "raw_status": update.raw_status,
            "status_at": update.at or time.time(),
        }
        fields.update({k: getattr(update, k) for k in _DETAILS if getattr(update, k) is not None})
        if update.ref and not row.ref:
            fields["ref"] = update.ref
        return fields
    if (row.status, row.raw_status) == (update.status, update.raw_status):
        # The same status again: only details the recipient does not have yet.
        return {k: getattr(update, k) for k in _DETAILS if getattr(row, k) is None and getattr(update, k) is not None}
    return {}


def _moves_forward(row: RecipientRow, update: StatusUpdate) -> bool:
    current, new = RANK.get(row.status, 0), RANK[update.status]  # cancelled ranks above everything
    if new != current:
        return new > current
    if update.at is None or row.status_at is None:
        return False
    return update.at > row.status_at  # a duplicate (same time) or an older event changes nothing
