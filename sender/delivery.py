"""Applying delivery updates to the journal: duplicates change nothing, nothing moves back.

Updates from callbacks and polls (:class:`~voxpipe.sender.statuses.StatusUpdate`)
are applied with two rules: a duplicate changes nothing, and a status never
moves back to a lower rank, so a late or out-of-order callback is kept as an
event but does not undo progress. Success outranks failure, because
providers retry: 9bits reports every attempt, and an answered second attempt
beats an unanswered first one. Within one rank the newer event (by its own
timestamp) wins; an event without a timestamp never replaces one of the same
rank. An update that repeats the current status may still fill details the
recipient does not have yet (a poll's reason or price after a callback that
had none); it never overwrites them. Every update is recorded in the
journal's events, matched or not (a poll repeating what is known can skip
that: ``keep_unchanged=False``), and the read-compare-write runs in one
journal transaction that locks what it read (the SQLite file; the rows on
PostgreSQL), so concurrent callbacks (threads of the receiver, receivers on
several hosts, or a receiver and a poll) cannot move a recipient back either.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from typing import Any

from voxpipe.pipeline.redaction import redact_text

from .journal import Journal, RecipientRow
from .recipients import Recipient
from .statuses import Status, StatusUpdate

__all__ = ["Applied", "apply_update"]

_LOG = logging.getLogger(__name__)

_DETAILS = ("reason", "duration_s", "dtmf", "cost")


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
    """Record the event and move matching recipients forward, in one transaction (run again from
    the start if PostgreSQL picked it as a deadlock's loser)."""
    applied = journal.atomically(lambda: _apply(journal, update, source, keep_unchanged))
    if not applied.matched:
        _LOG.warning("%s: %s update for a recipient this journal does not know (ref=%s)", source, update.provider,
                     redact_text(str(update.ref)))  # fmt: skip
    return applied


def _apply(journal: Journal, update: StatusUpdate, source: str, keep_unchanged: bool) -> Applied:
    rows = _match(journal, update)  # locked until the transaction ends
    if not rows:
        journal.add_event(None, update.address, source, {"unmatched": True, **_payload(update)})
        return Applied([], [])
    changed: list[RecipientRow] = []
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
    current, new = Status(row.status).rank, update.status.rank  # cancelled ranks above everything
    if new != current:
        return new > current
    if update.at is None or row.status_at is None:
        return False
    return update.at > row.status_at  # a duplicate (same time) or an older event changes nothing
