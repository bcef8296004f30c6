"""MessageBird delivery tracking: status reports, look-ups and cancelling.

- Status reports: MessageBird calls the ``reportUrl`` with a GET per
  recipient and status, ``?id=&reference=&recipient=&status=&statusDatetime=``,
  and redelivers (up to 10 times) until it gets 200. Only messages with a
  ``reference`` are reported; voxpipe always sets one.
- Look-up: ``GET /voicemessages/{id}`` gives every recipient's ``status``,
  ``statusDatetime``, ``statusReason`` and ``price`` (``amount``, ``currency``).
- Cancel: ``DELETE /voicemessages/{id}`` answers 204 while the message is
  still scheduled; once it is calling (or done) it cannot be withdrawn
  (422; the simulator's answer, the docs say nothing).

Statuses (the docs list calling, answered, failed, busy, machine; the list
filter adds scheduled, sent, buffered, delivered, expired, delivery_failed):
calling → ringing, answered, delivered, busy, machine, expired as they are,
failed / delivery_failed → failed, scheduled / buffered → queued, sent →
accepted. ``failed`` keeps its ``statusReason`` (timeout, incorrect number,
...) beside it; it is not guessed into ``no_answer``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from ..errors import ProviderError
from ..status import StatusUpdate, normalise
from .base import CancelOutcome, callback_data, finite, json_object, parse_time

if TYPE_CHECKING:
    from voxpipe.pipeline.store import Request

    from ..journal import RecipientRow

__all__ = ["STATUSES", "MessageBirdTracking"]

STATUSES = {
    "scheduled": "queued",
    "buffered": "queued",
    "sent": "accepted",
    "calling": "ringing",
    "answered": "answered",
    "delivered": "delivered",
    "failed": "failed",
    "delivery_failed": "failed",
    "busy": "busy",
    "machine": "machine",
    "expired": "expired",
}


class MessageBirdTracking:
    """Mixed into :class:`~sender.providers.messagebird.MessageBird`."""

    name: ClassVar[str]
    base_url: str
    secrets: dict[str, str]
    can_poll: ClassVar[bool] = True
    callback_method: ClassVar[str] = "GET"
    callback_setup: ClassVar[str] = (
        "pass it to `voxpipe send -P messagebird` as --report-url (reports come only for messages with a reference; "
        "voxpipe always sets one)"
    )

    @classmethod
    def parse_callback(cls, request: Request) -> list[StatusUpdate]:
        data = callback_data(request)
        if not isinstance(data, dict):
            raise ValueError("messagebird: a status report is a set of parameters")
        missing = [k for k in ("id", "recipient", "status") if not str(data.get(k) or "").strip()]
        if missing:
            raise ValueError(f"messagebird: status report without {', '.join(missing)}")
        recipient = str(data["recipient"]).strip().lstrip("+")
        if not recipient.isdecimal():
            raise ValueError(f"messagebird: recipient {data['recipient']!r} is not a number")
        raw = str(data["status"]).strip()
        return [
            StatusUpdate(
                cls.name,
                normalise(cls.name, raw.lower(), STATUSES),
                raw_status=raw,
                ref=str(data["id"]),
                address="+" + recipient,
                at=_when(data.get("statusDatetime")),
                raw=data,
            )  # fmt: skip
        ]

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"AccessKey {self.secrets['key']}", "Accept": "application/json"}

    def build_poll(self, rows: list[RecipientRow]) -> list[httpx.Request]:
        refs = dict.fromkeys(r.ref for r in rows if r.ref)  # one look-up per message, not per recipient
        return [httpx.Request("GET", f"{self.base_url}/voicemessages/{ref}", headers=self._headers()) for ref in refs]

    def parse_poll(self, response: httpx.Response) -> list[StatusUpdate]:
        body = json_object(response)
        if not response.is_success:
            raise ProviderError(self._error(response, body), response=response)  # type: ignore[attr-defined]
        recipients = body.get("recipients")
        items = recipients.get("items") if isinstance(recipients, dict) else None
        if not body.get("id") or not isinstance(items, list):
            raise ProviderError(
                f"{self.name}: HTTP {response.status_code}: not a voice message object", response=response
            )
        updates = []
        for item in items:
            if not isinstance(item, dict) or not item.get("status") or not str(item.get("recipient") or "").isdecimal():
                continue
            raw = str(item["status"])
            updates.append(
                StatusUpdate(
                    self.name,
                    normalise(self.name, raw.lower(), STATUSES),
                    raw_status=raw,
                    ref=str(body["id"]),
                    address=f"+{item['recipient']}",
                    at=_when(item.get("statusDatetime")),
                    reason=item.get("statusReason") or None,
                    cost=_price(item.get("price")),
                    raw=item,
                )  # fmt: skip
            )
        return updates

    def build_cancel(self, ref: str) -> httpx.Request:
        return httpx.Request("DELETE", f"{self.base_url}/voicemessages/{ref}", headers=self._headers())

    def parse_cancel(self, response: httpx.Response) -> CancelOutcome:
        if response.status_code in (200, 204):
            return CancelOutcome("cancelled", "deleted before it was called")
        body = json_object(response)
        if response.status_code == 422:
            said = "; ".join(str(e.get("description")) for e in body.get("errors") or [] if isinstance(e, dict))
            return CancelOutcome(
                "too_late", "too late: already calling or done, no longer scheduled" + (f" ({said})" if said else "")
            )
        if response.status_code == 404:
            return CancelOutcome("not_found", "MessageBird does not know this message (deleted already?)")
        return CancelOutcome("failed", self._error(response, body))  # type: ignore[attr-defined]


def _when(value: Any) -> float | None:
    """RFC 3339 (Y-m-d\\TH:i:sP) as epoch seconds; None when absent or unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return parse_time(value).timestamp()
    except ValueError:
        return None


def _price(price: Any) -> str | None:
    """``amount currency``; None when absent or not a finite number."""
    if not isinstance(price, dict) or price.get("amount") is None:
        return None
    try:
        finite(price["amount"], "price")
    except ValueError:
        return None
    return f"{price['amount']} {price.get('currency') or ''}".strip()
