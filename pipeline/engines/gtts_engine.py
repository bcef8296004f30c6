"""Google TTS through gTTS (MIT): online, needs network; picks language and accent (tld).

gTTS builds the requests (tokenising at 100 characters as Google requires);
voxpipe sends them itself with httpx so that TLS is verified (gTTS turns
verification off), the client can be injected in tests, and 429s and network
failures get bounded retries before a clear :class:`SynthesisError`.
"""

from __future__ import annotations

import base64
import os
import re
import urllib.parse
from importlib.metadata import PackageNotFoundError, version
from typing import Any, ClassVar

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from ..audio import Audio
from ..decoding import decode
from ..errors import EncodeError, SynthesisError
from ..retry import RetryPolicy, retry_after_seconds
from .base import EngineInfo, VoiceSettings

__all__ = ["GttsEngine"]

_AUDIO_RE = re.compile(r'jQ1olc","\[\\"(.*?)\\"]')
ENDPOINT_ENV = "VOXPIPE_GTTS_ENDPOINT"


def _languages() -> dict[str, str]:
    from gtts.lang import tts_langs

    return dict(tts_langs())


def _info() -> EngineInfo:
    langs = _languages()
    return EngineInfo(
        name="gtts",
        description="Google Translate TTS via gTTS (online); accent chosen with --tld",
        offline=False,
        licence="gTTS MIT; audio produced by Google's service under its terms",
        voices=("(one voice per language; --tld picks the accent: com, co.uk, com.au, ca, co.in ...)",),
        languages=tuple(sorted(langs)),
    )


class _Retryable(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class GttsEngine:
    info = staticmethod(_info)
    name: ClassVar[str] = "gtts"

    def __init__(
        self,
        settings: VoiceSettings = VoiceSettings(),
        *,
        client: httpx.Client | None = None,
        endpoint: str | None = None,
        policy: RetryPolicy = RetryPolicy(),
        timeout_s: float = 15.0,
    ) -> None:
        lang = (settings.language or "en").strip()
        langs = _languages()
        if lang not in langs and lang.split("-")[0].lower() in langs:
            lang = lang.split("-")[0].lower()
        if lang not in langs:
            raise SynthesisError(f"gtts: language {lang!r} is not supported (see `voxpipe engines`)")
        if not re.fullmatch(r"[a-z]{2,3}(\.[a-z]{2,3})?", settings.tld):
            raise SynthesisError(f"gtts: tld {settings.tld!r} is not a Google domain suffix like com or co.uk")
        self.lang = lang
        self.tld = settings.tld
        # Tests and mirrors point this at another host; the path stays Google's.
        self.endpoint = endpoint or os.environ.get(ENDPOINT_ENV)
        self.policy = policy
        self._client = client
        self._timeout = timeout_s

    @property
    def language(self) -> str:
        return self.lang

    def identity(self) -> dict[str, Any]:
        try:
            gtts_version = version("gTTS")
        except PackageNotFoundError:
            gtts_version = "unknown"
        return {"engine": self.name, "gtts": gtts_version, "lang": self.lang, "tld": self.tld}

    def _requests(self, text: str) -> list[tuple[str, bytes, dict[str, str]]]:
        from gtts import gTTS

        prepared = gTTS(text, tld=self.tld, lang=self.lang, lang_check=False)._prepare_requests()
        out = []
        for req in prepared:
            url = req.url
            if self.endpoint:
                parts = urllib.parse.urlsplit(url)
                url = self.endpoint.rstrip("/") + parts.path
            body = req.body if isinstance(req.body, bytes) else str(req.body).encode()
            out.append((url, body, {k: v for k, v in req.headers.items() if k.lower() != "content-length"}))
        return out

    def synthesize(self, text: str) -> Audio:
        if not text.strip():
            return Audio.silence(0, 24000)
        client = self._client or httpx.Client(timeout=self._timeout)
        try:
            mp3 = b"".join(self._fetch(client, *req) for req in self._requests(text))
        finally:
            if self._client is None:
                client.close()
        try:
            audio, _ = decode(mp3, error=EncodeError, what="gtts audio")
        except EncodeError as exc:
            raise SynthesisError(f"gtts: the service returned audio that does not decode: {exc}") from exc
        return audio

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        retry_after = exc.retry_after if isinstance(exc, _Retryable) else None
        return self.policy.wait(state.attempt_number, retry_after)

    def _fetch(self, client: httpx.Client, url: str, body: bytes, headers: dict[str, str]) -> bytes:
        try:
            for attempt in Retrying(
                stop=stop_after_attempt(self.policy.attempts),
                wait=self._wait,
                retry=retry_if_exception_type(_Retryable),
                reraise=True,
            ):
                with attempt:
                    return self._fetch_once(client, url, body, headers)
        except _Retryable as exc:
            raise SynthesisError(
                f"gtts: {exc} after {self.policy.attempts} attempts; wait and retry, or use the offline piper engine"
            ) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _fetch_once(self, client: httpx.Client, url: str, body: bytes, headers: dict[str, str]) -> bytes:
        host = urllib.parse.urlsplit(url).netloc
        try:
            resp = client.post(url, content=body, headers=headers)
        except httpx.TransportError as exc:
            raise _Retryable(f"cannot reach {host} ({type(exc).__name__})") from exc
        if resp.status_code == 429:
            raise _Retryable("Google rate-limited the request (HTTP 429)", retry_after_seconds(resp.headers))
        if resp.status_code >= 500:
            raise _Retryable(f"{host} answered HTTP {resp.status_code}", retry_after_seconds(resp.headers))
        if resp.status_code != 200:
            raise SynthesisError(
                f"gtts: {host} answered HTTP {resp.status_code}; probable cause: bad token or upstream API change"
            )
        chunks = [base64.b64decode(m.group(1)) for m in _AUDIO_RE.finditer(resp.text)]
        if not chunks:
            raise SynthesisError(f"gtts: {host} answered without audio; probable cause: upstream API change")
        return b"".join(chunks)
