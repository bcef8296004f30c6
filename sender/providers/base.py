"""What a provider is: declared capabilities plus build and parse steps.

A provider never touches the network. It builds an :class:`httpx.Request`
for one chunk of recipients and parses the response into one outcome per
recipient; :mod:`voxpipe.sender.dispatch` sends, retries and journals. HTTP statuses
that say the provider cannot have accepted the message (429, 502, 503, 504)
and ambiguous failures (500, timeouts, dropped connections) are classified
by the dispatcher, so providers only parse answers that mean something.

Reconciliation too: where a provider can say whether it took a request
(``can_look_up``), ``build_lookup`` / ``parse_lookup`` ask it about one
chunk after a crash or an ambiguous answer, and :mod:`voxpipe.sender.reconcile`
sends them; each recipient is settled ``accepted``, ``not_sent`` or left
``unknown``.

Delivery tracking follows the same split: ``parse_callback`` reads a
callback the receiver got (:mod:`voxpipe.sender.hooks`), ``build_poll`` /
``parse_poll`` look statuses up and ``build_cancel`` / ``parse_cancel``
withdraw a message (:mod:`voxpipe.sender.tracking` sends them). Each says what it
found as :class:`voxpipe.sender.status.StatusUpdate` values; ``can_poll``,
``can_cancel`` and ``callback_setup`` declare what the provider offers.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qsl, quote, quote_plus

import httpx

from voxpipe.pipeline.markup import Script
from voxpipe.pipeline.redaction import REDACTED, redact_hook_paths

from ..errors import ConfigError
from ..recipients import Recipient

if TYPE_CHECKING:
    from voxpipe.pipeline.store import Request

    from ..journal import RecipientRow
    from ..status import StatusUpdate

__all__ = [
    "CancelOutcome",
    "Chunk",
    "Credential",
    "LookupPage",
    "Mode",
    "Option",
    "Outcome",
    "Payload",
    "Provider",
    "callback_data",
    "finite",
    "read_json",
]


class Mode(StrEnum):
    TTS = "tts"
    """The provider speaks our text (TTS-body mode)."""
    MEDIA = "media"
    """The provider plays our audio file (by URL or by upload)."""


@dataclass(frozen=True)
class Credential:
    name: str
    env: str
    flag: str


@dataclass(frozen=True)
class Option:
    """A provider-specific option: its flag help and a validator returning the wire value."""

    help: str
    parse: Callable[[str], Any]


@dataclass(frozen=True)
class Payload:
    """What is said, after the mode is chosen."""

    mode: Mode
    script: Script | None = None
    media_url: str | None = None
    media_path: Path | None = None
    mime: str | None = None

    @property
    def filename(self) -> str | None:
        if self.media_path is not None:
            return self.media_path.name
        if self.media_url:
            return self.media_url.split("?", 1)[0].rsplit("/", 1)[-1] or None
        return None


@dataclass(frozen=True)
class Chunk:
    """Recipients that go in one request, with the ids the journal gave them."""

    campaign: str
    index: int
    recipients: tuple[Recipient, ...]
    client_ids: tuple[int, ...] = ()
    """Our numeric id per recipient, for providers that take one (AlphaSMS)."""

    @property
    def reference(self) -> str:
        return f"{self.campaign}-{self.index}"


@dataclass(frozen=True)
class Outcome:
    """What the provider said about one recipient of a chunk."""

    status: str
    """"accepted", "rejected" or "unknown" (a 2xx the client cannot read); from a look-up also
    "not_sent" (the provider has no such request: sending it again is safe). The dispatcher
    records "failed" for what was never taken."""
    ref: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class LookupPage:
    """What one look-up answer says about a chunk's recipients.

    ``outcomes`` settles some of them (accepted, not_sent or unknown); when
    ``next`` is a request, the answer had more pages: ask it too. After the
    last page, a recipient no page settled stays unknown.
    """

    outcomes: dict[Recipient, Outcome]
    next: httpx.Request | None = None


@dataclass(frozen=True)
class CancelOutcome:
    """What the provider said to a cancel request."""

    status: str  # "cancelled", "too_late", "not_found" or "failed"
    detail: str


class Provider:
    """Base of every provider; subclasses declare their capabilities as class attributes."""

    name: ClassVar[str]
    title: ClassVar[str]
    modes: ClassVar[frozenset[Mode]]
    max_recipients: ClassVar[int]
    max_body_chars: ClassVar[int | None] = None
    recipient_form: ClassVar[str] = "phone"
    """"phone" (E.164 numbers) or "whatsapp" (chat ids; numbers become <digits>@c.us)."""
    media_profile: ClassVar[str | None] = None
    """The audio profile wanted in media mode."""
    media_by: ClassVar[str] = "url"
    """"url" (the provider fetches media_url) or "upload" (we send the file)."""
    dialect: ClassVar[str] = "plain"
    """How our markup is written in a TTS body: "plain" text or a provider dialect."""
    default_base_url: ClassVar[str]
    env_prefix: ClassVar[str]
    """VOXPIPE_<prefix>_URL overrides the base URL; credentials use the same prefix."""
    credentials: ClassVar[tuple[Credential, ...]] = ()
    options: ClassVar[dict[str, Option]] = {}
    error_map: ClassVar[dict[int, str]] = {}
    idempotent: ClassVar[bool] = False
    """True where the provider's documentation says it refuses a repeated id of ours (none does)."""
    can_cancel: ClassVar[bool] = False
    """Whether a sent message can be withdrawn before it is called (build_cancel/parse_cancel)."""
    can_poll: ClassVar[bool] = False
    """Whether statuses can be looked up (build_poll/parse_poll)."""
    callback_method: ClassVar[str] = "POST"
    callback_setup: ClassVar[str] = ""
    """Where the callback URL is configured (shown by ``voxpipe hooks``)."""

    def __init__(
        self,
        base_url: str | None = None,
        credentials: Mapping[str, str] | None = None,
        options: Mapping[str, str] | None = None,
    ) -> None:
        if base_url is not None and not base_url.strip():  # an empty --api-url must not mean "the real provider"
            raise ConfigError(
                f"{self.name}: the base URL is empty; leave the option out to use {self.default_base_url}"
            )
        self.base_url = (base_url or os.environ.get(f"VOXPIPE_{self.env_prefix}_URL") or self.default_base_url).rstrip(
            "/"
        )
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigError(f"{self.name}: base URL {self.base_url!r} must start with http:// or https://")
        given = dict(credentials or {})
        self.secrets: dict[str, str] = {}
        for cred in self.credentials:
            value = given.get(cred.name) or os.environ.get(cred.env)
            if not value:
                raise ConfigError(f"{self.name}: missing credential: set {cred.env} or pass {cred.flag}")
            self.secrets[cred.name] = value
        unknown = sorted(set(options or {}) - set(self.options))
        if unknown:
            usable = ", ".join(f"--{o.replace('_', '-')}" for o in self.options) or "none"
            raise ConfigError(
                f"{self.name}: option(s) {', '.join('--' + u.replace('_', '-') for u in unknown)} not supported "
                f"(options for {self.name}: {usable})"
            )
        self.settings: dict[str, Any] = {}
        for key, raw in (options or {}).items():
            try:
                self.settings[key] = self.options[key].parse(raw)
            except (ValueError, TypeError) as exc:
                raise ConfigError(f"{self.name}: --{key.replace('_', '-')} {raw!r}: {exc}") from exc

    # --- capabilities --------------------------------------------------------

    @classmethod
    def describe(cls) -> dict[str, Any]:
        return {
            "name": cls.name,
            "title": cls.title,
            "modes": sorted(m.value for m in cls.modes),
            "max_recipients": cls.max_recipients,
            "max_body_chars": cls.max_body_chars,
            "recipients": cls.recipient_form,
            "media_profile": cls.media_profile,
            "media_by": cls.media_by if Mode.MEDIA in cls.modes else None,
            "dialect": cls.dialect if Mode.TTS in cls.modes else None,
            "credentials": [c.env for c in cls.credentials],
            "options": sorted(cls.options),
            "idempotent": cls.idempotent,
            "can_cancel": cls.can_cancel,
            "can_poll": cls.can_poll,
            "callback_method": cls.callback_method,
            "default_base_url": cls.default_base_url,
        }

    def max_per_request(self, payload: Payload) -> int:
        return self.max_recipients

    def check(self, payload: Payload) -> None:
        """Raise ConfigError for a payload this provider cannot send (before any request)."""

    def can_look_up(self, payload: Payload) -> bool:
        """Whether the provider can say if it took a chunk of ``payload`` (build_lookup/parse_lookup)."""
        return False

    # --- the three steps -----------------------------------------------------

    def build(self, chunk: Chunk, payload: Payload) -> httpx.Request:
        raise NotImplementedError

    def parse(self, chunk: Chunk, response: httpx.Response) -> dict[Recipient, Outcome]:
        raise NotImplementedError

    # --- reconciliation (pure: sender.reconcile does the I/O) -------------------

    def build_lookup(self, chunk: Chunk, since: float) -> httpx.Request:
        """The request asking whether ``chunk`` (sent at or after ``since``, epoch seconds) was taken."""
        raise NotImplementedError

    def parse_lookup(self, chunk: Chunk, response: httpx.Response) -> LookupPage:
        """The look-up's answer; ProviderError when it says nothing usable (the chunk stays unknown)."""
        raise NotImplementedError

    # --- delivery tracking (pure: sender.hooks and sender.tracking do the I/O) ---

    @classmethod
    def parse_callback(cls, request: Request) -> list[StatusUpdate]:
        """The updates one callback carries; ValueError (with the reason) for a malformed one."""
        raise ValueError(f"{cls.name} sends no callbacks")

    @classmethod
    def polls(cls, mode: str) -> bool:
        """Whether recipients of a campaign sent in ``mode`` can be looked up."""
        return cls.can_poll

    def build_poll(self, rows: list[RecipientRow]) -> list[httpx.Request]:
        raise ConfigError(f"{self.name} has no status look-up; its statuses come by callback (see `voxpipe hooks`)")

    def parse_poll(self, response: httpx.Response) -> list[StatusUpdate]:
        raise NotImplementedError

    def build_cancel(self, ref: str) -> httpx.Request:
        raise ConfigError(f"{self.name} cannot cancel a message once it is sent")

    def parse_cancel(self, response: httpx.Response) -> CancelOutcome:
        raise NotImplementedError

    # --- helpers ---------------------------------------------------------------

    def all_rejected(self, chunk: Chunk, error: str) -> dict[Recipient, Outcome]:
        return {r: Outcome("rejected", error=error) for r in chunk.recipients}

    def http_error(self, response: httpx.Response, detail: str | None = None) -> str:
        parts = [p for p in (self.error_map.get(response.status_code), detail) if p]
        return f"{self.name}: HTTP {response.status_code}: {'; '.join(parts) or response.reason_phrase or 'error'}"

    def redact(self, request: httpx.Request) -> dict[str, Any]:
        """The request as it would be sent, every credential replaced by ***."""
        secrets = [s for s in self.secrets.values() if s]
        url = str(request.url)
        body = request.content.decode("utf-8", "replace") if request.content else ""
        headers = {}
        for name, value in request.headers.items():
            if name.lower() in ("authorization", "x-api-key"):
                scheme = value.split(" ", 1)[0] if " " in value else ""
                value = f"{scheme} {REDACTED}".strip()
            headers[name] = value
        for secret in secrets:
            for form in {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]}:
                url = url.replace(form, REDACTED)
                body = body.replace(form, REDACTED)
        # A callback URL of ours (report URL, hook) carries the journal's secret.
        url, body = redact_hook_paths(url), redact_hook_paths(body)
        return {"method": request.method, "url": url, "headers": headers, "body": _maybe_json(body)}


