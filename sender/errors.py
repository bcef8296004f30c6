"""Errors of the sending side; part of the one tree drawn in :mod:`voxpipe.pipeline.errors`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from voxpipe.pipeline.errors import VoxpipeError

if TYPE_CHECKING:
    import httpx

__all__ = ["ConfigError", "JournalError", "ProviderError", "RecipientError", "SenderError", "SignatureError"]


class SenderError(VoxpipeError):
    """Anything that goes wrong while sending."""


class ConfigError(SenderError):
    """A missing credential, a bad option, or a mode the provider cannot do."""


class RecipientError(SenderError):
    """A phone number or chat id that cannot be used; names the input."""


class ProviderError(SenderError):
    """The provider answered with an error; carries the request and response."""

    def __init__(
        self, message: str, *, request: httpx.Request | None = None, response: httpx.Response | None = None
    ) -> None:
        super().__init__(message)
        self.request = request
        self.response = response


class JournalError(SenderError):
    """The send journal cannot be opened, or disagrees with this run."""


class SignatureError(SenderError):
    """A callback whose signature is missing, wrong, expired or already used (the receiver answers 401)."""
