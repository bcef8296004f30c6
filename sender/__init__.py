"""Sending voice messages through providers, with a journal that survives crashes.

```python
from sender import Journal, Message, SendSettings, provider_class, normalize_recipients, send
```
"""

from __future__ import annotations

from .dispatch import ChunkDone, SendReport, SendSettings, campaign_id, dry_run, http_client, send
from .errors import ConfigError, JournalError, ProviderError, RecipientError, SenderError
from .journal import Journal, RecipientRow
from .message import Message, build_payload, resolve_mode
from .providers import REGISTRY, Mode, Payload, Provider, provider_class
from .recipients import Recipient, Rejected, normalize_recipients, parse_recipient, read_recipients

__all__ = [
    "REGISTRY",
    "ChunkDone",
    "ConfigError",
    "Journal",
    "JournalError",
    "Message",
    "Mode",
    "Payload",
    "Provider",
    "ProviderError",
    "RecipientError",
    "RecipientRow",
    "Recipient",
    "Rejected",
    "SendReport",
    "SendSettings",
    "SenderError",
    "build_payload",
    "campaign_id",
    "dry_run",
    "http_client",
    "normalize_recipients",
    "parse_recipient",
    "provider_class",
    "read_recipients",
    "resolve_mode",
    "send",
]
