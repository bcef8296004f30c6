"""What a provider is: declared capabilities plus build and parse steps.

A provider never touches the network. It builds an :class:`httpx.Request`
for one chunk of recipients and parses the response into one outcome per
recipient; :mod:`sender.dispatch` sends, retries and journals. HTTP statuses
that say the provider cannot have accepted the message (429, 502, 503, 504)
and ambiguous failures (500, timeouts, dropped connections) are classified
by the dispatcher, so providers only parse answers that mean something.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Callable, ClassVar, Mapping
from urllib.parse import quote, quote_plus

import httpx

from pipeline.markup import Script

from ..errors import ConfigError
from ..recipients import Recipient

__all__ = [
    "Chunk",
    "Credential",
    "Mode",
    "Option",
    "Outcome",
    "Payload",
    "Provider",
    "REDACTED",
]

REDACTED = "***"


class Mode(str, Enum):
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

    status: str  # "accepted" or "rejected"
    ref: str | None = None
    error: str | None = None


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
    """True when resending a chunk cannot duplicate a call (the provider dedupes our ids)."""
    can_cancel: ClassVar[bool] = False

    def __init__(
        self,
        base_url: str | None = None,
        credentials: Mapping[str, str] | None = None,
        options: Mapping[str, str] | None = None,
    ) -> None:
        self.base_url = (base_url or os.environ.get(f"VOXPIPE_{self.env_prefix}_URL") or self.default_base_url).rstrip("/")
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
            "default_base_url": cls.default_base_url,
        }

    def max_per_request(self, payload: Payload) -> int:
        return self.max_recipients

    def check(self, payload: Payload) -> None:
        """Raise ConfigError for a payload this provider cannot send (before any request)."""

    def is_idempotent(self, payload: Payload) -> bool:
        """Whether resending ``payload`` cannot duplicate a call (some providers dedupe in one mode only)."""
        return self.idempotent

    # --- the three steps -----------------------------------------------------

    def build(self, chunk: Chunk, payload: Payload) -> httpx.Request:
        raise NotImplementedError

    def parse(self, chunk: Chunk, response: httpx.Response) -> dict[Recipient, Outcome]:
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
        return {"method": request.method, "url": url, "headers": headers, "body": _maybe_json(body)}


def _maybe_json(body: str) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return body
