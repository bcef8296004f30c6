"""Secrets out of every log line, whoever logs it (voxpipe, httpx, httpcore, botocore, urllib3).

httpx logs each request URL at INFO (Wawp's ``instance_id`` and
``access_token`` travel in its query string), botocore logs headers and
signatures at DEBUG, urllib3 logs request lines. A filter on the *handler*
sees every record that reaches it, including those propagated from library
loggers (a filter on a logger would not), so one filter covers them all:

    import logging, voxpipe
    handler = logging.StreamHandler()
    voxpipe.install_log_redaction(handler)
    logging.basicConfig(level=logging.DEBUG, handlers=[handler])

It cleans the formatted message, the exception text and the stack text
with :func:`voxpipe.pipeline.redaction.redact_text` (URL passwords, query strings,
hook secrets), credential-bearing headers and signatures, and any literal
secret it was given (``add_secrets``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

from voxpipe.pipeline.redaction import REDACTED, redact_text

__all__ = ["RedactingFilter", "install_log_redaction"]

# Shorter values would blank out ordinary words; real credentials are far longer.
MIN_SECRET_CHARS = 6

_REQUEST_LINE_QUERY = re.compile(r"(\b(?:GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) /[^\s?\"']*)\?[^\s\"']*")
_QUOTED_HEADER = re.compile(
    r"""(?ix)(['"](?:authorization|proxy-authorization|x-api-key|x-amz-security-token|cookie|set-cookie)['"]\s*:\s*b?)
        (['"])(?:(?!\2).)*\2"""
)
_HEADER_LINE = re.compile(
    r"(?i)(\b(?:authorization|proxy-authorization|x-api-key|x-amz-security-token|cookie|set-cookie)\s*[:=]\s*)[^\r\n'\"\\]+"
)
_AUTH_SCHEME = re.compile(r"(?i)(\b(?:Bearer|Basic|AccessKey|Token)\s+)[A-Za-z0-9._~+/=-]{6,}")
_SIGNATURE = re.compile(r"(?i)(\bsignature\s*[=:]\s*)[0-9a-f]{16,}")


class RedactingFilter(logging.Filter):
    """Rewrites each record's text with secrets replaced by ``***``; never drops a record."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self.add_secrets(secrets)

    def add_secrets(self, values: Iterable[str | None]) -> None:
        """Literal values (credentials) to blank out, also in their URL- and form-encoded spellings."""
        for value in values:
            if value and len(value) >= MIN_SECRET_CHARS:
                self._secrets.update({value, quote(value, safe=""), quote_plus(value)})

    def redact(self, text: str) -> str:
        text = redact_text(text)
        text = _REQUEST_LINE_QUERY.sub(r"\1?…", text)
        text = _QUOTED_HEADER.sub(rf"\1'{REDACTED}'", text)
        text = _HEADER_LINE.sub(rf"\g<1>{REDACTED}", text)
        text = _AUTH_SCHEME.sub(rf"\g<1>{REDACTED}", text)
        text = _SIGNATURE.sub(rf"\g<1>{REDACTED}", text)
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a library's bad format string: keep what we can show safely
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def install_log_redaction(handler: logging.Handler, secrets: Iterable[str] = ()) -> RedactingFilter:
    """Add a :class:`RedactingFilter` to ``handler`` (once) and return it."""
    for existing in handler.filters:
        if isinstance(existing, RedactingFilter):
            existing.add_secrets(secrets)
            return existing
    redactor = RedactingFilter(secrets)
    handler.addFilter(redactor)
    return redactor
