"""The one exception tree of voxpipe.

Every error voxpipe raises on purpose derives from :class:`VoxpipeError`, so
a caller can catch that one class; the CLI turns any of them into one line on
stderr and a non-zero exit. Errors from libraries (subprocess, httpx,
botocore, onnxruntime) are wrapped where they happen with ``raise ... from``.

```
VoxpipeError
├── MarkupError          bad markup: names line, column and what was expected
├── ProfileError         a profile preset that is missing or invalid
├── SynthesisError       a speech engine failed (missing voice, network, 429)
├── AudioInputError      source audio that is missing, corrupt, empty, too long
├── EncodeError          ffmpeg failed, or an output did not decode as expected
├── ManifestError        a manifest file that cannot be read at all
├── StoreError           hosting failed; names the store (local dir, s3://...)
├── ClusterError         a Dask cluster that cannot be used (address, scheduler, store)
└── SenderError          (sender.errors) everything on the sending side
    ├── ConfigError      missing credential, bad option, mode not supported
    ├── RecipientError   a phone number or chat id that cannot be used
    ├── ProviderError    the provider answered with an error (request/response)
    ├── JournalError     the send journal cannot be opened or is inconsistent
    └── SignatureError   a callback whose signature is missing, wrong, expired or replayed
```
"""

from __future__ import annotations

__all__ = [
    "AudioInputError",
    "ClusterError",
    "EncodeError",
    "ManifestError",
    "MarkupError",
    "ProfileError",
    "StoreError",
    "SynthesisError",
    "VoxpipeError",
]


class VoxpipeError(Exception):
    """Base class of every error voxpipe raises on purpose."""


class MarkupError(VoxpipeError):
    """Markup that cannot be parsed; ``line`` and ``column`` are 1-based."""

    def __init__(self, message: str, line: int = 0, column: int = 0) -> None:
        self.line = line
        self.column = column
        self.reason = message
        where = f" at line {line}, column {column}" if line else ""
        super().__init__(f"markup error{where}: {message}")


class ProfileError(VoxpipeError):
    """A profile preset that is missing or invalid."""


class SynthesisError(VoxpipeError):
    """A speech engine could not produce audio."""


class AudioInputError(VoxpipeError):
    """Source audio that cannot be used; the message names the input."""


class EncodeError(VoxpipeError):
    """Encoding failed, or the written file did not verify."""


class ManifestError(VoxpipeError):
    """A manifest file that cannot be read at all (a bad row is not this)."""


class StoreError(VoxpipeError):
    """Hosting an artifact failed; the message names the store."""


class ClusterError(VoxpipeError):
    """A Dask cluster that cannot be used: a malformed address, an unreachable scheduler, a store its workers
    cannot reach; the message names the cluster."""
