"""Shared machinery of the provider simulators.

Every simulator is a real HTTP/1.1 server (``ThreadingHTTPServer``) bound to
127.0.0.1 (port 0 = a free port unless one is given), served from a daemon
thread. It starts in the constructor; ``close()`` (or leaving a ``with``
block) stops it and cuts any kept-alive connection::

    with NineBitsSim(token="t") as sim:
        httpx.post(sim.base_url + "/v1/sendvoice", ...)
        assert sim.accepted_counts()["2348020000000"] == 1

What a simulator records (all under one lock, safe to read from tests):

- ``requests``: every :class:`Request` seen, in arrival order, with the raw
  headers and body (tests need raw access; ``repr`` redacts credentials so a
  failing assertion never prints them), the status answered (``None`` when
  the connection was dropped) and the fault or rate limit applied.
- ``accepted``: one :class:`Delivery` per recipient the provider accepted.
  ``accepted_counts()`` gives recipient -> times accepted (a value above 1
  means the client delivered twice). ``wait_for_accepted(n)`` waits for
  deliveries that finish after the client gave up (``slow``).
- ``callbacks_sent``: every callback attempt (:class:`CallbackAttempt`).
- ``internal_errors``: exceptions raised by simulator code itself (answered
  as 500); a test may assert it stays empty.

Fault injection: ``sim.inject(kind, times=1, path=None, method=None,
**params)`` queues a fault consumed by the next matching requests. Without
``path`` a fault matches only the provider's send endpoint; with ``path`` it
matches requests whose path starts with it (``method`` narrows further).
Kinds (see :data:`FAULT_KINDS`):

=====================  =========================================================
``"429"``              429 with ``Retry-After`` (param ``retry_after``, default
                       1; ``None`` omits the header); not accepted.
``"500"``              500 with the provider's error body; not accepted.
``"502"``/``"503"``/   a gateway-style HTML page with that status; not
``"504"``              accepted (``retry_after`` param adds the header).
``"accept_then_500"``  processed normally (a valid request is accepted and
                       recorded), then answered 500.
``"accept_then_drop"`` processed normally, then the socket is closed without
                       any response (param ``reset=True`` sends a TCP RST).
``"drop_before_accept"`` the socket is closed without processing.
``"slow"``             sleeps ``seconds`` (default 2.0), then processes
                       normally: a client with a shorter read timeout sees a
                       timeout although the message was accepted.
=====================  =========================================================

``latency_s`` delays every request. ``rate_limit_per_s`` enables a token
bucket over every request the simulator serves (burst = one second's worth,
at least 1); a request over the limit gets 429 with ``Retry-After`` in whole
seconds (the time until a token is free, rounded up, at least 1; override
with ``rate_limit_retry_after``, e.g. 0 for fast tests). The rate limit is
checked before faults, so a rate-limited request does not consume a fault.

Callbacks: ``sim.outcomes = {recipient: outcome}`` with
``sim.default_outcome`` for the rest; each provider documents its outcome
vocabulary. ``sim.fire_callbacks(duplicate=False, reverse=False, only=None)``
sends provider-shaped callbacks over real HTTP for everything accepted so far
and returns how many were delivered (2xx; MessageBird: exactly 200 after its
redeliveries). ``duplicate`` sends each twice in a row; ``reverse`` sends the
whole sequence in reverse order (later states before earlier ones); ``only``
restricts to some recipients (one string or an iterable).

Out of process: ``python -m tests.simulators PROVIDER ...`` (see
``__main__.py``) runs one simulator with ``admin=True``, which adds control
endpoints under ``/_sim/`` (not recorded, not rate limited, no faults):
``GET /_sim/state``; ``POST /_sim/inject`` ``{"kind", "times", "path",
"method", "params"}``; ``POST /_sim/outcomes`` ``{"outcomes", "default"}``;
``POST /_sim/config`` ``{"callback_url", "latency_s", "fetch_media"}`` (and
AlphaSMS's ``accept_repeated_ids``);
``POST /_sim/advance``; ``POST /_sim/fire_callbacks`` ``{"duplicate",
"reverse", "only"}``; ``POST /_sim/reset``.

``Request.fault`` is the fault kind applied, ``"rate_limit"`` for a request
the rate limit refused, or ``None``.
"""

from __future__ import annotations

import logging
import math
import random
import string
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from ._server import HTTPServerBase, Request, Response, _Handler, json_response
from .media import MediaFetcher

__all__ = [
    "FAULT_KINDS",
    "CallbackAttempt",
    "Delivery",
    "Fault",
    "HTTPServerBase",
    "Request",
    "Response",
    "Simulator",
    "json_response",
]

_LOG = logging.getLogger(__name__)

