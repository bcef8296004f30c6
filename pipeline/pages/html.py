"""Self-contained HTML pages: one file, inline CSS and script, data as inert JSON.

Every value shown comes from a report or a journal and is treated as text:
the data travels in a ``<script type="application/json">`` block (with ``<``,
``>`` and ``&`` escaped, so no value can close the block) and the page's own
script puts it on screen with ``textContent`` and DOM calls only, never as
markup. A Content-Security-Policy allows exactly the page's own script (by
its hash), inline styles, and media; nothing is fetched but the audio itself.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

from ..artifact import atomic_path
from ..errors import VoxpipeError

__all__ = ["asset", "json_for_html", "render_page", "write_page"]

_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def asset(name: str, package: str = "voxpipe.pipeline.pages") -> str:
    """A CSS or script file shipped in ``package`` (this one by default)."""
    return resources.files(package).joinpath(name).read_text(encoding="utf-8")


def json_for_html(data: Any) -> str:
    """``data`` as JSON that is safe inside a ``<script>`` element (strict JSON: no NaN)."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for char, escaped in _JSON_ESCAPES.items():
        text = text.replace(char, escaped)
    return text


def render_page(title: str, data: Any, *, script: str, style: str, media: bool = False) -> str:
    """A complete HTML document: ``script`` renders ``data`` (read from ``#page-data``) into ``<main>``.

    ``media`` lets ``<audio>`` load from the page's own origin and from http(s) URLs.
    """
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    policy = "; ".join(
        [
            "default-src 'none'",
            f"script-src 'sha256-{digest}'",
            "style-src 'unsafe-inline'",
            "img-src data:",
            "media-src 'self' http: https: file:" if media else "media-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{html.escape(policy)}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<link rel="icon" href="data:,">\n'
        f"<title>{html.escape(title)}</title>\n"
        f"<style>\n{style}</style>\n</head>\n<body>\n"
        '<main id="app"><p class="loading">Loading…</p></main>\n'
        f'<script type="application/json" id="page-data">{json_for_html(data)}</script>\n'
        f"<script>{script}</script>\n"
        "</body>\n</html>\n"
    )


def write_page(path: Path, text: str) -> None:
    """Write the page whole or not at all (temporary file, then rename); one error line if it cannot be."""
    try:
        with atomic_path(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
            umask = os.umask(0)
            os.umask(umask)
            tmp.chmod(0o666 & ~umask)  # as an ordinary new file, not mkstemp's 0600
    except OSError as exc:
        raise VoxpipeError(f"{path}: cannot write the page: {exc.strerror or exc}") from exc
