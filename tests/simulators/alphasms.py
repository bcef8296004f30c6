"""AlphaSMS simulator: JSON API voice calls and the ``voice.php`` upload (seed 004, providers.md 2.4).

``POST /api/json.php`` answers HTTP 200 always (except injected faults and
the rate limit); errors are in the body:

- ``Content-Type`` not ``application/json`` → ``{"success":false,"error":"Invalid content type"}``
  (the docs: such a request is invalid even with valid JSON).
- not JSON → ``{"success":false,"error":"Invalid JSON"}``; a method other
  than POST → ``{"success":false,"error":"Invalid request method"}``.
- ``auth`` missing or wrong → ``{"success":false,"error":"Access denied"}``.
- ``data`` not a non-empty list → ``{"success":false,"error":"Invalid data"}``.
- Otherwise ``{"success":true,"data":[<one result per item, in order>]}``;
  items are independent: a bad one gets
  ``{"success":false,"error":"<text>","data":{"id":<its id or null>}}``
  and the others still go.

Item ``type: "voice"`` (all fields required, as the docs mark them):
``id`` a positive integer (JSON number; ``Invalid id``), never used before
by a voice item (``Duplicate id``, also within one request). The docs only
call the id "unique ... in the client system" and say nothing of repeats:
refusing them is this simulator's default choice, and
``accept_repeated_ids=True`` makes it accept a repeated id as a new call
(new ``msg_id``, another :class:`Delivery`; ``status`` then answers the
latest), the other reading a client must survive; ``phone`` a
number or a digit string of 8..15 digits, no ``+`` (``Invalid phone``);
``message`` a non-empty string of at most 1000 characters (``Invalid
message`` / ``Message is too long``); ``voice`` an object with ``gender``
male|female, ``language`` like ``uk-UA`` and a non-empty ``name`` that
starts with that language (Google-style ``uk-UA-Standard-A``; ``Invalid
voice``); ``dtmf`` a boolean (``Invalid dtmf``). Success item:
``{"success":true,"data":{"id":..,"msg_id":<int>,"data":1,"parts":1}}``; one
:class:`Delivery` (recipient = phone digits, ``ref`` = ``message_id`` =
str(msg_id), ``client_ref`` = str(id)).

Item ``type: "status"`` with ``id`` → ``{"success":true,"data":{"id":..,
"type":"voice","status":...}}``: ``ACCEPTED`` until ``sim.advance()``, then
the scripted outcome; an unknown id → ``Message not found``. Item
``type: "balance"`` → ``{"amount":..,"currency":"UAH"}``; any other type →
``Unknown type``; a non-object item → ``Invalid item``.

``POST /api/voice.php`` (multipart/form-data): fields ``key``, ``phone``,
file field ``voice`` (must decode as WAV with linear PCM, at most 5 MB),
optional ``hook`` (http(s) URL) and ``dtmf`` (0/1/true/false). Answer (HTTP
200) ``{"id":<int>,"price":0.4}`` or ``{"errors":[...]}``: ``API key
missing``, ``Invalid API key``, ``Invalid phone``, ``Voice file missing``,
``Voice file too large (max 5 MB)``, ``Voice file must be WAV (PCM)``,
``Invalid hook URL``, ``Invalid dtmf``, ``Invalid request`` (not
multipart). One :class:`Delivery` (``ref`` = ``message_id`` = str(id)).

Outcomes (``sim.outcomes[phone]``; a list means its last element) and the
status they give: ``answered`` ANSWERED, ``machine`` ANSWERED, ``no_answer``
NO ANSWER, ``busy`` BUSY, ``failed`` UNDELIVERABLE, ``expired`` EXPIRED,
``rejected`` REJECTED.

Callbacks: only ``voice.php`` calls that gave a ``hook`` (the JSON ``voice``
type has no hook: poll ``status``). ``fire_callbacks`` calls ``advance()``
and POSTs JSON ``{"id": <int>, "phone": "<digits>", "status": "ANSWERED",
"duration": <int seconds, 0 unless answered>, "dtmf": "<digits or empty>"}``
to each hook; the digits come from ``sim.dtmf[phone]`` when the call had
``dtmf`` on and was answered. ``callback_url`` is not used (no account-wide
hook is documented).
"""

from __future__ import annotations

import math
import re
from typing import Any

from .base import Delivery, Request, Response, Simulator, _Callback, is_http_url, json_response
from .media import UndecodableMedia, decode_media

__all__ = ["AlphaSmsSim", "parse_multipart"]

_PHONE_RE = re.compile(r"^\d{8,15}$")
_LANG_RE = re.compile(r"^[a-z]{2,3}-[A-Z]{2}$")
_STATUS = {
    "answered": "ANSWERED",
    "machine": "ANSWERED",
    "no_answer": "NO ANSWER",
    "busy": "BUSY",
    "failed": "UNDELIVERABLE",
    "expired": "EXPIRED",
    "rejected": "REJECTED",
}
MAX_WAV_BYTES = 5 * 1024 * 1024