FAULT_KINDS = frozenset(
    {
        "429",
        "500",
        "502",
        "503",
        "504",
        "accept_then_500",
        "accept_then_drop",
        "drop_before_accept",
        "slow",
    }
)

ADMIN_PREFIX = "/_sim/"
_GATEWAY_TEXT = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Delivery:
    """One recipient the provider accepted.

    ``ref`` is the reference the provider returned for the request (9bits
    ``ref_id``, MessageBird message id, Wawp ``id._serialized``, AlphaSMS
    ``msg_id`` / voice.php ``id``); ``message_id`` the per-recipient id where
    the provider has one (else the same as ``ref``); ``client_ref`` the
    client's own reference where the provider takes one (MessageBird
    ``reference``, AlphaSMS JSON ``id``). ``payload`` is the accepted request
    (credentials removed).
    """

    recipient: str
    ref: str
    message_id: str
    payload: Any
    at: float
    client_ref: str | None = None


@dataclass
class CallbackAttempt:
    """One attempt to deliver a callback."""

    method: str
    url: str
    recipient: str
    params: dict[str, str] | None
    json: Any
    status: int | None
    error: str | None
    at: float


@dataclass
class Fault:
    kind: str
    remaining: int
    params: dict[str, Any]
    path: str | None = None
    method: str | None = None


@dataclass
class _Callback:
    method: str
    url: str
    recipient: str
    params: dict[str, str] | None = None
    json: Any = None
    max_attempts: int = 1
    ok_statuses: tuple[int, ...] | None = None  # None: any 2xx


# --------------------------------------------------------------------------- helpers


def rand_id(n: int, alphabet: str = string.ascii_lowercase + string.digits, rng: random.Random | None = None) -> str:
    r = rng or random
    return "".join(r.choice(alphabet) for _ in range(n))


def utc_iso(ts: float) -> str:
    """RFC 3339 in the form MessageBird prints (Y-m-d\\TH:i:sP, UTC)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def utc_plain(ts: float) -> str:
    """``YYYY-MM-DD HH:MM:SS`` in UTC without a zone (9bits call object)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S")


def is_http_url(value: Any) -> bool:
    if not isinstance(value, str) or not value or any(c.isspace() for c in value):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


class _TokenBucket:
    def __init__(self, rate: float) -> None:
        self.rate = float(rate)
        self.capacity = max(1.0, self.rate)
        self.tokens = self.capacity
        self.stamp = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> tuple[bool, float]:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return True, 0.0
            return False, (1.0 - self.tokens) / self.rate


# --------------------------------------------------------------------------- Simulator


