"""The campaign status page: where every message of a journal stands, as one HTML file.

Read through the journal's public methods only (campaigns, recipients,
events). Per campaign: the counts per normalised status as one bar, the
statuses over time (the journal's events replayed with the same rule the
journal applies them by: a status moves only forward in rank), and every
recipient with raw status, reason, duration, cost and reference, filterable
by status in the page. Phone numbers are masked unless asked otherwise
(``+23480****0001``), in addresses and in reasons alike, before anything is
written: the page never holds the full number.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from voxpipe.pipeline.pages.html import asset, render_page, write_page
from voxpipe.pipeline.redaction import redact_text

from .journal import Campaign, Event, Journal, RecipientRow
from .statuses import Status
from .tracking import awaiting

__all__ = [
    "StatusPageSettings",
    "build_status_page",
    "mask_number",
    "mask_numbers_in",
    "status_page_data",
    "timeline",
    "write_status_page",
]

#: Every state a recipient can be in, in the order a page lists them.
_ORDER = (
    Status.PENDING,
    Status.IN_FLIGHT,
    *(s for s in Status.reported() if not s.unsent),
    Status.REJECTED,
)
_REACHED = {"answered", "delivered", "played"}
_NOT_REACHED = {"failed", "busy", "no_answer", "machine", "expired", "cancelled", "rejected"}
_NUMBER_IN_TEXT = re.compile(r"\+?\d[\d ().-]{5,}\d")


@dataclass(frozen=True)
class StatusPageSettings:
    mask_numbers: bool = True
    """Show phone numbers as ``+23480****0001``."""
    timeline_points: int = 120
    """Points on the statuses-over-time chart."""
    page_size: int = 100
    """Recipients drawn per page of the table."""


def mask_number(text: str) -> str:
    """The digits of ``text`` hidden but the first few and the last four: ``+2348020000001`` → ``+23480****0001``.

    At least three digits are always hidden; other characters stay as they are.
    """
    digits = [i for i, ch in enumerate(text) if ch.isdigit()]
    hidden = max(3, len(digits) - 9)
    if len(digits) <= hidden:
        keep: set[int] = set()
    else:
        tail = min(4, (len(digits) - hidden) // 2)
        head = len(digits) - hidden - tail
        keep = set(digits[:head]) | set(digits[len(digits) - tail :])
    return "".join("*" if ch.isdigit() and i not in keep else ch for i, ch in enumerate(text))


def mask_numbers_in(text: str) -> str:
    """Every phone-number-like run of digits in a free text (a reason, an error) masked."""
    return _NUMBER_IN_TEXT.sub(lambda m: mask_number(m.group(0)), text)


def _status_of(event: Event) -> str | None:
    payload = event.payload
    status = payload.get("status") if isinstance(payload, dict) else None
    return status if isinstance(status, str) and status in set(Status) else None


def _changes(row: RecipientRow, events: list[Event], created: float) -> list[tuple[float, str]]:
    """When ``row`` entered each state: sent, then the events in arrival order, moving only forward in rank."""
    if row.sent_at is None:  # never sent (pending), or refused before sending (invalid number)
        return [(created, row.status)]
    statuses = [(e.at, s) for e in events if (s := _status_of(e)) is not None]
    first = "accepted" if statuses and row.status not in ("unknown", "in_flight") else row.status
    steps = [(created, "pending"), (row.sent_at, first)]
    for at, status in statuses:
        current = steps[-1][1]
        new, old = Status(status).rank, Status(current).rank if current in set(Status) else 0
        if new > old or (new == old and status != current):
            steps.append((max(at, steps[-1][0]), status))
    if steps[-1][1] != row.status:  # the journal's own word is final
        steps.append((max(row.status_at or row.updated_at, steps[-1][0]), row.status))
    return steps


def timeline(changes: list[list[tuple[float, str]]], points: int) -> dict[str, Any]:
    """Counts per state at ``points`` moments from the first change to the last (a step function)."""
    times = [t for steps in changes for t, _ in steps]
    if not times:
        return {"t": [], "series": {}}
    start, end = min(times), max(times)
    grid = np.linspace(start, end if end > start else start + 1.0, points)
    deltas: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(points, dtype=np.int64))
    for steps in changes:
        previous = None
        for at, status in steps:
            index = int(np.searchsorted(grid, at, side="left"))
            if index >= points:
                index = points - 1
            deltas[status][index] += 1
            if previous is not None:
                deltas[previous][index] -= 1
            previous = status
    series: dict[str, list[int]] = {s.value: [int(v) for v in np.cumsum(deltas[s])] for s in _ORDER if s in deltas}
    series.update({s: [int(v) for v in np.cumsum(d)] for s, d in deltas.items() if s not in series})
    return {"t": [round(float(t), 1) for t in grid], "series": series}


def _shown(text: str | None, mask: bool, address: str = "") -> str | None:
    """A free text from the journal, secrets redacted and, when masking, numbers masked (the
    recipient's own as its address is, so that the two together show no more digits)."""
    if text is None:
        return None
    text = redact_text(text)
    if not mask:
        return text
    if address:
        text = text.replace(address, mask_number(address))
    return mask_numbers_in(text)


def _campaign(journal: Journal, campaign: Campaign, settings: StatusPageSettings) -> dict[str, Any]:
    rows = journal.rows(campaign.id)
    by_address: dict[str | None, list[Event]] = defaultdict(list)
    for event in journal.events(campaign.id):
        by_address[event.address].append(event)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    order: dict[str, int] = {s.value: i for i, s in enumerate(_ORDER)}
    mask = settings.mask_numbers
    return {
        "id": campaign.id,
        "provider": campaign.provider,
        "mode": campaign.mode,
        "created_at": datetime.fromtimestamp(campaign.created_at, UTC).isoformat(timespec="seconds"),
        "counts": dict(sorted(counts.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))),
        "recipients_total": len(rows),
        "reached": sum(1 for r in rows if r.status in _REACHED),
        "not_reached": sum(1 for r in rows if r.status in _NOT_REACHED),
        "open": sum(1 for r in rows if awaiting(r)),
        "events": sum(len(v) for v in by_address.values()),
        "timeline": timeline(
            [_changes(r, by_address.get(r.address, []), campaign.created_at) for r in rows], settings.timeline_points
        ),
        "recipients": [
            {
                "address": mask_number(r.address) if mask else r.address,
                "status": r.status,
                "raw_status": _shown(r.raw_status, mask, r.address),
                "reason": _shown(r.reason or r.error, mask, r.address),
                "duration_s": r.duration_s,
                "cost": _shown(r.cost, mask, r.address),
                "ref": _shown(r.ref, False),
                "dtmf": r.dtmf,
                "attempts": r.attempts,
                "updated_at": datetime.fromtimestamp(r.status_at or r.updated_at, UTC).strftime("%Y-%m-%d %H:%M:%S"),
            }
            for r in rows
        ],
    }


