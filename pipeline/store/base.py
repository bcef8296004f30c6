"""The store interface: put an artifact somewhere a provider can fetch it.

A store keeps each artifact under its content-addressed file name (below an
optional prefix), so the same audio is stored once and a media URL never
points at changed bytes. ``put`` is idempotent: an object with the same key
and size is not sent again. ``put_many`` runs a batch on a thread pool and
reports each item as it finishes; one failure never stops the others, and
nothing local is ever deleted.

```python
store = open_store("s3://media/voice", StoreSettings(url_mode="presigned"))
for artifact, result in put_many(store, artifacts):
    ...  # result is a Hosted or a StoreError
```
"""

from __future__ import annotations

import abc
import logging
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Literal

from ..errors import StoreError

if TYPE_CHECKING:
    from ..artifact import Artifact

__all__ = [
    "CACHE_CONTROL",
    "DEFAULT_BASE_URL",
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "Hosted",
    "Store",
    "StoreSettings",
    "UrlMode",
    "open_store",
    "put_many",
]

_LOG = logging.getLogger(__name__)

UrlMode = Literal["public", "presigned"]
URL_MODES: tuple[str, ...] = ("public", "presigned")

#: Names are content hashes, so a file never changes under its URL: cache it for a year.
CACHE_CONTROL = "public, max-age=31536000, immutable"

#: Where ``voxpipe serve`` listens by default, and the base of local media URLs.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_BASE_URL = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"

_MIB = 1024 * 1024


@dataclass(frozen=True)
class StoreSettings:
    """Every hosting option, each default defined here only.

    ``base_url`` is the public address of a local store (the media server,
    possibly behind a proxy or tunnel); for an S3 store in public mode it
    replaces ``{endpoint}/{bucket}`` in URLs (a CDN or an R2 public domain).
    ``endpoint_url`` points boto3 at an S3-compatible service. ``expires_s``
    applies to presigned URLs only. ``max_attempts`` counts the first try.
    """

    url_mode: UrlMode = "public"
    expires_s: int = 3600
    endpoint_url: str | None = None
    base_url: str | None = None
    region: str = "us-east-1"
    verify_url: bool = False
    workers: int = 8
    multipart_threshold: int = 8 * _MIB
    multipart_chunksize: int = 8 * _MIB
    max_attempts: int = 3
    timeout_s: float = 10.0

    def __post_init__(self) -> None:
        problems = []
        if self.url_mode not in URL_MODES:
            problems.append(f"url_mode must be 'public' or 'presigned', not {self.url_mode!r}")
        if self.workers < 1:
            problems.append(f"workers must be at least 1, not {self.workers}")
        if self.multipart_threshold < 1 or self.multipart_chunksize < 1:
            problems.append("multipart sizes must be positive")
        if self.max_attempts < 1:
            problems.append(f"max_attempts must be at least 1, not {self.max_attempts}")
        if self.timeout_s <= 0:
            problems.append(f"timeout_s must be positive, not {self.timeout_s}")
        if problems:
            raise StoreError("store settings: " + "; ".join(problems))


@dataclass(frozen=True)
class Hosted:
    """Where a stored artifact can be fetched.

    ``expires_at`` (UTC) is set for presigned URLs only. ``uploaded`` is False
    when the object was already there and nothing was sent.
    """

    media_url: str
    expires_at: datetime | None = None
    uploaded: bool = False
    key: str = ""

    def report_fields(self) -> dict[str, Any]:
        """The fields a JSON report row gains: ``media_url``, plus ``expires_at`` when set."""
        fields: dict[str, Any] = {"media_url": self.media_url}
        if self.expires_at is not None:
            fields["expires_at"] = self.expires_at.isoformat().replace("+00:00", "Z")
        return fields


