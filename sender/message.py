"""What to send, and how it becomes a provider payload (choosing the mode).

``auto`` sends text as a TTS body where the provider speaks text, and
otherwise prepares it with the provider's audio profile, hosts it and sends
the media URL (or uploads the file, for providers that take uploads).
Source audio always goes as media. A mode the provider cannot do is an
error before anything is sent.

:func:`plan_payload` does every check that needs no work (mode, markup,
profile, store, the provider's own limits) and works out the media URL
without preparing anything; :func:`realise` then prepares and hosts the
audio. A dry run stops after the plan. Errors name parameters in backquotes
(`` `media_url` ``); the command line shows its own flag names instead.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from voxpipe.pipeline.markup import Script, parse
from voxpipe.pipeline.preparation import Item, PrepareSettings, check_language, plan, prepare
from voxpipe.pipeline.secret import keyed_digest
from voxpipe.pipeline.store import Store
from voxpipe.pipeline.templates import Template, mask_values
from voxpipe.pipeline.urlcheck import url_problem

from .errors import ConfigError
from .providers import Mode, Payload, Provider

__all__ = ["Message", "PayloadPlan", "fingerprint", "plan_payload", "realise", "resolve_mode"]


@dataclass(frozen=True)
class Message:
    """Exactly one of ``text`` (plain or markup), ``audio`` (path or URL) or ``media_url``."""

    text: str | None = None
    audio: str | None = None
    media_url: str | None = None
    language: str | None = None
    """Language of the text, for say-as words (a provider's voice language is one of its options)."""
    template: Template | None = None
    """The template ``text`` was rendered from (with ``values``): a sensitive one keeps its values out of
    reports, the journal and file names."""
    values: tuple[tuple[str, str], ...] = ()

    @property
    def sensitive(self) -> bool:
        return self.template is not None and self.template.sensitive

    def masked(self, data: Any) -> Any:
        """``data`` (text, or a report of dicts and lists) with this message's secret values as ``****``."""
        if not self.sensitive:
            return data
        if isinstance(data, list):
            return [self.masked(v) for v in data]
        if isinstance(data, dict):
            return {k: self.masked(v) for k, v in data.items()}
        return mask_values(data, [v for _, v in self.values], self.language or "en") if isinstance(data, str) else data

    def __post_init__(self) -> None:
        given = [n for n in ("text", "audio", "media_url") if getattr(self, n)]
        if len(given) != 1:
            raise ConfigError("give exactly one of `text`, `audio` or `media_url`")
        if self.media_url and not self.media_url.startswith(("http://", "https://")):
            raise ConfigError(f"`media_url` {self.media_url}: must be an http(s) URL a provider can fetch")
        problem = url_problem(self.media_url) if self.media_url else None
        if problem:
            raise ConfigError(f"`media_url` {self.media_url}: {problem}")
        check_language(self.language)

    @cached_property
    def script(self) -> Script | None:
        """The parsed text, once (the payload, the fingerprint and the journal all need it)."""
        return parse(self.text) if self.text is not None else None

    @cached_property
    def description(self) -> dict[str, Any]:
        if self.template is not None and self.template.sensitive:
            shown = self.template.shown(dict(self.values))
            return {"text": parse(shown).to_dict(), "language": self.language, "sensitive": True}
        if self.script is not None:
            return {"text": self.script.to_dict(), "language": self.language}
        if self.audio is not None:
            return {"audio": self.audio}
        return {"media_url": self.media_url}

    def describe(self, secret: bytes | None = None) -> dict[str, Any]:
        """What the journal keeps about the message: a sensitive one shows ``****`` for its values, and
        ``secret`` (the journal's key) seals them, so two codes are two messages and neither can be read back."""
        if self.sensitive and secret is not None:
            return {**self.description, "sealed": keyed_digest(secret, self.text or "")}
        return self.description


def fingerprint(provider: Provider, mode: Mode, message: Message, secret: bytes | None = None) -> str:
    """What makes two sends the same message (media URLs excluded: presigned ones change)."""
    blob = json.dumps(
        {
            "provider": provider.name,
            "mode": mode.value,
            "message": message.describe(secret),
            "options": provider.settings,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def resolve_mode(provider: Provider, message: Message, wanted: str = "auto") -> Mode:
    if wanted not in ("auto", "tts", "media"):
        raise ConfigError(f"`mode` {wanted}: choose auto, tts or media")
    if wanted == "tts":
        if Mode.TTS not in provider.modes:
            raise ConfigError(f"{provider.name} cannot speak text (modes: {_modes(provider)}); use `mode` media")
        if message.text is None:
            raise ConfigError("`mode` tts needs `text`")
        return Mode.TTS
    if wanted == "media" or message.text is None:
        if Mode.MEDIA not in provider.modes:
            raise ConfigError(
                f"{provider.name} cannot play audio files (modes: {_modes(provider)}); send `text` in `mode` tts"
            )
        if message.media_url and provider.media_by != "url":
            raise ConfigError(
                f"{provider.name} takes audio as an upload, not a URL; give `audio` or `text` instead of `media_url`"
            )
        return Mode.MEDIA
    return Mode.TTS if Mode.TTS in provider.modes else Mode.MEDIA


def _modes(provider: Provider) -> str:
    return ", ".join(sorted(m.value for m in provider.modes))


@dataclass(frozen=True)
class PayloadPlan:
    """The payload as far as it is known without work; ``item`` is what a real send prepares first."""

    payload: Payload
    item: Item | None = None
    settings: PrepareSettings | None = None


def plan_payload(
    provider: Provider, message: Message, mode: Mode, settings: PrepareSettings, store: Store | None
) -> PayloadPlan:
    """Check everything a send needs that costs no synthesis, upload or request; see the module docstring."""
    if mode is Mode.TTS:
        script = message.script
        if script is not None and message.language and not script.language:  # say-as words in the message's language
            script = replace(script, language=message.language)
        planned = PayloadPlan(Payload(mode, script=script))
    elif message.media_url:
        planned = PayloadPlan(Payload(mode, media_url=message.media_url))
    else:
        profile = provider.media_profile
        profiles = (profile,) if profile else settings.profiles
        item = Item(
            "message",
            text=message.text,
            audio=message.audio,
            language=message.language,
            profiles=profiles,
            template=message.template,
            values=message.values,
        )
        settings = replace(settings, profiles=profiles)
        path = plan(item, settings).paths[0]  # markup, text limits, profile and voice are checked here
        mime = _mime(path)
        if provider.media_by == "upload":
            payload = Payload(mode, media_path=path, mime=mime)
        elif store is None:
            raise ConfigError(
                f"{provider.name} fetches audio from a URL: give a `store` (a directory served by `voxpipe serve`, "
                "or s3://bucket/prefix) or a `media_url`"
            )
        else:
            payload = Payload(
                mode, media_url=store.url_for(store.key_of(path.name)).media_url, media_path=path, mime=mime
            )
        planned = PayloadPlan(payload, item, settings)
    provider.check(planned.payload)
    return planned


def _mime(path: Path) -> str:
    from voxpipe.pipeline.store import MEDIA_TYPES

    return MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream")


def realise(planned: PayloadPlan, provider: Provider, store: Store | None) -> Payload:
    """The payload with its audio prepared and hosted (nothing to do for text and given URLs)."""
    if planned.item is None or planned.settings is None:
        return planned.payload
    result = prepare(planned.item, planned.settings)
    if not result.ok:
        raise ConfigError(f"preparing the audio failed: {result.error}")
    artifact = result.artifacts[0]
    mode = planned.payload.mode
    if provider.media_by == "upload":
        payload = Payload(mode, media_path=Path(artifact.path), mime=artifact.mime)
    else:
        assert store is not None, "plan_payload() refuses a URL provider without a store"
        hosted = store.put(artifact)
        payload = Payload(mode, media_url=hosted.media_url, mime=artifact.mime, media_path=Path(artifact.path))
    provider.check(payload)
    return payload
