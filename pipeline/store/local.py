"""A local directory as a store, served over HTTP by :mod:`pipeline.store.server`.

Files are copied under their content-addressed names (atomically: a
temporary name, then a rename), so the media server never serves a
half-written file. Media URLs are ``base_url/NAME``; set ``base_url`` to the
public address when the server runs behind a proxy or tunnel.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from ..artifact import atomic_path
from ..errors import StoreError
from .base import DEFAULT_BASE_URL, Hosted, Store, StoreSettings
from .verify import UrlChecker

if TYPE_CHECKING:
    import httpx

    from ..artifact import Artifact

__all__ = ["LocalStore"]


class LocalStore(Store):
    """Artifacts copied into ``root``; URLs built from ``base_url``."""

    def __init__(
        self,
        root: Path | str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        workers: int = StoreSettings.workers,
        verify_url: bool = StoreSettings.verify_url,
        http: httpx.Client | None = None,
    ) -> None:
        self.root = Path(root)
        self.base_url = base_url.rstrip("/")
        self.name = str(self.root)
        self.workers = workers
        self.verify_url = verify_url
        self._checker = UrlChecker(http, StoreSettings.timeout_s)
        if not self.base_url.lower().startswith(("http://", "https://")):
            raise StoreError(f"{self.name}: base URL must start with http:// or https://, not {base_url!r}")

    def _local_size(self, path: Path) -> int | None:
        try:
            st = path.stat()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreError(f"{self.name}: cannot read {path.name}: {exc.strerror or exc}") from exc
        return st.st_size if path.is_file() else None

    def exists(self, artifact: Artifact) -> bool:
        size = self._source_size(artifact)
        return self._local_size(self.root / self.key_for(artifact)) == size

    def _source_size(self, artifact: Artifact) -> int:
        try:
            return Path(artifact.path).stat().st_size
        except OSError as exc:
            raise StoreError(f"{self.name}: cannot read the artifact {artifact.path}: {exc.strerror or exc}") from exc

    def put(self, artifact: Artifact) -> Hosted:
        key = self.key_for(artifact)
        source = Path(artifact.path)
        dest = self.root / key
        size = self._source_size(artifact)
        already = False
        with contextlib.suppress(OSError):
            already = dest.exists() and os.path.samefile(source, dest)
        if already or self._local_size(dest) == size:
            hosted = self.url_for(key)
            if self.verify_url:
                self.verify(hosted, artifact)
            return hosted
        try:
            with atomic_path(dest) as tmp:
                shutil.copyfile(source, tmp)
                # mkstemp makes the file 0600; a media directory is meant to be readable.
                os.chmod(tmp, 0o644)
        except OSError as exc:
            raise StoreError(f"{self.name}: cannot copy {source.name}: {exc.strerror or exc}") from exc
        hosted = Hosted(self.url_for(key).media_url, None, True, key)
        if self.verify_url:
            self.verify(hosted, artifact)
        return hosted

    def url_for(self, key: str) -> Hosted:
        return Hosted(f"{self.base_url}/{quote(key, safe='/')}", None, False, key)

    def close(self) -> None:
        self._checker.close()

    def verify(self, hosted: Hosted, artifact: Artifact) -> None:
        """Raise StoreError unless the media server answers for this file as it should."""
        problem = self._checker.problem(hosted.media_url, mime=artifact.mime, size=self._source_size(artifact))
        if problem:
            raise StoreError(f"{self.name}: {hosted.key or artifact.name}: media URL check failed: {problem}")
