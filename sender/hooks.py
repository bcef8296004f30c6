"""The callback receiver: provider callbacks update the send journal.

Each provider calls ``/hooks/<provider>/<secret>``, where the secret is the
journal's (``Journal.hook_secret()``, shown by ``voxpipe hooks``). The
receiver is independent of any web framework: ``voxpipe serve``
(:mod:`voxpipe.serve`) reads the HTTP request and asks it, in a worker
thread::

    receiver = HookReceiver(Journal("voxpipe-journal.db"))
    name = receiver.match(raw_path)             # None: answer 404
    answer = receiver.receive(name, callback)   # a HookAnswer (status and text)

Answers:

- 404 for a wrong or missing secret, an unknown provider or any other path
  (one answer for all, so nothing leaks; :meth:`HookReceiver.match`); 405
  for methods other than GET and POST once the secret is right.
- 413 for a body over ``max_body_bytes`` (64 KiB; the server enforces it).
- 400 for a payload the provider's ``parse_callback`` cannot read (logged,
  and recorded as an event); 401 for a signature that is missing, wrong,
  expired or replayed where the provider signs its callbacks and a key is
  configured (logged, nothing recorded).
- 200 once every update is committed to the journal, also for a recipient
  the journal does not know (logged and recorded as an unmatched event): the
  provider should stop redelivering it. MessageBird redelivers until it gets
  exactly 200.
- A journal that cannot be written raises :class:`~voxpipe.sender.errors.JournalError`
  out of :meth:`HookReceiver.receive` (the server retries, then answers 503
  so the provider redelivers).

Updates are applied with :func:`voxpipe.sender.delivery.apply_update`, so
duplicates change nothing and a late callback never moves a recipient back.
The journal is the only state: a restarted receiver carries on where the
last one was. Given a path instead of a journal, the receiver opens it on
the first callback once the file exists (until then no secret exists, so
every callback is 404): serving media alone creates no journal. A
PostgreSQL URL is opened on the first callback as it is. The secret
never reaches a log: :meth:`HookReceiver.redact_path` shows
``/hooks/<provider>/***`` for a known provider and ``/hooks/***`` for any
other path under the prefix (``/hooks/<secret>``, ``/hooks//<secret>``, an
unknown provider segment that may be the secret itself); every line the
receiver logs goes through :func:`voxpipe.pipeline.redaction.redact_text`.
"""

from __future__ import annotations

import hmac
import logging
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from voxpipe.pipeline.redaction import REDACTED, redact_hook_paths, redact_text

from .delivery import apply_update
from .errors import JournalError, SignatureError
from .journal import Journal
from .journal_db import is_database
from .providers import Callback, Provider, registry

__all__ = ["MAX_BODY_BYTES", "METHODS", "NOT_FOUND", "OK", "PREFIX", "HookAnswer", "HookReceiver", "hook_url"]

_LOG = logging.getLogger(__name__)
PREFIX = "/hooks/"
METHODS = ("GET", "POST")
MAX_BODY_BYTES = 64 * 1024
"""Callbacks are small; the server answers 413 above this."""
_PATH = re.compile(r"/hooks/([^/]+)/([^/]+)/?")


@dataclass(frozen=True)
class HookAnswer:
    """What the server answers a callback: a status and one line of plain text."""

    status: int
    text: str
    headers: Mapping[str, str] = field(default_factory=dict)


NOT_FOUND = HookAnswer(404, "not found\n")
OK = HookAnswer(200, "OK\n")


def hook_url(public_url: str, provider: str, secret: str) -> str:
    """The callback URL of ``provider`` behind ``public_url`` (the server's public address)."""
    return f"{public_url.rstrip('/')}{PREFIX}{provider}/{secret}"


