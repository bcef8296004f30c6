"""A local directory as a store, served over HTTP by `voxpipe serve` (:mod:`voxpipe.serve`).

Files are copied under their content-addressed names (atomically: a
temporary name, then a rename), so the media server never serves a
half-written file. Media URLs are ``base_url/NAME``; set ``base_url`` to the
public address when the server runs behind a proxy or tunnel. A sensitive
message's file gets a signed URL that expires (see :mod:`.private`).
"""

from __future__ import annotations

import os
import shutil
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from ..artifact import atomic_path, sha256_file
from ..errors import StoreError, VoxpipeError
from ..secret import folder_secret
from .base import DEFAULT_BASE_URL, Hosted, Store, StoredObject, StoreSettings
from .private import is_private, signed_query
from .verify import UrlChecker

if TYPE_CHECKING:
    from ..artifact import Artifact

__all__ = ["LocalStore"]


class LocalStore(Store):
    """Artifacts copied into ``root``; URLs built from ``settings.base_url``."""

    def __init__(self, root: Path | str, settings: StoreSettings | None = None) -> None:
        settings = settings or StoreSettings()
        self.root = Path(root)
        self.name = str(self.root)
        self.base_url = (settings.base_url or DEFAULT_BASE_URL).rstrip("/")
        self.workers = settings.workers
        self.verify_url = settings.verify_url
        self.sensitive_expires_s = settings.sensitive_expires_s
        self._checker = UrlChecker(settings.timeout_s)
        if settings.url_mode != "public":
            raise StoreError(f"{self.name}: presigned URLs need an s3:// store; a local directory is served as is")
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"{self.name}: not a directory")
        # Checked now, not after a batch was prepared: a file where a folder must be created.
        blocker = next((p for p in self.root.parents if p.exists()), None)
        if blocker is not None and not blocker.is_dir():
            raise StoreError(f"{self.name}: cannot be created, {blocker} is a file")

    def _stored(self, key: str) -> StoredObject | None:
        path = self.root / key
        try:
            st = path.stat()
            if not stat.S_ISREG(st.st_mode):
                return None
            return StoredObject(st.st_size, sha256_file(path))
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreError(f"{self.name}: cannot read {key}: {exc.strerror or exc}") from exc

    def _write(self, artifact: Artifact, key: str, size: int) -> None:
        source = Path(artifact.path)
        try:
            with atomic_path(self.root / key) as tmp:
                shutil.copyfile(source, tmp)
                # mkstemp makes the file 0600; a media directory is meant to be readable.
                os.chmod(tmp, 0o644)
        except OSError as exc:
            raise StoreError(f"{self.name}: cannot copy {source.name}: {exc.strerror or exc}") from exc

    def url_for(self, key: str) -> Hosted:
        url = f"{self.base_url}/{quote(key, safe='/')}"
        if not is_private(key):
            return Hosted(url, None, False, key)
        try:
            secret = folder_secret(self.root)
        except VoxpipeError as exc:
            raise StoreError(f"{self.name}: cannot sign the URL of {key}: {exc}") from exc
        query, expires = signed_query(secret, key, self.sensitive_expires_s)
        return Hosted(f"{url}?{query}", datetime.fromtimestamp(expires, UTC), False, key)
