"""Asking the provider instead of guessing whether it took a chunk.

After a crash (recipients found in flight, in a chunk whose run is gone,
when a run starts, or left ``unknown`` by an earlier run) or an ambiguous
answer (a 500, a timeout, a dropped connection, a 2xx the client cannot
read), a provider that can be asked (``Provider.can_look_up``) is asked about the chunk. Each recipient is
settled as accepted (with the provider's reference) or not sent (sending it
again is safe); only what the look-up cannot settle stays ``unknown``. The
provider builds and parses the look-up; ``ask`` (the dispatcher's retrying
exchange) does the I/O.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

import httpx

from .errors import ProviderError
from .journal import Journal
from .providers import Chunk, Outcome, Payload, Provider
from .recipients import Recipient
from .statuses import Status

if TYPE_CHECKING:
    from .lease import Sender

__all__ = ["CLOCK_SLACK_S", "MAX_PAGES", "Ask", "look_up", "settle_in_doubt"]

Ask = Callable[[httpx.Request], httpx.Response]
"""Send a look-up (safe to repeat); ProviderError when no answer came."""

CLOCK_SLACK_S = 900.0
"""A look-up searches from this long before our send time: the provider's clock may differ from ours."""
MAX_PAGES = 50
"""Pages of a listing read at most; past them the recipients stay unknown."""


def look_up(provider: Provider, chunk: Chunk, since: float, ask: Ask) -> dict[Recipient, Outcome]:
    """What the provider says about each recipient of ``chunk``, sent at or after ``since``."""
    settled: dict[Recipient, Outcome] = {}
    request: httpx.Request | None = provider.build_lookup(chunk, since - CLOCK_SLACK_S)
    pages = 0
    while request is not None:
        if pages == MAX_PAGES:
            return _unknown_unless_accepted(
                chunk, settled, f"{provider.name}: more than {MAX_PAGES} pages to look through"
            )
        pages += 1
        try:
            page = provider.parse_lookup(chunk, ask(request))
        except ProviderError as exc:
            return _unknown_unless_accepted(chunk, settled, f"{provider.name}: the look-up failed ({exc})")
        for recipient, outcome in page.outcomes.items():
            earlier = settled.get(recipient)
            if recipient in chunk.recipients and (earlier is None or earlier.status is not Status.ACCEPTED):
                settled[recipient] = outcome  # accepted on any page wins
        request = page.next
    missing = _unknown(f"{provider.name}: the look-up did not mention this number")
    return {r: settled.get(r, missing) for r in chunk.recipients}


def _unknown(why: str) -> Outcome:
    return Outcome(
        Status.UNKNOWN, error=f"{why}; it may have been accepted, so it is not resent (see `resend_unknown`)"
    )


def _unknown_unless_accepted(chunk: Chunk, settled: dict[Recipient, Outcome], why: str) -> dict[Recipient, Outcome]:
    """An unfinished look-up: only what it found is settled ("not sent" needs the whole answer)."""
    unknown = _unknown(why)
    return {
        r: settled[r] if r in settled and settled[r].status is Status.ACCEPTED else unknown for r in chunk.recipients
    }


def settle_in_doubt(
    journal: Journal, provider: Provider, payload: Payload, campaign: str, ask: Ask, sender: Sender | None = None
) -> None:
    """At the start of a run: look up what runs that are gone left in flight or unknown.

    Found recipients become accepted, those the provider never took pending
    again (this run sends them), the rest unknown. Where the provider cannot
    be asked, recipients in flight become unknown. Only chunks whose claim
    is not live are settled, each after ``sender`` took its claim over (so
    two runs starting together settle each chunk once); without a
    ``sender``, every chunk in doubt.
    """
    host = sender.host if sender is not None else socket.gethostname()
    can_ask = provider.can_look_up(payload)
    for index, claim, members in journal.doubtful_chunks(campaign, host):
        if not can_ask and not any(r.status is Status.IN_FLIGHT for r in members):
            continue  # unknown stays unknown: nothing to settle
        taken = sender is not None and claim is not None
        if sender is not None and claim is not None:
            if not journal.take_over(claim, sender.owner, sender.host, sender.pid, sender.settings.ttl_s):
                continue  # another run took it first (or its own run renewed it)
        if not can_ask:
            journal.settle_interrupted(campaign, [index])
        else:
            chunk = Chunk(
                campaign, index, tuple(Recipient(r.address) for r in members), tuple(r.client_id for r in members)
            )
            outcomes = look_up(provider, chunk, min(r.updated_at for r in members), ask)
            with journal.transaction():  # one commit per chunk looked up
                journal.record(
                    campaign,
                    [
                        (r.address, o.status, o.ref, o.error)
                        for r, o in outcomes.items()
                        if o.status is not Status.PENDING
                    ],
                    chunk=index,
                )
                journal.requeue(
                    campaign, [r.address for r, o in outcomes.items() if o.status is Status.PENDING], chunk=index
                )
        if taken and sender is not None:
            journal.finish_chunk(index, sender.owner)
