"""MessageBird ``voicemessages`` REST simulator (seed 002, providers.md 2.2).

Routes (auth first on every route, then routing):

- ``POST /voicemessages``: create. JSON object body, or form-encoded as the
  docs' curl shows (``-d recipients=...``; repeated keys and comma-joined
  values both work). ``_method=GET|POST|DELETE`` in the query overrides the
  HTTP method (documented); with ``GET ...?_method=POST`` the parameters are
  read from the query string.
- ``GET /voicemessages`` (list, oldest first; ``offset``, ``limit`` (default
  20), filters ``recipient``, ``originator``, ``status`` (a message with an
  item in that status) and ``from`` / ``until`` (RFC 3339, on
  ``createdDatetime``, inclusive), as the docs list them; a bad value: 422),
  ``GET /voicemessages/{id}``,
  ``DELETE /voicemessages/{id}``. Wrong method on a known path: 405; unknown
  path: 404 ``{"errors":[{"code":20,"description":"not found","parameter":null}]}``.

Auth: ``Authorization: AccessKey <key>``, else 401
``{"errors":[{"code":2,"description":"Request not allowed (incorrect access_key)","parameter":"access_key"}]}``.

Validation (all problems are reported together) answers 422
``{"errors":[{"code":C,"description":"...","parameter":"<field>"}, ...]}``
with MessageBird's codes: **9** for a missing required parameter and for
recipients ("no (correct) recipients found"), **10** for an invalid value.
Rules: ``recipients`` 1..50 msisdns (ints or digit strings, 8..15 digits, no
``+``; duplicates are kept and each is called); ``body`` required, a string
of at most 1000 characters whose markup is only ``<break time="Ns|Nms"/>``
and ``<prosody rate="±N%">...</prosody>`` (balanced; any other tag, a
stray ``<`` / ``>`` or a bad attribute is invalid); ``language`` one of the
34 documented codes (lower case; default ``en-gb``); ``voice`` male|female
(default female); ``repeat`` 1..10 (default 1); ``ifMachine``
continue|delay|hangup (default ``delay``, as the docs say); ``machineTimeout``
400..10000 (default 7000); ``scheduledDatetime`` RFC 3339 with a zone;
``originator`` string of at most 17 characters; ``reference`` string;
``reportUrl`` http(s) URL. Integers may be JSON numbers or digit strings.
Unsupported Content-Type on create: 400 code 21 "Bad request". Injected
faults and the rate limit use the same envelope: 429 with code 21, 500 with
code 99 (502/503/504 are gateway HTML pages, as from a proxy).

Success: 201 with the documented voice message object; recipient items are
``{"recipient": <int>, "status": "calling"|"scheduled", "statusDatetime"}``
(``scheduled`` while ``scheduledDatetime`` is in the future). One
:class:`Delivery` per recipient (``ref`` = ``message_id`` = message id,
``client_ref`` = reference).

State: ``sim.advance(include_scheduled=False)`` moves ``calling`` items (and
scheduled ones whose time has come, or all with ``include_scheduled``) to the
scripted outcome; items then carry ``statusReason`` and ``price``. Outcomes
(``sim.outcomes[msisdn]``; a list means its last element):

=================  ============  =======================  ===============
outcome            status        statusReason             price
=================  ============  =======================  ===============
answered           answered      successfully delivered   amount/currency
machine            machine       successfully delivered   amount/currency
busy               busy          generic delivery failure null/null
no_answer          failed        timeout                  null/null
failed             failed        generic delivery failure null/null
invalid            failed        incorrect number         null/null
unknown_subscriber failed        unknown subscriber       null/null
expired            failed        expired                  null/null
=================  ============  =======================  ===============

Counts: totalSentCount = items ``calling``, totalDeliveredCount = ``answered``,
totalDeliveryFailedCount = ``failed``/``busy``/``machine`` (as documented).

DELETE: a message whose items are all still ``scheduled`` → 204 and it is
gone (``sim.deleted`` keeps its id); unknown id → 404 code 20; a message
already calling or finished → 422 ``{"errors":[{"code":21,"description":
"voice message is no longer scheduled and cannot be deleted","parameter":"id"}]}``
(behaviour not documented; this is our choice).

Status reports: ``fire_callbacks`` first calls ``advance()``, then for every
message that has a ``reference`` (documented: no reference, no report) sends
``GET <reportUrl or callback_url>?id=&reference=&recipient=&status=&statusDatetime=``
per recipient: one ``calling`` report (unless ``report_calling=False``) and
one with the final status. A report is redelivered until it gets exactly 200,
up to ``max_redeliveries`` (10) more times, ``redelivery_pause_s`` apart.
With ``signing_key``, every delivery attempt carries a fresh
``MessageBird-Signature-JWT`` (:func:`sign_report`, the claims MessageBird's
SDKs check; the voice page itself says nothing about signing).
"""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