class HookReceiver:
    """Every provider's callbacks into one journal."""

    max_body_bytes = MAX_BODY_BYTES

    def __init__(self, journal: Journal | Path | str, providers: Mapping[str, Provider] | None = None) -> None:
        # Configured instances parse the callbacks: a provider that signs them checks with its own key.
        self.providers = dict(providers) if providers is not None else {name: cls() for name, cls in registry().items()}
        self._journal: Journal | None = None
        self._owned = False
        self._secret = b""
        self._opening = threading.Lock()
        if isinstance(journal, Journal):
            self._path = journal.path
            self._use(journal)
        else:
            self._path = Path(journal)

    def _use(self, journal: Journal) -> None:
        self._secret = journal.hook_secret().encode()
        self._journal = journal

    @property
    def journal(self) -> Journal | None:
        """The journal, once there is one (opened on first use when given a path)."""
        # A database server's journal exists before any send; a file is waited for.
        if self._journal is None and (is_database(self._path) or self._path.is_file()):
            with self._opening:
                if self._journal is None:
                    self._use(Journal(self._path))
                    self._owned = True
        return self._journal

    @property
    def path(self) -> Path:
        return self._path

    @property
    def opened(self) -> bool:
        """Whether the journal is open (then :meth:`match` does no I/O)."""
        return self._journal is not None

    def close(self) -> None:
        """Close the journal if the receiver opened it (when the server stops)."""
        if self._journal is not None and self._owned:
            self._journal.close()
            self._journal = None

    def redact_path(self, path: str) -> str:
        """How a path under /hooks/ appears in a log: never with anything that may be the secret."""
        match = _PATH.fullmatch(unquote(path))
        if match and match.group(1) in self.providers:
            return redact_hook_paths(f"{PREFIX}{match.group(1)}/{match.group(2)}")
        return f"{PREFIX}{REDACTED}"

    def match(self, raw_path: str) -> str | None:
        """The provider a request path (as sent, percent-encoded) is for, when its secret is right; else None.

        Every wrong path gets the same None after the same constant-time comparison.
        """
        journal = self.journal
        found = _PATH.fullmatch(raw_path)
        name, secret = (unquote(found.group(1)), unquote(found.group(2))) if found else ("", "")
        secret_ok = hmac.compare_digest(secret.encode(), self._secret)
        if journal is None or not secret or not secret_ok or name not in self.providers:
            return None
        return name

    def receive(self, name: str, callback: Callback) -> HookAnswer:
        """Parse a callback for provider ``name`` (already matched) and commit what it says to the journal.

        Raises :class:`~voxpipe.sender.errors.JournalError` when the journal cannot
        be written; nothing of the callback is then taken as done (it can be
        delivered again).
        """
        journal = self.journal
        provider = self.providers.get(name)
        if journal is None or provider is None:
            return NOT_FOUND
        if callback.method not in METHODS:
            return HookAnswer(405, "method not allowed\n", {"Allow": ", ".join(METHODS)})
        source = f"hook:{name}"
        client = callback.client or "?"
        try:
            updates = provider.parse_callback(callback)
        except SignatureError as exc:
            reason = redact_text(str(exc))
            _LOG.warning("%s: refused callback from %s: %s", source, client, reason)
            return HookAnswer(401, f"{reason}\n")
        except (
            ValueError,
            TypeError,
            OverflowError,
            RecursionError,
        ) as exc:  # whatever a malformed body makes the parser raise
            reason = redact_text(str(exc) or type(exc).__name__)
            _LOG.warning("%s: unreadable callback from %s: %s", source, client, reason)
            self._commit(journal, lambda: journal.add_event(None, None, source, {"malformed": reason}))
            return HookAnswer(400, f"{reason}\n")
        try:
            self._commit(journal, lambda: [apply_update(journal, update, source=source) for update in updates])
        except JournalError:
            provider.release_callback(callback)
            raise
        return OK

    @staticmethod
    def _commit(journal: Journal, work: Callable[[], object]) -> None:
        """Run journal writes; whatever stops them is a JournalError (the callback is to be delivered again)."""
        try:
            work()
        except JournalError:
            raise
        except Exception as exc:  # the storage's own error, e.g. a read-only file
            raise JournalError(f"journal {journal.path}: cannot take the callback: {exc}") from exc
