"""Sending: chunking, concurrency, pacing, retries, and the journal around each request.

Retry only what the provider cannot have accepted: HTTP 429, 502, 503, 504
and connections that were never established, with exponential backoff and
jitter, never sooner than ``Retry-After``. A chunk is journaled
``in_flight`` immediately before its request is written, after any rate or
back-off wait, and put back to ``pending`` while it waits to be retried, so
a crash during a wait leaves it unsent, not in doubt. A failure after the
request may have been accepted (HTTP 500, a timeout, a connection lost
before the answer, a 2xx the client cannot read) is looked up where the
provider can be asked (:mod:`voxpipe.sender.reconcile`) and otherwise recorded as
``unknown`` and not resent; ``resend_unknown`` does that on purpose.

Work is claimed one chunk at a time, right before its request (after the
pacer's wait): ``concurrency`` threads each take the next chunk of the
campaign until none is left. On SQLite the whole run holds the campaign's
lease (:mod:`voxpipe.sender.lease`): a second run of the same campaign
refuses, or waits for it. On PostgreSQL several runs share the campaign,
each claiming its own chunks, and share its rate limit through the journal
(:mod:`voxpipe.sender.pacing`).
"""

from __future__ import annotations

import hashlib
import math
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from voxpipe.pipeline.preparation import PrepareSettings
from voxpipe.pipeline.retry import RetryPolicy, retry_after_seconds

from .errors import ConfigError, ProviderError
from .journal import Journal, Lease, LeaseLost, RecipientRow
from .lease import LeaseSettings, Sender, sender_for
from .message import Message, fingerprint
from .pacing import Pacer, SharedPacer
from .providers import Chunk, Mode, Outcome, Payload, Provider
from .recipients import Recipient, Rejected
from .reconcile import Ask, look_up, settle_in_doubt
from .statuses import Status

__all__ = [
    "MODES",
    "ChunkDone",
    "LeaseWait",
    "MaybeSent",
    "NotSent",
    "Pacer",
    "SendReport",
    "SendSettings",
    "campaign_id",
    "dry_run",
    "exchange",
    "http_client",
    "send",
]

RETRYABLE_STATUS = frozenset({429, 502, 503, 504})
MAY_HAVE_BEEN_ACCEPTED = "it may have been accepted, so it is not resent (see `resend_unknown`)"
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


MODES = ("auto", "tts", "media")


@dataclass(frozen=True)
class SendSettings:
    """How a message is sent; every default is defined here (the CLI and the config file use them)."""

    concurrency: int = 4
    """Requests in flight at once (1-64)."""
    rate_per_s: float | None = None
    """Requests per second at most (None: as fast as answers come)."""
    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(attempts=5))
    timeout_s: float = 30.0
    """Seconds to wait for an answer."""
    resend_unknown: bool = False
    """Send again recipients whose outcome is unknown (may duplicate a call)."""
    lease: LeaseSettings = field(default_factory=LeaseSettings)
    """The campaign's lease: expiry, heartbeat, and how long to wait for another run's."""
    mode: str = "auto"
    """auto (text as TTS where the provider speaks text, otherwise as audio), tts or media."""
    default_region: str | None = None
    """Region for national numbers (NG, GB, UA ...); None: numbers must be international."""
    allow_vanity: bool = False
    """Dial letters in numbers as keypad digits (1-800-FLOWERS); refused otherwise."""
    prepare: PrepareSettings = field(default_factory=PrepareSettings)
    """How audio is prepared in media mode (output folder, engine, voice, limits)."""

    def __post_init__(self) -> None:
        problems = []
        if (
            isinstance(self.concurrency, bool)
            or not isinstance(self.concurrency, int)
            or not 1 <= self.concurrency <= 64
        ):
            problems.append(f"`concurrency` {self.concurrency!r} is not a whole number from 1 to 64")
        if self.rate_per_s is not None and not (
            isinstance(self.rate_per_s, (int, float)) and 0 < self.rate_per_s < math.inf
        ):
            problems.append(f"`rate_per_s` {self.rate_per_s!r} is not a finite number above 0")
        if not (isinstance(self.timeout_s, (int, float)) and 0 < self.timeout_s < math.inf):
            problems.append(f"`timeout_s` {self.timeout_s!r} is not a finite number above 0")
        if self.mode not in MODES:
            problems.append(f"`mode` {self.mode!r} is not one of {', '.join(MODES)}")
        if problems:
            raise ConfigError("send settings: " + "; ".join(problems))


@dataclass(frozen=True)
class ChunkDone:
    """Progress: one request finished (or gave up)."""

    chunk: int
    recipients: int
    accepted: int


