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
Tracking (hook, status look-up) is in :mod:`.alphasms_status`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

import httpx

from voxpipe.pipeline.errors import MarkupError
from voxpipe.pipeline.redaction import REDACTED, redact_hook_paths

from ..dialects import plain_text
from ..errors import ConfigError
from ..recipients import Recipient
from .alphasms_status import AlphaSmsTracking, our_ids
from .base import Chunk, Credential, Mode, Option, Outcome, Payload, Provider, dict_at, json_object, list_at

__all__ = ["DUPLICATE_ID", "AlphaSms"]

DUPLICATE_ID = "Duplicate id"
MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # "wav up to 5 MB" (web cabinet)
WAV_MIMES = frozenset({"audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave"})
DEFAULT_LANGUAGE = "en-US"


def _language(value: str) -> str:
    m = re.fullmatch(r"([A-Za-z]{2,3})[-_]([A-Za-z]{2})", value.strip())
    if not m:
        raise ValueError("a language tag like uk-UA or en-US")
    return f"{m.group(1).lower()}-{m.group(2).upper()}"


def _gender(value: str) -> str:
    if value.strip().lower() not in ("male", "female"):
        raise ValueError("choose male or female")
    return value.strip().lower()


def _bool(value: str) -> bool:
    word = str(value).strip().lower()
    if word not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
        raise ValueError("true or false")
    return word in ("1", "true", "yes", "on")


def _url(value: str) -> str:
    if not re.fullmatch(r"https?://[^\s/]+\S*", value.strip()):
        raise ValueError("an http(s) URL")
    return value.strip()


def _ok(value: Any) -> bool:
    return value is True or value == 1  # the docs type the top-level success as an integer


class AlphaSms(AlphaSmsTracking, Provider):
    name: ClassVar[str] = "alphasms"
    title: ClassVar[str] = "AlphaSMS voice calls (speaks a text, or plays an uploaded WAV)"
    modes = frozenset({Mode.TTS, Mode.MEDIA})
    max_recipients: ClassVar[int] = 50  # our choice: the JSON API documents no item limit
    max_body_chars: ClassVar[int | None] = 1000
    media_profile: ClassVar[str | None] = "wav"
    media_by: ClassVar[str] = "upload"
    default_base_url: ClassVar[str] = "https://alphasms.net"
    env_prefix: ClassVar[str] = "ALPHASMS"
    credentials = (Credential("key", "VOXPIPE_ALPHASMS_KEY", "--key"),)
    options: ClassVar[dict[str, Option]] = {
        "language": Option(f"Voice language, e.g. uk-UA [default: {DEFAULT_LANGUAGE}]", _language),
        "gender": Option("Voice gender: male or female [default: female]", _gender),
        "voice_name": Option("Voice name [default: <language>-Standard-A]", str.strip),
        "dtmf": Option("Collect a key press from the callee (true/false) [default: false]", _bool),
        "report_url": Option("URL that receives the call's result (audio uploads only: the voice.php hook)", _url),
    }

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        name = self.settings.get("voice_name") or f"{self.language}-Standard-A"
        if not re.fullmatch(re.escape(self.language) + r"-[A-Za-z0-9-]+", name):
            raise ConfigError(
                f"{self.name}: --voice-name {name!r} is not a voice for {self.language} (like {self.language}-Standard-A)"
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
            raise ConfigError(f"{self.name}: TTS mode needs --text or --ssml")
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
                    f"{self.name}: --report-url works with audio uploads only (TTS calls have no hook); "
                    "follow TTS calls with `voxpipe status --refresh`"
                )
            return
        if payload.media_path is None:
            raise ConfigError(f"{self.name}: takes audio as an upload; give --audio or --text instead of --media-url")
        if payload.mime and payload.mime.split(";")[0].strip().lower() not in WAV_MIMES:
            raise ConfigError(
                f"{self.name}: uploads must be WAV, this audio is {payload.mime}; prepare it with the wav profile"
            )
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
        if path not in self._audio:  # read once, not once per recipient
            self._audio[path] = path.read_bytes()
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
            error = f"{self.name}: HTTP {response.status_code} with an unreadable answer; it may have been accepted"
            return {r: Outcome("unknown", error=error) for r in chunk.recipients}
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
            "unknown", error=f"{self.name}: no result for this number in the answer; it may have been accepted"
        )
        return {r: outcomes.get(r, missing) for r in chunk.recipients}

    def _item_outcome(self, item: dict[str, Any], data: dict[str, Any]) -> Outcome:
        if _ok(item.get("success")):
            return Outcome("accepted", ref=None if data.get("msg_id") is None else str(data["msg_id"]))
        if str(item.get("error")).strip().lower() == DUPLICATE_ID.lower():
            # Undocumented: it may say an earlier request took this id. The look-up settles it.
            return Outcome(
                "unknown", error=f"{self.name}: {DUPLICATE_ID}: this id was seen before; it may have been accepted"
            )
        if "success" not in item:
            return Outcome("unknown", error=f"{self.name}: unreadable result {item!r}; it may have been accepted")
        return Outcome("rejected", error=f"{self.name}: {item.get('error') or 'refused'}")

    def _upload_outcomes(self, chunk: Chunk, body: dict[str, Any]) -> dict[Recipient, Outcome]:
        errors = body.get("errors")
        if errors:
            text = "; ".join(str(e) for e in errors) if isinstance(errors, list) else str(errors)
            return self.all_rejected(chunk, f"{self.name}: {text}")
        ident = body.get("id")
        if isinstance(ident, bool) or not isinstance(ident, (int, str)) or not str(ident).strip():
            error = f"{self.name}: upload answered without a readable id; it may have been accepted"
            return {r: Outcome("unknown", error=error) for r in chunk.recipients}
        return {r: Outcome("accepted", ref=str(ident).strip()) for r in chunk.recipients}

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
