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
Within one rank the newer event (by its own timestamp) wins.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

from .journal import Journal, RecipientRow

__all__ = ["FINAL", "RANK", "STATUSES", "StatusUpdate", "apply_update", "is_final"]

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
STATUSES = ("queued", "accepted", "ringing", "answered", "delivered", "played", "failed", "busy", "no_answer", "machine", "expired", "cancelled", "unknown")
FINAL = frozenset({"failed", "busy", "no_answer", "machine", "expired", "answered", "delivered", "played", "cancelled", "rejected"})
"""States after which nothing more is expected (a later attempt may still upgrade a failure)."""


def is_final(status: str) -> bool:
    return status in FINAL


@dataclass(frozen=True)
class StatusUpdate:
    """What one callback or poll says about one recipient.

    The recipient is found by ``ref`` (the provider's message id), by
    ``client_id`` (our id, AlphaSMS), or by ``address`` within ``campaign``.
    """

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

    def __post_init__(self) -> None:
        if self.status not in RANK:
            raise ValueError(f"unknown normalised status {self.status!r}")


def _match(journal: Journal, update: StatusUpdate) -> list[RecipientRow]:
    if update.client_id is not None:
        rows = journal.find(client_id=update.client_id)
    elif update.ref is not None and update.address is not None:
        rows = [r for r in journal.find(ref=update.ref) if _same_number(r.address, update.address)]
    elif update.ref is not None:
        rows = journal.find(ref=update.ref)
    elif update.address is not None and update.campaign is not None:
        rows = journal.find(campaign=update.campaign, address=update.address)
    else:
        rows = []
    return [r for r in rows if journal.campaign_provider(r.campaign) == update.provider]


def _same_number(a: str, b: str) -> bool:
    return a.lstrip("+").split("@")[0] == b.lstrip("+").split("@")[0]


def apply_update(journal: Journal, update: StatusUpdate, *, source: str) -> list[RecipientRow]:
    """Record the event and move matching recipients forward; returns the rows it matched."""
    rows = _match(journal, update)
    payload = {k: v for k, v in asdict(update).items() if v is not None}
    if not rows:
        _LOG.warning("%s: %s update for a recipient this journal does not know (ref=%s)", source, update.provider, update.ref)
        journal.add_event(None, update.address, source, {"unmatched": True, **payload})
        return []
    for row in rows:
        journal.add_event(row.campaign, row.address, source, payload)
        if _moves_forward(row, update):
            fields: dict[str, Any] = {"status": update.status, "raw_status": update.raw_status, "status_at": update.at}
            for key in ("reason", "duration_s", "dtmf", "cost"):
                value = getattr(update, key)
                if value is not None:
                    fields[key] = value
            if update.ref and not row.ref:
                fields["ref"] = update.ref
            journal.update_delivery(row.campaign, row.address, **fields)
    return rows


def _moves_forward(row: RecipientRow, update: StatusUpdate) -> bool:
    current, new = RANK.get(row.status, 0), RANK[update.status]
    if row.status == "cancelled":
        return False
    if new != current:
        return new > current
    if (row.status, row.raw_status) == (update.status, update.raw_status):
        return False  # a duplicate
    if update.at is None or row.status_at is None:
        return False
    return update.at > row.status_at
