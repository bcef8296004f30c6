"""The connection layer under URL fetches: resolve once, check, pin; and a total deadline.

:class:`PinnedTransport` is an httpx transport that resolves a request's host
itself, once, refuses the request if any address is loopback, private,
link-local or otherwise not global (unless allowed), and sends it to exactly
the first checked address: the URL is rewritten to the IP, the ``Host``
header keeps the name, and for https the ``sni_hostname`` extension makes
httpcore send the name as SNI and verify the certificate against the name.
Nothing resolves the name a second time, so DNS answers that change between
a check and a connect (DNS rebinding) cannot reach an internal address.
Keep-alive is off, so a connection opened for one name is never reused for
another name that happens to share its address.

:class:`Deadline` bounds a whole download: every hop's timeout is capped to
the time left, and when the time is up a timer shuts the open sockets down,
so a server trickling a byte at a time (each read well inside the per-read
timeout) still stops at the deadline.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from .errors import AudioInputError
from .redaction import redact_url

__all__ = ["Deadline", "PinnedTransport", "Resolver", "system_resolver"]

#: ``resolver(host, port)`` -> the host's addresses as strings; raises OSError when there are none.
Resolver = Callable[[str, int], Sequence[str]]


def system_resolver(host: str, port: int) -> list[str]:
    """The host's addresses from the system resolver, in its order, each once."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class PinnedTransport(httpx.BaseTransport):
    """Sends each request to exactly the address that was checked for it.

    ``inner`` is the transport that connects (an ``httpx.HTTPTransport``
    without keep-alive by default); tests pass one with their own trust store.
    """

    def __init__(
        self,
        resolver: Resolver = system_resolver,
        *,
        allow_private: bool = False,
        inner: httpx.BaseTransport | None = None,
    ) -> None:
        self.resolver = resolver
        self.allow_private = allow_private
        self._own = inner is None
        self.inner = inner or httpx.HTTPTransport(limits=httpx.Limits(max_keepalive_connections=0))

    def address(self, url: httpx.URL) -> str:
        """Resolve ``url``'s host once and check every address; the one to connect to."""
        host = url.raw_host.decode("ascii")
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            addresses = [ipaddress.ip_address(host)]
        except ValueError:
            try:
                addresses = [ipaddress.ip_address(a) for a in self.resolver(host, port)]
            except (OSError, UnicodeError, ValueError) as exc:
                raise AudioInputError(f"{redact_url(str(url))}: cannot resolve host {host}") from exc
        if not addresses:
            raise AudioInputError(f"{redact_url(str(url))}: cannot resolve host {host}")
        if not self.allow_private:
            for addr in addresses:
                if not addr.is_global:
                    raise AudioInputError(
                        f"{redact_url(str(url))}: refusing to fetch from the non-public address {addr} "
                        "(allow it with --allow-private-urls)"
                    )
        return str(addresses[0])

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        name = url.raw_host.decode("ascii")
        extensions = dict(request.extensions)
        if url.scheme == "https":
            extensions["sni_hostname"] = name  # SNI and the certificate check use the name, not the IP
        pinned = httpx.Request(
            request.method,
            url.copy_with(host=self.address(url)),
            headers=request.headers,  # carries Host: the name
            stream=request.stream,
            extensions=extensions,
        )
        return self.inner.handle_request(pinned)

    def close(self) -> None:
        if self._own:
            self.inner.close()


class Deadline:
    """A total time limit for a fetch; use as a context manager around it."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._fired = False
        self._timer: threading.Timer | None = None

    def __enter__(self) -> Deadline:
        self._end = time.monotonic() + self.seconds
        self._timer = threading.Timer(self.seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._timer is not None:
            self._timer.cancel()

    @property
    def expired(self) -> bool:
        return self._fired or time.monotonic() >= self._end

    def cap(self, timeout_s: float) -> float:
        """``timeout_s``, or the time left if that is shorter."""
        return max(0.001, min(timeout_s, self._end - time.monotonic()))

    def extensions(self) -> dict[str, Any]:
        """Request extensions that let the deadline see every socket the request opens."""
        return {"trace": self._trace}

    def _trace(self, event: str, info: dict[str, Any]) -> None:
        if event not in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            return
        sock = info["return_value"].get_extra_info("socket")
        with self._lock:
            self._sockets.append(sock)
            fired = self._fired
        if fired:
            _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self._fired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)


def _shut(sock: socket.socket) -> None:
    # shutdown (not close) wakes a read blocked in another thread; the owner closes it.
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
