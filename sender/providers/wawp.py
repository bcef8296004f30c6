"""Wawp "Send Voice" (WhatsApp): posts an Ogg/Opus voice note by URL to one chat per request.

POST {base}/v2/send/voice with every parameter in the query string, as Wawp
documents: ``instance_id``, ``access_token``, ``chatId`` (``<digits>@c.us``,
or an explicit ``@c.us`` / ``@g.us`` / ``@newsletter`` id), ``file[url]``,
``file[filename]``, ``file[mimetype]=audio/ogg; codecs=opus``,
``convert=false`` (the pipeline's ``whatsapp`` profile already made it
Ogg/Opus) and an optional ``reply_to``. Success answers a whatsapp-web.js
message object whose ``id._serialized`` is the message id; errors answer
``{"status": "error", "message": ...}``. Credentials travel in the URL, so
redaction rewrites those query values.

Tracking: ``message.ack`` session webhooks (configured with ``POST
/v2/session/webhook``, paid plans) say how far a message got, matched by
its id: ack -1 failed, 0 queued (pending), 1 accepted (on the server),
2 delivered (on the device), 3 delivered (read), 4 played. Other events
are ignored. There is no status look-up and no cancel.
"""

from __future__ import annotations

import logging
import re
from typing import Any, ClassVar

import httpx

from voxpipe.pipeline.redaction import REDACTED

from ..errors import ConfigError
from ..recipients import Recipient
from ..statuses import Status, StatusUpdate
from .provider import Provider
from .types import Callback, Chunk, Credential, Mode, Option, Outcome, Payload
from .wire import callback_data, finite, json_object

__all__ = ["ACKS", "OPUS_MIME", "Wawp", "is_opus"]

OPUS_MIME = "audio/ogg; codecs=opus"
ACKS = {-1: (Status.FAILED, "ERROR"), 0: (Status.QUEUED, "PENDING"), 1: (Status.ACCEPTED, "SERVER"),
        2: (Status.DELIVERED, "DEVICE"), 3: (Status.DELIVERED, "READ"), 4: (Status.PLAYED, "PLAYED")}  # fmt: skip
"""whatsapp-web.js ack -> (normalised status, raw status)."""
_REPLY_TO = re.compile(r"(true|false)_\d+(-\d+)?@(c\.us|g\.us|newsletter)_[A-Za-z0-9]+(_\S+)?")
_LOG = logging.getLogger(__name__)
_NOT_OPUS_SUFFIXES = frozenset({"mp3", "wav", "m4a", "aac", "mp4", "flac", "amr", "3gp", "webm", "wma", "aif", "aiff"})
_SECRET_PARAMS = re.compile(r"([?&](?:instance_id|access_token)=)[^&]*")


def _reply_to(value: str) -> str:
    if not _REPLY_TO.fullmatch(value.strip()):
        raise ValueError("not a serialized WhatsApp message id (like true_201234567890@c.us_3EB0...)")
    return value.strip()


def is_opus(mime: str) -> bool:
    """``audio/ogg; codecs=opus`` (any case, spacing or quoting)."""
    kind, _, params = mime.lower().partition(";")
    pairs = (p.split("=", 1) for p in params.split(";") if "=" in p)
    codecs = {k.strip(): v.strip().strip('"') for k, v in pairs}.get("codecs")
    return kind.strip() == "audio/ogg" and codecs == "opus"