@dataclass(frozen=True)
class LeaseWait:
    """Progress: another run holds the campaign; this one waits for its lease (``--wait``)."""

    lease: Lease


@dataclass
class SendReport:
    """Where a campaign stands after a send (this run and earlier ones), or what a dry run would send."""

    campaign: str
    provider: str
    mode: str
    rows: list[RecipientRow]
    media_url: str | None = None
    stopped: str | None = None
    """Why the run stopped before sending everything (its lease was taken over)."""
    journal: str | None = None
    requests: list[dict[str, Any]] | None = None
    """A dry run: the requests a send would make, credentials redacted (nothing was sent)."""
    rejected: list[Rejected] = field(default_factory=list)
    """Inputs that are not usable recipients (also in ``rows`` after a real send)."""

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for row in self.rows:
            out[str(row.status)] = out.get(str(row.status), 0) + 1
        return out

    @property
    def ok(self) -> bool:
        if self.requests is not None:  # a dry run
            return not self.rejected
        return all(Status(r.status).settled_ok for r in self.rows)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "campaign": self.campaign,
            "provider": self.provider,
            "mode": self.mode,
            "ok": self.ok,
        }
        if self.requests is not None:
            data["requests"] = self.requests
            data["rejected"] = [{"recipient": r.raw, "error": r.reason} for r in self.rejected]
            return data
        data.update(media_url=self.media_url, counts=self.counts, recipients=[r.to_dict() for r in self.rows])
        if self.journal:
            data["journal"] = self.journal
        if self.stopped:
            data["stopped"] = self.stopped
        return data


def campaign_id(provider: Provider, mode: Mode, message: Message, recipients: list[Recipient]) -> str:
    digest = hashlib.sha256(fingerprint(provider, mode, message).encode())
    for r in sorted(recipients):
        digest.update(r.address.encode() + b"\0")
    return "c-" + digest.hexdigest()[:16]


class NotSent(Exception):
    """Every try failed in a way the provider cannot have accepted (no connection, 429, 502-504)."""


class MaybeSent(Exception):
    """The request may have reached the provider, but no usable answer came back."""

    def __init__(self, reason: str, *, in_progress: bool = False) -> None:
        super().__init__(reason)
        self.in_progress = in_progress
        """A timeout: the provider may still be working on it, so "not found" by a look-up proves nothing yet."""


