"""voxpipe: prepare, host and send voice messages.

```python
from voxpipe import Item, PrepareSettings, prepare_one, send_message

artifacts = prepare_one(Item("otp", text="Your code is 4 8 3 9."), PrepareSettings()).artifacts
report = send_message("messagebird", "Your code is 4 8 3 9.", ["+447911123456"])
```

The names below import their modules on first use, so ``import voxpipe``
itself loads no audio, network or storage library.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_namespace

_NAMES = {
    "AudioInputError": "voxpipe.pipeline.errors",
    "ConfigError": "voxpipe.sender.errors",
    "EncodeError": "voxpipe.pipeline.errors",
    "Item": "voxpipe.pipeline.preparation",
    "ItemResult": "voxpipe.pipeline.preparation",
    "Journal": "voxpipe.sender.journal",
    "JournalError": "voxpipe.sender.errors",
    "ManifestError": "voxpipe.pipeline.errors",
    "MarkupError": "voxpipe.pipeline.errors",
    "Message": "voxpipe.sender.message",
    "PrepareSettings": "voxpipe.pipeline.preparation",
    "ProfileError": "voxpipe.pipeline.errors",
    "ProviderError": "voxpipe.sender.errors",
    "RecipientError": "voxpipe.sender.errors",
    "RedactingFilter": "voxpipe.log_redaction",
    "SendReport": "voxpipe.sender.dispatch",
    "SendSettings": "voxpipe.sender.dispatch",
    "SenderError": "voxpipe.sender.errors",
    "SettingsError": "voxpipe.config",
    "Status": "voxpipe.sender.statuses",
    "StoreError": "voxpipe.pipeline.errors",
    "StoreSettings": "voxpipe.pipeline.store",
    "SynthesisError": "voxpipe.pipeline.errors",
    "VoxpipeError": "voxpipe.pipeline.errors",
    "install_log_redaction": "voxpipe.log_redaction",
    "iter_send": "voxpipe.sender.sending",
    "load_config": "voxpipe.config",
    "open_store": "voxpipe.pipeline.store",
    "parse": "voxpipe.pipeline.markup",
    "prepare": "voxpipe.pipeline.preparation",
    "prepare_batch": "voxpipe.pipeline.batch",
    "prepare_many": "voxpipe.pipeline.runner",
    "prepare_one": "voxpipe.pipeline.preparation",
    "provider_class": "voxpipe.sender.providers",
    "send_manifest": "voxpipe.sender.sending",
    "send_message": "voxpipe.sender.sending",
}

__all__ = [
    "AudioInputError",
    "ConfigError",
    "EncodeError",
    "Item",
    "ItemResult",
    "Journal",
    "JournalError",
    "ManifestError",
    "MarkupError",
    "Message",
    "PrepareSettings",
    "ProfileError",
    "ProviderError",
    "RecipientError",
    "RedactingFilter",
    "SendReport",
    "SendSettings",
    "SenderError",
    "SettingsError",
    "Status",
    "StoreError",
    "StoreSettings",
    "SynthesisError",
    "VoxpipeError",
    "install_log_redaction",
    "iter_send",
    "load_config",
    "open_store",
    "parse",
    "prepare",
    "prepare_batch",
    "prepare_many",
    "prepare_one",
    "provider_class",
    "send_manifest",
    "send_message",
]

__getattr__, __dir__ = lazy_namespace(__name__, _NAMES)

if TYPE_CHECKING:
    from voxpipe.config import SettingsError, load_config
    from voxpipe.log_redaction import RedactingFilter, install_log_redaction
    from voxpipe.pipeline.batch import prepare_batch
    from voxpipe.pipeline.errors import (
        AudioInputError,
        EncodeError,
        ManifestError,
        MarkupError,
        ProfileError,
        StoreError,
        SynthesisError,
        VoxpipeError,
    )
    from voxpipe.pipeline.markup import parse
    from voxpipe.pipeline.preparation import Item, ItemResult, PrepareSettings, prepare, prepare_one
    from voxpipe.pipeline.runner import prepare_many
    from voxpipe.pipeline.store import StoreSettings, open_store
    from voxpipe.sender.dispatch import SendReport, SendSettings
    from voxpipe.sender.errors import ConfigError, JournalError, ProviderError, RecipientError, SenderError
    from voxpipe.sender.journal import Journal
    from voxpipe.sender.message import Message
    from voxpipe.sender.providers import provider_class
    from voxpipe.sender.sending import iter_send, send_manifest, send_message
    from voxpipe.sender.statuses import Status