class Wawp(Provider):
    name: ClassVar[str] = "wawp"
    title: ClassVar[str] = "Wawp WhatsApp voice notes (posts an Ogg/Opus audio URL to a chat)"
    modes = frozenset({Mode.MEDIA})
    max_recipients: ClassVar[int] = 1
    recipient_form: ClassVar[str] = "whatsapp"
    media_profile: ClassVar[str | None] = "whatsapp"
    default_base_url: ClassVar[str] = "https://api.wawp.net"
    env_prefix: ClassVar[str] = "WAWP"
    credentials = (
        Credential("instance_id", "VOXPIPE_WAWP_INSTANCE_ID"),
        Credential("access_token", "VOXPIPE_WAWP_ACCESS_TOKEN"),
    )
    options: ClassVar[dict[str, Option]] = {
        "reply_to": Option("Quote this message: its serialized id (true_<chat>_<id>)", _reply_to),
    }
    error_map: ClassVar[dict[int, str]] = {
        401: "authentication failed (check VOXPIPE_WAWP_INSTANCE_ID and VOXPIPE_WAWP_ACCESS_TOKEN)",
        403: "not allowed for this Wawp plan or instance",
        404: "not found (check the base URL)",
    }

    def check(self, payload: Payload) -> None:
        if not payload.media_url:
            raise ConfigError(
                f"{self.name}: sends audio by URL; give a `store` (to host the prepared file) or a `media_url`"
            )
        # A --media-url's type is unknown (Wawp checks it), but a name that says another format is refused here.
        suffix = (payload.filename or "").rpartition(".")[2].lower() if "." in (payload.filename or "") else ""
        if not payload.mime and suffix in _NOT_OPUS_SUFFIXES:
            raise ConfigError(
                f"{self.name}: WhatsApp voice notes must be Ogg/Opus ({OPUS_MIME}); {payload.filename} is named as .{suffix}; "
                "prepare it with the whatsapp profile"
            )
        if payload.mime and not is_opus(payload.mime):
            raise ConfigError(
                f"{self.name}: WhatsApp voice notes must be Ogg/Opus ({OPUS_MIME}), this audio is {payload.mime}; "
                "prepare it with the whatsapp profile"
            )

    def build(self, chunk: Chunk, payload: Payload) -> httpx.Request:
        (recipient,) = chunk.recipients  # one chat per request
        params = {
            "instance_id": self.secrets["instance_id"],
            "access_token": self.secrets["access_token"],
            "chatId": recipient.chat_id,
            "file[url]": payload.media_url,
            "file[filename]": payload.filename or "voice.ogg",
            "file[mimetype]": OPUS_MIME,
            "convert": "false",  # already converted by the pipeline
        }
        if "reply_to" in self.settings:
            params["reply_to"] = self.settings["reply_to"]
        return httpx.Request(
            "POST", f"{self.base_url}/v2/send/voice", params=params, headers={"Accept": "application/json"}
        )

    def parse(self, chunk: Chunk, response: httpx.Response) -> dict[Recipient, Outcome]:
        body = json_object(response)
        data = body.get("_data")
        ref = _serialized(body.get("id")) or (_serialized(data.get("id")) if isinstance(data, dict) else None)
        if response.is_success and ref:
            return {r: Outcome(Status.ACCEPTED, ref=ref) for r in chunk.recipients}
        message = body.get("message") if isinstance(body.get("message"), str) else None
        if response.is_success and body.get("status") != "error":
            error = f"{self.name}: HTTP {response.status_code} without a message id; it may have been sent"
            return self.all_unknown(chunk, error)
        return self.all_rejected(chunk, self.http_error(response, message))

    def redact(self, request: httpx.Request) -> dict[str, Any]:
        shown = super().redact(request)
        shown["url"] = _SECRET_PARAMS.sub(rf"\g<1>{REDACTED}", shown["url"])
        return shown

    # --- tracking ------------------------------------------------------------------

    callback_setup: ClassVar[str] = (
        'POST /v2/session/webhook with [{"url": <this URL>, "events": ["message.ack"], "is_active": true}] (paid plans)'
    )

    def parse_callback(self, callback: Callback) -> list[StatusUpdate]:
        data = callback_data(callback)
        if not isinstance(data, dict):
            raise ValueError("wawp: a webhook must be a JSON object")
        if data.get("event") != "message.ack":
            return []  # other session events (incoming messages, edits) say nothing about delivery
        body = data.get("payload")
        if not isinstance(body, dict):
            raise ValueError("wawp: message.ack without a payload object")
        ref = _serialized(body.get("id")) or (body["id"] if isinstance(body.get("id"), str) and body["id"] else None)
        if ref is None:
            raise ValueError("wawp: message.ack without a message id")
        ack = body.get("ack")
        if isinstance(ack, str) and re.fullmatch(r"-?\d+", ack.strip()):
            ack = int(ack)
        if isinstance(ack, bool) or not isinstance(ack, int):
            raise ValueError(f"wawp: message.ack with ack {ack!r}, not a number")
        status, raw = ACKS.get(ack, (Status.UNKNOWN, f"ack {ack}"))
        if ack not in ACKS:
            _LOG.warning("wawp: ack %s is not one voxpipe knows; counted as unknown", ack)
        return [StatusUpdate(self.name, status, raw_status=raw, ref=ref, at=_epoch(body.get("timestamp")), raw=body)]


def _serialized(ident: Any) -> str | None:
    if isinstance(ident, dict) and isinstance(ident.get("_serialized"), str) and ident["_serialized"]:
        return str(ident["_serialized"])
    return None


def _epoch(stamp: Any) -> float | None:
    """A webhook timestamp in seconds (milliseconds are recognised by their size)."""
    if isinstance(stamp, bool) or not isinstance(stamp, (int, float)):
        return None
    try:
        seconds = finite(stamp, "wawp: timestamp")
    except ValueError:
        return None
    return seconds / 1000 if seconds > 1e11 else seconds
