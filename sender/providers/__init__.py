"""Providers: one module and one class each, found by name through entry points.

```python
from voxpipe.sender.providers import provider_class

MessageBird = provider_class("messagebird")
```

The contract is :class:`Provider` (:mod:`.provider`); the values it builds
from and parses into are in :mod:`.types`.
"""

from __future__ import annotations

from .provider import Provider
from .registry import provider_class, registry
from .types import Callback, CancelOutcome, Chunk, Credential, LookupPage, Mode, Option, Outcome, Payload

__all__ = [
    "Callback",
    "CancelOutcome",
    "Chunk",
    "Credential",
    "LookupPage",
    "Mode",
    "Option",
    "Outcome",
    "Payload",
    "Provider",
    "provider_class",
    "registry",
]