import httpx
import jwt

from .base import Delivery, Request, Response, Simulator, _Callback, is_http_url, json_response, rand_id, utc_iso

__all__ = ["LANGUAGES", "SIGNATURE_HEADER", "MessageBirdSim", "check_body_markup", "sign_report"]

SIGNATURE_HEADER = "MessageBird-Signature-JWT"

LANGUAGES = (
    "cy-gb", "da-dk", "de-de", "el-gr", "en-au", "en-gb", "en-gb-wls", "en-in", "en-us",
    "es-es", "es-mx", "es-us", "fr-ca", "fr-fr", "id-id", "is-is", "it-it", "ja-jp",
    "ko-kr", "ms-my", "nb-no", "nl-nl", "pl-pl", "pt-br", "pt-pt", "ro-ro", "ru-ru",
    "sv-se", "ta-in", "th-th", "tr-tr", "vi-vn", "zh-cn", "zh-hk",
)  # fmt: skip
assert len(LANGUAGES) == 34

_OUTCOMES = {
    "answered": ("answered", "successfully delivered", True),
    "machine": ("machine", "successfully delivered", True),
    "busy": ("busy", "generic delivery failure", False),
    "no_answer": ("failed", "timeout", False),
    "failed": ("failed", "generic delivery failure", False),
    "invalid": ("failed", "incorrect number", False),
    "unknown_subscriber": ("failed", "unknown subscriber", False),
    "expired": ("failed", "expired", False),
}

_MSISDN_RE = re.compile(r"^\d{8,15}$")
_ID_PATH_RE = re.compile(r"^/voicemessages/([^/]+)/?$")
_RFC3339_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_TAG_RE = re.compile(r"<[^<>]*>")
_BREAK_RE = re.compile(r"""^<break\s+time\s*=\s*(["'])(\d+(\.\d+)?s|\d+ms)\1\s*/>$""")
_PROSODY_RE = re.compile(r"""^<prosody\s+rate\s*=\s*(["'])[+-]?\d+(\.\d+)?%\1\s*>$""")
_PROSODY_END_RE = re.compile(r"^</prosody\s*>$")


def check_body_markup(body: str) -> str | None:
    """``None`` when ``body`` uses only the documented voice-body markup, else why not."""
    stack = 0
    pos = 0
    while True:
        lt = body.find("<", pos)
        gt = body.find(">", pos)
        if gt != -1 and (lt == -1 or gt < lt):
            return f"stray '>' at character {gt}"
        if lt == -1:
            break
        m = _TAG_RE.match(body, lt)
        if m is None:
            return f"unterminated tag at character {lt}"
        tag = m.group(0)
        if _BREAK_RE.match(tag):
            pass
        elif _PROSODY_RE.match(tag):
            stack += 1
        elif _PROSODY_END_RE.match(tag):
            if stack == 0:
                return f"closing </prosody> without an opening tag at character {lt}"
            stack -= 1
        else:
            return f"unsupported or malformed tag {tag!r} at character {lt}"
        pos = m.end()
    if stack:
        return "unclosed <prosody> tag"
    return None


