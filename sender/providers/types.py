"""The data a provider works with: what is said, to whom, and what came back.

A provider (:mod:`.provider`) builds requests from these values and parses
answers into them; it never does I/O. :class:`Callback` is a delivery
callback as the HTTP server received it, independent of that server.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import httpx

from voxpipe.pipeline.markup import Script

from ..recipients import Recipient
from ..statuses import Status

__all__ = ["Callback", "CancelOutcome", "Chunk", "Credential", "LookupPage", "Mode", "Option", "Outcome", "Payload"]


class Mode(StrEnum):
    TTS = "tts"
    """The provider speaks our text (TTS-body mode)."""
    MEDIA = "media"
    """The provider plays our audio file (by URL or by upload)."""


@dataclass(frozen=True)
class Credential:
    """A secret a provider needs: its name (``-O name=…`` on the command line) and its environment variable.

    An optional one (``required=False``) is never asked for before sending:
    it is used where given (a key that signs callbacks, for instance).
    """

    name: str
    env: str
    required: bool = True


@dataclass(frozen=True)
class Option:
    """A provider-specific option (``-O name=value``): its help and a validator returning the wire value."""

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
    """What the provider said about one recipient of a chunk.

    ``accepted``, ``rejected`` or ``unknown`` (an answer the client cannot
    read); from a look-up also ``pending``: the provider has no such request,
    so sending it again is safe. The dispatcher records ``failed`` for what
    was never taken.
    """

    status: Status
    ref: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class LookupPage:
    """What one look-up answer says about a chunk's recipients.

    ``outcomes`` settles some of them (accepted, pending or unknown); when
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


@dataclass(frozen=True)
class Callback:
    """A delivery callback as received: what a provider's ``parse_callback`` reads.

    ``path`` is exactly as sent (still percent-encoded) and ``url`` the full
    URL the provider called (scheme and host as the server saw them, after
    any trusted proxy headers), so a provider can check a signature over it.
    ``query`` keeps the last value of a repeated name. Header names are lower
    case.
    """

    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    query_string: str = ""
    client: str = ""
    url: str = ""
