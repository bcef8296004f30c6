"""9bits Voice Messaging API v1: plays a media URL to up to 1000 numbers per request.

POST {base}/v1/sendvoice, Authorization: Bearer <key>, JSON
``{"to": ["2348020000000", ...], "media_url": "https://..."}``; success is
``{"status_code": 200, "message": ..., "ref_id": ...}``, errors are
``{"status_code": N, "message": ...}``. Numbers are country code + number, no +.
"""

from __future__ import annotations

from typing import ClassVar

import httpx

from ..recipients import Recipient
from .base import Chunk, Credential, Mode, Outcome, Payload, Provider

__all__ = ["NineBits"]


class NineBits(Provider):
    name: ClassVar[str] = "9bits"
    title: ClassVar[str] = "9bits Voice Messaging (plays an audio URL on a phone call)"
    modes = frozenset({Mode.MEDIA})
    max_recipients: ClassVar[int] = 1000
    media_profile: ClassVar[str | None] = "pstn"
    default_base_url: ClassVar[str] = "https://api.9bits.net"
    env_prefix: ClassVar[str] = "9BITS"
    credentials = (Credential("token", "VOXPIPE_9BITS_TOKEN", "--token"),)
    error_map: ClassVar[dict[int, str]] = {
        401: "authentication failed (check VOXPIPE_9BITS_TOKEN)",
        405: "method not allowed",
    }

    def build(self, chunk: Chunk, payload: Payload) -> httpx.Request:
        return httpx.Request(
            "POST",
            f"{self.base_url}/v1/sendvoice",
            headers={"Authorization": f"Bearer {self.secrets['token']}", "Accept": "application/json"},
            json={"to": [r.digits for r in chunk.recipients], "media_url": payload.media_url},
        )

    def parse(self, chunk: Chunk, response: httpx.Response) -> dict[Recipient, Outcome]:
        try:
            body = response.json()
        except ValueError:
            body = {}
        message = body.get("message") if isinstance(body, dict) else None
        if response.is_success and isinstance(body, dict) and body.get("ref_id"):
            return {r: Outcome("accepted", ref=str(body["ref_id"])) for r in chunk.recipients}
        return self.all_rejected(chunk, self.http_error(response, message))