def _err(code: int, description: str, parameter: str | None) -> dict[str, Any]:
    return {"code": code, "description": description, "parameter": parameter}


def _rfc3339(value: str) -> float | None:
    """Epoch seconds of an RFC 3339 time with a zone; None when it is not one."""
    if not _RFC3339_RE.match(value):
        return None
    try:
        return datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _int_param(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d+", value.strip()):
        return int(value)
    return None


class MessageBirdSim(Simulator):
    name = "messagebird"
    PATH = "/voicemessages"
    MAX_RECIPIENTS = 50
    MAX_BODY = 1000
    OUTCOMES = frozenset(_OUTCOMES)

    def __init__(
        self,
        access_key: str,
        *,
        price: float = 0.055,
        currency: str = "EUR",
        max_redeliveries: int = 10,
        report_calling: bool = True,
        signing_key: str | None = None,
        **kw: Any,
    ) -> None:
        self.access_key = access_key
        self.signing_key = signing_key
        self.price = price
        self.currency = currency
        self.max_redeliveries = max_redeliveries
        self.report_calling = report_calling
        self.messages: dict[str, dict[str, Any]] = {}
        self.deleted: set[str] = set()
        super().__init__(**kw)

    def sign_callback(self, request: httpx.Request) -> None:
        """With a signing key: a fresh ``MessageBird-Signature-JWT`` per delivery attempt (as the SDKs check it)."""
        if self.signing_key:
            request.headers[SIGNATURE_HEADER] = sign_report(self.signing_key, str(request.url), request.content)

    # ----------------------------------------------------------- plumbing

    def is_send(self, req: Request) -> bool:
        return req.path.rstrip("/") == self.PATH and self._method(req) == "POST"

    def error_response(self, status: int, message: str) -> Response:
        code = {401: 2, 404: 20, 422: 10}.get(status, 99 if status >= 500 else 21)
        return json_response(status, {"errors": [_err(code, message, None)]})

    @staticmethod
    def _method(req: Request) -> str:
        override = req.query.get("_method")
        return override[-1].upper() if override else req.method

    def handle(self, req: Request) -> Response:
        if (req.header("authorization") or "") != f"AccessKey {self.access_key}":
            return json_response(401, {"errors": [_err(2, "Request not allowed (incorrect access_key)", "access_key")]})
        method = self._method(req)
        if req.path.rstrip("/") == self.PATH:
            if method == "POST":
                return self._create(req)
            if method == "GET":
                return self._list(req)
            return self._not_allowed("GET, POST")
        m = _ID_PATH_RE.match(req.path)
        if m:
            if method == "GET":
                return self._view(m.group(1))
            if method == "DELETE":
                return self._delete(m.group(1))
            return self._not_allowed("GET, DELETE")
        return json_response(404, {"errors": [_err(20, "not found", None)]})

    def _not_allowed(self, allow: str) -> Response:
        return json_response(405, {"errors": [_err(21, "method not allowed", None)]}, {"Allow": allow})

    # ----------------------------------------------------------- create

    def _params(self, req: Request) -> tuple[dict[str, Any] | None, Response | None]:
        if req.method == "GET":  # the documented GET alternative (?_method=POST)
            return self._form(req.query_string), None
        if req.content_type == "application/json":
            try:
                data = req.json()
            except ValueError:
                return None, json_response(400, {"errors": [_err(21, "Bad request: invalid JSON", None)]})
            if not isinstance(data, dict):
                return None, json_response(400, {"errors": [_err(21, "Bad request: body must be an object", None)]})
            return data, None
        if req.content_type == "application/x-www-form-urlencoded":
            try:
                text = req.body.decode("utf-8")
            except UnicodeDecodeError:
                return None, json_response(400, {"errors": [_err(21, "Bad request: body is not UTF-8", None)]})
            return self._form(text), None
        return None, json_response(
            400, {"errors": [_err(21, "Bad request: Content-Type must be application/json or form-encoded", None)]}
        )

    @staticmethod
    def _form(text: str) -> dict[str, Any]:
        q = parse_qs(text, keep_blank_values=True)
        q.pop("_method", None)
        out: dict[str, Any] = {k: v[-1] for k, v in q.items()}
        recips = q.get("recipients", []) + q.get("recipients[]", [])
        if recips:
            out["recipients"] = ",".join(recips)
        out.pop("recipients[]", None)
        return out

    def _create(self, req: Request) -> Response:
        p, bad = self._params(req)
        if bad is not None:
            return bad
        errors: list[dict[str, Any]] = []

        # recipients
        raw = p.get("recipients")
        if isinstance(raw, str):
            raw = [r.strip() for r in raw.split(",")] if raw.strip() else []
        elif isinstance(raw, (int, float)) and not isinstance(raw, bool):
            raw = [raw]
        recipients: list[int] = []
        if raw is None or raw == []:
            errors.append(_err(9, "no (correct) recipients found", "recipients"))
        elif not isinstance(raw, list):
            errors.append(_err(9, "no (correct) recipients found: recipients must be a list of msisdns", "recipients"))
        else:
            for r in raw:
                text = str(r) if isinstance(r, int) and not isinstance(r, bool) else r
                if not isinstance(text, str) or not _MSISDN_RE.match(text):
                    errors.append(_err(9, f"no (correct) recipients found: {r!r} is not an msisdn", "recipients"))
                    break
                recipients.append(int(text))
            if len(raw) > self.MAX_RECIPIENTS:
                errors.append(_err(10, f"too many recipients (max {self.MAX_RECIPIENTS} per request)", "recipients"))

        # body
        body = p.get("body")
        if body is None or body == "":
            errors.append(_err(9, "body is required", "body"))
        elif not isinstance(body, str):
            errors.append(_err(10, "body must be a string", "body"))
        elif len(body) > self.MAX_BODY:
            errors.append(_err(10, f"body is too long ({len(body)} > {self.MAX_BODY} characters)", "body"))
        else:
            why = check_body_markup(body)
            if why:
                errors.append(_err(10, f"body is invalid: {why}", "body"))

        def choice(name: str, allowed: tuple[str, ...], default: str) -> str:
            v = p.get(name, default)
            if v not in allowed:
                errors.append(_err(10, f"{name} is invalid (one of: {', '.join(allowed)})", name))
            return v

        language = choice("language", LANGUAGES, "en-gb")
        voice = choice("voice", ("male", "female"), "female")
        if_machine = choice("ifMachine", ("continue", "delay", "hangup"), "delay")

        def int_range(name: str, lo: int, hi: int, default: int) -> int:
            if name not in p:
                return default
            v = _int_param(p[name])
            if v is None or not lo <= v <= hi:
                errors.append(_err(10, f"{name} must be an integer from {lo} to {hi}", name))
                return default
            return v

        repeat = int_range("repeat", 1, 10, 1)
        machine_timeout = int_range("machineTimeout", 400, 10000, 7000)

        scheduled = p.get("scheduledDatetime")
        scheduled_at: float | None = None
        if scheduled is not None and scheduled != "":
            if not isinstance(scheduled, str) or not _RFC3339_RE.match(scheduled):
                errors.append(_err(10, "scheduledDatetime must be RFC 3339 (Y-m-d\\TH:i:sP)", "scheduledDatetime"))
            else:
                try:
                    scheduled_at = datetime.fromisoformat(
                        scheduled.replace("z", "Z").replace("Z", "+00:00")
                    ).timestamp()
                except ValueError:
                    errors.append(_err(10, "scheduledDatetime is not a valid date", "scheduledDatetime"))
        else:
            scheduled = None

        originator = p.get("originator")
        if originator is not None and (not isinstance(originator, str) or not 0 < len(originator) <= 17):
            errors.append(_err(10, "originator is invalid", "originator"))
        reference = p.get("reference")
        if reference is not None and (not isinstance(reference, str) or not reference):
            errors.append(_err(10, "reference is invalid", "reference"))
        report_url = p.get("reportUrl")
        if report_url is not None and not is_http_url(report_url):
            errors.append(_err(10, "reportUrl is invalid", "reportUrl"))

        if errors:
            return json_response(422, {"errors": errors})

        now = self._now()
        msg_id = rand_id(32, "0123456789abcdef", rng=self._rng)
        future = scheduled_at is not None and scheduled_at > now
        status = "scheduled" if future else "calling"
        msg = {
            "id": msg_id,
            "href": f"{self.base_url}{self.PATH}/{msg_id}",
            "originator": originator,
            "body": body,
            "reference": reference,
            "language": language,
            "voice": voice,
            "repeat": repeat,
            "ifMachine": if_machine,
            "machineTimeout": machine_timeout,
            "scheduledDatetime": scheduled,
            "createdDatetime": utc_iso(now),
            "_scheduled_at": scheduled_at,
            "_created_at": now,
            "_report_url": report_url,
            "_items": [{"recipient": r, "status": status, "statusDatetime": utc_iso(now)} for r in recipients],
        }
        with self._lock:
            self.messages[msg_id] = msg
            obj = self._public(msg)
        payload = dict(p.items())
        self._accept(Delivery(str(r), msg_id, msg_id, payload, now, reference) for r in recipients)
        return json_response(201, obj)

    # ----------------------------------------------------------- read / delete

    def _public(self, msg: dict[str, Any]) -> dict[str, Any]:
        items = [dict(i) for i in msg["_items"]]
        statuses = [i["status"] for i in items]
        obj = {k: v for k, v in msg.items() if not k.startswith("_")}
        obj["recipients"] = {
            "totalCount": len(items),
            "totalSentCount": statuses.count("calling"),
            "totalDeliveredCount": statuses.count("answered"),
            "totalDeliveryFailedCount": sum(s in ("failed", "busy", "machine") for s in statuses),
            "items": items,
        }
        return obj

    def _view(self, msg_id: str) -> Response:
        with self._lock:
            msg = self.messages.get(msg_id)
            if msg is None:
                return json_response(404, {"errors": [_err(20, "message not found", None)]})
            return json_response(200, self._public(msg))

    def _list(self, req: Request) -> Response:
        q = {k: v[-1] for k, v in req.query.items()}
        offset = _int_param(q.get("offset", "0"))
        limit = _int_param(q.get("limit", "20"))
        if offset is None or limit is None or offset < 0 or limit < 1:
            return json_response(
                422, {"errors": [_err(10, "offset and limit must be integers (limit at least 1)", "limit")]}
            )
        bounds = {}
        for name in ("from", "until"):
            if name in q:
                when = _rfc3339(q[name])
                if when is None:
                    return json_response(422, {"errors": [_err(10, f"{name} must be RFC 3339 (Y-m-d\\TH:i:sP)", name)]})
                bounds[name] = when
        with self._lock:
            msgs = list(self.messages.values())
            if "recipient" in q:
                msgs = [m for m in msgs if any(str(i["recipient"]) == q["recipient"] for i in m["_items"])]
            if "originator" in q:
                msgs = [m for m in msgs if m["originator"] == q["originator"]]
            if "status" in q:
                msgs = [m for m in msgs if any(i["status"] == q["status"] for i in m["_items"])]
            if "from" in bounds:  # createdDatetime has whole seconds
                msgs = [m for m in msgs if int(m["_created_at"]) >= bounds["from"]]
            if "until" in bounds:
                msgs = [m for m in msgs if int(m["_created_at"]) <= bounds["until"]]
            page = [self._public(m) for m in msgs[offset : offset + limit]]
        base = f"{self.base_url}{self.PATH}/"
        total = len(msgs)
        last_offset = max(0, ((total - 1) // limit) * limit) if limit else 0
        links = {
            "first": f"{base}?offset=0&limit={limit}",
            "previous": f"{base}?offset={max(0, offset - limit)}&limit={limit}" if offset > 0 else None,
            "next": f"{base}?offset={offset + limit}&limit={limit}" if offset + limit < total else None,
            "last": f"{base}?offset={last_offset}&limit={limit}",
        }
        return json_response(
            200,
            {"offset": offset, "limit": limit, "count": len(page), "totalCount": total, "links": links, "items": page},
        )

    def _delete(self, msg_id: str) -> Response:
        with self._lock:
            msg = self.messages.get(msg_id)
            if msg is None:
                return json_response(404, {"errors": [_err(20, "message not found", None)]})
            if any(i["status"] != "scheduled" for i in msg["_items"]):
                return json_response(
                    422,
                    {"errors": [_err(21, "voice message is no longer scheduled and cannot be deleted", "id")]},
                )
            del self.messages[msg_id]
            self.deleted.add(msg_id)
        return Response(204, b"", None)

    # ----------------------------------------------------------- progress

    def advance(self, include_scheduled: bool = False) -> int:
        """Apply scripted outcomes; returns how many items changed."""
        now = self._now()
        changed = 0
        with self._lock:
            for msg in self.messages.values():
                due = msg["_scheduled_at"] is None or msg["_scheduled_at"] <= now or include_scheduled
                for item in msg["_items"]:
                    if item["status"] == "scheduled" and due:
                        item["status"] = "calling"
                    if item["status"] != "calling":
                        continue
                    outcome = self.outcome_of(str(item["recipient"]))[-1]
                    status, reason, billed = _OUTCOMES[outcome]
                    item["status"] = status
                    item["statusDatetime"] = utc_iso(max(now, msg["_created_at"] + 1))
                    item["statusReason"] = reason
                    item["price"] = (
                        {"amount": self.price, "currency": self.currency}
                        if billed
                        else {"amount": None, "currency": None}
                    )
                    changed += 1
        return changed

    def _callback_plan(self, only: set[str] | None) -> list[_Callback]:
        self.advance()
        plan: list[_Callback] = []
        with self._lock:
            for msg in self.messages.values():
                url = msg["_report_url"] or self.callback_url
                if not msg["reference"] or not url:
                    continue
                for item in msg["_items"]:
                    recipient = str(item["recipient"])
                    if (only is not None and recipient not in only) or item["status"] == "scheduled":
                        continue
                    reports = []
                    if self.report_calling:
                        reports.append(("calling", utc_iso(msg["_created_at"])))
                    if item["status"] != "calling":
                        reports.append((item["status"], item["statusDatetime"]))
                    for status, when in reports:
                        params = {
                            "id": msg["id"],
                            "reference": msg["reference"],
                            "recipient": recipient,
                            "status": status,
                            "statusDatetime": when,
                        }
                        plan.append(
                            _Callback(
                                "GET",
                                url,
                                recipient,
                                params=params,
                                max_attempts=1 + self.max_redeliveries,
                                ok_statuses=(200,),
                            )  # fmt: skip
                        )
        return plan


def sign_report(
    key: str,
    url: str,
    body: bytes = b"",
    *,
    now: float | None = None,
    lifetime_s: float = 60,
    jti: str | None = None,
    issuer: str = "MessageBird",
    algorithm: str = "HS256",
) -> str:
    """A ``MessageBird-Signature-JWT`` as MessageBird's SDKs validate it: HS256 with the signing key, issuer
    ``MessageBird``, ``nbf``/``exp``, a ``jti``, ``url_hash`` (hex SHA-256 of the URL called) and, with a body,
    ``payload_hash`` (hex SHA-256 of the body)."""
    at = time.time() if now is None else now
    claims: dict[str, Any] = {
        "iss": issuer,
        "nbf": int(at),
        "exp": int(at + lifetime_s),
        "jti": jti or str(uuid.uuid4()),
        "url_hash": hashlib.sha256(url.encode()).hexdigest(),
    }
    if body:
        claims["payload_hash"] = hashlib.sha256(body).hexdigest()
    return jwt.encode(claims, key, algorithm=algorithm)
