"""Sending a message, or a manifest of messages, as one library call.

```python
from voxpipe import send_message

report = send_message("messagebird", "Your code is 4 8 3 9.", ["+447911123456"], journal="campaign.db")
print(report.counts)
```

Every check that can fail without doing work runs first, in this order:
credentials (not for a dry run, which needs none and shows them as ``***``),
mode, recipients, markup, profile and store; only then is audio prepared
and hosted, the journal opened, and requests sent. A dry run stops after the
checks: it writes nothing to disk and sends nothing, and its report lists the
exact requests a send would make.

:func:`iter_send` and :func:`iter_send_manifest` yield progress events
(:class:`~voxpipe.sender.dispatch.ChunkDone`, :class:`~voxpipe.sender.dispatch.LeaseWait`)
before the report, for a caller that draws progress; :func:`send_message`
and :func:`send_manifest` return the reports only.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from voxpipe.pipeline.errors import ManifestError, MarkupError, VoxpipeError
from voxpipe.pipeline.manifest import read_records, row_text
from voxpipe.pipeline.preparation import ItemResult
from voxpipe.pipeline.store import Store, open_store
from voxpipe.pipeline.urlcheck import url_problem

from .dispatch import ChunkDone, LeaseWait, SendReport, SendSettings, campaign_id, dry_run, http_client, send
from .errors import ConfigError, RecipientError
from .journal import Journal, is_new_file
from .message import Message, PayloadPlan, plan_payload, realise, resolve_mode
from .providers import Mode, Provider, provider_class
from .recipients import Recipient, Rejected, normalize_recipients, split_recipients

__all__ = [
    "DEFAULT_JOURNAL",
    "ManifestRow",
    "RowDone",
    "SendPlan",
    "iter_send",
    "iter_send_manifest",
    "plan_send",
    "provider_of",
    "read_send_manifest",
    "send_manifest",
    "send_message",
    "send_rows",
]

DEFAULT_JOURNAL = "voxpipe-journal.db"
"""The journal a send writes when none is named (in the working folder)."""

Event = ChunkDone | LeaseWait
"""Progress a caller may draw: a finished request, or a wait for another run's lease."""


@dataclass(frozen=True)
class SendPlan:
    """A send with every cheap check passed: what it will say, how, and to whom."""

    provider: Provider
    message: Message
    mode: Mode
    recipients: list[Recipient]
    rejected: list[Rejected]
    campaign: str
    payload: PayloadPlan


def provider_of(provider: Provider | str) -> Provider:
    """``provider``, or a new instance of the provider of that name (credentials from the environment)."""
    return provider if isinstance(provider, Provider) else provider_class(provider)()


def _message(message: Message | str, settings: SendSettings) -> Message:
    if isinstance(message, Message):
        return message
    return Message(text=message, language=settings.prepare.language)


def plan_send(
    provider: Provider | str,
    message: Message | str,
    recipients: Iterable[str | Recipient],
    *,
    store: Store | None = None,
    settings: SendSettings | None = None,
    dry_run: bool = False,
    campaign: str | None = None,
) -> SendPlan:
    """Run every check that needs no synthesis, upload or request; raise the first problem."""
    settings = settings or SendSettings()
    provider = provider_of(provider)
    message = _message(message, settings)
    if not dry_run:
        provider.require_credentials()
    mode = resolve_mode(provider, message, settings.mode)
    raws = [r.address if isinstance(r, Recipient) else r for r in recipients]
    if not raws:
        raise RecipientError("no recipients: give `recipients`")
    valid, rejected = normalize_recipients(
        raws,
        settings.default_region,
        chats=provider.recipient_form == "whatsapp",
        allow_vanity=settings.allow_vanity,
    )
    if not valid:  # nobody to send to: say why the first one is unusable
        more = f" (and {len(rejected) - 1} more)" if len(rejected) > 1 else ""
        raise RecipientError(f"no valid recipient: {rejected[0].reason}{more}")
    payload = plan_payload(provider, message, mode, settings.prepare, store)
    return SendPlan(
        provider, message, mode, valid, rejected, campaign or campaign_id(provider, mode, message, valid), payload
    )


def iter_send(
    provider: Provider | str,
    message: Message | str,
    recipients: Iterable[str | Recipient],
    *,
    store: Store | str | None = None,
    journal: Journal | str | Path | None = None,
    settings: SendSettings | None = None,
    dry_run: bool = False,
    campaign: str | None = None,
    client: httpx.Client | None = None,
) -> Iterator[Event | SendReport]:
    """:func:`send_message`, yielding progress events before the report."""
    settings = settings or SendSettings()
    with contextlib.ExitStack() as stack:
        hosting = stack.enter_context(open_store(store)) if isinstance(store, str) else store
        planned = plan_send(
            provider, message, recipients, store=hosting, settings=settings, dry_run=dry_run, campaign=campaign
        )
        if dry_run:
            yield _dry_report(planned)
            return
        book = _open_early(journal, stack)  # a database that cannot be used fails before any audio is made
        payload = realise(planned.payload, planned.provider, hosting)  # a new journal file is made only after this
        book = book or _open(journal, stack)
        http = client or stack.enter_context(http_client(settings))
        yield from send(
            planned.provider, planned.message, payload, planned.recipients, planned.rejected, book, http, settings,
            planned.campaign,
        )  # fmt: skip


