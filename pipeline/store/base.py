"""The store interface: put an artifact somewhere a provider can fetch it.

A store keeps each artifact under its content-addressed file name (below an
optional prefix), so the same audio is stored once and a media URL never
points at changed bytes. ``put`` is idempotent: an object with the same key
and content (sha256) is not sent again, and an object with the same key but
other content is never replaced: it was served as immutable, so the store
keeps it, logs a warning and reports its URL with the warning. ``put_many`` runs a batch on a thread pool and
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
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from ..artifact import sha256_file
from ..errors import StoreError
from ..redaction import redact_url
from .private import SENSITIVE_EXPIRES_S
from .verify import UrlChecker

if TYPE_CHECKING:
    from ..artifact import Artifact

__all__ = [
    "CACHE_CONTROL",
    "DEFAULT_BASE_URL",
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "MAX_PRESIGN_S",
    "MEDIA_TYPES",
    "Hosted",
    "Store",
    "StoreSettings",
    "StoredObject",
    "UrlMode",
    "put_many",
]

_LOG = logging.getLogger(__name__)

UrlMode = Literal["public", "presigned"]
URL_MODES: tuple[str, ...] = ("public", "presigned")

#: Names are content hashes, so a file never changes under its URL: cache it for a year.
CACHE_CONTROL = "public, max-age=31536000, immutable"

#: The files a store hosts (and ``voxpipe serve`` serves), by extension.
MEDIA_TYPES: Mapping[str, str] = {
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg; codecs=opus",
    ".wav": "audio/wav",
}

#: Where ``voxpipe serve`` listens by default, and the base of local media URLs.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_BASE_URL = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"

MAX_PRESIGN_S = 7 * 24 * 3600
"""The longest a presigned (or signed) URL may live: 7 days, S3's own limit."""
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
    sensitive_expires_s: int = SENSITIVE_EXPIRES_S
    """Lifetime of the URL of a sensitive message's file (see :mod:`.private`), local or S3."""
    endpoint_url: str | None = None
    base_url: str | None = None
    region: str | None = None
    """S3 region; None leaves it to the AWS chain (``AWS_REGION``, the profile)."""
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
        if isinstance(self.sensitive_expires_s, bool) or not 0 < self.sensitive_expires_s <= MAX_PRESIGN_S:
            problems.append(f"sensitive_expires_s must be 1 s to 7 days, not {self.sensitive_expires_s!r}")
        if self.workers < 1:
            problems.append(f"workers must be at least 1, not {self.workers}")
        if self.multipart_threshold < 1 or self.multipart_chunksize < 1:
            problems.append("multipart sizes must be positive")
        if self.max_attempts < 1:
            problems.append(f"max_attempts must be at least 1, not {self.max_attempts}")
        if self.timeout_s <= 0:
            problems.append(f"timeout_s must be positive, not {self.timeout_s}")
        for name in ("endpoint_url", "base_url"):
            problem = _url_problem(getattr(self, name))
            if problem:
                problems.append(f"{name} {redact_url(getattr(self, name))!r}: {problem}")
        if self.base_url and self.url_mode == "presigned":
            problems.append("base_url is for public URLs; presigned URLs are signed for the endpoint")
        if problems:
            raise StoreError("store settings: " + "; ".join(problems))


def _url_problem(url: str | None) -> str | None:
    if url is None:
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number 0-65535
    except ValueError as exc:
        return str(exc)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http:// or https:// URL with a host"
    return None


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
    warning: str | None = None
    """Set when the key already held other bytes, which were kept (the URL serves those)."""

    def report_fields(self) -> dict[str, Any]:
        """The fields a JSON report row gains: ``media_url``, plus ``expires_at`` when set."""
        fields: dict[str, Any] = {"media_url": self.media_url}
        if self.expires_at is not None:
            fields["expires_at"] = self.expires_at.isoformat().replace("+00:00", "Z")
        return fields


@dataclass(frozen=True)
class StoredObject:
    """What a store knows about an object it holds.

    ``sha256`` is None when the store cannot tell (an S3 object uploaded
    without voxpipe's metadata); ``md5`` is a plain single-part S3 ETag.
    """

    size: int
    sha256: str | None = None
    md5: str | None = None

    def same_as(self, size: int, path: Path) -> tuple[bool, str]:
        """(same content?, how it was decided) against the local file at ``path``."""
        if self.size != size:
            return False, f"{self.size} bytes stored, {size} here"
        if self.sha256 is not None:
            return self.sha256 == sha256_file(path), "sha256 differs"
        if self.md5 is not None:
            return self.md5 == _md5_file(path), "MD5 (ETag) differs"
        return True, "same size; the stored object has no sha256 to compare"


