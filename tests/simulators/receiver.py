"""A reusable callback receiver for tests.

``CallbackReceiver`` records every request it gets (any method, any path)
and answers a scripted status::

    with CallbackReceiver() as rx:
        rx.script(500, 500)          # the next two requests get 500, then default_status
        sim.callback_url = rx.url("/hooks/9bits")
        sim.fire_callbacks()
        rx.wait_for(3)
        rx.received[0].json()        # parsed JSON body
        rx.received[0].params        # query as a flat dict (last value wins)

``script`` takes statuses or ``(status, body)`` pairs; ``default_status``
(200) answers the rest with ``default_body`` (``b"OK"``).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

from ._server import HTTPServerBase, Request, Response

__all__ = ["CallbackReceiver", "Received"]


class Received(Request):
    """A :class:`Request` with query helpers for callbacks."""

    @property
    def params(self) -> dict[str, str]:
        return {k: v[-1] for k, v in self.query.items()}


class CallbackReceiver(HTTPServerBase):
    def __init__(self, *, port: int = 0, default_status: int = 200, default_body: bytes = b"OK") -> None:
        self._lock = threading.RLock()
        self._cv = threading.Condition(self._lock)
        self.received: list[Received] = []
        self.default_status = default_status
        self.default_body = default_body
        self._script: deque[tuple[int, bytes]] = deque()
        super().__init__(port=port)

    def script(self, *answers: int | tuple[int, bytes]) -> None:
        """Queue answers for the next requests (status or (status, body))."""
        with self._lock:
            for a in answers:
                self._script.append(a if isinstance(a, tuple) else (a, b""))

    def wait_for(self, n: int, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._cv:
            while len(self.received) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cv.wait(left)
            return True

    def json_bodies(self) -> list[Any]:
        with self._lock:
            return [r.json() for r in self.received if r.body]

    def clear(self) -> None:
        with self._lock:
            self.received.clear()
            self._script.clear()

    def _on_request(self, h, req: Request) -> None:
        rec = Received(**{f: getattr(req, f) for f in req.__dataclass_fields__})
        with self._cv:
            status, body = self._script.popleft() if self._script else (self.default_status, self.default_body)
            rec.status = status
            self.received.append(rec)
            self._cv.notify_all()
        h.send(Response(status, body, "text/plain"))