def _open_early(journal: Journal | str | Path | None, stack: contextlib.ExitStack) -> Journal | None:
    """The journal, opened now unless opening it would create a new SQLite file (left for when there is
    something to write): a database that is unreachable, refuses the credentials or has another schema
    revision stops the send before any audio is prepared or uploaded."""
    if isinstance(journal, Journal):
        return journal
    if is_new_file(journal or DEFAULT_JOURNAL):
        return None
    return _open(journal, stack)


def _open(journal: Journal | str | Path | None, stack: contextlib.ExitStack) -> Journal:
    if isinstance(journal, Journal):
        return journal
    return stack.enter_context(Journal(journal or DEFAULT_JOURNAL))


def _dry_report(planned: SendPlan) -> SendReport:
    payload = planned.payload.payload
    requests = dry_run(planned.provider, payload, planned.recipients, planned.campaign)
    return SendReport(
        planned.campaign,
        planned.provider.name,
        planned.mode.value,
        [],
        media_url=payload.media_url,
        requests=requests,
        rejected=planned.rejected,
    )


def send_message(
    provider: Provider | str,
    message: Message | str,
    recipients: Iterable[str | Recipient],
    *,
    store: Store | str | None = None,
    journal: Journal | str | Path | None = None,
    settings: SendSettings | None = None,
    dry_run: bool = False,
    campaign: str | None = None,
) -> SendReport:
    """Send ``message`` to ``recipients`` through ``provider`` and return where the campaign stands.

    ``provider`` is a configured :class:`~voxpipe.sender.providers.Provider`
    or a provider's name (credentials then come from the environment);
    ``message`` a :class:`~voxpipe.sender.message.Message` or text/markup;
    ``store`` a :class:`~voxpipe.pipeline.store.Store` or a location
    (directory or ``s3://bucket/prefix``), needed when audio is sent by URL;
    ``journal`` a :class:`~voxpipe.sender.journal.Journal`, its path, or a
    ``postgresql://`` URL (default :data:`DEFAULT_JOURNAL`). Running it again resumes: accepted
    recipients are never sent twice. Raises a
    :class:`~voxpipe.pipeline.errors.VoxpipeError` for anything that stops the
    send before it starts; per-recipient outcomes are in the report.
    """
    report = None
    for event in iter_send(
        provider,
        message,
        recipients,
        store=store,
        journal=journal,
        settings=settings,
        dry_run=dry_run,
        campaign=campaign,
    ):
        if isinstance(event, SendReport):
            report = event
    assert report is not None
    return report


# --------------------------------------------------------------------------- manifests


@dataclass(frozen=True)
class ManifestRow:
    """One row of a send manifest: a message and its recipients, or why the row cannot be sent."""

    id: str
    message: Message | None
    recipients: list[str]
    campaign: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class RowDone:
    """A manifest row finished: its report, or the one line saying why it failed."""

    id: str
    report: SendReport | None = None
    error: str | None = None
    masked: Callable[[Any], Any] = field(default=lambda data: data, repr=False, compare=False)
    """Hides a sensitive message's values in what the report shows (a dry run's request bodies)."""

    @property
    def ok(self) -> bool:
        return self.report is not None and self.report.ok

    def to_dict(self) -> dict[str, Any]:
        if self.report is None:
            return {"id": self.id, "error": self.error}
        return {"id": self.id, **self.masked(self.report.to_dict())}


_TEXT_FIELDS = ("text", "ssml", "ssml_file", "audio", "media_url", "language")


def read_send_manifest(path: Path, language: str | None = None, campaign: str | None = None) -> list[ManifestRow]:
    """The rows of a send manifest (CSV/JSONL: id, text|ssml|ssml_file|audio|media_url, to).

    A row that cannot be sent comes back with its ``error``; a file that cannot
    be read at all raises :class:`~voxpipe.pipeline.errors.ManifestError`.
    ``campaign`` prefixes each row's campaign id (``<campaign>-<row id>``).
    """
    rows: list[ManifestRow] = []
    for record in read_records(path, "send"):
        if isinstance(record, ItemResult):
            rows.append(ManifestRow(record.id, None, [], error=record.error))
            continue
        where, fields = record
        row_id = str(fields.get("id") or where)
        rows.append(_row(row_id, where, fields, path.parent, language, f"{campaign}-{row_id}" if campaign else None))
    return rows


