"""Where a batch runs when it runs on Dask: ``tcp://host:port`` (a running scheduler) or ``local:N``.

Parsing needs no Dask, so a bad address is refused before anything is
imported or started.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from ..errors import ClusterError
from ..redaction import redact_url

__all__ = ["DEFAULT_SCHEDULER_PORT", "MAX_LOCAL_WORKERS", "ClusterSpec", "cluster_problem", "parse_cluster"]

DEFAULT_SCHEDULER_PORT = 8786
"""Dask's own default, used for ``tcp://host`` without a port."""
MAX_LOCAL_WORKERS = 256
_FORMS = "give tcp://host:port (a Dask scheduler) or local:N (N worker processes on this machine)"


@dataclass(frozen=True)
class ClusterSpec:
    """A parsed cluster address: ``local_workers`` for ``local:N``, else the scheduler's ``address``."""

    text: str
    address: str | None = None
    local_workers: int | None = None

    @property
    def remote(self) -> bool:
        """True for a scheduler somewhere (its workers do not share this machine's folders)."""
        return self.address is not None

    def __str__(self) -> str:
        return self.text


def _local(text: str) -> ClusterSpec:
    count = text.partition(":")[2].strip()
    if not count.isdigit():
        raise ValueError(f"local:N needs a whole number of workers, not {count!r}")
    workers = int(count)
    if not 1 <= workers <= MAX_LOCAL_WORKERS:
        raise ValueError(f"local:N needs 1 to {MAX_LOCAL_WORKERS} workers, not {workers}")
    return ClusterSpec(f"local:{workers}", local_workers=workers)


def _scheduler(text: str) -> ClusterSpec:
    parts = urlsplit(text)
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"bad port: {exc}") from None
    if parts.scheme.lower() != "tcp" or not parts.hostname:
        raise ValueError(_FORMS)
    if port == 0:
        raise ValueError("port 0 is not a scheduler's port")
    if parts.username or parts.password or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("a scheduler address is tcp://host:port, with nothing before the host or after the port")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return ClusterSpec(text, address=f"tcp://{host}:{port or DEFAULT_SCHEDULER_PORT}")


def _parsed(text: str) -> ClusterSpec:
    if not isinstance(text, str) or not text.strip():
        raise ValueError(_FORMS)
    text = text.strip()
    if text.lower().startswith("local:"):
        return _local(text)
    if "://" in text:
        return _scheduler(text)
    raise ValueError(_FORMS)


def cluster_problem(text: str) -> str | None:
    """What is wrong with ``text`` as a cluster address, or None when it parses."""
    try:
        _parsed(text)
    except ValueError as exc:
        return str(exc)
    return None


def parse_cluster(text: str) -> ClusterSpec:
    """``text`` as a :class:`ClusterSpec`; ClusterError naming it when it is malformed."""
    try:
        return _parsed(text)
    except ValueError as exc:
        raise ClusterError(f"`cluster` {redact_url(str(text))!r}: {exc}") from None