def status_page_data(
    journal: Journal,
    campaigns: list[Campaign] | None = None,
    settings: StatusPageSettings = StatusPageSettings(),
    title: str | None = None,
) -> dict[str, Any]:
    """What the page shows (every campaign of the journal unless ``campaigns`` are given)."""
    chosen = journal.campaigns() if campaigns is None else campaigns
    return {
        "title": title or f"Campaign status: {journal.name}",
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "masked": settings.mask_numbers,
        "page_size": settings.page_size,
        "order": list(_ORDER),
        "campaigns": [_campaign(journal, c, settings) for c in chosen],
    }


def build_status_page(
    journal: Journal,
    campaigns: list[Campaign] | None = None,
    settings: StatusPageSettings = StatusPageSettings(),
    title: str | None = None,
) -> str:
    data = status_page_data(journal, campaigns, settings, title)
    style = asset("page.css") + asset("status.css")
    return render_page(data["title"], data, script=asset("status.js"), style=style)


def write_status_page(
    path: Path,
    journal: Journal,
    campaigns: list[Campaign] | None = None,
    settings: StatusPageSettings = StatusPageSettings(),
    title: str | None = None,
) -> None:
    """Write the page to ``path``, whole or not at all."""
    write_page(path, build_status_page(journal, campaigns, settings, title))
