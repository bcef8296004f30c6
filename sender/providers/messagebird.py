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
Tracking (reports, look-ups, cancel) is in :mod:`.messagebird_status`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx

from voxpipe.pipeline.errors import MarkupError

from ..dialects import messagebird_body
from ..errors import ConfigError, ProviderError
from ..recipients import Recipient
from .base import (
    Chunk,
    Credential,
    LookupPage,
    Mode,
    Option,
    Outcome,
    Payload,
    Provider,
    json_object,
    list_at,
    parse_time,
)
from .messagebird_status import MessageBirdTracking

__all__ = ["LANGUAGES", "MessageBird"]

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


def _choice(*allowed: str, what: str = "choose") -> Callable[[str], str]:
    def parse(value: str) -> str:
        if value.strip().lower().replace("_", "-") not in allowed:
            raise ValueError(f"{what} one of {', '.join(allowed)}")
        return value.strip().lower().replace("_", "-")

    return parse


def _int_range(lo: int, hi: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        if not str(value).strip().isdecimal() or not lo <= int(value) <= hi:
            raise ValueError(f"a whole number from {lo} to {hi}")
        return int(value)

    return parse


_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def _schedule(value: str) -> str:
    """RFC 3339 (zone required), normalised to MessageBird's Y-m-d\\TH:i:sP (whole seconds)."""
    text = value.strip()
    if not _RFC3339.fullmatch(text):
        raise ValueError(
            "not an RFC 3339 date and time with a zone, e.g. 2026-03-05T10:00:00+01:00 or 2026-03-05T09:00:00Z"
        )
    try:
        when = parse_time(text)
    except ValueError as exc:
        raise ValueError(f"not a valid date and time ({exc})") from None
    return when.replace(microsecond=0).isoformat()


def _matching(pattern: str, what: str, drop: str = "") -> Callable[[str], str]:
    """A validator: the value (stripped, without ``drop`` characters) must match ``pattern``."""

    def parse(value: str) -> str:
        cleaned = re.sub(f"[{drop}]", "", value) if drop else value.strip()
        if not re.fullmatch(pattern, cleaned):
            raise ValueError(what)
        return cleaned

    return parse


class MessageBird(MessageBirdTracking, Provider):
    name: ClassVar[str] = "messagebird"
    title: ClassVar[str] = "MessageBird Voice Messaging (speaks a text body on a phone call)"
    modes = frozenset({Mode.TTS})
    max_recipients: ClassVar[int] = 50
    max_body_chars: ClassVar[int | None] = 1000
    dialect: ClassVar[str] = "messagebird"
    default_base_url: ClassVar[str] = "https://rest.messagebird.com"
    env_prefix: ClassVar[str] = "MESSAGEBIRD"
    credentials = (Credential("key", "VOXPIPE_MESSAGEBIRD_KEY", "--key"),)
    options: ClassVar[dict[str, Option]] = {
        "language": Option(
            f"Voice language, e.g. en-us [default: {DEFAULT_LANGUAGE}]",
            _choice(*LANGUAGES, what="not a MessageBird language: use"),
        ),
        "voice": Option("Voice: male or female [default: female]", _choice("male", "female")),
        "repeat": Option("Times the message is said, 1-10", _int_range(1, 10)),
        "if_machine": Option(
            "On an answering machine: continue, delay or hangup", _choice("continue", "delay", "hangup")
        ),
        "machine_timeout": Option("Milliseconds to detect a machine, 400-10000", _int_range(400, 10000)),
        "schedule": Option("Send at this RFC 3339 time, e.g. 2026-03-05T10:00:00+01:00", _schedule),
        "reference": Option(
            "Prefix of the reference carried by status reports", _matching(r"\S+", "a reference without spaces")
        ),
        "originator": Option(
            "Caller id: a phone number with country code",
            _matching(r"\+?\d{3,16}", "a phone number with country code", r"\s().-"),
        ),
        "report_url": Option(
            "URL that receives status reports (GET)", _matching(r"https?://[^\s/]+\S*", "an http(s) URL")
        ),
    }
    error_map: ClassVar[dict[int, str]] = {
        401: "authentication failed (check VOXPIPE_MESSAGEBIRD_KEY)",
        404: "not found (check the base URL)",
        405: "method not allowed",
    }
    can_cancel: ClassVar[bool] = True
    _WIRE: ClassVar[dict[str, str]] = {"voice": "voice", "repeat": "repeat", "if_machine": "ifMachine",
                                       "machine_timeout": "machineTimeout", "schedule": "scheduledDatetime",
                                       "originator": "originator", "report_url": "reportUrl"}  # fmt: skip

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._bodies: dict[Any, str] = {}  # one translation per script, not per chunk

    @property
    def language(self) -> str:
        return str(self.settings.get("language", DEFAULT_LANGUAGE))

    def body(self, payload: Payload) -> str:
        if payload.script is None:
            raise ConfigError(f"{self.name}: speaks text only; give --text or --ssml")
        if payload.script not in self._bodies:
            try:
                self._bodies[payload.script] = messagebird_body(payload.script, self.language)
            except MarkupError as exc:
                raise ConfigError(f"{self.name}: {exc}") from exc
        return self._bodies[payload.script]

    def check(self, payload: Payload) -> None:
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
            error = f"{self.name}: HTTP {response.status_code} without a message id; it may have been accepted"
            return {r: Outcome("unknown", error=error) for r in chunk.recipients}
        return {r: Outcome("accepted", ref=str(msg_id)) for r in chunk.recipients}

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
                    outcomes[r] = Outcome("accepted", ref=str(message["id"]))
        following = _next_page(response, body, len(items))
        if isinstance(following, httpx.Request):
            return LookupPage(outcomes, following)
        if following is None:  # the last page: what no page listed was never taken
            gone = Outcome("not_sent", error=f"{self.name}: no message with reference {reference}")
            outcomes = {r: outcomes.get(r, gone) for r in chunk.recipients}
        return LookupPage(outcomes)  # also when the answer cannot say it is complete: the rest stays unknown

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