class _Again(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


def exchange(
    client: httpx.Client,
    request: httpx.Request,
    pacer: Pacer,
    retry: RetryPolicy,
    *,
    safe: bool = False,
    on_wire: Callable[[], None] | None = None,
    on_not_sent: Callable[[], None] | None = None,
    first_paced: bool = False,
) -> httpx.Response:
    """Send ``request`` with pacing and retries; the one retry loop of the sender.

    Retried: what the provider cannot have accepted (connections never made,
    429 with its Retry-After held for every thread, 502, 503, 504), and for a
    ``safe`` request (a look-up) also 500s and lost answers. Otherwise a
    possibly-accepted failure raises :class:`MaybeSent` at once; exhausted
    retries raise :class:`NotSent`. ``on_wire`` runs right before each try
    is written (after the pacer's wait) and ``on_not_sent`` right after a
    try that proved nothing was taken (before the back-off wait).
    ``first_paced``: the caller waited for the pacer and claimed the request
    right before this call, so the first try neither waits nor calls ``on_wire``.
    """
    tries = 0

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        return retry.wait(state.attempt_number, exc.retry_after if isinstance(exc, _Again) else None)

    def not_sent(again: _Again) -> _Again:
        if on_not_sent is not None:
            on_not_sent()
        return again

    def once() -> httpx.Response:
        nonlocal tries
        tries += 1
        if tries > 1 or not first_paced:
            pacer.wait()
            if on_wire is not None:
                on_wire()
        try:
            response = client.send(request)
        except NOT_SENT as exc:
            raise not_sent(_Again(f"cannot connect to {request.url.host} ({type(exc).__name__})")) from exc
        except httpx.HTTPError as exc:
            if safe:
                raise _Again(type(exc).__name__) from exc
            in_progress = isinstance(exc, httpx.TimeoutException)
            raise MaybeSent(f"{type(exc).__name__} after the request was sent", in_progress=in_progress) from exc
        if response.status_code in RETRYABLE_STATUS or (safe and response.status_code >= 500):
            after = retry_after_seconds(response.headers)
            if response.status_code == 429 and after:
                pacer.hold(after)
            raise not_sent(_Again(f"HTTP {response.status_code}", after))
        if response.status_code >= 500:
            raise MaybeSent(f"HTTP {response.status_code} after the request was sent")
        return response

    try:
        for attempt in Retrying(
            stop=stop_after_attempt(retry.attempts), wait=wait, retry=retry_if_exception_type(_Again), reraise=True
        ):
            with attempt:
                return once()
    except _Again as exc:
        raise NotSent(f"{exc} after {retry.attempts} attempts") from exc
    raise AssertionError("unreachable")  # pragma: no cover


def _chunks(
    provider: Provider, payload: Payload, campaign: str, pending: list[tuple[Recipient, int]], first: int
) -> list[Chunk]:
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
) -> Iterator[ChunkDone | LeaseWait | SendReport]:
    """Send ``payload`` to every recipient not yet settled in the journal.

    On SQLite it holds the campaign's lease throughout (:class:`~sender.journal.LeaseHeld`
    when another run has it and does not let go within the wait); on
    PostgreSQL it sends beside any other runs of the campaign. Yields a
    :class:`LeaseWait` if it waits for a lease, a :class:`ChunkDone` per
    finished request, then the :class:`SendReport` of the whole campaign
    (this run, earlier ones and, on PostgreSQL, the runs beside it).
    """
    provider.check(payload)
    campaign = campaign or campaign_id(provider, payload.mode, message, recipients)
    secret = journal.hook_secret().encode() if message.sensitive else None
    journal.open_campaign(
        campaign,
        provider.name,
        payload.mode.value,
        fingerprint(provider, payload.mode, message, secret),
        message.describe(secret),
    )
    journal.add_recipients(campaign, recipients)
    for bad in rejected:
        journal.add_rejected(campaign, bad.raw, bad.reason)
    sender = sender_for(journal, campaign, settings.lease)
    for n, held in enumerate(sender.acquire()):
        if n == 0:
            yield LeaseWait(held)
    pacer = (
        SharedPacer(journal, f"campaign:{campaign}", settings.rate_per_s)
        if journal.concurrent_senders
        else Pacer(settings.rate_per_s)
    )
    ask = _asker(client, pacer, settings.retry)
    with sender:
        # What is in flight now and not claimed by a live run was left by a run that is gone.
        settle_in_doubt(journal, provider, payload, campaign, ask, sender)
        if settings.resend_unknown:
            journal.reopen_unknown(campaign)
        yield from _work(provider, payload, sender, client, settings, pacer, ask)
        if not sender.lost.is_set():
            sender.wait_for_others()
        stopped = (
            "another run took over this campaign's lease; this run stopped sending" if sender.lost.is_set() else None
        )
        rows = journal.rows(campaign)
        yield SendReport(
            campaign, provider.name, payload.mode.value, rows, payload.media_url, stopped, journal.location
        )


def _work(
    provider: Provider,
    payload: Payload,
    sender: Sender,
    client: httpx.Client,
    settings: SendSettings,
    pacer: Pacer,
    ask: Ask,
) -> Iterator[ChunkDone]:
    """``settings.concurrency`` threads, each claiming and sending the next chunk until none is left."""
    size = provider.max_per_request(payload)
    finished: queue.Queue[ChunkDone | BaseException | None] = queue.Queue()
    stop = threading.Event()  # nothing left to claim (or the lease is gone): threads waiting on the pacer quit

    def work() -> None:
        try:
            while not stop.is_set() and pacer.wait(stop):
                try:
                    chunk = sender.claim_next(size)
                except LeaseLost:
                    chunk = None
                if chunk is None:
                    stop.set()
                    return
                finished.put(_send_chunk(provider, payload, chunk, sender, client, settings, pacer, ask))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread, which raises it
            stop.set()
            finished.put(exc)
        finally:
            finished.put(None)

    threads = [threading.Thread(target=work, name=f"send-{n}", daemon=True) for n in range(settings.concurrency)]
    for thread in threads:
        thread.start()
    failure: BaseException | None = None
    try:
        running = len(threads)
        while running:
            item = finished.get()
            if item is None:
                running -= 1
            elif isinstance(item, BaseException):
                failure = failure or item
            else:
                yield item
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    if failure is not None:
        raise failure


def _asker(client: httpx.Client, pacer: Pacer, retry: RetryPolicy) -> Ask:
    """Look-ups: safe to repeat, so 5xx and lost answers are retried too."""

    def ask(request: httpx.Request) -> httpx.Response:
        try:
            return exchange(client, request, pacer, retry, safe=True)
        except (NotSent, MaybeSent) as exc:
            raise ProviderError(f"{request.method} {request.url.path}: {exc}", request=request) from exc

    return ask


