"""Whether a URL can be used at all: its port and IPv6 literal parse.

urllib raises on ``.port`` for ``http://h:99999`` and on ``http://[::1``;
httpx raises on ``http://[zz]/``. Checked where a URL enters (options,
manifest rows), each becomes one line naming the URL instead of a traceback
deep in a fetch.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

__all__ = ["url_problem"]


def url_problem(value: str) -> str | None:
    """Why ``value`` cannot be used as a URL (bad port, broken IPv6 literal, no host), or None.

    The scheme is left to the library that takes the URL, which names what it accepts.
    """
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        return "a URL has no spaces or control characters (write a space as %20)"
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:  # "Invalid IPv6 URL", "Port out of range 0-65535", a non-numeric port
        return str(exc)
    if port == 0:
        return "port 0 cannot be connected to"
    if parts.scheme.lower() not in ("http", "https"):
        return None
    if not parts.hostname:
        return "no host name"
    if parts.netloc.rpartition("@")[2].startswith("["):
        try:
            ipaddress.IPv6Address(parts.hostname.split("%", 1)[0])
        except ValueError:
            return f"[{parts.hostname}] is not an IPv6 address"
    import httpx

    try:
        httpx.URL(value)
    except (httpx.InvalidURL, ValueError) as exc:
        return str(exc)
    return None