def _row(
    row_id: str, where: str, fields: dict[str, Any], folder: Path, language: str | None, campaign: str | None
) -> ManifestRow:
    def bad(reason: str, recipients: list[str] | None = None) -> ManifestRow:
        return ManifestRow(row_id, None, recipients or [], error=reason)

    wrong = [k for k in _TEXT_FIELDS if fields.get(k) and not isinstance(fields[k], str)]
    if wrong:
        return bad(f"{where}: {', '.join(wrong)} must be a string")
    problems = {k: url_problem(fields[k]) for k in ("audio", "media_url") if fields.get(k) and "://" in fields[k]}
    broken = [f"{k} {fields[k]}: {problem}" for k, problem in problems.items() if problem]
    if broken:
        return bad(f"{where}: {broken[0]}")
    to = fields.get("to") or ""
    if not isinstance(to, (str, list)) or (isinstance(to, list) and not all(isinstance(t, str) for t in to)):
        return bad(f"{where}: to must be a string or a list of strings")
    raws = list(to) if isinstance(to, list) else split_recipients(to)
    try:
        message = Message(
            text=row_text(fields, folder) or None,
            audio=fields.get("audio") or None,
            media_url=fields.get("media_url") or None,
            language=fields.get("language") or language,
        )
    except (ConfigError, ManifestError, MarkupError) as exc:
        return bad(f"{where}: {exc}" if isinstance(exc, ManifestError) else str(exc), raws)
    return ManifestRow(row_id, message, raws, campaign)


def iter_send_manifest(
    provider: Provider | str,
    manifest: Path | str,
    *,
    store: Store | str | None = None,
    journal: Journal | str | Path | None = None,
    settings: SendSettings | None = None,
    dry_run: bool = False,
    campaign: str | None = None,
) -> Iterator[Event | RowDone]:
    """:func:`send_manifest`, yielding each row's progress events and then its :class:`RowDone`."""
    settings = settings or SendSettings()
    provider = provider_of(provider)
    if not dry_run:
        provider.require_credentials()
    rows = read_send_manifest(Path(manifest), settings.prepare.language, campaign)
    if not rows:
        raise ManifestError(f"{manifest}: no rows to send")
    yield from send_rows(provider, rows, store=store, journal=journal, settings=settings, dry_run=dry_run)


def send_rows(
    provider: Provider,
    rows: Iterable[ManifestRow],
    *,
    store: Store | str | None = None,
    journal: Journal | str | Path | None = None,
    settings: SendSettings | None = None,
    dry_run: bool = False,
) -> Iterator[Event | RowDone]:
    """Send each row's message to its recipients, one campaign per row; a bad row fails alone.

    Rows are taken one at a time (a generator of rows is never read ahead).
    """
    settings = settings or SendSettings()
    with contextlib.ExitStack() as stack:
        hosting = stack.enter_context(open_store(store)) if isinstance(store, str) else store
        # One journal and one connection pool for every row; a new journal file is made once a row is ready.
        shared: dict[str, Any] = {}
        early = _open_early(journal, stack)
        if early is not None:
            shared["journal"] = early
        for row in rows:
            if row.message is None:
                yield RowDone(row.id, error=row.error or "bad row")
                continue
            masked = row.message.masked
            try:
                planned = plan_send(
                    provider, row.message, row.recipients, store=hosting, settings=settings, dry_run=dry_run,
                    campaign=row.campaign,
                )  # fmt: skip
                if dry_run:
                    yield RowDone(row.id, report=_dry_report(planned), masked=masked)
                    continue
                payload = realise(planned.payload, planned.provider, hosting)
                if "journal" not in shared:
                    shared["journal"] = _open(journal, stack)
                if "client" not in shared:
                    shared["client"] = stack.enter_context(http_client(settings))
                report = None
                for event in send(
                    planned.provider, planned.message, payload, planned.recipients, planned.rejected,
                    shared["journal"], shared["client"], settings, planned.campaign,
                ):  # fmt: skip
                    if isinstance(event, SendReport):
                        report = event
                    else:
                        yield event
                yield RowDone(row.id, report=report, masked=masked)
            except VoxpipeError as exc:
                yield RowDone(row.id, error=masked(str(exc)), masked=masked)


def send_manifest(
    provider: Provider | str,
    manifest: Path | str,
    *,
    store: Store | str | None = None,
    journal: Journal | str | Path | None = None,
    settings: SendSettings | None = None,
    dry_run: bool = False,
    campaign: str | None = None,
) -> list[RowDone]:
    """Send one message per row of ``manifest``; a bad row fails alone (see :func:`send_message`)."""
    return [
        event
        for event in iter_send_manifest(
            provider, manifest, store=store, journal=journal, settings=settings, dry_run=dry_run, campaign=campaign
        )
        if isinstance(event, RowDone)
    ]
