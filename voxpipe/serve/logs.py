"""Log lines of ``voxpipe serve``: one per request, timestamped, as text or JSON, never with a secret.

Each request is one line on the ``voxpipe.serve.access`` logger::

    2026-03-05T10:00:00.123Z INFO voxpipe.serve.access: 203.0.113.9 "GET /4f2a….mp3" 206 4096 0.9ms

The path is shown without its query string (it may carry presigned
signatures or tokens), decoded once, with any hook secret replaced by
``***`` (``/hooks/<provider>/***``, or ``/hooks/***`` for a path under
``/hooks/`` that names no known provider). ``--log-format json`` writes one
JSON object per line instead (``time``, ``level``, ``logger``, ``pid`` (the
worker), ``message``, and for requests ``client``, ``method``, ``path``, ``status``, ``bytes``,
``duration_ms``). Every record, whoever logs it (uvicorn too), passes the
CLI's redacting filter before it is written.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voxpipe.log_redaction import RedactingFilter
from voxpipe.pipeline.redaction import REDACTED, redact_hook_paths

from ._asgi import REFUSED_KEY, local_raw_path
from .settings import LogFormat

__all__ = ["ACCESS_LOGGER", "AccessLog", "JsonFormatter", "TextFormatter", "log_config", "shown_path"]

ACCESS_LOGGER = "voxpipe.serve.access"
_ACCESS = logging.getLogger(ACCESS_LOGGER)
_FIELDS = ("client", "method", "path", "status", "bytes", "duration_ms")
_MAX_SHOWN = 200


def _utc(created: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created)) + f".{int(created % 1 * 1000):03d}Z"


class TextFormatter(logging.Formatter):
    """``<UTC time> <LEVEL> <logger>: <message>``, one line per record (tracebacks indented below)."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_utc(record.created)} {record.levelname} {record.name}: {record.getMessage()}"
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line += "\n" + record.exc_text
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per record, for log collectors."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": _utc(record.created),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        data.update({key: getattr(record, key) for key in _FIELDS if hasattr(record, key)})
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            data["exception"] = record.exc_text
        return json.dumps(data, ensure_ascii=False, default=str)


def _redactor(secrets: Iterable[str] = ()) -> RedactingFilter:
    return RedactingFilter(secrets)


def log_config(
    log_format: LogFormat = "text", level: int = logging.WARNING, secrets: Iterable[str] = ()
) -> dict[str, Any]:
    """A :func:`logging.config.dictConfig` for the serving process and each worker (uvicorn applies it in both).

    Requests and the server's start and stop are logged at INFO whatever
    ``level`` the rest gets; uvicorn's own access log stays off (ours has no query strings).
    """
    formatter = JsonFormatter if log_format == "json" else TextFormatter
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": f"{__name__}._redactor", "secrets": sorted(set(secrets))}},
        "formatters": {"line": {"()": f"{formatter.__module__}.{formatter.__qualname__}"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "line",
                "filters": ["redact"],
            }
        },
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {
            "voxpipe.serve": {"level": min(level, logging.INFO)},
            "uvicorn.error": {"level": min(level, logging.INFO)},
            "uvicorn.access": {"level": logging.WARNING, "handlers": [], "propagate": False},
        },
    }


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in text[:_MAX_SHOWN])


def shown_path(raw_path: str, hooks: Callable[[str], str] | None = None) -> str:
    """How a request path (as sent) appears in a log line: decoded once, hook secrets as ``***``.

    ``hooks`` shows paths under ``/hooks/`` (the receiver's ``redact_path``);
    without it any such path is ``/hooks/***``.
    """
    if raw_path == "/hooks" or raw_path.startswith("/hooks/"):
        raw_path = hooks(raw_path) if hooks is not None else f"/hooks/{REDACTED}"
    # Also with an encoded slash (/hooks%2F9bits/<secret>), no secret reaches the line.
    return _printable(redact_hook_paths(unquote(raw_path))) or "-"


class AccessLog:
    """ASGI middleware: one line per request, after its answer (or when it failed)."""

    def __init__(self, app: ASGIApp, hooks: Callable[[str], str] | None = None) -> None:
        self.app = app
        self.hooks = hooks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: list[int] = []
        sent = [0]

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            elif message["type"] == "http.response.body":
                sent[0] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        except BaseException:
            status.append(500)
            raise
        finally:
            if not scope.get(REFUSED_KEY):  # answered (and logged) by the server protocol instead
                self._log(scope, status[0] if status else None, sent[0], time.perf_counter() - started)

    def _log(self, scope: Scope, status: int | None, size: int, took_s: float) -> None:
        client = (scope.get("client") or ("-", 0))[0]
        method = _printable(scope.get("method", "-"))
        path = shown_path(local_raw_path(scope), self.hooks)
        duration_ms = round(took_s * 1000, 1)
        shown_status = status if status is not None else "-"
        _ACCESS.info(
            '%s "%s %s" %s %s %.1fms',
            client,
            method,
            path,
            shown_status,
            size,
            duration_ms,
            extra={"client": client, "method": method, "path": path, "status": status, "bytes": size,
                   "duration_ms": duration_ms},
        )  # fmt: skip
