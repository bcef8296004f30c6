"""Sending voice messages through providers, with a journal that survives crashes.

```python
from voxpipe.sender import send_message

report = send_message("9bits", "Your parcel arrives today.", ["+2348020000001"], store="media/")
```

:func:`send_message` / :func:`send_manifest` are the entry points; the
steps they compose (recipients, payload, dispatch, journal, tracking) are
importable on their own.
"""

from __future__ import annotations

from .delivery import Applied, apply_update
from .dispatch import ChunkDone, LeaseWait, SendReport, SendSettings, campaign_id, http_client
from .errors import ConfigError, JournalError, ProviderError, RecipientError, SenderError, SignatureError
from .hooks import HookReceiver, hook_url
from .journal import Journal, RecipientRow
from .message import Message, plan_payload, realise, resolve_mode
from .providers import Callback, Mode, Payload, Provider, provider_class, registry
from .recipients import Recipient, Rejected, normalize_recipients, parse_recipient, read_recipients
from .sending import (
    DEFAULT_JOURNAL,
    RowDone,
    iter_send,
    iter_send_manifest,
    plan_send,
    read_send_manifest,
    send_manifest,
    send_message,
)
from .statuses import Status, StatusUpdate
from .tracking import CancelResult, RefreshResult, cancel, refresh, wait_final

__all__ = [
    "DEFAULT_JOURNAL",
    "Applied",
    "Callback",
    "CancelResult",
    "ChunkDone",
    "ConfigError",
    "HookReceiver",
    "Journal",
    "JournalError",
    "LeaseWait",
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
    "RowDone",
    "SendReport",
    "SendSettings",
    "SenderError",
    "SignatureError",
    "Status",
    "StatusUpdate",
    "apply_update",
    "campaign_id",
    "cancel",
    "hook_url",
    "http_client",
    "iter_send",
    "iter_send_manifest",
    "normalize_recipients",
    "parse_recipient",
    "plan_payload",
    "plan_send",
    "provider_class",
    "read_recipients",
    "read_send_manifest",
    "realise",
    "refresh",
    "registry",
    "resolve_mode",
    "send_manifest",
    "send_message",
    "wait_final",
]
