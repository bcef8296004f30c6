"""Wawp "Send Voice" (WhatsApp) simulator (seed 003, providers.md 2.3).

Endpoint ``/v2/send/voice``, ``POST`` (``GET`` too: providers.md says the
endpoint takes either; ``req.method`` is recorded if a test wants POST only).
Other paths: 404. Parameters come from the query string as the docs show;
a JSON object body with the same keys is also read (``file`` may be nested
``{"file": {"url": ..}}`` or flat ``"file[url]"``), and the query wins.

Error format is not documented; we chose ``{"status": "error", "message": "..."}``:

- 401 ``{"status":"error","message":"Unauthorized"}``: ``instance_id`` or
  ``access_token`` missing or wrong.
- 400 for everything else: a required parameter missing (``chatId``,
  ``file[url]``, ``file[filename]``, ``file[mimetype]``, ``convert`` are all
  required per the docs); ``chatId`` not matching ``^\\d{6,15}@c\\.us$``,
  ``^\\d{6,30}(-\\d+)?@g\\.us$`` or ``^\\d+@newsletter$`` (one chat per
  request, so a comma or list is invalid too); ``file[url]`` not an http(s)
  URL (production requires https; the simulator accepts http for local
  tests unless ``require_https=True``); ``convert`` not ``true``/``false``; ``file[mimetype]`` not
  ``audio/ogg; codecs=opus`` when ``convert=false`` (any ``audio/*`` with
  ``convert=true``); ``reply_to`` empty or not a serialized message id
  (``true|false_<jid>_<id>``); and media checks.
- Media (unless ``fetch_media=False``): fetched, must decode. With
  ``convert=false`` it must be an ogg container with the opus codec, mono,
  and the media server's ``Content-Type`` must start with ``audio/ogg``
  (what makes voice notes play on phones, pain point 1). With
  ``convert=true`` any decodable audio is accepted.

Success: 200 with a whatsapp-web.js message object (``_data`` plus the
flattened fields): ``id = {fromMe: true, remote: chatId, id: <20 uppercase
hex>, _serialized: "true_<chatId>_<id>"}``, ``type: "ptt"``, ``ack: 0``,
``hasMedia: true``, ``from: "<phone>@c.us"``, ``to: chatId``,
``timestamp``, ``duration`` (string seconds), ``hasQuotedMsg``. One
:class:`Delivery` with ``recipient`` = chatId and ``ref`` = ``message_id``
= ``_serialized``.

Callbacks (session webhook ``callback_url``): one ``POST`` JSON per ack, in
order (WAHA-style envelope, ``instance_id`` in place of WAHA's ``session``)::

    {"event": "message.ack", "instance_id": "<id>",
     "payload": {"id": "<_serialized>", "from": "<phone>@c.us", "to": "<chatId>",
                 "fromMe": true, "ack": 3, "ackName": "READ", "timestamp": 1700000003}}

ack values (whatsapp-web.js): -1 ERROR, 0 PENDING, 1 SERVER, 2 DEVICE,
3 READ, 4 PLAYED. Outcomes per chat (``sim.outcomes[chatId]`` or by its
digits): a list of acks such as ``[1, 2, 3, 4]`` or ``[1, -1]``, or a name:
``played``/``answered`` = [1,2,3,4], ``read`` = [1,2,3], ``delivered`` =
[1,2], ``sent`` = [1], ``pending`` = [] (no callback), ``failed`` = [-1].
Default ``played``.
"""

from __future__ import annotations

import re
from typing import Any

from .base import Delivery, Request, Response, Simulator, _Callback, is_http_url, json_response, rand_id

__all__ = ["ACK_NAMES", "WawpSim"]

