"""What to send, and how it becomes a provider payload (choosing the mode).

``auto`` sends text as a TTS body where the provider speaks text, and
otherwise prepares it with the provider's audio profile, hosts it and sends
the media URL (or uploads the file, for providers that take uploads).
Source audio always goes as media. A mode the provider cannot do is an
error before anything is sent.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from voxpipe.pipeline.markup import Script, parse
from voxpipe.pipeline.preparation import Item, PrepareSettings, prepare
from voxpipe.pipeline.urlcheck import url_problem

from .errors import ConfigError
from .providers.base import Mode, Payload, Provider

__all__ = ["Message", "build_payload", "fingerprint", "resolve_mode"]


@dataclass(frozen=True)
class Message:
    """Exactly one of ``text`` (plain or markup), ``audio`` (path or URL) or ``media_url``."""

    text: str | None = None
    audio: str | None = None
    media_url: str | None = None
    language: str | None = None
    """Language of the text, for say-as words (the provider's voice language is an option)."""

    def __post_init__(self) -> None:
        given = [n for n in ("text", "audio", "media_url") if getattr(self, n)]
        if len(given) != 1:
            raise ConfigError("give exactly one of --text/--ssml, --audio or --media-url")
        if self.media_url and not self.media_url.startswith(("http://", "https://")):
            raise ConfigError(f"--media-url {self.media_url}: must be an http(s) URL a provider can fetch")
        problem = url_problem(self.media_url) if self.media_url else None
        if problem:
            raise ConfigError(f"--media-url {self.media_url}: {problem}")

    @cached_property
    def script(self) -> Script | None:
        """The parsed text, once (the payload, the fingerprint and the journal all need it)."""
        return parse(self.text) if self.text is not None else None

    @cached_property
    def description(self) -> dict[str, Any]:
        if self.script is not None:
            return {"text": self.script.to_dict(), "language": self.language}
        if self.audio is not None:
            return {"audio": self.audio}
        return {"media_url": self.media_url}

    def describe(self) -> dict[str, Any]:
        return self.description


def fingerprint(provider: Provider, mode: Mode, message: Message) -> str:
    """What makes two sends the same message (media URLs excluded: presigned ones change)."""
    blob = json.dumps(
        {"provider": provider.name, "mode": mode.value, "message": message.describe(), "options": provider.settings},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def resolve_mode(provider: Provider, message: Message, wanted: str = "auto") -> Mode:
    if wanted not in ("auto", "tts", "media"):
        raise ConfigError(f"--mode {wanted}: choose auto, tts or media")
    if wanted == "tts":
        if Mode.TTS not in provider.modes:
            raise ConfigError(f"{provider.name} cannot speak text (modes: {_modes(provider)}); use --mode media")
        if message.text is None:
            raise ConfigError("--mode tts needs --text or --ssml")
        return Mode.TTS
    if wanted == "media" or message.text is None:
        if Mode.MEDIA not in provider.modes:
            raise ConfigError(
                f"{provider.name} cannot play audio files (modes: {_modes(provider)}); send text with --mode tts"
            )
        if message.media_url and provider.media_by != "url":
            raise ConfigError(
                f"{provider.name} takes audio as an upload, not a URL; give --audio or --text instead of --media-url"
            )
        return Mode.MEDIA
    return Mode.TTS if Mode.TTS in provider.modes else Mode.MEDIA


def _modes(provider: Provider) -> str:
    return ", ".join(sorted(m.value for m in provider.modes))


def build_payload(
    provider: Provider,
    message: Message,
    mode: Mode,
    prepare_settings: PrepareSettings,
    store: Any | None = None,
    *,
    upload: bool = True,
) -> Payload:
    """Turn the message into what the provider is sent; prepares and hosts audio when needed.

    ``upload=False`` (dry runs) computes the media URL without storing anything.
    """
    if mode is Mode.TTS:
        return Payload(mode, script=message.script)
    if message.media_url:
        return Payload(mode, media_url=message.media_url)
    profile = provider.media_profile
    item = Item(
        "message",
        text=message.text,
        audio=message.audio,
        language=message.language,
        profiles=(profile,) if profile else None,
    )
    result = prepare(item, replace(prepare_settings, profiles=(profile,) if profile else prepare_settings.profiles))
    if not result.ok:
        raise ConfigError(f"preparing the audio failed: {result.error}")
    artifact = result.artifacts[0]
    if provider.media_by == "upload":
        return Payload(mode, media_path=Path(artifact.path), mime=artifact.mime)
    if store is None:
        raise ConfigError(
            f"{provider.name} fetches audio from a URL: give --store (a directory served by `voxpipe serve`, "
            "or s3://bucket/prefix) or --media-url"
        )
    hosted = store.put(artifact) if upload else store.url_for(store.key_for(artifact))
    return Payload(mode, media_url=hosted.media_url, mime=artifact.mime, media_path=Path(artifact.path))