def _md5_file(path: Path) -> str:
    import hashlib

    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
    verify_url: bool = False
    _checker: UrlChecker | None = None

    def key_for(self, artifact: Artifact) -> str:
        """The object key: the optional prefix plus the content-addressed file name."""
        return self.key_of(artifact.name)

    def key_of(self, name: str) -> str:
        """The object key of a file called ``name`` (known before the file is made: names are planned)."""
        return f"{self.prefix}/{name}" if self.prefix else name

    def exists(self, artifact: Artifact) -> bool:
        """Whether this artifact's key already holds this artifact's content."""
        stored = self._stored(self.key_for(artifact))
        return stored is not None and self._same(stored, artifact)[0]

    def put(self, artifact: Artifact) -> Hosted:
        """Store the artifact unless its key is taken; a taken key is never overwritten.

        Same content: nothing is sent. Other content: the stored object is
        kept (its URL was served as immutable), a warning is logged, and the
        returned :class:`Hosted` carries the warning and the existing URL.
        """
        key = self.key_for(artifact)
        size = self._source_size(artifact)
        stored = self._stored(key)
        warning = None
        if stored is None:
            self._write(artifact, key, size)
        else:
            same, why = self._same(stored, artifact)
            if not same:
                warning = (
                    f"{self.name}: {key} already holds other bytes ({why}); kept the stored object, "
                    "not replaced (its URL was published as immutable)"
                )
                _LOG.warning("%s", warning)
        hosted = replace(self.url_for(key), uploaded=stored is None, warning=warning)
        if self.verify_url and warning is None:
            self.verify(hosted, artifact, size)
        return hosted

    def _same(self, stored: StoredObject, artifact: Artifact) -> tuple[bool, str]:
        size = self._source_size(artifact)
        try:
            return stored.same_as(size, Path(artifact.path))
        except OSError as exc:
            raise StoreError(f"{self.name}: cannot read the artifact {artifact.path}: {exc.strerror or exc}") from exc

    def verify(self, hosted: Hosted, artifact: Artifact, size: int | None = None) -> None:
        """Raise StoreError unless the media URL answers anonymously with this file."""
        if self._checker is None:
            self._checker = UrlChecker(StoreSettings.timeout_s)
        problem = self._checker.problem(hosted.media_url, mime=artifact.mime, size=size)
        if problem:
            raise StoreError(f"{self.name}: {hosted.key or artifact.name}: media URL check failed: {problem}")

    @abc.abstractmethod
    def url_for(self, key: str) -> Hosted:
        """The media URL of ``key`` (``uploaded`` is False)."""

    @abc.abstractmethod
    def _stored(self, key: str) -> StoredObject | None:
        """What is stored under ``key`` (size and, where known, digest), or None when nothing is."""

    @abc.abstractmethod
    def _write(self, artifact: Artifact, key: str, size: int) -> None:
        """Store the artifact's bytes under ``key``."""

    def _source_size(self, artifact: Artifact) -> int:
        try:
            return Path(artifact.path).stat().st_size
        except OSError as exc:
            raise StoreError(f"{self.name}: cannot read the artifact {artifact.path}: {exc.strerror or exc}") from exc

    def prefetch(self, count: int) -> None:  # noqa: B027 - optional hook, a no-op unless a store can list
        """Optionally learn what is stored up front, before putting ``count`` artifacts.

        Stores where one request can answer for many objects (an S3 listing)
        use it to skip a request per artifact; the default does nothing.
        """

    def end_batch(self) -> None:  # noqa: B027 - optional hook, pairs with prefetch
        """Forget what ``prefetch`` learnt: it describes the bucket at the start of a batch only."""

    def close(self) -> None:
        """Release the clients the store created itself (injected ones are left open)."""
        if self._checker is not None:
            self._checker.close()

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
    batch = list(artifacts)
    if len(batch) > 1:
        try:
            store.prefetch(len(batch))
        except StoreError:
            pass  # each put then reports the store's problem for its own item
    executor = ThreadPoolExecutor(max_workers=count, thread_name_prefix="store-put")
    try:
        futures = {executor.submit(store.put, artifact): artifact for artifact in batch}
        for future in as_completed(futures):
            yield futures[future], _outcome(store, futures[future], future)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
        store.end_batch()


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
