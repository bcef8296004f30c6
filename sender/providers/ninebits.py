"""9bits Voice Messaging API v1: plays a media URL to up to 1000 numbers per request.

POST {base}/v1/sendvoice, Authorization: Bearer <key>, JSON
``{"to": ["2348020000000", ...], "media_url": "https://..."}``; success is
``{"status_code": 200, "message": ..., "ref_id": ...}``, errors are
``{"status_code": N, "message": ...}``. Numbers are country code + number, no +.
A 2xx without a readable ``ref_id`` (a truncated or non-JSON body) says
nothing about what 9bits did: ``unknown``, never ``rejected``. 9bits has no
look-up of a send, so an unknown stays unknown.

Tracking: 9bits POSTs a Call Object to one account-wide webhook for every
call attempt (``start_at``, ``answer_at``, ``end_at``, ``call_duration``,
``to_number``, ``total_amount``, ...). It has no ``ref_id`` and no status:
an attempt with ``answer_at`` is ``answered`` (duration ``call_duration``),
one without is ``no_answer``, and the recipient is the latest send to
``to_number`` before the attempt. Times carry no zone; they are read as UTC
with 14 hours of slack (the furthest zone ahead) and a 48-hour window.
There is no status look-up and no cancel.
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx

from ..recipients import Recipient
from ..statuses import Status, StatusUpdate
from .provider import Provider
from .types import Callback, Chunk, Credential, Mode, Outcome, Payload
from .wire import callback_data, finite, json_object, parse_time

__all__ = ["NineBits"]


class NineBits(Provider):
    name: ClassVar[str] = "9bits"
    title: ClassVar[str] = "9bits Voice Messaging (plays an audio URL on a phone call)"
    modes = frozenset({Mode.MEDIA})
    max_recipients: ClassVar[int] = 1000
    media_profile: ClassVar[str | None] = "pstn"
    default_base_url: ClassVar[str] = "https://api.9bits.net"
    env_prefix: ClassVar[str] = "9BITS"
    credentials = (Credential("token", "VOXPIPE_9BITS_TOKEN"),)
    error_map: ClassVar[dict[int, str]] = {
        401: "authentication failed (check VOXPIPE_9BITS_TOKEN)",
        405: "method not allowed",
    }

    def build(self, chunk: Chunk, payload: Payload) -> httpx.Request:
        return httpx.Request(
            "POST",
            f"{self.base_url}/v1/sendvoice",
            headers={"Authorization": f"Bearer {self.secrets['token']}", "Accept": "application/json"},
            json={"to": [r.digits for r in chunk.recipients], "media_url": payload.media_url},
        )

    def parse(self, chunk: Chunk, response: httpx.Response) -> dict[Recipient, Outcome]:
        body = json_object(response)
        message = body.get("message") if isinstance(body.get("message"), str) else None
        if not response.is_success:
            return self.all_rejected(chunk, self.http_error(response, message))
        ref, code = body.get("ref_id"), body.get("status_code")
        if isinstance(ref, (str, int)) and not isinstance(ref, bool) and str(ref).strip():
            return {r: Outcome(Status.ACCEPTED, ref=str(ref).strip()) for r in chunk.recipients}
        if isinstance(code, int) and not isinstance(code, bool) and code >= 400:  # an error body, readable as a refusal
            return self.all_rejected(chunk, f"{self.name}: status_code {code}: {message or 'refused'}")
        return self.all_unknown(
            chunk, f"{self.name}: HTTP {response.status_code} without a readable ref_id; it may have been accepted"
        )

    # --- tracking ------------------------------------------------------------------

    callback_setup: ClassVar[str] = "9bits Dashboard → Settings → Webhook (one URL for the whole account)"
    ZONE_SLACK_S: ClassVar[float] = 14 * 3600
    """Call Object times have no zone: a local time can be up to UTC+14 ahead of UTC."""
    WINDOW_S: ClassVar[float] = 48 * 3600
    """How long before an attempt its send may have been accepted."""

    def parse_callback(self, callback: Callback) -> list[StatusUpdate]:
        data = callback_data(callback)
        return [self._attempt(obj) for obj in (data if isinstance(data, list) else [data])]

    def _attempt(self, call: Any) -> StatusUpdate:
        if not isinstance(call, dict):
            raise ValueError("9bits: a Call Object must be a JSON object")
        to = str(call.get("to_number") or "").strip().lstrip("+")
        if not to.isdecimal():
            raise ValueError(f"9bits: to_number {call.get('to_number')!r} is missing or not a number")
        start = _utc(call.get("start_at"), "start_at")
        end = _utc(call["end_at"], "end_at") if call.get("end_at") else None
        answered = bool(call.get("answer_at"))
        if answered:
            _utc(call["answer_at"], "answer_at")
        duration = _seconds(call.get("call_duration")) if answered else 0.0
        amount = call.get("total_amount")
        if amount not in (None, ""):
            finite(amount, "9bits: total_amount")  # kept as written (a money string), but it must be a number
        return StatusUpdate(
            self.name,
            Status.ANSWERED if answered else Status.NO_ANSWER,
            raw_status="answered" if answered else "not answered",  # 9bits sends no status: derived from answer_at
            address="+" + to,
            at=end or start,
            duration_s=duration,
            cost=None if amount in (None, "") else str(amount),
            sent_before=start + self.ZONE_SLACK_S,
            sent_within_s=self.WINDOW_S,
            raw=call,
        )


def _utc(value: Any, name: str) -> float:
    """``YYYY-MM-DD HH:MM:SS`` without a zone, read as UTC."""
    try:
        return parse_time(value).timestamp()
    except ValueError:
        raise ValueError(f"9bits: {name} {value!r} is missing or not a date and time") from None


def _seconds(value: Any) -> float | None:
    if value is None or value == "":
        return None
    seconds = finite(value, "9bits: call_duration")
    if seconds < 0:
        raise ValueError(f"9bits: call_duration {value!r} is negative")
    return seconds
