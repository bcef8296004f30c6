"""Signed callbacks used once: each token is remembered until it expires.

A provider that signs its callbacks with short-lived tokens (MessageBird's
``MessageBird-Signature-JWT``) also gives each token an id; a second request
with a token already taken is a replay, refused with 401. Ids are kept in
this process only, each until its token's expiry (plus the allowed clock
skew); with several server processes a replay reaching another process is
not caught here, and is still harmless: a duplicate update changes nothing
in the journal.

A token is *claimed* when its callback is read and *released* again when the
callback could not be stored (the provider redelivers it, possibly with the
same token).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["ReplayGuard"]

_PURGE_EVERY = 1024


class ReplayGuard:
    """Token ids seen recently, each kept until the moment given when it was claimed."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._start(clock)

    def _start(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()
        self._claims = 0

    def claim(self, token_id: str, until: float) -> bool:
        """Take ``token_id`` until ``until`` (epoch seconds); False when it is taken already."""
        now = self._clock()
        with self._lock:
            self._claims += 1
            if self._claims % _PURGE_EVERY == 0:
                self._until = {k: v for k, v in self._until.items() if v >= now}
            held = self._until.get(token_id)
            if held is not None and held >= now:
                return False
            self._until[token_id] = until
            return True

    def release(self, token_id: str) -> None:
        """Forget ``token_id`` (its callback was not stored, so a redelivery must be accepted)."""
        with self._lock:
            self._until.pop(token_id, None)

    def __len__(self) -> int:
        return len(self._until)

    def __getstate__(self) -> dict[str, Any]:
        # A copy in another process (a server worker) starts empty: the ids seen are this process's.
        return {"clock": self._clock}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._start(state["clock"])
