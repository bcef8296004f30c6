"""AlphaSMS voice calls: a TTS text through the JSON API, or an uploaded WAV through voice.php.

TTS: POST {base}/api/json.php ``{"auth": key, "data": [{"type": "voice",
"id": <our numeric id>, "phone": 380971234567, "message": <plain text>,
"voice": {"gender", "language", "name"}, "dtmf": false}, ...]}``, one item
per recipient. The answer is always HTTP 200: ``success: false`` at the top
(``"error": "Access denied"``) fails every item, per item it fails that one.
The ``id`` is ours (from the journal). The docs do not say what AlphaSMS does
with an id it has seen, so voxpipe never resends on the hope that it refuses
it: after a crash or an ambiguous answer it asks (the documented ``status``
look-up by our id, :meth:`AlphaSms.build_lookup`) and sends again only what
AlphaSMS does not know. An item answered ``"Duplicate id"`` is looked up too.

Media: multipart POST {base}/api/voice.php with ``key``, ``phone``, ``dtmf``
and the file field ``voice`` (the ``wav`` profile, at most 5 MB), one number
per request. Answer ``{"id": .., "price": ..}`` or ``{"errors": [...]}``.
There is no client id here, so an upload in doubt cannot be looked up: it
stays ``unknown``. ``--report-url``
fills the upload's ``hook`` field (the JSON ``voice`` type has none).

Tracking:

- Hook: an audio upload given a ``hook`` URL (``--report-url``) gets a POST
  ``{"id": <upload id>, "phone": "380...", "status": "ANSWERED",
  "duration": 123, "dtmf": "7"}`` when the call ends; the id is the
  reference voice.php answered.
- Look-up: POST /api/json.php with ``{"type": "status", "id": <our id>}``
  items (50 per request) answers ``{"id", "type", "status"}`` per item. It
  finds the TTS calls (sent with our id); uploads carry no id of ours, so
  they are tracked by their hook only.
- Reconciliation (``build_lookup`` / ``parse_lookup``): the same look-up
  asks whether AlphaSMS took a chunk whose answer was lost. An item with a
  status: accepted. An item refused (``success: false``, the id echoed) in
  an answer that succeeded overall: AlphaSMS does not know the id, so it was
  not sent (voxpipe's reading; the docs name no "not found" error). Anything
  else: unknown.

Statuses: ANSWERED → answered, NO ANSWER → no_answer, BUSY → busy,
UNDELIVERABLE / REJECTED → failed, EXPIRED → expired, ACCEPTED → accepted,
QUEUED → queued, DELIVERED → delivered; the other documented message
statuses are mapped too (ROUTING accepted, READ / REPLIED / PARTIALLY
DELIVERED delivered, DELETED cancelled, FILTERED / NO ROUTE / SIM FULL /
INVALID ... ADDRESS failed, UNKNOWN unknown). Anything else is kept as the
raw status, counted as ``unknown`` and logged.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from voxpipe.pipeline.errors import MarkupError
from voxpipe.pipeline.redaction import REDACTED, redact_hook_paths

from ..dialects import plain_text
from ..errors import ConfigError, ProviderError
from ..recipients import Recipient
from ..statuses import Status, StatusUpdate, normalise
from .options import boolean, choice, http_url, language_tag
from .provider import Provider
from .types import Callback, Chunk, Credential, LookupPage, Mode, Option, Outcome, Payload
from .wire import callback_data, dict_at, finite, json_object, list_at

if TYPE_CHECKING:
    from ..journal import RecipientRow

__all__ = ["DUPLICATE_ID", "STATUSES", "AlphaSms", "our_ids"]

_LOG = logging.getLogger(__name__)
POLL_ITEMS = 50
MAX_ID = 2**63 - 1  # what the journal can hold; ours are below 2**48

DUPLICATE_ID = "Duplicate id"
MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # "wav up to 5 MB" (web cabinet)
WAV_MIMES = frozenset({"audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave"})
DEFAULT_LANGUAGE = "en-US"


def _ok(value: Any) -> bool:
    return value is True or value == 1  # the docs type the top-level success as an integer


STATUSES = {
    "QUEUED": Status.QUEUED,
    "ACCEPTED": Status.ACCEPTED,
    "ROUTING": Status.ACCEPTED,
    "ANSWERED": Status.ANSWERED,
    "DELIVERED": Status.DELIVERED,
    "PARTIALLY DELIVERED": Status.DELIVERED,
    "READ": Status.DELIVERED,
    "REPLIED": Status.DELIVERED,
    "NO ANSWER": Status.NO_ANSWER,
    "BUSY": Status.BUSY,
    "UNDELIVERABLE": Status.FAILED,
    "REJECTED": Status.FAILED,
    "FILTERED": Status.FAILED,
    "NO ROUTE": Status.FAILED,
    "SIM FULL": Status.FAILED,
    "INVALID DESTINATION ADDRESS": Status.FAILED,
    "INVALID SOURCE ADDRESS": Status.FAILED,
    "EXPIRED": Status.EXPIRED,
    "DELETED": Status.CANCELLED,
    "UNKNOWN": Status.UNKNOWN,
}


def _status(raw: str) -> Status:
    return normalise("alphasms", " ".join(raw.upper().replace("_", " ").split()), STATUSES)


class AlphaSms(Provider):
    name: ClassVar[str] = "alphasms"
    title: ClassVar[str] = "AlphaSMS voice calls (speaks a text, or plays an uploaded WAV)"
    modes = frozenset({Mode.TTS, Mode.MEDIA})
    max_recipients: ClassVar[int] = 50  # our choice: the JSON API documents no item limit
    max_body_chars: ClassVar[int | None] = 1000
    media_profile: ClassVar[str | None] = "wav"
    media_by: ClassVar[str] = "upload"
    default_base_url: ClassVar[str] = "https://alphasms.net"
    env_prefix: ClassVar[str] = "ALPHASMS"
    credentials = (Credential("key", "VOXPIPE_ALPHASMS_KEY"),)
    can_poll: ClassVar[bool] = True
    callback_setup: ClassVar[str] = (
        "pass it to `voxpipe send -P alphasms` as -O report_url=URL for audio uploads (the voice.php hook field); "
        "TTS calls have no hook: use `voxpipe status --refresh`"
    )
    options: ClassVar[dict[str, Option]] = {
        "language": Option(f"Voice language, e.g. uk-UA [default: {DEFAULT_LANGUAGE}]", language_tag),
        "gender": Option("Voice gender: male or female [default: female]", choice("male", "female")),
        "voice_name": Option("Voice name [default: <language>-Standard-A]", str.strip),
        "dtmf": Option("Collect a key press from the callee (true/false) [default: false]", boolean),
        "report_url": Option("URL that receives the call's result (audio uploads only: the voice.php hook)", http_url),
    }

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        name = self.settings.get("voice_name") or f"{self.language}-Standard-A"
        if not re.fullmatch(re.escape(self.language) + r"-[A-Za-z0-9-]+", name):
            raise ConfigError(
                f"{self.name}: option voice_name={name!r} is not a voice for {self.language} (like {self.language}-Standard-A)"
            )
        self.voice = {"gender": self.settings.get("gender", "female"), "language": self.language, "name": name}
        self._texts: dict[Any, str] = {}
        self._audio: dict[Path, bytes] = {}

    @property
    def language(self) -> str:
        return str(self.settings.get("language", DEFAULT_LANGUAGE))

    def can_look_up(self, payload: Payload) -> bool:
        return payload.mode is Mode.TTS  # by our id; uploads carry none

    def max_per_request(self, payload: Payload) -> int:
        return 1 if payload.mode is Mode.MEDIA else self.max_recipients

    def message(self, payload: Payload) -> str:
        if payload.script is None:
            raise ConfigError(f"{self.name}: TTS mode needs `text`")
        if payload.script not in self._texts:
            try:
                self._texts[payload.script] = plain_text(payload.script, self.language)
            except MarkupError as exc:
                raise ConfigError(f"{self.name}: {exc}") from exc
        return self._texts[payload.script]

    def check(self, payload: Payload) -> None:
        if payload.mode is Mode.TTS:
            text = self.message(payload)
            if not text.strip():
                raise ConfigError(f"{self.name}: the message is empty")
            if self.max_body_chars is not None and len(text) > self.max_body_chars:
                raise ConfigError(
                    f"{self.name}: the message is {len(text)} characters as plain text; at most {self.max_body_chars} are allowed"
                )
            if "report_url" in self.settings:
                raise ConfigError(
                    f"{self.name}: option report_url works with audio uploads only (TTS calls have no hook); "
                    "follow TTS calls with `voxpipe status --refresh`"
                )
            return
        if payload.media_path is None:
            raise ConfigError(f"{self.name}: takes audio as an upload; give `audio` or `text` instead of `media_url`")
        if payload.mime and payload.mime.split(";")[0].strip().lower() not in WAV_MIMES:
            raise ConfigError(
                f"{self.name}: uploads must be WAV, this audio is {payload.mime}; prepare it with the wav profile"
            )
        if not payload.media_path.exists():
            return  # planned, not prepared yet (a dry run, or the checks before preparing): its size comes later
        try:
            size = payload.media_path.stat().st_size
        except OSError as exc:
            raise ConfigError(f"{self.name}: cannot read {payload.media_path}: {exc.strerror}") from exc
        if size > MAX_UPLOAD_BYTES:
            raise ConfigError(f"{self.name}: {payload.media_path.name} is {size} bytes; uploads take at most 5 MB")

    # --- requests ----------------------------------------------------------------

    def build(self, chunk: Chunk, payload: Payload) -> httpx.Request:
        if payload.mode is Mode.MEDIA:
            return self._upload(chunk, payload)
        text, dtmf = self.message(payload), self.settings.get("dtmf", False)
        items = [
            {"type": "voice", "id": cid, "phone": int(r.digits), "message": text, "voice": self.voice, "dtmf": dtmf}
            for r, cid in zip(chunk.recipients, our_ids(chunk), strict=True)
        ]
        return httpx.Request("POST", f"{self.base_url}/api/json.php", json={"auth": self.secrets["key"], "data": items})

    def _upload(self, chunk: Chunk, payload: Payload) -> httpx.Request:
        (recipient,) = chunk.recipients  # voice.php calls one number
        path = payload.media_path
        assert path is not None, "check() refuses media without a file"
        if path not in self._audio:  # read once, not once per recipient; a dry run shows the planned file empty
            self._audio[path] = path.read_bytes() if path.exists() else b""
        fields = {
            "key": self.secrets["key"],
            "phone": recipient.digits,
            "dtmf": "1" if self.settings.get("dtmf") else "0",
        }
        if "report_url" in self.settings:
            fields["hook"] = self.settings["report_url"]
        request = httpx.Request(
            "POST",
            f"{self.base_url}/api/voice.php",
            data=fields,
            files={"voice": (path.name, self._audio[path], "audio/wav")},
        )
        request.read()  # bytes, so a retry resends the same body and redact() can read it
        return request

    # --- answers -----------------------------------------------------------------

    def parse(self, chunk: Chunk, response: httpx.Response) -> dict[Recipient, Outcome]:
        body = json_object(response)
        if not response.is_success:
            error = body.get("error")
            return self.all_rejected(chunk, self.http_error(response, error if isinstance(error, str) else None))
        if "success" not in body and ("id" in body or "errors" in body):  # voice.php answers carry no "success"
            return self._upload_outcomes(chunk, body)
        if "success" not in body:
            return self.all_unknown(
                chunk, f"{self.name}: HTTP {response.status_code} with an unreadable answer; it may have been accepted"
            )
        if not _ok(body["success"]):
            return self.all_rejected(chunk, f"{self.name}: {body.get('error') or 'request refused'}")
        by_id = dict(zip(our_ids(chunk), chunk.recipients, strict=True))
        outcomes: dict[Recipient, Outcome] = {}
        for i, item in enumerate(list_at(body, "data")):
            item = item if isinstance(item, dict) else {}
            data = dict_at(item, "data")
            # Results come in item order and echo our id; the id wins if they disagree.
            ident = data.get("id")
            by_ours = by_id.get(ident) if isinstance(ident, int) else None
            recipient = by_ours or (chunk.recipients[i] if i < len(chunk.recipients) else None)
            if recipient is not None:
                outcomes.setdefault(recipient, self._item_outcome(item, data))
        missing = Outcome(
            Status.UNKNOWN, error=f"{self.name}: no result for this number in the answer; it may have been accepted"
        )
        return {r: outcomes.get(r, missing) for r in chunk.recipients}

    def _item_outcome(self, item: dict[str, Any], data: dict[str, Any]) -> Outcome:
        if _ok(item.get("success")):
            return Outcome(Status.ACCEPTED, ref=None if data.get("msg_id") is None else str(data["msg_id"]))
        if str(item.get("error")).strip().lower() == DUPLICATE_ID.lower():
            # Undocumented: it may say an earlier request took this id. The look-up settles it.
            return Outcome(
                Status.UNKNOWN, error=f"{self.name}: {DUPLICATE_ID}: this id was seen before; it may have been accepted"
            )
        if "success" not in item:
            return Outcome(Status.UNKNOWN, error=f"{self.name}: unreadable result {item!r}; it may have been accepted")
        return Outcome(Status.REJECTED, error=f"{self.name}: {item.get('error') or 'refused'}")

    def _upload_outcomes(self, chunk: Chunk, body: dict[str, Any]) -> dict[Recipient, Outcome]:
        errors = body.get("errors")
        if errors:
            text = "; ".join(str(e) for e in errors) if isinstance(errors, list) else str(errors)
            return self.all_rejected(chunk, f"{self.name}: {text}")
        ident = body.get("id")
        if isinstance(ident, bool) or not isinstance(ident, (int, str)) or not str(ident).strip():
            return self.all_unknown(
                chunk, f"{self.name}: upload answered without a readable id; it may have been accepted"
            )
        return {r: Outcome(Status.ACCEPTED, ref=str(ident).strip()) for r in chunk.recipients}

    # --- tracking: the upload hook and the status look-up ----------------------------

    def parse_callback(self, callback: Callback) -> list[StatusUpdate]:
        data = callback_data(callback)
        if not isinstance(data, dict):
            raise ValueError("alphasms: a hook must be a JSON object")
        ident, raw = str(data.get("id") or "").strip(), str(data.get("status") or "").strip()
        if not ident.isdecimal() or not raw:
            raise ValueError("alphasms: a hook needs a numeric id and a status")
        phone = str(data.get("phone") or "").strip().lstrip("+")
        if phone and not phone.isdecimal():
            raise ValueError(f"alphasms: phone {data['phone']!r} is not a number")
        duration = (
            None
            if data.get("duration") is None or data.get("duration") == ""
            else finite(data["duration"], "alphasms: duration")
        )
        if duration is not None and duration < 0:
            raise ValueError(f"alphasms: duration {data['duration']!r} is negative")
        dtmf = str(data.get("dtmf") or "").strip() or None
        return [
            StatusUpdate(
                self.name,
                _status(raw),
                raw_status=raw,
                ref=ident,
                address=f"+{phone}" if phone else None,
                duration_s=duration,
                dtmf=dtmf,
                raw=data,
            )  # fmt: skip
        ]

    @classmethod
    def polls(cls, mode: str) -> bool:
        return mode == "tts"  # uploads have no id of ours to look up

    def _status_request(self, ids: list[int]) -> httpx.Request:
        return httpx.Request(
            "POST",
            f"{self.base_url}/api/json.php",
            json={"auth": self.secrets["key"], "data": [{"type": "status", "id": i} for i in ids]},
        )

    def build_poll(self, rows: list[RecipientRow]) -> list[httpx.Request]:
        ids = [r.client_id for r in rows]
        return [self._status_request(ids[n : n + POLL_ITEMS]) for n in range(0, len(ids), POLL_ITEMS)]

    # --- reconciliation: did AlphaSMS take our ids? -----------------------------

    def build_lookup(self, chunk: Chunk, since: float) -> httpx.Request:
        return self._status_request(our_ids(chunk))  # a chunk has at most 50 items, as a poll

    def parse_lookup(self, chunk: Chunk, response: httpx.Response) -> LookupPage:
        body = self._status_answer(response)
        by_id = dict(zip(our_ids(chunk), chunk.recipients, strict=True))
        outcomes: dict[Recipient, Outcome] = {}
        for item in list_at(body, "data"):
            item = item if isinstance(item, dict) else {}
            data = dict_at(item, "data")
            ident = data.get("id")
            recipient = by_id.get(ident) if isinstance(ident, int) and not isinstance(ident, bool) else None
            if recipient is None:  # only an answer that names our id settles anything
                continue
            if item.get("success") in (True, 1) and data.get("status"):
                outcomes[recipient] = Outcome(Status.ACCEPTED)
            elif item.get("success") in (False, 0):
                outcomes[recipient] = Outcome(
                    Status.PENDING, error=f"{self.name}: status of id {ident}: {item.get('error') or 'not found'}"
                )
        return LookupPage(outcomes)

    def _status_answer(self, response: httpx.Response) -> dict[str, Any]:
        body = json_object(response)
        if not response.is_success or not body:
            raise ProviderError(
                f"{self.name}: HTTP {response.status_code}: unreadable status answer", response=response
            )
        if body.get("success") not in (True, 1):
            raise ProviderError(
                f"{self.name}: status look-up refused: {body.get('error') or 'no reason given'}", response=response
            )
        return body

    def parse_poll(self, response: httpx.Response) -> list[StatusUpdate]:
        body = self._status_answer(response)
        updates = []
        for item in list_at(body, "data"):
            item = item if isinstance(item, dict) else {}
            data = dict_at(item, "data")
            ident = data.get("id")
            if item.get("success") not in (True, 1) or not data.get("status") or not _our_id(ident):
                _LOG.warning(
                    "%s: no status for id %s: %s", self.name, data.get("id"), item.get("error") or "unreadable item"
                )
                continue
            raw = str(data["status"])
            updates.append(StatusUpdate(self.name, _status(raw), raw_status=raw, client_id=data["id"], raw=data))
        return updates

    def redact(self, request: httpx.Request) -> dict[str, Any]:
        shown = super().redact(request)
        if request.headers.get("content-type", "").startswith("multipart/"):
            shown["body"] = _multipart_summary(request, self.secrets.values())
        return shown


def _multipart_summary(request: httpx.Request, secrets: Any) -> dict[str, str]:
    """Text fields as sent (secrets as ***) and files as name and size, not bytes."""
    boundary = request.headers["content-type"].split("boundary=", 1)[1].strip('"').encode()
    shown: dict[str, str] = {}
    for part in request.content.split(b"--" + boundary)[1:-1]:
        head, _, data = part[2:-2].partition(b"\r\n\r\n")  # each part sits between CRLFs
        name, filename = re.search(rb'name="([^"]*)"', head), re.search(rb'filename="([^"]*)"', head)
        value = data.decode("utf-8", "replace")
        if filename:
            value = f"<file {filename.group(1).decode()}, {len(data)} bytes>"
        shown[name.group(1).decode() if name else "?"] = REDACTED if value in secrets else redact_hook_paths(value)
    return shown


def _our_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def our_ids(chunk: Chunk) -> list[int]:
    """Our numeric id per recipient (the journal's; derived the same way when a chunk has none)."""
    from ..journal import client_id  # SQLAlchemy loads with the journal, not when the CLI lists providers

    return list(chunk.client_ids) or [client_id(chunk.campaign, r.address) for r in chunk.recipients]
