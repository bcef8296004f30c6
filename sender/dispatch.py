"""Sending: chunking, concurrency, pacing, retries, and the journal around each request.

Retry only what the provider cannot have accepted: HTTP 429, 502, 503, 504
and connections that were never established, with exponential backoff and
jitter, never sooner than ``Retry-After``. A failure after the request may
have been accepted (HTTP 500, a read timeout, a connection lost before the
answer) is recorded as ``unknown`` and not resent; ``resend_unknown`` does
that on purpose. A chunk is journaled ``in_flight`` before it is sent.
"""

from __future__ import annotations

import hashlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any, Iterator

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from pipeline.retry import RetryPolicy, retry_after_seconds

from .journal import Journal, RecipientRow
from .message import Message, fingerprint
from .providers.base import Chunk, Mode, Payload, Provider
from .recipients import Recipient, Rejected

__all__ = ["ChunkDone", "MaybeSent", "NotSent", "Pacer", "SendReport", "SendSettings", "campaign_id", "dry_run", "exchange", "send"]

RETRYABLE_STATUS = frozenset({429, 502, 503, 504})
NOT_OK = frozenset({"rejected", "failed", "unknown", "pending", "in_flight"})
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


@dataclass(frozen=True)
class SendSettings:
    concurrency: int = 4
    """Requests in flight at once."""
    rate_per_s: float | None = None
    """Requests per second at most (None: as fast as answers come)."""
    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(attempts=5))
    timeout_s: float = 30.0
    resend_unknown: bool = False


@dataclass(frozen=True)
class ChunkDone:
    """Progress: one request finished (or gave up)."""

    chunk: int
    recipients: int
    accepted: int


@dataclass
class SendReport:
    campaign: str
    provider: str
    mode: str
    rows: list[RecipientRow]
    media_url: str | None = None

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for row in self.rows:
            out[row.status] = out.get(row.status, 0) + 1
        return out

    @property
    def ok(self) -> bool:
        return all(r.status not in NOT_OK for r in self.rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign,
            "provider": self.provider,
            "mode": self.mode,
            "media_url": self.media_url,
            "counts": self.counts,
            "recipients": [r.to_dict() for r in self.rows],
        }


def campaign_id(provider: Provider, mode: Mode, message: Message, recipients: list[Recipient]) -> str:
    digest = hashlib.sha256(fingerprint(provider, mode, message).encode())
    for r in sorted(recipients):
        digest.update(r.address.encode() + b"\0")
    return "c-" + digest.hexdigest()[:16]


class Pacer:
    """Token bucket shared by the sending threads."""

    def __init__(self, rate: float | None) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self.next = time.monotonic()
        self.lock = threading.Lock()

    def wait(self) -> None:
        # Without a rate the bucket still carries a 429's hold (see hold()).
        with self.lock:
            now = time.monotonic()
            slot = max(now, self.next)
            self.next = slot + self.interval
        if slot > now:
            time.sleep(slot - now)

    def hold(self, seconds: float) -> None:
        """A 429's Retry-After applies to every thread, not just the one that got it."""
        with self.lock:
            self.next = max(self.next, time.monotonic() + seconds)


class NotSent(Exception):
    """Every try failed in a way the provider cannot have accepted (no connection, 429, 502-504)."""


class MaybeSent(Exception):
    """The request may have reached the provider, but no usable answer came back."""


