"""Backoff policy shared by everything that retries HTTP (gTTS, providers).

The loops themselves use tenacity; this module only says how long to wait:
exponential with full jitter, but never less than a server's ``Retry-After``.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["RetryPolicy", "retry_after_seconds"]


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    """Total tries, the first included."""
    base_s: float = 0.5
    max_s: float = 30.0
    """Cap on one wait, Retry-After included: a server asking for more fails the item."""

    def wait(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed try number ``attempt`` (1-based)."""
        backoff = random.uniform(0, min(self.max_s, self.base_s * (2 ** (attempt - 1))))
        if retry_after is not None:
            backoff = max(backoff, min(retry_after, self.max_s))
        return backoff


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Parse ``Retry-After`` as seconds (number or HTTP date); None if absent or bad."""
    value = headers.get("retry-after") or headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
