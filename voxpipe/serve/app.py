"""The ASGI application: media, delivery callbacks and health, on Starlette.

```python
from voxpipe.serve import create_app

app = create_app("media/", journal="voxpipe-journal.db")   # any ASGI server runs it; `voxpipe serve` uses uvicorn
```

Routes: ``GET /healthz`` (:mod:`.health`), everything under ``/hooks/``
(:mod:`.hooks`), and every other path is a media request (:mod:`.media`).
Routes decide on the path exactly as sent, so the app can also be mounted
below a prefix of another Starlette (or any ASGI) application.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from voxpipe.pipeline.errors import StoreError
from voxpipe.sender.hooks import HookReceiver
from voxpipe.sender.journal import Journal
from voxpipe.sender.providers import Provider

from .health import Health
from .hooks import HookRoutes
from .logs import AccessLog
from .media import MediaFiles
from .settings import ServeSettings

__all__ = ["create_app"]


def create_app(
    media_dir: Path | str,
    journal: Journal | Path | str | None = None,
    providers: Mapping[str, Provider] | None = None,
    settings: ServeSettings = ServeSettings(),
) -> Starlette:
    """The app serving ``media_dir`` and receiving callbacks into ``journal``.

    ``journal`` is a :class:`Journal` (used, never closed here) or a path
    (opened once the file exists, closed when the app shuts down); None
    receives no callbacks (every ``/hooks/`` path is 404). ``providers`` are
    the configured instances that parse the callbacks (their signing keys);
    by default one unconfigured instance of each registered provider.
    """
    root = Path(media_dir)
    if not root.is_dir():
        raise StoreError(f"{root}: media directory does not exist")
    receiver = HookReceiver(journal, providers) if journal is not None else None

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if receiver is not None:
                receiver.close()

    hooks = HookRoutes(receiver, settings)
    routes = [  # ASGI endpoints get every method and answer 405 themselves (with their own Allow)
        Route("/healthz", Health(root, receiver)),
        Route("/hooks", hooks),
        Route("/hooks/{rest:path}", hooks),
        Route("/{name:path}", MediaFiles(root, settings.file_chunk_bytes)),
    ]
    hooks_shown = receiver.redact_path if receiver is not None else None
    return Starlette(routes=routes, middleware=[Middleware(AccessLog, hooks=hooks_shown)], lifespan=lifespan)