ACK_NAMES = {-1: "ERROR", 0: "PENDING", 1: "SERVER", 2: "DEVICE", 3: "READ", 4: "PLAYED"}
_NAMED = {
    "played": [1, 2, 3, 4],
    "answered": [1, 2, 3, 4],
    "read": [1, 2, 3],
    "delivered": [1, 2],
    "sent": [1],
    "pending": [],
    "failed": [-1],
}
_CHAT_RES = (
    re.compile(r"^\d{6,15}@c\.us$"),
    re.compile(r"^\d{6,30}(-\d+)?@g\.us$"),
    re.compile(r"^\d+@newsletter$"),
)
_REPLY_RE = re.compile(r"^(true|false)_[^_\s]+@(c\.us|g\.us|newsletter)_[A-Za-z0-9]+(_\S+)?$")
_REQUIRED = ("chatId", "file[url]", "file[filename]", "file[mimetype]", "convert")


def _opus_mimetype(value: str) -> bool:
    parts = [p.strip().lower() for p in value.split(";")]
    if parts[0] != "audio/ogg":
        return False
    params = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
    return params.get("codecs", "").strip('"') == "opus" and len(parts) == 2


class WawpSim(Simulator):
    name = "wawp"
    SEND_PATH = "/v2/send/voice"
    OUTCOMES = frozenset(_NAMED)

    def __init__(
        self, instance_id: str, access_token: str, *, phone: str = "15550001111", require_https: bool = False, **kw: Any
    ) -> None:
        kw.setdefault("default_outcome", "played")
        self.require_https = require_https
        self.instance_id = instance_id
        self.access_token = access_token
        self.phone = phone
        self.messages: dict[str, dict[str, Any]] = {}
        super().__init__(**kw)

    def is_send(self, req: Request) -> bool:
        return req.path.rstrip("/") == self.SEND_PATH

    def error_response(self, status: int, message: str) -> Response:
        return json_response(status, {"status": "error", "message": message})

    def _check_outcome(self, item: Any) -> None:
        if isinstance(item, int) and not isinstance(item, bool) and item in ACK_NAMES:
            return
        super()._check_outcome(item)

    def acks_for(self, chat_id: str) -> list[int]:
        seq = self.outcome_of(chat_id, chat_id.split("@", 1)[0])
        if len(seq) == 1 and isinstance(seq[0], str):
            return list(_NAMED[seq[0]])
        if any(isinstance(x, str) for x in seq):
            raise ValueError("wawp: an outcome is either one name or a list of ack numbers")
        return list(seq)

    # ----------------------------------------------------------- request

    def _params(self, req: Request) -> tuple[dict[str, Any] | None, str | None]:
        params: dict[str, Any] = {}
        if req.body and req.content_type == "application/json":
            try:
                data = req.json()
            except ValueError:
                return None, "body is not valid JSON"
            if not isinstance(data, dict):
                return None, "body must be a JSON object"
            for k, v in data.items():
                if k == "file" and isinstance(v, dict):
                    for fk, fv in v.items():
                        params[f"file[{fk}]"] = fv
                else:
                    params[k] = v
        for k, v in req.query.items():
            params[k] = v[-1] if len(v) == 1 else v
        return params, None

    def handle(self, req: Request) -> Response:
        if req.path.rstrip("/") != self.SEND_PATH:
            return self.error_response(404, "Not found")
        if req.method not in ("POST", "GET"):
            resp = self.error_response(405, "Method not allowed")
            resp.headers["Allow"] = "POST, GET"
            return resp
        p, why = self._params(req)
        if p is None:
            return self.error_response(400, why)
        if p.get("instance_id") != self.instance_id or p.get("access_token") != self.access_token:
            return self.error_response(401, "Unauthorized")

        for name in _REQUIRED:
            if p.get(name) in (None, ""):
                return self.error_response(400, f"{name} is required")
        for name in ("chatId", "file[url]", "file[filename]", "file[mimetype]"):
            if not isinstance(p[name], str):
                return self.error_response(400, f"{name} must be a single string")
        chat_id = p["chatId"]
        if not any(r.match(chat_id) for r in _CHAT_RES):
            return self.error_response(400, "chatId must be <number>@c.us, <group>@g.us or <id>@newsletter (one chat)")
        convert_raw = p["convert"]
        if isinstance(convert_raw, bool):
            convert = convert_raw
        elif isinstance(convert_raw, str) and convert_raw.lower() in ("true", "false"):
            convert = convert_raw.lower() == "true"
        else:
            return self.error_response(400, "convert must be true or false")
        url = p["file[url]"]
        if not is_http_url(url) or (self.require_https and not url.startswith("https://")):
            return self.error_response(400, "file[url] must be a public https URL")
        mimetype = p["file[mimetype]"]
        if not convert and not _opus_mimetype(mimetype):
            return self.error_response(400, "file[mimetype] must be 'audio/ogg; codecs=opus' when convert=false")
        if convert and not mimetype.lower().startswith("audio/"):
            return self.error_response(400, "file[mimetype] must be an audio type")
        reply_to = p.get("reply_to")
        if reply_to is not None and (not isinstance(reply_to, str) or not _REPLY_RE.match(reply_to)):
            return self.error_response(400, "reply_to must be a serialized message id")

        seconds = 1.0
        if self.fetch_media:
            media = self.media.fetch(url)
            if not media.ok:
                return self.error_response(400, media.error or "file[url] could not be fetched")
            info = media.info
            if not convert:
                if info.container != "ogg" or info.codec != "opus":
                    return self.error_response(
                        400, f"file is {info.container}/{info.codec}, not OGG/Opus (send convert=true or convert it)"
                    )
                if info.channels != 1:
                    return self.error_response(400, f"voice notes must be mono, file has {info.channels} channels")
                if not media.content_type.lower().startswith("audio/ogg"):
                    return self.error_response(
                        400, f"media server answered Content-Type {media.content_type!r}, expected audio/ogg"
                    )
            seconds = media.duration or seconds

        now = self._now()
        ts = int(now)
        wid = "3EB0" + rand_id(16, "0123456789ABCDEF", rng=self._rng)
        serialized = f"true_{chat_id}_{wid}"
        server = chat_id.split("@", 1)[1]
        ident = {"fromMe": True, "remote": chat_id, "id": wid, "_serialized": serialized}
        me = f"{self.phone}@c.us"
        duration = str(max(1, round(seconds)))
        obj = {
            "_data": {
                "id": ident,
                "body": "",
                "type": "ptt",
                "t": ts,
                "from": {"server": "c.us", "user": self.phone, "_serialized": me},
                "to": {"server": server, "user": chat_id.split("@", 1)[0], "_serialized": chat_id},
                "ack": 0,
                "isNewMsg": True,
                "mimetype": "audio/ogg; codecs=opus",
                "duration": duration,
                "isForwarded": False,
            },
            "id": ident,
            "ack": 0,
            "hasMedia": True,
            "body": "",
            "type": "ptt",
            "timestamp": ts,
            "from": me,
            "to": chat_id,
            "deviceType": "web",
            "isForwarded": False,
            "forwardingScore": 0,
            "isStatus": False,
            "isStarred": False,
            "fromMe": True,
            "hasQuotedMsg": reply_to is not None,
            "hasReaction": False,
            "duration": duration,
            "vCards": [],
            "mentionedIds": [],
            "links": [],
        }
        payload = {k: v for k, v in p.items() if k not in ("instance_id", "access_token")}
        with self._lock:
            self.messages[serialized] = {"chatId": chat_id, "at": now, "payload": payload}
        self._accept([Delivery(chat_id, serialized, serialized, payload, now)])
        return json_response(200, obj)

    # ----------------------------------------------------------- callbacks

    def _callback_plan(self, only: set[str] | None) -> list[_Callback]:
        if not self.callback_url:
            raise ValueError("wawp: callback_url (session webhook) is not configured")
        with self._lock:
            accepted = list(self.accepted)
        plan = []
        for d in accepted:
            if only is not None and d.recipient not in only and d.recipient.split("@", 1)[0] not in only:
                continue
            for i, ack in enumerate(self.acks_for(d.recipient)):
                body = {
                    "event": "message.ack",
                    "instance_id": self.instance_id,
                    "payload": {
                        "id": d.ref,
                        "from": f"{self.phone}@c.us",
                        "to": d.recipient,
                        "fromMe": True,
                        "ack": ack,
                        "ackName": ACK_NAMES[ack],
                        "timestamp": int(d.at) + 1 + i,
                    },
                }
                plan.append(_Callback("POST", self.callback_url, d.recipient, json=body))
        return plan
