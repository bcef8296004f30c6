"""``voxpipe serve``: the media files and the delivery callbacks as one ASGI application.

```python
from voxpipe.serve import ServeSettings, create_app

app = create_app("media/", journal="voxpipe-journal.db", settings=ServeSettings(base_url="https://voice.example.com"))
```

:func:`create_app` builds the Starlette app (:mod:`.app`): media (:mod:`.media`),
callbacks (:mod:`.hooks`), ``/healthz`` (:mod:`.health`), one log line per
request (:mod:`.logs`). Any ASGI server can run it, or it can be mounted in
another application; ``voxpipe serve`` runs it under uvicorn
(:mod:`.run`) with request-head limits and timeouts (:mod:`.protocol`).
"""

from __future__ import annotations

from .app import create_app
from .settings import LogFormat, ServerSettings, ServeSettings

__all__ = ["LogFormat", "ServeSettings", "ServerSettings", "create_app"]
