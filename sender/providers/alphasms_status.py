"""AlphaSMS delivery tracking: the voice.php hook and the JSON ``status`` look-up.

- Hook: an audio upload given a ``hook`` URL (``--report-url``) gets a POST
  ``{"id": <upload id>, "phone": "380...", "status": "ANSWERED",
  "duration": 123, "dtmf": "7"}`` when the call ends; the id is the
  reference voice.php answered.
- Look-up: POST /api/json.php with ``{"type": "status", "id": <our id>}``
  items (50 per request) answers ``{"id", "type", "status"}`` per item. It
  finds the TTS calls (sent with our id); uploads carry no id of ours, so
  they are tracked by their hook only.
- Reconciliation (``build_lookup`` / ``parse_lookup``): the same look-up
  asks whether AlphaSMS took a chunk whose answer was lost. An item with a
  status: accepted. An item refused (``success: false``, the id echoed) in
  an answer that succeeded overall: AlphaSMS does not know the id, so it was
  not sent (voxpipe's reading; the docs name no "not found" error). Anything
  else: unknown.

Statuses: ANSWERED → answered, NO ANSWER → no_answer, BUSY → busy,
UNDELIVERABLE / REJECTED → failed, EXPIRED → expired, ACCEPTED → accepted,
QUEUED → queued, DELIVERED → delivered; the other documented message
statuses are mapped too (ROUTING accepted, READ / REPLIED / PARTIALLY
DELIVERED delivered, DELETED cancelled, FILTERED / NO ROUTE / SIM FULL /
INVALID ... ADDRESS failed, UNKNOWN unknown). Anything else is kept as the
raw status, counted as ``unknown`` and logged.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from ..errors import ProviderError
from ..journal import client_id
from ..recipients import Recipient
from ..status import StatusUpdate, normalise
from .base import Chunk, LookupPage, Outcome, callback_data, dict_at, finite, json_object, list_at

if TYPE_CHECKING:
    from voxpipe.pipeline.store import Request

    from ..journal import RecipientRow

__all__ = ["STATUSES", "AlphaSmsTracking", "our_ids"]

_LOG = logging.getLogger(__name__)
POLL_ITEMS = 50
MAX_ID = 2**63 - 1  # what the journal can hold; ours are below 2**48

STATUSES = {
    "QUEUED": "queued",
    "ACCEPTED": "accepted",
    "ROUTING": "accepted",
    "ANSWERED": "answered",
    "DELIVERED": "delivered",
    "PARTIALLY DELIVERED": "delivered",
    "READ": "delivered",
    "REPLIED": "delivered",
    "NO ANSWER": "no_answer",
    "BUSY": "busy",
    "UNDELIVERABLE": "failed",
    "REJECTED": "failed",
    "FILTERED": "failed",
    "NO ROUTE": "failed",
    "SIM FULL": "failed",
    "INVALID DESTINATION ADDRESS": "failed",
    "INVALID SOURCE ADDRESS": "failed",
    "EXPIRED": "expired",
    "DELETED": "cancelled",
    "UNKNOWN": "unknown",
}


def _status(raw: str) -> str:
    return normalise("alphasms", " ".join(raw.upper().replace("_", " ").split()), STATUSES)


class AlphaSmsTracking:
    """Mixed into :class:`~sender.providers.alphasms.AlphaSms`."""

    name: ClassVar[str]
    base_url: str
    secrets: dict[str, str]
    can_poll: ClassVar[bool] = True
    callback_setup: ClassVar[str] = (
        "pass it to `voxpipe send -P alphasms` as --report-url for audio uploads (the voice.php hook field); "
        "TTS calls have no hook: use `voxpipe status --refresh`"
    )

    @classmethod
    def parse_callback(cls, request: Request) -> list[StatusUpdate]:
        data = callback_data(request)
        if not isinstance(data, dict):
            raise ValueError("alphasms: a hook must be a JSON object")
        ident, raw = str(data.get("id") or "").strip(), str(data.get("status") or "").strip()
        if not ident.isdecimal() or not raw:
            raise ValueError("alphasms: a hook needs a numeric id and a status")
        phone = str(data.get("phone") or "").strip().lstrip("+")
        if phone and not phone.isdecimal():
            raise ValueError(f"alphasms: phone {data['phone']!r} is not a number")
        duration = (
            None
            if data.get("duration") is None or data.get("duration") == ""
            else finite(data["duration"], "alphasms: duration")
        )
        if duration is not None and duration < 0:
            raise ValueError(f"alphasms: duration {data['duration']!r} is negative")
        dtmf = str(data.get("dtmf") or "").strip() or None
        return [
            StatusUpdate(
                cls.name,
                _status(raw),
                raw_status=raw,
                ref=ident,
                address=f"+{phone}" if phone else None,
                duration_s=duration,
                dtmf=dtmf,
                raw=data,
            )  # fmt: skip
        ]

    @classmethod
    def polls(cls, mode: str) -> bool:
        return mode == "tts"  # uploads have no id of ours to look up

    def _status_request(self, ids: list[int]) -> httpx.Request:
        return httpx.Request(
            "POST",
            f"{self.base_url}/api/json.php",
            json={"auth": self.secrets["key"], "data": [{"type": "status", "id": i} for i in ids]},
        )

    def build_poll(self, rows: list[RecipientRow]) -> list[httpx.Request]:
        ids = [r.client_id for r in rows]
        return [self._status_request(ids[n : n + POLL_ITEMS]) for n in range(0, len(ids), POLL_ITEMS)]

    # --- reconciliation: did AlphaSMS take our ids? -----------------------------

    def build_lookup(self, chunk: Chunk, since: float) -> httpx.Request:
        return self._status_request(our_ids(chunk))  # a chunk has at most 50 items, as a poll

    def parse_lookup(self, chunk: Chunk, response: httpx.Response) -> LookupPage:
        body = self._status_answer(response)
        by_id = dict(zip(our_ids(chunk), chunk.recipients, strict=True))
        outcomes: dict[Recipient, Outcome] = {}
        for item in list_at(body, "data"):
            item = item if isinstance(item, dict) else {}
            data = dict_at(item, "data")
            ident = data.get("id")
            recipient = by_id.get(ident) if isinstance(ident, int) and not isinstance(ident, bool) else None
            if recipient is None:  # only an answer that names our id settles anything
                continue
            if item.get("success") in (True, 1) and data.get("status"):
                outcomes[recipient] = Outcome("accepted")
            elif item.get("success") in (False, 0):
                outcomes[recipient] = Outcome(
                    "not_sent", error=f"{self.name}: status of id {ident}: {item.get('error') or 'not found'}"
                )
        return LookupPage(outcomes)

    def _status_answer(self, response: httpx.Response) -> dict[str, Any]:
        body = json_object(response)
        if not response.is_success or not body:
            raise ProviderError(
                f"{self.name}: HTTP {response.status_code}: unreadable status answer", response=response
            )
        if body.get("success") not in (True, 1):
            raise ProviderError(
                f"{self.name}: status look-up refused: {body.get('error') or 'no reason given'}", response=response
            )
        return body

    def parse_poll(self, response: httpx.Response) -> list[StatusUpdate]:
        body = self._status_answer(response)
        updates = []
        for item in list_at(body, "data"):
            item = item if isinstance(item, dict) else {}
            data = dict_at(item, "data")
            ident = data.get("id")
            if item.get("success") not in (True, 1) or not data.get("status") or not _our_id(ident):
                _LOG.warning(
                    "%s: no status for id %s: %s", self.name, data.get("id"), item.get("error") or "unreadable item"
                )
                continue
            raw = str(data["status"])
            updates.append(StatusUpdate(self.name, _status(raw), raw_status=raw, client_id=data["id"], raw=data))
        return updates


def _our_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def our_ids(chunk: Chunk) -> list[int]:
    """Our numeric id per recipient (the journal's; derived the same way when a chunk has none)."""
    return list(chunk.client_ids) or [client_id(chunk.campaign, r.address) for r in chunk.recipients]
