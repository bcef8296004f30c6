"""The callback receiver: provider callbacks update the send journal.

Mounted on the media server (``voxpipe serve``) under ``/hooks/``; each
provider calls ``/hooks/<provider>/<secret>``, where the secret is the
journal's (``Journal.hook_secret()``, shown by ``voxpipe hooks``)::

    receiver = HookReceiver(Journal("voxpipe-journal.db"))
    MediaServer(root, routes=[receiver.route]).serve_forever()

Answers:

- 404 for a wrong or missing secret, an unknown provider or any other path
  (one answer for all, so nothing leaks); 405 for methods other than GET and
  POST once the secret is right.
- 413 for a body over ``max_body_bytes`` (64 KiB; the server enforces it).
- 400 for a payload the provider's ``parse_callback`` cannot read (logged,
  and recorded as an event).
- 200 otherwise, also for a recipient the journal does not know (logged and
  recorded as an unmatched event): the provider should stop redelivering it.
  MessageBird redelivers until it gets exactly 200.

Updates are applied with :func:`voxpipe.sender.status.apply_update`, so duplicates
change nothing and a late callback never moves a recipient back. The journal
is the only state: a restarted receiver carries on where the last one was.
Given a path instead of a journal, the receiver opens it on the first
callback once the file exists (until then no secret exists, so every
callback is 404): serving media alone creates no journal.
The secret never reaches a log: the server logs ``/hooks/<provider>/***``
for a known provider and ``/hooks/***`` for any other path under the prefix
(``/hooks/<secret>``, ``/hooks//<secret>``, an unknown provider segment that
may be the secret itself); every line the receiver logs goes through
:func:`voxpipe.pipeline.redaction.redact_text`.
"""

from __future__ import annotations

import hmac
import logging
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote

from voxpipe.pipeline.redaction import REDACTED, redact_hook_paths, redact_text
from voxpipe.pipeline.store import Request, Response

from .delivery import apply_update
from .journal import Journal
from .providers import Callback, Provider, registry

__all__ = ["PREFIX", "HookReceiver", "hook_url"]

_LOG = logging.getLogger(__name__)
PREFIX = "/hooks/"
_PATH = re.compile(r"/hooks/([^/]+)/([^/]+)/?")
_NOT_FOUND = Response.text("not found\n", 404)


def hook_url(public_url: str, provider: str, secret: str) -> str:
    """The callback URL of ``provider`` behind ``public_url`` (the server's public address)."""
    return f"{public_url.rstrip('/')}{PREFIX}{provider}/{secret}"


class HookReceiver:
    """A :class:`~pipeline.store.MediaServer` handler for every provider's callbacks."""

    max_body_bytes = 64 * 1024
    """Callbacks are small; the server answers 413 above this."""

    def __init__(self, journal: Journal | Path, providers: Mapping[str, Provider] | None = None) -> None:
        # Configured instances parse the callbacks: a provider that signs them checks with its own key.
        self.providers = dict(providers) if providers is not None else {name: cls() for name, cls in registry().items()}
        self._journal: Journal | None = None
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
        if self._journal is None and self._path.is_file():
            with self._opening:
                if self._journal is None:
                    self._use(Journal(self._path))
        return self._journal

    @property
    def path(self) -> Path:
        return self._path

    def close(self) -> None:
        """Close the journal (when the server stops)."""
        if self._journal is not None:
            self._journal.close()
            self._journal = None

    @property
    def route(self) -> tuple[str, HookReceiver]:
        return PREFIX, self

    def redact_path(self, path: str) -> str:
        """How a path under /hooks/ appears in the server's log: never with anything that may be the secret."""
        match = _PATH.fullmatch(unquote(path))
        if match and match.group(1) in self.providers:
            return redact_hook_paths(f"{PREFIX}{match.group(1)}/{match.group(2)}")
        return f"{PREFIX}{REDACTED}"

    def __call__(self, request: Request) -> Response:
        journal = self.journal
        match = _PATH.fullmatch(request.path)
        name, secret = (unquote(match.group(1)), unquote(match.group(2))) if match else ("", "")
        secret_ok = hmac.compare_digest(secret.encode(), self._secret)
        provider = self.providers.get(name)
        if journal is None or provider is None or not secret_ok or not secret:
            return _NOT_FOUND
        if request.method not in ("GET", "POST"):
            return Response(
                405, {"Allow": "GET, POST", "Content-Type": "text/plain; charset=utf-8"}, b"method not allowed\n"
            )
        source = f"hook:{name}"
        callback = Callback(
            request.method,
            request.path,
            request.query,
            request.headers,
            request.body,
            request.query_string,
            request.client,
        )
        try:
            updates = provider.parse_callback(callback)
        except (
            ValueError,
            TypeError,
            OverflowError,
            RecursionError,
        ) as exc:  # whatever a malformed body makes the parser raise
            reason = redact_text(str(exc) or type(exc).__name__)
            _LOG.warning("%s: unreadable callback from %s: %s", source, request.client or "?", reason)
            journal.add_event(None, None, source, {"malformed": reason})
            return Response.text(f"{reason}\n", 400)
        for update in updates:
            apply_update(journal, update, source=source)
        return Response.text("OK\n")
