"""Running the app under uvicorn: one process, or several sharing one socket.

The socket is bound first (a port in use is one clear error, before anything
else is created), then uvicorn serves it with :class:`LimitedHttpToolsProtocol`
(request-head limits and timeout), uvloop where it exists, our log
configuration (applied again in every worker) and our ``Server`` header. The
app is built by ``app_factory`` inside each serving process, so every worker
opens its own journal connection.

SIGTERM or SIGINT: uvicorn stops accepting, closes idle connections, lets the
requests in flight finish for up to ``shutdown_timeout_s``, runs the app's
shutdown (the journal is closed) and :func:`serve` returns; the process then
exits 0. With several workers the parent passes the signal on to each and
waits for them.
"""

from __future__ import annotations

import functools
import signal
import socket
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import uvicorn
from starlette.types import ASGIApp
from uvicorn.config import create_ssl_context
from uvicorn.supervisors import Multiprocess

from voxpipe.pipeline.errors import StoreError

from .protocol import HeadLimits, LimitedHttpToolsProtocol
from .settings import ServerSettings

__all__ = ["bind", "check_tls", "serve", "uvicorn_config"]

_SERVER_HEADER = ("server", "voxpipe")


def bind(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (0 picks a free port); StoreError when it cannot be had."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except (OSError, UnicodeError, TypeError, ValueError, OverflowError) as exc:  # busy port, bad address or name
        sock.close()
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise StoreError(f"cannot listen on {host}:{port}: {reason}") from exc
    sock.set_inheritable(True)  # workers get it
    return sock


def check_tls(certfile: str | None, keyfile: str | None) -> None:
    """StoreError unless the certificate and key load (checked before serving, not in each worker)."""
    if not certfile and not keyfile:
        return
    if not certfile:
        raise StoreError("`ssl_keyfile` needs `ssl_certfile` too")
    try:
        create_ssl_context(certfile, keyfile, None, ssl.PROTOCOL_TLS_SERVER, ssl.CERT_NONE, None, None)
    except (OSError, ssl.SSLError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise StoreError(f"cannot use the TLS certificate {certfile}: {reason}") from exc


def uvicorn_config(
    app_factory: Callable[[], ASGIApp], server: ServerSettings, log_config: dict[str, Any] | None
) -> uvicorn.Config:
    """uvicorn's configuration for ``server``; ``app_factory`` must pickle when there are several workers."""
    limits = HeadLimits(server.header_timeout_s, server.max_url_bytes, server.max_header_bytes, server.max_headers)
    return uvicorn.Config(
        app_factory,
        factory=True,
        host=server.host,
        port=server.port,
        http=functools.partial(LimitedHttpToolsProtocol, limits=limits),  # type: ignore[arg-type]
        ws="none",
        lifespan="on",
        workers=server.workers,
        backlog=server.backlog,
        timeout_keep_alive=server.keep_alive_s,  # type: ignore[arg-type]
        timeout_graceful_shutdown=server.shutdown_timeout_s,  # type: ignore[arg-type]
        proxy_headers=server.proxy_headers,
        forwarded_allow_ips=server.forwarded_allow_ips,
        ssl_keyfile=server.ssl_keyfile,
        ssl_certfile=server.ssl_certfile,
        log_config=log_config,
        access_log=False,
        server_header=False,
        headers=[_SERVER_HEADER],
    )


def _exit_quietly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


@contextmanager
def _clean_exit_on_signals() -> Iterator[None]:
    """SIGTERM/SIGINT end the process with status 0, also the one uvicorn raises again once it has shut down."""
    handled = (signal.SIGTERM, signal.SIGINT)
    previous = {sig: signal.signal(sig, _exit_quietly) for sig in handled}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def serve(config: uvicorn.Config, sock: socket.socket) -> None:
    """Serve on ``sock`` until SIGTERM/SIGINT, in this process or in ``config.workers`` of them."""
    with _clean_exit_on_signals():
        if config.workers > 1:
            Multiprocess(config, sockets=[sock]).run()
        else:
            uvicorn.Server(config).run(sockets=[sock])
