"""9bits Voice Messaging API v1 simulator (seeds 000/001, providers.md 2.1).

Endpoint ``POST /v1/sendvoice`` (other methods there: 405; other paths: 404).

- Auth ``Authorization: Bearer <token>``, else 401
  ``{"status_code":401,"message":"Authentication failed: Signature verification failed"}``.
- ``Content-Type`` must be ``application/json`` (else 400); the body a JSON
  object ``{"to": [...], "media_url": "..."}``; unknown keys are ignored.
- ``to``: a non-empty list of strings of 8..15 digits (country code + number,
  no ``+``, no ints); at most 1000 unique numbers (duplicates are collapsed, as
  the docs count *unique* destinations; each unique number is accepted once).
- ``media_url``: http(s) URL. Unless ``fetch_media=False`` it is fetched and
  must decode as audio; ``media_formats`` (default ``("mp3",)``: voxpipe's
  ``pstn`` profile) restricts the container, ``None`` accepts any audio.
- Errors (not documented beyond the 401 sample; same shape chosen):
  ``{"status_code": <status>, "message": "..."}`` with 400 / 404 / 405 / 429 / 500.
- Success: 200 ``{"status_code":200,"message":"Request is being processed",
  "ref_id":"<25 lowercase alnum>"}``; one :class:`Delivery` per unique
  number (``ref`` = ``message_id`` = ref_id).

Callbacks (account-wide ``callback_url``): one ``POST`` JSON Call Object per
call attempt, in acceptance order::

    {"start_at": "2024-01-01 10:00:02", "answer_at": "2024-01-01 10:00:10" | null,
     "end_at": "...", "total_duration": 40, "call_duration": 30,
     "call_direction": "outbound", "from_number": "07080670000",
     "to_number": "2348020000000", "total_amount": "10"}

Times are UTC without a zone; ``total_amount`` is a string. There is no
``ref_id`` and no status field (the documented gap). Outcomes per number
(``sim.outcomes[number]``, a name or a list of names = successive attempts,
e.g. ``["no_answer", "answered"]``; attempts are 60 s apart):
``answered`` / ``machine`` (answered; ``call_duration`` = media length rounded
up, ``default_media_seconds`` without a fetch), ``no_answer`` (30 s ringing,
``answer_at`` null, 0 duration, amount "0"), ``busy`` (2 s, not answered),
``failed`` (0 s, not answered).
"""

from __future__ import annotations

import math
import re
from typing import Any

from .base import Delivery, Request, Response, Simulator, _Callback, is_http_url, json_response, rand_id, utc_plain

__all__ = ["NineBitsSim"]

_NUMBER_RE = re.compile(r"^\d{8,15}$")


class NineBitsSim(Simulator):
    name = "9bits"
    SEND_PATH = "/v1/sendvoice"
    MAX_RECIPIENTS = 1000
    OUTCOMES = frozenset({"answered", "machine", "no_answer", "busy", "failed"})

    def __init__(
        self,
        token: str,
        *,
        caller_id: str = "07080670000",
        media_formats: tuple[str, ...] | None = ("mp3",),
        default_media_seconds: float = 30.0,
        **kw: Any,
    ) -> None:
        self.token = token
        self.caller_id = caller_id
        self.media_formats = media_formats
        self.default_media_seconds = default_media_seconds
        self._media_seconds: dict[str, float] = {}
        super().__init__(**kw)

    def is_send(self, req: Request) -> bool:
        return req.path == self.SEND_PATH

    def error_response(self, status: int, message: str) -> Response:
        return json_response(status, {"status_code": status, "message": message})

    def handle(self, req: Request) -> Response:
        if req.path != self.SEND_PATH:
            return self.error_response(404, "Not found")
        if req.method != "POST":
            resp = self.error_response(405, "HTTP method not allowed")
            resp.headers["Allow"] = "POST"
            return resp
        if (req.header("authorization") or "") != f"Bearer {self.token}":
            return self.error_response(401, "Authentication failed: Signature verification failed")
        if req.content_type != "application/json":
            return self.error_response(400, "Content-Type must be application/json")
        try:
            body = req.json()
        except ValueError:
            return self.error_response(400, "Request body is not valid JSON")
        if not isinstance(body, dict):
            return self.error_response(400, "Request body must be a JSON object")

        to = body.get("to")
        if to is None:
            return self.error_response(400, "to is required")
        if not isinstance(to, list) or not to:
            return self.error_response(400, "to must be a non-empty list of numbers")
        for i, number in enumerate(to):
            if not isinstance(number, str) or not _NUMBER_RE.match(number):
                return self.error_response(
                    400, f"to[{i}] is not a valid destination: country code + number, digits only, no '+'"
                )
        unique = list(dict.fromkeys(to))
        if len(unique) > self.MAX_RECIPIENTS:
            return self.error_response(
                400, f"The maximum number of unique destinations accepted in the to field is {self.MAX_RECIPIENTS}"
            )

        media_url = body.get("media_url")
        if media_url is None:
            return self.error_response(400, "media_url is required")
        if not is_http_url(media_url):
            return self.error_response(400, "media_url must be an http(s) URL")
        seconds = self.default_media_seconds
        if self.fetch_media:
            media = self.media.fetch(media_url)
            if not media.ok:
                return self.error_response(400, media.error or "media_url could not be fetched")
            if self.media_formats is not None and media.info.container not in self.media_formats:
                return self.error_response(
                    400, f"media_url: unsupported format {media.info.container}/{media.info.codec}"
                )
            seconds = media.duration or seconds

        ref_id = rand_id(25, rng=self._rng)
        now = self._now()
        with self._lock:
            self._media_seconds[ref_id] = seconds
        self._accept(Delivery(n, ref_id, ref_id, body, now) for n in unique)
        return json_response(200, {"status_code": 200, "message": "Request is being processed", "ref_id": ref_id})

    # ----------------------------------------------------------- callbacks

    def call_objects(self, only: set[str] | None = None) -> list[tuple[str, dict[str, Any]]]:
        """(number, Call Object) for every attempt, in order."""
        with self._lock:
            accepted = list(self.accepted)
            seconds = dict(self._media_seconds)
        out = []
        for d in accepted:
            if only is not None and d.recipient not in only:
                continue
            for i, outcome in enumerate(self.outcome_of(d.recipient)):
                start = d.at + 2 + 60 * i
                answer_at = None
                call_duration = 0
                if outcome in ("answered", "machine"):
                    answer = start + 8
                    answer_at = utc_plain(answer)
                    # encoders pad a little; a 1.0 s clip decodes as ~1.05 s
                    call_duration = max(1, math.ceil(seconds.get(d.ref, self.default_media_seconds) - 0.1))
                    end = answer + call_duration
                else:
                    end = start + {"no_answer": 30, "busy": 2, "failed": 0}[outcome]
                amount = 10 * math.ceil(call_duration / 30)
                out.append(
                    (
                        d.recipient,
                        {
                            "start_at": utc_plain(start),
                            "answer_at": answer_at,
                            "end_at": utc_plain(end),
                            "total_duration": int(round(end - start)),
                            "call_duration": call_duration,
                            "call_direction": "outbound",
                            "from_number": self.caller_id,
                            "to_number": d.recipient,
                            "total_amount": str(amount),
                        },
                    )
                )
        return out

    def _callback_plan(self, only: set[str] | None) -> list[_Callback]:
        if not self.callback_url:
            raise ValueError("9bits: callback_url is not configured")
        return [_Callback("POST", self.callback_url, number, json=obj) for number, obj in self.call_objects(only)]