class Simulator(HTTPServerBase):
    """Base of the provider simulators; see the module docstring."""

    name = "simulator"
    OUTCOMES: frozenset[str] = frozenset()

    def __init__(
        self,
        *,
        port: int = 0,
        rate_limit_per_s: float | None = None,
        rate_limit_retry_after: int | None = None,
        latency_s: float = 0.0,
        callback_url: str | None = None,
        fetch_media: bool = True,
        media_timeout_s: float = 10.0,
        callback_timeout_s: float = 5.0,
        redelivery_pause_s: float = 0.05,
        default_outcome: Any = "answered",
        seed: int | None = None,
        admin: bool = False,
    ) -> None:
        self._lock = threading.RLock()
        self.requests: list[Request] = []
        self.accepted: list[Delivery] = []
        self.callbacks_sent: list[CallbackAttempt] = []
        self.internal_errors: list[str] = []
        self._faults: list[Fault] = []
        self._accepted_cv = threading.Condition(self._lock)
        self.latency_s = latency_s
        self.rate_limit_per_s = rate_limit_per_s
        self.rate_limit_retry_after = rate_limit_retry_after
        self._bucket = _TokenBucket(rate_limit_per_s) if rate_limit_per_s else None
        self.callback_url = callback_url
        self.fetch_media = fetch_media
        self.media = MediaFetcher(timeout=media_timeout_s)
        self.callback_timeout_s = callback_timeout_s
        self.redelivery_pause_s = redelivery_pause_s
        self.outcomes: dict[str, Any] = {}
        self.default_outcome = default_outcome
        self._rng = random.Random(seed)
        self._cb_client: httpx.Client | None = None
        self.admin = admin
        super().__init__(port=port)

    # ----------------------------------------------------------- public API

    def inject(
        self, kind: str, times: int = 1, *, path: str | None = None, method: str | None = None, **params: Any
    ) -> None:
        """Queue ``times`` faults of ``kind`` for the next matching requests."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {sorted(FAULT_KINDS)}")
        if times < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            self._faults.append(Fault(kind, times, params, path, method.upper() if method else None))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def pending_faults(self) -> int:
        with self._lock:
            return sum(f.remaining for f in self._faults)

    @property
    def requests_count(self) -> int:
        with self._lock:
            return len(self.requests)

    def accepted_counts(self) -> Counter[str]:
        with self._lock:
            return Counter(d.recipient for d in self.accepted)

    def status_counts(self) -> Counter[int | None]:
        """Response status -> how many requests got it (``None``: dropped)."""
        with self._lock:
            return Counter(r.status for r in self.requests)

    def wait_for_accepted(self, n: int, timeout: float = 5.0) -> bool:
        """Wait until at least ``n`` deliveries are recorded."""
        deadline = time.monotonic() + timeout
        with self._accepted_cv:
            while len(self.accepted) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._accepted_cv.wait(left)
            return True

    def fire_callbacks(
        self, duplicate: bool = False, reverse: bool = False, only: str | Iterable[str] | None = None
    ) -> int:
        """Send the provider's callbacks for everything accepted so far."""
        only_set = None if only is None else ({only} if isinstance(only, str) else set(only))
        plan = self._callback_plan(only_set)
        if reverse:
            plan.reverse()
        if duplicate:
            plan = [cb for cb in plan for _ in (0, 1)]
        with self._lock:
            if self._cb_client is None:
                self._cb_client = httpx.Client(timeout=self.callback_timeout_s)
            client = self._cb_client
        return sum(1 for cb in plan if self._deliver(client, cb))

    def _after_close(self) -> None:
        self.media.close()
        if self._cb_client is not None:
            self._cb_client.close()
            self._cb_client = None

    # ----------------------------------------------------------- for providers

    def is_send(self, req: Request) -> bool:
        """Whether ``req`` hits the provider's send endpoint (for faults)."""
        raise NotImplementedError

    def handle(self, req: Request) -> Response:
        """Answer one request (auth, validation, acceptance)."""
        raise NotImplementedError

    def error_response(self, status: int, message: str) -> Response:
        """The provider's error body for ``status``."""
        return json_response(status, {"error": message})

    def _callback_plan(self, only: set[str] | None) -> list[_Callback]:
        return []

    def sign_callback(self, request: httpx.Request) -> None:
        """Add the provider's signature to one delivery attempt (for providers that sign)."""

    def _accept(self, deliveries: Iterable[Delivery]) -> None:
        with self._accepted_cv:
            self.accepted.extend(deliveries)
            self._accepted_cv.notify_all()

    def outcome_of(self, recipient: str, *aliases: str) -> list[Any]:
        """The scripted outcome sequence for ``recipient`` (a list)."""
        value = self.default_outcome
        for key in (recipient, *aliases):
            if key in self.outcomes:
                value = self.outcomes[key]
                break
        seq = list(value) if isinstance(value, (list, tuple)) else [value]
        for item in seq:
            self._check_outcome(item)
        return seq

    def _check_outcome(self, item: Any) -> None:
        if item not in self.OUTCOMES:
            raise ValueError(f"{self.name}: unknown outcome {item!r}; one of {sorted(self.OUTCOMES)}")

    def _now(self) -> float:
        return time.time()

    # ----------------------------------------------------------- request flow

    def _take_fault(self, req: Request) -> Fault | None:
        with self._lock:
            for i, f in enumerate(self._faults):
                if f.method and f.method != req.method:
                    continue
                if f.path is None:
                    if not self.is_send(req):
                        continue
                elif not req.path.startswith(f.path):
                    continue
                f.remaining -= 1
                if f.remaining <= 0:
                    del self._faults[i]
                return f
        return None

    def _fault_response(self, fault: Fault) -> Response:
        status = int(fault.kind)
        if status == 429:
            resp = self.error_response(429, "Too many requests, rate limited")
            ra = fault.params.get("retry_after", 1)
        elif status == 500:
            resp = self.error_response(500, "Server error")
            ra = fault.params.get("retry_after")
        else:
            text = f"{status} {_GATEWAY_TEXT[status]}"
            html = f"<html><head><title>{text}</title></head><body><center><h1>{text}</h1></center></body></html>\n"
            resp = Response(status, html.encode(), "text/html")
            ra = fault.params.get("retry_after")
        if ra is not None:
            resp.headers["Retry-After"] = str(ra)
        return resp

    def _on_request(self, h: _Handler, req: Request) -> None:
        if self.admin and req.path.startswith(ADMIN_PREFIX):
            h.send(self._admin(req))
            return
        with self._lock:
            self.requests.append(req)
        if self.latency_s:
            time.sleep(self.latency_s)
        if self._bucket is not None:
            ok, wait = self._bucket.take()
            if not ok:
                ra = self.rate_limit_retry_after
                if ra is None:
                    ra = max(1, math.ceil(wait))
                resp = self.error_response(429, "Too many requests, rate limited")
                resp.headers["Retry-After"] = str(ra)
                req.fault = "rate_limit"
                self._send(h, req, resp)
                return
        fault = self._take_fault(req)
        kind = fault.kind if fault else None
        req.fault = kind
        if kind == "drop_before_accept":
            h.drop(reset=bool(fault.params.get("reset", False)))
            return
        if kind in ("429", "500", "502", "503", "504"):
            self._send(h, req, self._fault_response(fault))
            return
        if kind == "slow":
            time.sleep(float(fault.params.get("seconds", 2.0)))
        try:
            resp = self.handle(req)
        except Exception as exc:  # a bug in the simulator: make it visible
            _LOG.exception("%s simulator error", self.name)
            with self._lock:
                self.internal_errors.append(f"{type(exc).__name__}: {exc}")
            resp = self.error_response(500, "Server error")
        if kind == "accept_then_500":
            resp = self.error_response(500, "Server error")
        elif kind == "accept_then_drop":
            h.drop(reset=bool(fault.params.get("reset", False)))
            return
        self._send(h, req, resp)

    def _send(self, h: _Handler, req: Request, resp: Response) -> None:
        req.status = resp.status
        h.send(resp)

    # ----------------------------------------------------------- admin API

    def state(self) -> dict[str, Any]:
        """A JSON-able summary of what the simulator saw (also ``GET /_sim/state``)."""
        with self._lock:
            return {
                "provider": self.name,
                "requests": len(self.requests),
                "statuses": {str(k): v for k, v in Counter(r.status for r in self.requests).items()},
                "faults": {str(k): v for k, v in Counter(r.fault for r in self.requests if r.fault).items()},
                "accepted": len(self.accepted),
                "accepted_counts": dict(Counter(d.recipient for d in self.accepted)),
                "pending_faults": sum(f.remaining for f in self._faults),
                "callbacks_sent": len(self.callbacks_sent),
                "internal_errors": list(self.internal_errors),
                "first_request_at": self.requests[0].at if self.requests else None,
                "last_request_at": self.requests[-1].at if self.requests else None,
            }

    def _admin(self, req: Request) -> Response:
        """Control endpoints for a simulator run in another process (``admin=True``)."""
        action = req.path[len(ADMIN_PREFIX) :].strip("/")
        try:
            args = req.json() if req.body else {}
            if action == "state" and req.method == "GET":
                return json_response(200, self.state())
            if req.method != "POST":
                return json_response(405, {"error": "POST"})
            if action == "inject":
                self.inject(
                    args["kind"], int(args.get("times", 1)), path=args.get("path"), method=args.get("method"),
                    **args.get("params", {}),
                )  # fmt: skip
                return json_response(200, {"pending_faults": self.pending_faults})
            if action == "outcomes":
                self.outcomes = dict(args.get("outcomes", {}))
                if "default" in args:
                    self.default_outcome = args["default"]
                return json_response(200, {"ok": True})
            if action == "config":
                for key in ("callback_url", "latency_s", "fetch_media", "accept_repeated_ids"):
                    if key in args and hasattr(self, key):
                        setattr(self, key, args[key])
                return json_response(200, {"ok": True})
            if action == "advance" and hasattr(self, "advance"):
                return json_response(200, {"changed": self.advance()})
            if action == "fire_callbacks":
                n = self.fire_callbacks(bool(args.get("duplicate")), bool(args.get("reverse")), args.get("only"))
                return json_response(200, {"delivered": n})
            if action == "reset":
                with self._lock:
                    self.requests.clear()
                    self.accepted.clear()
                    self.callbacks_sent.clear()
                    self._faults.clear()
                return json_response(200, {"ok": True})
        except (KeyError, TypeError, ValueError) as exc:
            return json_response(400, {"error": f"{type(exc).__name__}: {exc}"})
        return json_response(404, {"error": f"unknown admin action {action!r}"})

    # ----------------------------------------------------------- callbacks

    def _deliver(self, client: httpx.Client, cb: _Callback) -> bool:
        for attempt in range(cb.max_attempts):
            if attempt and self.redelivery_pause_s:
                time.sleep(self.redelivery_pause_s)
            status: int | None = None
            error: str | None = None
            try:
                if cb.method == "GET":
                    request = client.build_request("GET", cb.url, params=cb.params)
                else:
                    request = client.build_request(cb.method, cb.url, params=cb.params, json=cb.json)
                self.sign_callback(request)
                r = client.send(request)
                status = r.status_code
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            with self._lock:
                self.callbacks_sent.append(
                    CallbackAttempt(cb.method, cb.url, cb.recipient, cb.params, cb.json, status, error, time.time())
                )
            if status is not None:
                ok = status in cb.ok_statuses if cb.ok_statuses else 200 <= status < 300
                if ok:
                    return True
        return False