def callback_data(request: Request) -> Any:
    """A callback's data: its JSON or form body, or its query when it has no body."""
    body = request.body.strip()
    if not body:
        return dict(request.query)
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype == "application/x-www-form-urlencoded":
        try:
            return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            raise ValueError("the form body is not UTF-8") from None
    try:
        return read_json(body)
    except ValueError as exc:
        raise ValueError(f"the body is not JSON voxpipe accepts ({exc})") from None


def read_json(data: bytes | str) -> Any:
    """JSON from a provider (an answer or a callback), with only finite numbers.

    ValueError for invalid JSON, ``NaN``/``Infinity``, a number that overflows
    (``1e400``), an integer over Python's 4300 digits, or nesting too deep.
    """
    try:
        return json.loads(data, parse_constant=_not_a_number, parse_float=_finite_float)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _not_a_number(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:20]}{'...' if len(text) > 20 else ''} is out of range")
    return value


def finite(value: Any, what: str) -> float:
    """A provider's number (JSON number or numeric string) as a finite float; ValueError naming ``what`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{what} {_short(value)} is not a number")
    try:
        number = float(value)
    except (ValueError, OverflowError):
        raise ValueError(f"{what} {_short(value)} is not a finite number") from None
    if not math.isfinite(number):
        raise ValueError(f"{what} {_short(value)} is not a finite number")
    return number


def _short(value: Any) -> str:
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**30 else f"<{value.bit_length()}-bit integer>"
    return text if len(text) <= 40 else text[:37] + "..."


def parse_time(value: Any) -> datetime:
    """An ISO 8601 / RFC 3339 time ("Z" or "z" for UTC; a time without a zone is read as UTC)."""
    text = str(value).strip()
    when = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in ("Z", "z") else text)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def list_at(data: Mapping[str, Any], key: str) -> list[Any]:
    """``data[key]`` when it is a JSON array, else an empty list."""
    value = data.get(key)
    return value if isinstance(value, list) else []


def dict_at(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    """``data[key]`` when it is a JSON object, else an empty dict."""
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def json_object(response: httpx.Response) -> dict[str, Any]:
    """The response body as a JSON object, or {} when it is anything else (or holds a non-finite number)."""
    try:
        body = read_json(response.content)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _maybe_json(body: str) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return body
