"""Hosting: put prepared artifacts where providers can fetch them by URL.

```python
from voxpipe.pipeline.store import StoreSettings, open_store, put_many

store = open_store("s3://media/voice", StoreSettings(url_mode="presigned", expires_s=3600))
for artifact, result in put_many(store, artifacts):
    print(artifact.name, result.media_url if isinstance(result, Hosted) else result)
```

A local directory is a store too, served by ``voxpipe serve`` (:mod:`voxpipe.serve`). The S3
names (``S3Store``, ``init_bucket``, ...) are imported on first use, so code
that only serves a directory does not load boto3.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import StoreError
from .base import (
    CACHE_CONTROL,
    DEFAULT_BASE_URL,
    DEFAULT_HOST,
    DEFAULT_PORT,
    MAX_PRESIGN_S,
    MEDIA_TYPES,
    Hosted,
    Store,
    StoreSettings,
    UrlMode,
    put_many,
)
from .local import LocalStore
from .publish import publish
from .verify import media_url_problem

if TYPE_CHECKING:
    from .s3 import BucketSetup, S3Store, init_bucket, parse_s3_spec

__all__ = [
    "CACHE_CONTROL",
    "DEFAULT_BASE_URL",
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "MAX_PRESIGN_S",
    "MEDIA_TYPES",
    "BucketSetup",
    "Hosted",
    "LocalStore",
    "S3Store",
    "Store",
    "StoreSettings",
    "UrlMode",
    "init_bucket",
    "media_url_problem",
    "open_store",
    "parse_s3_spec",
    "publish",
    "put_many",
]

_S3_NAMES = frozenset({"BucketSetup", "S3Store", "init_bucket", "parse_s3_spec"})


def open_store(spec: str, settings: StoreSettings | None = None) -> Store:
    """A store for ``spec``: ``s3://bucket[/prefix]`` or a local directory path."""
    settings = settings or StoreSettings()
    spec = spec.strip()
    if not spec:
        raise StoreError("store: empty store location; give a directory or s3://bucket/prefix")
    if spec.lower().startswith("s3://"):
        from .s3 import S3Store  # boto3 loads only for an S3 store

        return S3Store.from_spec(spec, settings)
    if "://" in spec:
        scheme = spec.split("://", 1)[0]
        raise StoreError(f"store {scheme}://...: unsupported scheme; give a directory or s3://bucket/prefix")
    if settings.url_mode != "public":
        raise StoreError(f"{spec}: presigned URLs need an s3:// store; a local directory is served as is")
    return LocalStore(Path(spec).expanduser(), settings)


def __getattr__(name: str) -> Any:
    if name in _S3_NAMES:
        from . import s3

        return getattr(s3, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
