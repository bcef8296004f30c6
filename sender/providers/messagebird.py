"""MessageBird Voice Messaging (``voicemessages``): speaks a text body to up to 50 numbers per request.

POST {base}/voicemessages, ``Authorization: AccessKey <key>``, JSON
``{"recipients": ["31612345678", ...], "body": ..., "language": "en-gb", ...}``.
The body is our markup in MessageBird's voice-body dialect (breaks, prosody
rate, comma-spelled digits), at most 1000 characters. Success is 201 with
the voice message object (its ``id`` is the reference of every recipient);
errors are ``{"errors": [{"code", "description", "parameter"}]}`` (401, 404,
422). Status reports are only sent for messages with a ``reference``, so one
always goes: the chunk reference, after the user's own as a prefix.

That reference also settles a chunk in doubt (a crash, a 500, a dropped
connection, a 201 without an id): ``GET /voicemessages`` filtered by one
recipient of the chunk and ``from`` shortly before it was sent lists the
messages MessageBird has, each with our ``reference``. One with the chunk's
reference: accepted, with its id. None in the whole list (every page read):
not sent.

Tracking:

- Status reports: MessageBird calls the ``reportUrl`` with a GET per
  recipient and status, ``?id=&reference=&recipient=&status=&statusDatetime=``,
  and redelivers (up to 10 times) until it gets 200. Only messages with a
  ``reference`` are reported; voxpipe always sets one.
- Signed reports: with the account's signing key configured (credential
  ``signing_key``, ``VOXPIPE_MESSAGEBIRD_SIGNING_KEY``) every report must
  carry a valid ``MessageBird-Signature-JWT`` header, checked as MessageBird's
  own SDKs check it (the voice page itself says nothing about signing): an
  HS256/384/512 JWT made with the signing key, issuer ``MessageBird``, within
  ``nbf``..``exp`` (give or take ``clock_skew`` seconds, 1 by default as in
  the SDKs), ``url_hash`` the hex SHA-256 of the full URL called (scheme,
  host, path and query), ``payload_hash`` that of the body when there is
  one (and absent when there is none). A token is accepted once (by its
  ``jti``, or by the token itself without one) until it expires.
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

import base64
import functools
import hashlib
import hmac
import json
import warnings
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from voxpipe.pipeline.errors import MarkupError

from ..dialects import messagebird_body
from ..errors import ConfigError, ProviderError, SignatureError
from ..recipients import Recipient
from ..statuses import Status, StatusUpdate, normalise
from .options import choice, http_url, int_range, matching, rfc3339_time
from .provider import Provider
from .replay import ReplayGuard
from .types import Callback, CancelOutcome, Chunk, Credential, LookupPage, Mode, Option, Outcome, Payload
from .wire import callback_data, finite, json_object, list_at, parse_time

if TYPE_CHECKING:
    from ..journal import RecipientRow

__all__ = ["LANGUAGES", "SIGNATURE_HEADER", "STATUSES", "MessageBird"]

LANGUAGES = (
    "cy-gb", "da-dk", "de-de", "el-gr", "en-au", "en-gb", "en-gb-wls", "en-in", "en-us",
    "es-es", "es-mx", "es-us", "fr-ca", "fr-fr", "id-id", "is-is", "it-it", "ja-jp",
    "ko-kr", "ms-my", "nb-no", "nl-nl", "pl-pl", "pt-br", "pt-pt", "ro-ro", "ru-ru",
    "sv-se", "ta-in", "th-th", "tr-tr", "vi-vn", "zh-cn", "zh-hk",
)  # fmt: skip
"""The 34 documented voice languages (no uk-ua)."""
DEFAULT_LANGUAGE = "en-gb"
LIST_LIMIT = 30
"""Messages per page of a look-up (the docs' example; they state no maximum)."""
STATUSES = {
    "scheduled": Status.QUEUED,
    "buffered": Status.QUEUED,
    "sent": Status.ACCEPTED,
    "calling": Status.RINGING,
    "answered": Status.ANSWERED,
    "delivered": Status.DELIVERED,
    "failed": Status.FAILED,
    "delivery_failed": Status.FAILED,
    "busy": Status.BUSY,
    "machine": Status.MACHINE,
    "expired": Status.EXPIRED,
}
"""MessageBird's statuses (reports, look-ups), lower case."""
SIGNATURE_HEADER = "MessageBird-Signature-JWT"
_ALGORITHMS = ["HS256", "HS384", "HS512"]  # what MessageBird's SDKs accept
_DEFAULT_SKEW_S = 1  # MessageBird's SDKs allow one second


class MessageBird(Provider):
    name: ClassVar[str] = "messagebird"
    title: ClassVar[str] = "MessageBird Voice Messaging (speaks a text body on a phone call)"
    modes = frozenset({Mode.TTS})
    max_recipients: ClassVar[int] = 50
    max_body_chars: ClassVar[int | None] = 1000
    dialect: ClassVar[str] = "messagebird"
    default_base_url: ClassVar[str] = "https://rest.messagebird.com"
    env_prefix: ClassVar[str] = "MESSAGEBIRD"
    credentials = (
        Credential("key", "VOXPIPE_MESSAGEBIRD_KEY"),
        Credential("signing_key", "VOXPIPE_MESSAGEBIRD_SIGNING_KEY", required=False),
    )
    options: ClassVar[dict[str, Option]] = {
        "language": Option(
            f"Voice language, e.g. en-us [default: {DEFAULT_LANGUAGE}]",
            choice(*LANGUAGES, what="not a MessageBird language: use"),
        ),
        "voice": Option("Voice: male or female [default: female]", choice("male", "female")),
        "repeat": Option("Times the message is said, 1-10", int_range(1, 10)),
        "if_machine": Option(
            "On an answering machine: continue, delay or hangup", choice("continue", "delay", "hangup")
        ),
        "machine_timeout": Option("Milliseconds to detect a machine, 400-10000", int_range(400, 10000)),
        "schedule": Option("Send at this RFC 3339 time, e.g. 2026-03-05T10:00:00+01:00", rfc3339_time),
        "reference": Option(
            "Prefix of the reference carried by status reports", matching(r"\S+", "a reference without spaces")
        ),
        "originator": Option(
            "Caller id: a phone number with country code",
            matching(r"\+?\d{3,16}", "a phone number with country code", r"\s().-"),
        ),
        "report_url": Option("URL that receives status reports (GET)", http_url),
        "clock_skew": Option(
            f"Seconds of clock difference allowed when checking signed reports, 0-300 [default: {_DEFAULT_SKEW_S}]",
            int_range(0, 300),
        ),
    }
    error_map: ClassVar[dict[int, str]] = {
        401: "authentication failed (check VOXPIPE_MESSAGEBIRD_KEY)",
        404: "not found (check the base URL)",
        405: "method not allowed",
    }
    can_cancel: ClassVar[bool] = True
    can_poll: ClassVar[bool] = True
    callback_method: ClassVar[str] = "GET"
    callback_setup: ClassVar[str] = (
        "pass it to `voxpipe send -P messagebird` as -O report_url=URL (reports come only for messages with a "
        "reference; voxpipe always sets one)"
    )
    _WIRE: ClassVar[dict[str, str]] = {"voice": "voice", "repeat": "repeat", "if_machine": "ifMachine",
                                       "machine_timeout": "machineTimeout", "schedule": "scheduledDatetime",
                                       "originator": "originator", "report_url": "reportUrl"}  # fmt: skip

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._bodies: dict[Any, str] = {}  # one translation per script, not per chunk
        self._tokens = ReplayGuard()

    @property
    def language(self) -> str:
        return str(self.settings.get("language", DEFAULT_LANGUAGE))

    def body(self, payload: Payload) -> str:
        if payload.script is None:
            raise ConfigError(f"{self.name}: speaks text only; give `text`")
        if payload.script not in self._bodies:
            try:
                self._bodies[payload.script] = messagebird_body(payload.script, self.language)
            except MarkupError as exc:
                raise ConfigError(f"{self.name}: {exc}") from exc
        return self._bodies[payload.script]

    def check(self, payload: Payload) -> None:
        spoken = payload.script.language if payload.script is not None else None
        if spoken and spoken.replace("_", "-").split("-")[0].lower() != self.language.split("-")[0]:
            # The body's say-as words are written in the text's language and read by this voice.
            raise ConfigError(
                f"{self.name}: the text's language {spoken!r} is not the voice's ({self.language}): "
                "set the voice with -O language=... or the text's `language` to match"
            )
        body = self.body(payload)
        if payload.script is None or payload.script.is_empty:
            raise ConfigError(f"{self.name}: the message is empty")
        if self.max_body_chars is not None and len(body) > self.max_body_chars:
            raise ConfigError(
                f"{self.name}: the body is {len(body)} characters after translation to MessageBird's markup; "
                f"at most {self.max_body_chars} are allowed"
            )

    def reference(self, chunk: Chunk) -> str:
        prefix = self.settings.get("reference")
        return f"{prefix}-{chunk.reference}" if prefix else chunk.reference

    def build(self, chunk: Chunk, payload: Payload) -> httpx.Request:
        data: dict[str, Any] = {
            "recipients": [r.digits for r in chunk.recipients],
            "body": self.body(payload),
            "language": self.language,
            "reference": self.reference(chunk),
        }
        data.update({wire: self.settings[key] for key, wire in self._WIRE.items() if key in self.settings})
        return httpx.Request(
            "POST",
            f"{self.base_url}/voicemessages",
            headers=self._headers(),
            json=data,
        )

    def parse(self, chunk: Chunk, response: httpx.Response) -> dict[Recipient, Outcome]:
        body = json_object(response)
        if not response.is_success:
            return self.all_rejected(chunk, self._error(response, body))
        msg_id = body.get("id")
        if not msg_id:
            return self.all_unknown(
                chunk, f"{self.name}: HTTP {response.status_code} without a message id; it may have been accepted"
            )
        return {r: Outcome(Status.ACCEPTED, ref=str(msg_id)) for r in chunk.recipients}

    # --- reconciliation: does MessageBird have a message with the chunk's reference? ---

    def can_look_up(self, payload: Payload) -> bool:
        return True

    def build_lookup(self, chunk: Chunk, since: float) -> httpx.Request:
        params: dict[str, str | int] = {
            "recipient": chunk.recipients[0].digits,
            "from": datetime.fromtimestamp(since, UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00"),
            "limit": LIST_LIMIT,
            "offset": 0,
        }
        return httpx.Request("GET", f"{self.base_url}/voicemessages", params=params, headers=self._headers())

    def parse_lookup(self, chunk: Chunk, response: httpx.Response) -> LookupPage:
        body = json_object(response)
        if not response.is_success:
            raise ProviderError(self._error(response, body), response=response)
        items = body.get("items")
        if not isinstance(items, list):
            raise ProviderError(
                f"{self.name}: HTTP {response.status_code}: not a list of voice messages", response=response
            )
        reference = self.reference(chunk)
        outcomes: dict[Recipient, Outcome] = {}
        for message in items:
            if not isinstance(message, dict) or message.get("reference") != reference or not message.get("id"):
                continue
            listed = _recipients(message)
            for r in chunk.recipients:
                if listed is None or r.digits in listed:  # an unreadable list of recipients: as the 201 would say, all
                    outcomes[r] = Outcome(Status.ACCEPTED, ref=str(message["id"]))
        following = _next_page(response, body, len(items))
        if isinstance(following, httpx.Request):
            return LookupPage(outcomes, following)
        if following is None:  # the last page: what no page listed was never taken
            gone = Outcome(Status.PENDING, error=f"{self.name}: no message with reference {reference}")
            outcomes = {r: outcomes.get(r, gone) for r in chunk.recipients}
        return LookupPage(outcomes)  # also when the answer cannot say it is complete: the rest stays unknown

    # --- tracking: status reports, look-ups, cancel ---------------------------------

    def parse_callback(self, callback: Callback) -> list[StatusUpdate]:
        self._check_signature(callback)
        data = callback_data(callback)
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
                self.name,
                normalise(self.name, raw.lower(), STATUSES),
                raw_status=raw,
                ref=str(data["id"]),
                address="+" + recipient,
                at=_when(data.get("statusDatetime")),
                raw=data,
            )  # fmt: skip
        ]

    def release_callback(self, callback: Callback) -> None:
        token_id = _token_id(callback.headers.get(SIGNATURE_HEADER.lower(), ""))
        if token_id:
            self._tokens.release(token_id)

    def _check_signature(self, callback: Callback) -> None:
        """With a signing key: the report's JWT is valid for this URL and body, and not used before."""
        key = self.secrets.get("signing_key")
        if not key:
            return
        token = callback.headers.get(SIGNATURE_HEADER.lower(), "").strip()
        if not token:
            raise SignatureError(f"{self.name}: no {SIGNATURE_HEADER} header (a signing key is configured)")
        if not callback.url:
            raise SignatureError(f"{self.name}: the URL called is unknown, so the signature cannot be checked")
        skew = int(self.settings.get("clock_skew", _DEFAULT_SKEW_S))
        claims = _verified_claims(token, key, skew)
        if not hmac.compare_digest(_sha256(callback.url.encode("utf-8")), str(claims.get("url_hash", ""))):
            raise SignatureError(f"{self.name}: signature: url_hash does not match the URL called")
        payload_hash = claims.get("payload_hash")
        if callback.body and not payload_hash:
            raise SignatureError(f"{self.name}: signature: no payload_hash, but the report has a body")
        if payload_hash and not callback.body:
            raise SignatureError(f"{self.name}: signature: payload_hash given, but the report has no body")
        if payload_hash and not hmac.compare_digest(_sha256(callback.body), str(payload_hash)):
            raise SignatureError(f"{self.name}: signature: payload_hash does not match the body")
        if not self._tokens.claim(_token_id(token), float(claims["exp"]) + skew):
            raise SignatureError(f"{self.name}: signature: this token was used already (a replay)")

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"AccessKey {self.secrets['key']}", "Accept": "application/json"}

    def build_poll(self, rows: list[RecipientRow]) -> list[httpx.Request]:
        refs = dict.fromkeys(r.ref for r in rows if r.ref)  # one look-up per message, not per recipient
        return [httpx.Request("GET", f"{self.base_url}/voicemessages/{ref}", headers=self._headers()) for ref in refs]

    def parse_poll(self, response: httpx.Response) -> list[StatusUpdate]:
        body = json_object(response)
        if not response.is_success:
            raise ProviderError(self._error(response, body), response=response)
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
            said = "; ".join(str(e.get("description")) for e in list_at(body, "errors") if isinstance(e, dict))
            return CancelOutcome(
                "too_late", "too late: already calling or done, no longer scheduled" + (f" ({said})" if said else "")
            )
        if response.status_code == 404:
            return CancelOutcome("not_found", "MessageBird does not know this message (deleted already?)")
        return CancelOutcome("failed", self._error(response, body))

    def _error(self, response: httpx.Response, body: dict[str, Any]) -> str:
        errors = list_at(body, "errors")
        details = [
            f"{e.get('description') or 'error'}" + (f" (parameter {e['parameter']})" if e.get("parameter") else "")
            for e in errors
            if isinstance(e, dict)
        ]
        if details:
            return f"{self.name}: HTTP {response.status_code}: {'; '.join(details)}"
        return self.http_error(response)