def parse_multipart(body: bytes, content_type: str) -> list[tuple[str, str | None, bytes]]:
    """(name, filename, data) for each part of a multipart/form-data body."""
    m = re.search(r'boundary=(?:"([^"]+)"|([^;\s]+))', content_type)
    if not m:
        raise ValueError("no boundary")
    boundary = (m.group(1) or m.group(2)).encode()
    chunks = (b"\r\n" + body).split(b"\r\n--" + boundary)
    if len(chunks) < 2:
        raise ValueError("no parts")
    parts = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        if chunk.startswith(b"\r\n"):
            chunk = chunk[2:]
        head, sep, data = chunk.partition(b"\r\n\r\n")
        if not sep:
            raise ValueError("malformed part")
        disp = ""
        for line in head.decode("utf-8", "replace").split("\r\n"):
            k, _, v = line.partition(":")
            if k.strip().lower() == "content-disposition":
                disp = v
        name = re.search(r'\bname="([^"]*)"', disp)
        filename = re.search(r'\bfilename="([^"]*)"', disp)
        if not name:
            raise ValueError("part without a name")
        parts.append((name.group(1), filename.group(1) if filename else None, data))
    return parts


class AlphaSmsSim(Simulator):
    name = "alphasms"
    JSON_PATH = "/api/json.php"
    VOICE_PATH = "/api/voice.php"
    MAX_MESSAGE = 1000
    OUTCOMES = frozenset(_STATUS)

    def __init__(self, key: str, *, balance: float = 31.1683, upload_price: float = 0.4, accept_repeated_ids: bool = False,
                 **kw: Any) -> None:  # fmt: skip
        self.key = key
        self.accept_repeated_ids = accept_repeated_ids
        self.balance = balance
        self.upload_price = upload_price
        self.voice_items: dict[int, dict[str, Any]] = {}
        self.uploads: dict[int, dict[str, Any]] = {}
        self.dtmf: dict[str, str] = {}
        self._next_msg_id = 123456789
        self._next_upload_id = 100500
        super().__init__(**kw)

    def is_send(self, req: Request) -> bool:
        return req.path in (self.JSON_PATH, self.VOICE_PATH)

    def error_response(self, status: int, message: str) -> Response:
        return json_response(status, {"success": False, "error": message})

    def handle(self, req: Request) -> Response:
        if req.path == self.JSON_PATH:
            return self._json_api(req)
        if req.path == self.VOICE_PATH:
            return self._voice_php(req)
        return Response(404, b"Not found", "text/plain")

    # ----------------------------------------------------------- json.php

    def _json_api(self, req: Request) -> Response:
        def fail(error: str) -> Response:
            return json_response(200, {"success": False, "error": error})

        if req.method != "POST":
            return fail("Invalid request method")
        if req.content_type != "application/json":
            return fail("Invalid content type")
        try:
            body = req.json()
        except ValueError:
            return fail("Invalid JSON")
        if not isinstance(body, dict) or body.get("auth") != self.key:
            return fail("Access denied")
        data = body.get("data")
        if not isinstance(data, list) or not data:
            return fail("Invalid data")
        results = []
        deliveries = []
        now = self._now()
        with self._lock:
            for item in data:
                result, delivery = self._item(item, now)
                results.append(result)
                if delivery is not None:
                    deliveries.append(delivery)
        self._accept(deliveries)
        return json_response(200, {"success": True, "data": results})

    def _item(self, item: Any, now: float) -> tuple[dict[str, Any], Delivery | None]:
        if not isinstance(item, dict):
            return {"success": False, "error": "Invalid item", "data": {"id": None}}, None
        item_id = item.get("id")

        def err(text: str) -> tuple[dict[str, Any], None]:
            return {"success": False, "error": text, "data": {"id": item_id}}, None

        kind = item.get("type")
        if kind == "balance":
            return {"success": True, "data": {"amount": self.balance, "currency": "UAH"}}, None
        if kind not in ("voice", "status"):
            return err("Unknown type")
        if isinstance(item_id, bool) or not isinstance(item_id, int) or item_id <= 0:
            return err("Invalid id")
        if kind == "status":
            rec = self.voice_items.get(item_id)
            if rec is None:
                return err("Message not found")
            return {"success": True, "data": {"id": item_id, "type": "voice", "status": rec["status"]}}, None

        if item_id in self.voice_items and not self.accept_repeated_ids:
            return err("Duplicate id")
        phone = item.get("phone")
        if isinstance(phone, int) and not isinstance(phone, bool):
            phone = str(phone)
        if not isinstance(phone, str) or not _PHONE_RE.match(phone):
            return err("Invalid phone")
        message = item.get("message")
        if not isinstance(message, str) or not message.strip():
            return err("Invalid message")
        if len(message) > self.MAX_MESSAGE:
            return err("Message is too long")
        voice = item.get("voice")
        if not isinstance(voice, dict):
            return err("Invalid voice")
        lang, name, gender = voice.get("language"), voice.get("name"), voice.get("gender")
        if (
            gender not in ("male", "female")
            or not isinstance(lang, str)
            or not _LANG_RE.match(lang)
            or not isinstance(name, str)
            or not name.startswith(lang + "-")
        ):
            return err("Invalid voice")
        if not isinstance(item.get("dtmf"), bool):
            return err("Invalid dtmf")
        msg_id = self._next_msg_id
        self._next_msg_id += 1
        self.voice_items[item_id] = {"phone": phone, "msg_id": msg_id, "status": "ACCEPTED", "at": now}
        result = {"success": True, "data": {"id": item_id, "msg_id": msg_id, "data": 1, "parts": 1}}
        return result, Delivery(phone, str(msg_id), str(msg_id), item, now, str(item_id))

    # ----------------------------------------------------------- voice.php

    def _voice_php(self, req: Request) -> Response:
        def fail(*errors: str) -> Response:
            return json_response(200, {"errors": list(errors)})

        if req.method != "POST" or req.content_type != "multipart/form-data":
            return fail("Invalid request")
        try:
            parts = parse_multipart(req.body, req.header("content-type") or "")
        except ValueError:
            return fail("Invalid request")
        fields: dict[str, str] = {}
        voice: bytes | None = None
        for name, _filename, data in parts:
            if name == "voice":
                voice = data
            else:
                fields[name] = data.decode("utf-8", "replace")
        key = fields.get("key")
        if not key:
            return fail("API key missing")
        if key != self.key:
            return fail("Invalid API key")
        errors = []
        phone = fields.get("phone", "").strip()
        if not _PHONE_RE.match(phone):
            errors.append("Invalid phone")
        hook = fields.get("hook")
        if hook is not None and hook != "" and not is_http_url(hook):
            errors.append("Invalid hook URL")
        dtmf_raw = fields.get("dtmf", "0").strip().lower()
        if dtmf_raw not in ("0", "1", "true", "false", ""):
            errors.append("Invalid dtmf")
        seconds = 0.0
        if voice is None or not voice:
            errors.append("Voice file missing")
        elif len(voice) > MAX_WAV_BYTES:
            errors.append("Voice file too large (max 5 MB)")
        else:
            try:
                audio, info = decode_media(voice)
            except UndecodableMedia:
                info = None
            if (
                info is None
                or info.container != "wav"
                or not info.codec.startswith("pcm_")
                or info.codec in ("pcm_mulaw", "pcm_alaw")
                or len(audio.samples) == 0
            ):
                errors.append("Voice file must be WAV (PCM)")
            else:
                seconds = audio.duration
        if errors:
            return fail(*errors)
        now = self._now()
        with self._lock:
            upload_id = self._next_upload_id
            self._next_upload_id += 1
            self.uploads[upload_id] = {
                "phone": phone,
                "hook": hook or None,
                "dtmf": dtmf_raw in ("1", "true"),
                "seconds": seconds,
                "status": "ACCEPTED",
                "at": now,
            }
        payload = {k: v for k, v in fields.items() if k != "key"}
        payload["voice_bytes"] = len(voice)
        self._accept([Delivery(phone, str(upload_id), str(upload_id), payload, now)])
        return json_response(200, {"id": upload_id, "price": self.upload_price})

    # ----------------------------------------------------------- progress

    def advance(self) -> int:
        changed = 0
        with self._lock:
            for rec in list(self.voice_items.values()) + list(self.uploads.values()):
                if rec["status"] == "ACCEPTED":
                    rec["status"] = _STATUS[self.outcome_of(rec["phone"])[-1]]
                    changed += 1
        return changed

    def _callback_plan(self, only: set[str] | None) -> list[_Callback]:
        self.advance()
        plan = []
        with self._lock:
            uploads = sorted(self.uploads.items())
        for upload_id, rec in uploads:
            if not rec["hook"] or (only is not None and rec["phone"] not in only):
                continue
            answered = rec["status"] == "ANSWERED"
            body = {
                "id": upload_id,
                "phone": rec["phone"],
                "status": rec["status"],
                "duration": max(1, math.ceil(rec["seconds"] - 0.1)) if answered else 0,
                "dtmf": self.dtmf.get(rec["phone"], "") if answered and rec["dtmf"] else "",
            }
            plan.append(_Callback("POST", rec["hook"], rec["phone"], json=body))
        return plan