class _Again(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


def exchange(client: httpx.Client, request: httpx.Request, pacer: Pacer, retry: RetryPolicy, *, safe: bool = False) -> httpx.Response:
    """Send ``request`` with pacing and retries; the one retry loop of the sender.

    Retried: what the provider cannot have accepted (connections never made,
    429 with its Retry-After held for every thread, 502, 503, 504), and for a
    ``safe`` request (a look-up) also 500s and lost answers. Otherwise a
    possibly-accepted failure raises :class:`MaybeSent` at once; exhausted
    retries raise :class:`NotSent`.
    """

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        return retry.wait(state.attempt_number, exc.retry_after if isinstance(exc, _Again) else None)

    def once() -> httpx.Response:
        pacer.wait()
        try:
            response = client.send(request)
        except NOT_SENT as exc:
            raise _Again(f"cannot connect to {request.url.host} ({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:
            if safe:
                raise _Again(type(exc).__name__) from exc
            raise MaybeSent(f"{type(exc).__name__} after the request was sent") from exc
        if response.status_code in RETRYABLE_STATUS or (safe and response.status_code >= 500):
            after = retry_after_seconds(response.headers)
            if response.status_code == 429 and after:
                pacer.hold(after)
            raise _Again(f"HTTP {response.status_code}", after)
        if response.status_code >= 500:
            raise MaybeSent(f"HTTP {response.status_code} after the request was sent")
        return response

    try:
        for attempt in Retrying(stop=stop_after_attempt(retry.attempts), wait=wait, retry=retry_if_exception_type(_Again), reraise=True):
            with attempt:
                return once()
    except _Again as exc:
        raise NotSent(f"{exc} after {retry.attempts} attempts") from exc
    raise AssertionError("unreachable")  # pragma: no cover


def _chunks(provider: Provider, payload: Payload, campaign: str, pending: list[tuple[Recipient, int]], first: int) -> list[Chunk]:
    size = provider.max_per_request(payload)
    return [
        Chunk(
            campaign,
            first + n,
            tuple(r for r, _ in pending[i : i + size]),
            tuple(c for _, c in pending[i : i + size]),
        )
        for n, i in enumerate(range(0, len(pending), size))
    ]


def send(
    provider: Provider,
    message: Message,
    payload: Payload,
    recipients: list[Recipient],
    rejected: list[Rejected],
    journal: Journal,
    client: httpx.Client,
    settings: SendSettings = SendSettings(),
    campaign: str | None = None,
) -> Iterator[ChunkDone | SendReport]:
    """Send ``payload`` to every recipient not yet settled in the journal.

    Yields a :class:`ChunkDone` per finished request, then the
    :class:`SendReport` of the whole campaign (this run and earlier ones).
    """
    provider.check(payload)
    campaign = campaign or campaign_id(provider, payload.mode, message, recipients)
    journal.open_campaign(campaign, provider.name, payload.mode.value, fingerprint(provider, payload.mode, message), message.describe())
    journal.add_recipients(campaign, recipients)
    for bad in rejected:
        journal.add_rejected(campaign, bad.raw, bad.reason)
    journal.settle_interrupted(campaign, resendable=provider.is_idempotent(payload))
    if settings.resend_unknown:
        journal.reopen_unknown(campaign)
    pending = journal.sendable(campaign)
    first = max((r.chunk or 0 for r in journal.rows(campaign)), default=0) + 1
    chunks = _chunks(provider, payload, campaign, pending, first)
    pacer = Pacer(settings.rate_per_s)
    with ThreadPoolExecutor(max_workers=max(1, settings.concurrency), thread_name_prefix="send") as pool:
        futures = [pool.submit(_send_chunk, provider, payload, chunk, journal, client, settings, pacer) for chunk in chunks]
        for future in as_completed(futures):
            yield future.result()
    yield SendReport(campaign, provider.name, payload.mode.value, journal.rows(campaign), payload.media_url)


def _send_chunk(
    provider: Provider,
    payload: Payload,
    chunk: Chunk,
    journal: Journal,
    client: httpx.Client,
    settings: SendSettings,
    pacer: Pacer,
) -> ChunkDone:
    request = provider.build(chunk, payload)
    addresses = [r.address for r in chunk.recipients]
    journal.mark_in_flight(chunk.campaign, chunk.index, addresses)
    try:
        outcomes = provider.parse(chunk, exchange(client, request, pacer, settings.retry))
    except NotSent as exc:
        error = f"{provider.name}: {exc}; nothing was accepted, re-run to send"
        journal.record(chunk.campaign, [(a, "failed", None, error) for a in addresses])
        return ChunkDone(chunk.index, len(addresses), 0)
    except MaybeSent as exc:
        error = f"{provider.name}: {exc}; it may have been accepted, so it is not resent (see --resend-unknown)"
        journal.record(chunk.campaign, [(a, "unknown", None, error) for a in addresses])
        return ChunkDone(chunk.index, len(addresses), 0)
    journal.record(
        chunk.campaign,
        [(r.address, o.status, o.ref, o.error) for r, o in outcomes.items()],
    )
    return ChunkDone(chunk.index, len(addresses), sum(o.status == "accepted" for o in outcomes.values()))


def dry_run(provider: Provider, payload: Payload, recipients: list[Recipient], campaign: str) -> list[dict[str, Any]]:
    """The exact requests a send would make (credentials redacted); sends nothing."""
    from .journal import client_id

    provider.check(payload)
    pending = [(r, client_id(campaign, r.address)) for r in recipients]
    return [provider.redact(provider.build(chunk, payload)) for chunk in _chunks(provider, payload, campaign, pending, 1)]


def http_client(settings: SendSettings) -> httpx.Client:
    limits = httpx.Limits(max_connections=settings.concurrency, max_keepalive_connections=settings.concurrency)
    return httpx.Client(timeout=httpx.Timeout(settings.timeout_s, connect=min(10.0, settings.timeout_s)), limits=limits)
