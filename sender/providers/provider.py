"""The provider contract: declared capabilities plus pure build and parse steps.

A provider never touches the network. It builds an :class:`httpx.Request`
for one chunk of recipients and parses the response into one outcome per
recipient; :mod:`voxpipe.sender.dispatch` sends, retries and journals. HTTP
statuses that say the provider cannot have accepted the message (429, 502,
503, 504) and ambiguous failures (500, timeouts, dropped connections) are
classified by the dispatcher, so providers only parse answers that mean
something.

Reconciliation too: where a provider can say whether it took a request
(``can_look_up``), ``build_lookup`` / ``parse_lookup`` ask it about one chunk
after a crash or an ambiguous answer (:mod:`voxpipe.sender.reconcile` sends
them); each recipient is settled ``accepted``, ``pending`` (never taken) or
left ``unknown``.

Delivery tracking follows the same split: ``parse_callback`` reads a
callback the receiver got, ``build_poll`` / ``parse_poll`` look statuses up
and ``build_cancel`` / ``parse_cancel`` withdraw a message
(:mod:`voxpipe.sender.tracking` sends them). Each reports what it found as
:class:`~voxpipe.sender.statuses.StatusUpdate` values.

A third-party provider is a subclass in its own module, registered under the
``voxpipe.providers`` entry-point group (see :mod:`.registry`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote, quote_plus

import httpx

from voxpipe.pipeline.redaction import REDACTED, redact_hook_paths

from ..errors import ConfigError
from ..recipients import Recipient
from ..statuses import Status, StatusUpdate
from .types import Callback, CancelOutcome, Chunk, Credential, LookupPage, Mode, Option, Outcome, Payload
from .wire import maybe_json

if TYPE_CHECKING:
    from ..journal import RecipientRow

__all__ = ["Provider"]


class Provider:
    """Base of every provider; subclasses declare their capabilities as class attributes.

    Construct with what is known: credentials missing at construction are
    allowed (a dry run and the callback receiver need none) and are asked for
    by :meth:`require_credentials` before anything is sent.
    """

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
        *,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        if base_url is not None and not base_url.strip():  # an empty api_url must not mean "the real provider"
            raise ConfigError(f"{self.name}: the base URL is empty; leave it out to use {self.default_base_url}")
        self.base_url = (base_url or env.get(f"VOXPIPE_{self.env_prefix}_URL") or self.default_base_url).rstrip("/")
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigError(f"{self.name}: base URL {self.base_url!r} must start with http:// or https://")
        given = dict(credentials or {})
        unknown = sorted(set(given) - {c.name for c in self.credentials})
        if unknown:
            raise ConfigError(
                f"{self.name}: no credential named {', '.join(unknown)} (it takes: {self._credential_names()})"
            )
        self.secrets: dict[str, str] = {}
        self.missing: tuple[Credential, ...] = ()
        for cred in self.credentials:
            value = given.get(cred.name) or env.get(cred.env)
            if value:
                self.secrets[cred.name] = value
            elif cred.required:
                self.secrets[cred.name] = REDACTED  # what a dry run shows; require_credentials() refuses to send
                self.missing += (cred,)
        unknown = sorted(set(options or {}) - set(self.options))
        if unknown:
            raise ConfigError(
                f"{self.name}: option {', '.join(unknown)} is not one of {self.name}'s "
                f"(its options: {', '.join(self.options) or 'none'})"
            )
        self.settings: dict[str, Any] = {}
        for key, raw in (options or {}).items():
            try:
                self.settings[key] = self.options[key].parse(raw)
            except (ValueError, TypeError) as exc:
                raise ConfigError(f"{self.name}: option {key}={raw!r}: {exc}") from exc

    def _credential_names(self) -> str:
        return ", ".join(c.name for c in self.credentials) or "none"

    def require_credentials(self) -> None:
        """Raise ConfigError naming every credential still missing (before any request is sent)."""
        if self.missing:
            names = ", ".join(c.name for c in self.missing)
            where = " and ".join(c.env for c in self.missing)
            raise ConfigError(f"{self.name}: missing credential {names}: set {where}")

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
            "options": {name: option.help for name, option in sorted(cls.options.items())},
            "can_look_up": cls.can_look_up is not Provider.can_look_up,
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

    # --- delivery tracking (pure: the receiver and sender.tracking do the I/O) ---

    def parse_callback(self, callback: Callback) -> list[StatusUpdate]:
        """The updates one callback carries; ValueError (with the reason) for a malformed one.

        Called on a configured instance, so a provider that signs its callbacks
        can check the signature with its own key.
        """
        raise ValueError(f"{self.name} sends no callbacks")

    def release_callback(self, callback: Callback) -> None:
        """``callback`` was parsed but could not be stored (the provider will redeliver it): forget
        whatever :meth:`parse_callback` remembered of it, such as a signed token taken once."""

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
        return {r: Outcome(Status.REJECTED, error=error) for r in chunk.recipients}

    def all_unknown(self, chunk: Chunk, error: str) -> dict[Recipient, Outcome]:
        return {r: Outcome(Status.UNKNOWN, error=error) for r in chunk.recipients}

    def http_error(self, response: httpx.Response, detail: str | None = None) -> str:
        parts = [p for p in (self.error_map.get(response.status_code), detail) if p]
        return f"{self.name}: HTTP {response.status_code}: {'; '.join(parts) or response.reason_phrase or 'error'}"

    def redact(self, request: httpx.Request) -> dict[str, Any]:
        """The request as it would be sent, every credential replaced by ***."""
        secrets = [s for s in self.secrets.values() if s and s != REDACTED]
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
        return {"method": request.method, "url": url, "headers": headers, "body": maybe_json(body)}