def _send_chunk(
    provider: Provider,
    payload: Payload,
    chunk: Chunk,
    sender: Sender,
    client: httpx.Client,
    settings: SendSettings,
    pacer: Pacer,
    ask: Ask,
) -> ChunkDone:
    """Send a chunk just claimed (in flight, after the pacer's wait) and record its outcome."""
    journal = sender.journal
    addresses = [r.address for r in chunk.recipients]
    claimed_at = [time.time()]

    def on_wire() -> None:  # a retry: after the pacer's wait, right before the request is written again
        sender.claim(chunk.index, addresses)
        claimed_at.append(time.time())

    def not_sent() -> None:
        journal.unclaim(chunk.campaign, chunk.index, addresses)

    try:
        request = provider.build(chunk, payload)
    except BaseException:
        not_sent()  # nothing went out
        journal.finish_chunk(chunk.index, sender.owner)
        raise
    try:
        response = exchange(client, request, pacer, settings.retry, on_wire=on_wire, on_not_sent=not_sent,
                            first_paced=True)  # fmt: skip
        outcomes = provider.parse(chunk, response)
    except LeaseLost:
        journal.finish_chunk(chunk.index, sender.owner)
        return ChunkDone(chunk.index, len(addresses), 0)  # left pending for the run that has them now
    except NotSent as exc:
        error = f"{provider.name}: {exc}; nothing was accepted, re-run to send"
        sender.finish(chunk, [(a, Status.FAILED, None, error) for a in addresses])
        return ChunkDone(chunk.index, len(addresses), 0)
    except MaybeSent as exc:
        tail = "" if provider.can_look_up(payload) else f"; {MAY_HAVE_BEEN_ACCEPTED}"
        outcomes = provider.all_unknown(chunk, f"{provider.name}: {exc}{tail}")
        outcomes = _settle_ambiguous(
            provider, payload, chunk, outcomes, claimed_at[-1], ask, in_progress=exc.in_progress
        )
    else:
        outcomes = _settle_ambiguous(provider, payload, chunk, outcomes, claimed_at[-1], ask, in_progress=False)
    sender.finish(chunk, [(r.address, o.status, o.ref, o.error) for r, o in outcomes.items()])
    return ChunkDone(chunk.index, len(addresses), sum(o.status is Status.ACCEPTED for o in outcomes.values()))


def _settle_ambiguous(
    provider: Provider,
    payload: Payload,
    chunk: Chunk,
    outcomes: dict[Recipient, Outcome],
    since: float,
    ask: Ask,
    *,
    in_progress: bool,
) -> dict[Recipient, Outcome]:
    """Recipients the answer left unknown, looked up where the provider can be asked.

    Found: accepted. Not found: failed (re-run sends them), unless the request
    may still be in progress at the provider (a timeout): then unknown, and the
    next run looks it up again.
    """
    doubtful = {r for r, o in outcomes.items() if o.status is Status.UNKNOWN}
    if not doubtful or not provider.can_look_up(payload):
        return outcomes
    ids = dict(zip(chunk.recipients, chunk.client_ids, strict=False))  # no ids: an empty map
    members = tuple(r for r in chunk.recipients if r in doubtful)
    found = look_up(
        provider, Chunk(chunk.campaign, chunk.index, members, tuple(ids[r] for r in members if r in ids)), since, ask
    )
    settled = dict(outcomes)
    for recipient, answer in found.items():
        why = outcomes[recipient].error
        if answer.status is Status.ACCEPTED:
            settled[recipient] = answer
        elif answer.status is Status.PENDING and in_progress:
            settled[recipient] = Outcome(
                Status.UNKNOWN,
                error=(
                    f"{why}; looked up: not there yet, but the request may still be in progress; the next run looks it up again"
                ),
            )
        elif answer.status is Status.PENDING:
            settled[recipient] = Outcome(
                Status.FAILED,
                error=f"{why}; looked up: {provider.name} never took it, so nothing was accepted; re-run to send",
            )
        else:
            settled[recipient] = Outcome(Status.UNKNOWN, error=f"{why}; {answer.error}")
    return settled


def dry_run(provider: Provider, payload: Payload, recipients: list[Recipient], campaign: str) -> list[dict[str, Any]]:
    """The exact requests a send would make (credentials redacted); sends nothing."""
    from .journal import client_id

    provider.check(payload)
    pending = [(r, client_id(campaign, r.address)) for r in recipients]
    return [
        provider.redact(provider.build(chunk, payload)) for chunk in _chunks(provider, payload, campaign, pending, 1)
    ]


def http_client(settings: SendSettings) -> httpx.Client:
    limits = httpx.Limits(max_connections=settings.concurrency, max_keepalive_connections=settings.concurrency)
    return httpx.Client(timeout=httpx.Timeout(settings.timeout_s, connect=min(10.0, settings.timeout_s)), limits=limits)
