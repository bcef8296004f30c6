"""Hosting a prepared batch: every artifact of every good item gets a media URL.

A failed upload marks only its item failed (with the store's reason); the
local files stay where they are. A key that already held other bytes keeps
them: the item gets the existing URL and a warning saying so.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from ..errors import StoreError
from .base import Hosted, Store, put_many

if TYPE_CHECKING:
    from ..artifact import Artifact
    from ..preparation import ItemResult

__all__ = ["publish"]


def _with_url(artifact: Artifact, hosted: Hosted) -> Artifact:
    fields = hosted.report_fields()
    return replace(artifact, media_url=fields["media_url"], expires_at=fields.get("expires_at"))


def publish(results: list[ItemResult], store: Store) -> list[ItemResult]:
    """Put the artifacts of every ok result in ``store``; return the results with URLs."""
    # Items with the same content share files: each file goes up once. Files with a URL
    # already were hosted by the cluster worker that made them (and are not on this machine).
    artifacts = list({str(a.path): a for r in results if r.ok for a in r.artifacts if a.media_url is None}.values())
    outcomes: dict[str, Hosted | StoreError] = {}
    for artifact, outcome in put_many(store, artifacts):
        outcomes[str(artifact.path)] = outcome
    hosted: list[ItemResult] = []
    for result in results:
        if not result.ok:
            hosted.append(result)
            continue
        errors = [o for a in result.artifacts if isinstance(o := outcomes.get(str(a.path)), StoreError)]
        with_urls = tuple(
            _with_url(a, o) if isinstance(o := outcomes.get(str(a.path)), Hosted) else a for a in result.artifacts
        )
        kept = tuple(
            o.warning for a in result.artifacts if isinstance(o := outcomes.get(str(a.path)), Hosted) and o.warning
        )
        warnings = tuple(dict.fromkeys(result.warnings + kept))
        if errors:
            hosted.append(replace(result, status="error", error=str(errors[0]), artifacts=with_urls, warnings=warnings))
        else:
            hosted.append(replace(result, artifacts=with_urls, warnings=warnings))
    return hosted