class Store(abc.ABC):
    """Somewhere artifacts are kept and served from.

    ``name`` identifies the store in messages (a directory path or
    ``s3://bucket/prefix``) and never contains credentials. Every method
    raises :class:`StoreError` naming the store on failure.
    """

    name: str
    prefix: str = ""
    #: How many uploads ``put_many`` runs at once unless told otherwise.
    workers: int = StoreSettings.workers

    def key_for(self, artifact: Artifact) -> str:
        """The object key: the optional prefix plus the content-addressed file name."""
        name = Path(artifact.path).name
        return f"{self.prefix}/{name}" if self.prefix else name

    @abc.abstractmethod
    def exists(self, artifact: Artifact) -> bool:
        """Whether an object with this artifact's key and size is already stored."""

    @abc.abstractmethod
    def put(self, artifact: Artifact) -> Hosted:
        """Store the artifact unless the same key and size is already there."""

    @abc.abstractmethod
    def url_for(self, key: str) -> Hosted:
        """The media URL of ``key`` (``uploaded`` is False)."""

    def prefetch(self, count: int) -> None:
        """Optionally learn what is stored up front, before putting ``count`` artifacts.

        Stores where one request can answer for many objects (an S3 listing)
        use it to skip a request per artifact; the default does nothing.
        """

    def close(self) -> None:
        """Release the clients the store created itself (injected ones are left open)."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __str__(self) -> str:
        return self.name


def put_many(
    store: Store,
    artifacts: Iterable[Artifact],
    workers: int | None = None,
) -> Iterator[tuple[Artifact, Hosted | StoreError]]:
    """Put every artifact on a thread pool, yielding each result as it completes.

    Results come in completion order. A failed item yields its
    :class:`StoreError` and the others carry on. ``workers`` defaults to
    ``store.workers``; ``workers=1`` uploads one after the other. Closing the
    iterator early cancels the uploads that have not started.
    """
    count = store.workers if workers is None else workers
    if count < 1:
        raise StoreError(f"{store.name}: workers must be at least 1, not {count}")
    pending: dict[Future[Hosted], Artifact] = {}
    batch = list(artifacts)
    if len(batch) > 1:
        store.prefetch(len(batch))
    items = iter(batch)
    executor = ThreadPoolExecutor(max_workers=count, thread_name_prefix="store-put")
    try:
        # Keep a bounded number of items in flight so a long batch is not all queued at once.
        window = count * 4
        exhausted = False
        while True:
            while not exhausted and len(pending) < window:
                artifact = next(items, None)
                if artifact is None:
                    exhausted = True
                    break
                pending[executor.submit(store.put, artifact)] = artifact
            if not pending:
                return
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                artifact = pending.pop(future)
                yield artifact, _outcome(store, artifact, future)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def _outcome(store: Store, artifact: Artifact, future: Future[Hosted]) -> Hosted | StoreError:
    try:
        return future.result()
    except StoreError as exc:
        return exc
    except Exception as exc:  # noqa: BLE001 - one bad item must not stop the batch
        _LOG.warning("unexpected error storing %s in %s", artifact.path, store.name, exc_info=True)
        error = StoreError(f"{store.name}: {artifact.name}: unexpected error: {type(exc).__name__}: {exc}")
        error.__cause__ = exc
        return error


def open_store(spec: str, settings: StoreSettings | None = None) -> Store:
    """A store for ``spec``: ``s3://bucket[/prefix]`` or a local directory path."""
    settings = settings or StoreSettings()
    spec = spec.strip()
    if not spec:
        raise StoreError("store: empty store location; give a directory or s3://bucket/prefix")
    if spec.lower().startswith("s3://"):
        from .s3 import S3Store

        return S3Store.from_spec(spec, settings)
    if "://" in spec:
        scheme = spec.split("://", 1)[0]
        raise StoreError(f"store {scheme}://...: unsupported scheme; give a directory or s3://bucket/prefix")
    if settings.url_mode != "public":
        raise StoreError(f"{spec}: presigned URLs need an s3:// store; a local directory is served as is")
    from .local import LocalStore

    return LocalStore(
        Path(spec).expanduser(),
        settings.base_url or DEFAULT_BASE_URL,
        workers=settings.workers,
        verify_url=settings.verify_url,
    )
