"""Looking statuses up and cancelling: the network half of delivery tracking.

``refresh`` asks the providers that can answer (MessageBird, AlphaSMS TTS)
about every recipient that was sent and is not final yet, paced to a rate
and retrying 429 (after its ``Retry-After``), 5xx and lost connections:
a look-up changes nothing at the provider, so repeating it is safe.
``cancel`` withdraws a campaign's messages where the provider allows it
(MessageBird, while still scheduled) and marks their recipients
``cancelled``; it retries only what cannot have reached the provider.
Both write what they learn to the journal through
:func:`voxpipe.sender.status.apply_update`; ``wait_final`` repeats ``refresh`` until
every recipient is final or a timeout.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

import httpx

from voxpipe.pipeline.retry import RetryPolicy

from .delivery import apply_update
from .dispatch import MaybeSent, NotSent, Pacer, exchange
from .errors import ConfigError, ProviderError
from .journal import Campaign, Journal, RecipientRow
from .providers import Provider, registry
from .statuses import Status, StatusUpdate

__all__ = [
    "CancelResult",
    "RefreshResult",
    "all_final",
    "awaiting",
    "campaign_report",
    "campaigns_named",
    "cancel",
    "check_cancel",
    "look_up_providers",
    "open_rows",
    "pollable",
    "refresh",
    "wait_final",
]

_LOG = logging.getLogger(__name__)
DEFAULT_RETRY = RetryPolicy(attempts=4, base_s=0.5, max_s=30.0)


@dataclass
class RefreshResult:
    campaign: str
    provider: str
    looked_up: int = 0
    """Recipients asked about."""
    requests: int = 0
    changed: int = 0
    errors: list[str] = field(default_factory=list)
    skipped: str | None = None
    """Why the campaign was not looked up (its provider has no look-up, ...)."""


@dataclass(frozen=True)
class CancelResult:
    ref: str
    status: str
    """"cancelled", "too_late", "not_found" or "failed"."""
    detail: str
    recipients: tuple[str, ...]


def campaigns_named(journal: Journal, ids: Iterable[str]) -> list[Campaign]:
    """The named campaigns (every one when ``ids`` is empty); ConfigError for one the journal lacks."""
    found = []
    for cid in ids:
        campaign = journal.campaign(cid)
        if campaign is None:
            raise ConfigError(f"no campaign {cid!r} in {journal.location}")
        found.append(campaign)
    return found or journal.campaigns()


def look_up_providers(
    journal: Journal, campaigns: Iterable[Campaign], configure: Callable[[str], Provider]
) -> tuple[dict[str, Provider], list[str]]:
    """A configured provider for every provider with open recipients it can look up.

    ``configure(name)`` makes one (with credentials). One that cannot be made
    (missing credentials) is left out with the reason, so the others are
    still looked up: ``(providers, problems)``.
    """
    providers: dict[str, Provider] = {}
    problems: list[str] = []
    for campaign in campaigns:
        name = campaign.provider
        if name in providers or not pollable(name, campaign.mode) or not open_rows(journal, campaign.id):
            continue
        try:
            provider = configure(name)
            provider.require_credentials()
        except ConfigError as exc:
            problems.append(f"{exc}: not looking up its campaigns")
            continue
        providers[name] = provider
    return providers, problems


def campaign_report(journal: Journal, campaign: Campaign, refreshed: RefreshResult | None = None) -> dict[str, Any]:
    """Where a campaign stands: counts per status (in the order a reader expects), and every recipient."""
    rows = journal.rows(campaign.id)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    order = {s: i for i, s in enumerate(Status.reported())}
    report: dict[str, Any] = {
        "campaign": campaign.id,
        "provider": campaign.provider,
        "mode": campaign.mode,
        "created_at": datetime.fromtimestamp(campaign.created_at, UTC).isoformat(timespec="seconds"),
        "counts": dict(sorted(counts.items(), key=lambda kv: order.get(Status(kv[0]), len(order)))),
        "final": not any(awaiting(r) for r in rows),
        "open": sum(awaiting(r) for r in rows),
        "recipients": [r.to_dict() for r in rows],
    }
    if refreshed is not None:
        report["refresh"] = {k: v for k, v in refreshed.__dict__.items() if k not in ("campaign", "provider")}
    return report


def awaiting(row: RecipientRow) -> bool:
    """Sent (or maybe sent) and without a final status: a callback or look-up may still move it."""
    return Status(row.status).awaiting


def open_rows(journal: Journal, campaign: str) -> list[RecipientRow]:
    """Recipients that were sent (or may have been) and have no final status yet."""
    return [r for r in journal.rows(campaign) if awaiting(r)]


def all_final(journal: Journal, campaigns: Iterable[str]) -> bool:
    return not any(open_rows(journal, c) for c in campaigns)


def _ask(
    client: httpx.Client, request: httpx.Request, pacer: Pacer, retry: RetryPolicy, *, safe: bool
) -> httpx.Response:
    try:
        return exchange(client, request, pacer, retry, safe=safe)
    except NotSent as exc:
        raise ProviderError(f"{request.method} {request.url.path}: {exc}", request=request) from exc
    except MaybeSent as exc:
        raise ProviderError(f"{exc}; its outcome is unknown", request=request) from exc


def refresh(
    journal: Journal,
    providers: Mapping[str, Provider],
    client: httpx.Client,
    campaigns: Iterable[str] | None = None,
    *,
    rate_per_s: float | None = None,
    retry: RetryPolicy = DEFAULT_RETRY,
) -> list[RefreshResult]:
    """Look up every open recipient of ``campaigns`` (default: all) whose provider can answer.

    ``providers`` maps provider names to configured providers (with
    credentials); a campaign whose provider is missing there, or cannot be
    asked, is reported as skipped. All requests share one pace.
    """
    pacer = Pacer(rate_per_s)
    results = []
    for campaign in journal.campaigns() if campaigns is None else [journal.campaign(c) for c in campaigns]:
        if campaign is None:
            continue
        result = RefreshResult(campaign.id, campaign.provider)
        results.append(result)
        rows = open_rows(journal, campaign.id)
        provider = providers.get(campaign.provider)
        if not rows:
            continue
        if not pollable(campaign.provider, campaign.mode):
            result.skipped = f"{campaign.provider} statuses come by callback only (see `voxpipe hooks`)"
            continue
        if provider is None:
            result.skipped = f"{campaign.provider} was not configured for look-ups"
            continue
        result.looked_up = len(rows)
        open_addresses = {r.address for r in rows}
        for request in provider.build_poll(rows):
            result.requests += 1
            try:
                updates = provider.parse_poll(_ask(client, request, pacer, retry, safe=True))
            except ProviderError as exc:
                result.errors.append(str(exc))
                continue
            answer = partial(_apply_answer, journal, updates, open_addresses, f"poll:{provider.name}")
            result.changed += journal.atomically(answer)  # one commit per answer, not per recipient
    return results


def _apply_answer(journal: Journal, updates: list[StatusUpdate], open_addresses: set[str], source: str) -> int:
    changed = 0
    for update in updates:  # a message's answer covers all its recipients: only the open ones matter
        if update.address is None or update.address in open_addresses:
            changed += len(apply_update(journal, update, source=source, keep_unchanged=False).changed)
    return changed


def pollable(provider: str, mode: str) -> bool:
    """Whether a campaign of ``provider`` sent in ``mode`` can be looked up."""
    cls = registry().get(provider)
    return cls is not None and cls.polls(mode)


def wait_final(
    journal: Journal,
    campaigns: list[str],
    step: Callable[[], object],
    *,
    timeout_s: float,
    interval_s: float,
) -> bool:
    """Run ``step`` (a refresh, or nothing when callbacks do the work) until every
    recipient of ``campaigns`` is final; False when ``timeout_s`` passes first."""
    deadline = time.monotonic() + timeout_s
    while True:
        step()
        if all_final(journal, campaigns):
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(interval_s, left))


def check_cancel(journal: Journal, campaign: str, provider: Provider | type[Provider]) -> None:
    """Raise :class:`ConfigError` when ``campaign`` is not in the journal, was sent
    with another provider, or its provider cannot cancel (a class is enough)."""
    found = journal.campaign(campaign)
    if found is None:
        raise ConfigError(f"no campaign {campaign!r} in {journal.location}")
    if found.provider != provider.name:
        raise ConfigError(f"campaign {campaign!r} was sent with {found.provider}, not {provider.name}")
    if not provider.can_cancel:
        raise ConfigError(f"{provider.name} cannot cancel a message once it is sent")


def cancel(
    journal: Journal, campaign: str, provider: Provider, client: httpx.Client, *, retry: RetryPolicy = DEFAULT_RETRY
) -> list[CancelResult]:
    """Withdraw every message of ``campaign`` that has open recipients (checked first, see :func:`check_cancel`)."""
    check_cancel(journal, campaign, provider)
    by_ref: dict[str, list[str]] = {}
    for row in open_rows(journal, campaign):
        if row.ref:
            by_ref.setdefault(row.ref, []).append(row.address)
    pacer = Pacer(None)
    results = []
    for ref, addresses in by_ref.items():
        try:
            outcome = provider.parse_cancel(_ask(client, provider.build_cancel(ref), pacer, retry, safe=False))
        except ProviderError as exc:
            results.append(CancelResult(ref, "failed", str(exc), tuple(addresses)))
            continue
        if outcome.status == "cancelled":
            apply_update(
                journal,
                StatusUpdate(
                    provider.name,
                    Status.CANCELLED,
                    raw_status="deleted",
                    ref=ref,
                    at=time.time(),
                    reason="cancelled with voxpipe cancel",
                ),
                source=f"cancel:{provider.name}",
            )
        results.append(CancelResult(ref, outcome.status, outcome.detail, tuple(addresses)))
    return results
