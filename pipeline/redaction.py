"""Keeping secrets out of messages and log lines.

Secrets travel in URLs in three places: a password in the user-info part
(``https://user:pass@host/``), a query string (presigned signatures, Wawp's
``instance_id``/``access_token``) and the last segment of a callback path
(``/hooks/<provider>/<secret>``). :func:`redact_url` cleans one URL;
:func:`redact_text` cleans every URL and hook path inside a free text, such
as an error line or a log message from a library.
"""

from __future__ import annotations

import re

__all__ = ["REDACTED", "redact_hook_paths", "redact_text", "redact_url"]

REDACTED = "***"

_HOOK_SECRET = re.compile(r"(/hooks/[^/?#\s\"']*/+)[^/?#&\s\"']+")
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]{1,15}://[^\s\"'<>`]+")
_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)([^/@?#]*)@")


def redact_hook_paths(text: str) -> str:
    """``.../hooks/<provider>/<secret>`` with the secret replaced by ``***``
    (also with an empty or odd provider segment, as in ``/hooks//SECRET``)."""
    return _HOOK_SECRET.sub(rf"\g<1>{REDACTED}", text)


def redact_url(url: str) -> str:
    """The URL without a password, without its query values, without a hook secret.

    ``https://u:p@host/a?sig=x`` becomes ``https://u:***@host/a?…``.
    """
    match = _USERINFO.match(url)
    if match and ":" in match.group(2):
        user = match.group(2).split(":", 1)[0]
        url = f"{match.group(1)}{user}:{REDACTED}@{url[match.end() :]}"
    base, sep, _ = url.partition("?")
    return redact_hook_paths(base) + ("?…" if sep else "")


def redact_text(text: str) -> str:
    """Every URL in ``text`` through :func:`redact_url`, and bare hook paths cleaned."""
    return redact_hook_paths(_URL.sub(lambda m: redact_url(m.group(0)), text))
