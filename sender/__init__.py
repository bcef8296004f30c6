"""Sending voice messages through providers, with a journal that survives crashes.

```python
from voxpipe.sender import Journal, Message, SendSettings, provider_class, normalize_recipients, send
```
"""

from __future__ import annotations

from .dispatch import ChunkDone, SendReport, SendSettings, campaign_id, dry_run, http_client, send
from .errors import ConfigError, JournalError, ProviderError, RecipientError, SenderError
from .hooks import HookReceiver, hook_url
from .journal import Journal, RecipientRow
from .message import Message, build_payload, resolve_mode
from .providers import REGISTRY, Mode, Payload, Provider, provider_class
from .recipients import Recipient, Rejected, normalize_recipients, parse_recipient, read_recipients
from .status import StatusUpdate, apply_update
from .tracking import CancelResult, RefreshResult, cancel, refresh, wait_final

__all__ = [
    "REGISTRY",
    "CancelResult",
    "ChunkDone",
    "ConfigError",
    "HookReceiver",
    "Journal",
    "JournalError",
    "Message",
    "Mode",
    "Payload",
    "Provider",
    "ProviderError",
    "Recipient",
    "RecipientError",
    "RecipientRow",
    "RefreshResult",
    "Rejected",
    "SendReport",
    "SendSettings",
    "SenderError",
    "StatusUpdate",
    "apply_update",
    "build_payload",
    "campaign_id",
    "cancel",
    "dry_run",
    "hook_url",
    "http_client",
    "normalize_recipients",
    "parse_recipient",
    "provider_class",
    "read_recipients",
    "refresh",
    "resolve_mode",
    "send",
    "wait_final",
]