def _recipients(message: dict[str, Any]) -> set[str] | None:
    """The digits of a listed message's recipients; None when it does not list them readably."""
    block = message.get("recipients")
    items = block.get("items") if isinstance(block, dict) else None
    if not isinstance(items, list):
        return None
    found = {str(i["recipient"]) for i in items if isinstance(i, dict) and isinstance(i.get("recipient"), (int, str))}
    return found or None


def _next_page(response: httpx.Response, body: dict[str, Any], count: int) -> httpx.Request | None | bool:
    """The request for the next page; None on the last page; False when the answer does not say."""
    offset, total = body.get("offset"), body.get("totalCount")
    if isinstance(offset, bool) or isinstance(total, bool) or not isinstance(offset, int) or not isinstance(total, int):
        return False
    if offset + count >= total:
        return None
    if count == 0:
        return False  # a page short of the total but empty: paging would not move
    request = response.request
    return httpx.Request(request.method, request.url.copy_set_param("offset", offset + count), headers=request.headers)


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


def _verified_claims(token: str, key: str, skew_s: int) -> dict[str, Any]:
    """The claims of a token signed with ``key``, by MessageBird, valid now (within ``skew_s``)."""
    jwt = _jwt()
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=_ALGORITHMS,
            issuer="MessageBird",
            leeway=skew_s,
            options={"require": ["iss", "nbf", "exp", "url_hash"], "verify_iat": False},
        )
    except jwt.InvalidTokenError as exc:
        raise SignatureError(f"messagebird: signature: {exc}") from exc
    return claims


@functools.cache
def _jwt() -> Any:
    """PyJWT, imported by the first signed report (sending never needs it)."""
    import jwt

    # The key's length is MessageBird's choice: no warning per report about it.
    warnings.filterwarnings("ignore", category=jwt.InsecureKeyLengthWarning)
    return jwt


def _token_id(token: str) -> str:
    """What identifies a token for the replay check: its ``jti`` claim, or the token itself."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        jti = claims.get("jti") if isinstance(claims, dict) else None
    except (IndexError, ValueError):
        jti = None
    if isinstance(jti, str) and jti:
        return f"jti:{jti}"
    return "sha256:" + _sha256(token.encode("utf-8")) if token else ""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
