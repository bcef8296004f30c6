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

from typing import TYPE_CHECKING

from voxpipe._lazy import lazy_namespace

# Names import their modules on first use (PEP 562): importing one submodule, or the CLI
# starting a command, does not load every stage (numpy, httpx, SQLAlchemy ...).
_NAMES = {
    "Applied": "voxpipe.sender.delivery",
    "Callback": "voxpipe.sender.providers",
    "CancelResult": "voxpipe.sender.tracking",
    "ChunkDone": "voxpipe.sender.dispatch",
    "ConfigError": "voxpipe.sender.errors",
    "DEFAULT_JOURNAL": "voxpipe.sender.sending",
    "HookReceiver": "voxpipe.sender.hooks",
    "Journal": "voxpipe.sender.journal",
    "JournalError": "voxpipe.sender.errors",
    "LeaseWait": "voxpipe.sender.dispatch",
    "Message": "voxpipe.sender.message",
    "Mode": "voxpipe.sender.providers",
    "Payload": "voxpipe.sender.providers",
    "Provider": "voxpipe.sender.providers",
    "ProviderError": "voxpipe.sender.errors",
    "Recipient": "voxpipe.sender.recipients",
    "RecipientError": "voxpipe.sender.errors",
    "RecipientRow": "voxpipe.sender.journal",
    "RefreshResult": "voxpipe.sender.tracking",
    "Rejected": "voxpipe.sender.recipients",
    "RowDone": "voxpipe.sender.sending",
    "SendReport": "voxpipe.sender.dispatch",
    "SendSettings": "voxpipe.sender.dispatch",
    "SenderError": "voxpipe.sender.errors",
    "SignatureError": "voxpipe.sender.errors",
    "Status": "voxpipe.sender.statuses",
    "StatusUpdate": "voxpipe.sender.statuses",
    "apply_update": "voxpipe.sender.delivery",
    "campaign_id": "voxpipe.sender.dispatch",
    "cancel": "voxpipe.sender.tracking",
    "hook_url": "voxpipe.sender.hooks",
    "http_client": "voxpipe.sender.dispatch",
    "iter_send": "voxpipe.sender.sending",
    "iter_send_manifest": "voxpipe.sender.sending",
    "normalize_recipients": "voxpipe.sender.recipients",
    "parse_recipient": "voxpipe.sender.recipients",
    "plan_payload": "voxpipe.sender.message",
    "plan_send": "voxpipe.sender.sending",
    "provider_class": "voxpipe.sender.providers",
    "read_recipients": "voxpipe.sender.recipients",
    "read_send_manifest": "voxpipe.sender.sending",
    "realise": "voxpipe.sender.message",
    "refresh": "voxpipe.sender.tracking",
    "registry": "voxpipe.sender.providers",
    "resolve_mode": "voxpipe.sender.message",
    "send_manifest": "voxpipe.sender.sending",
    "send_message": "voxpipe.sender.sending",
    "wait_final": "voxpipe.sender.tracking",
}

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

__getattr__, __dir__ = lazy_namespace(__name__, _NAMES)

if TYPE_CHECKING:
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
