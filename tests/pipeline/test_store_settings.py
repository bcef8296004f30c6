"""Store settings and batch behaviour that need no server."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from voxpipe.pipeline.errors import StoreError
from voxpipe.pipeline.preparation import ItemResult
from voxpipe.pipeline.store import Hosted, LocalStore, StoreSettings, publish, put_many
from voxpipe.serve.run import bind


@pytest.mark.parametrize(
    "settings, message",
    [
        (
            {"endpoint_url": "http://127.0.0.1:99999"},
            "endpoint_url 'http://127.0.0.1:99999': Port out of range 0-65535",
        ),
        (
            {"endpoint_url": "http://127.0.0.1:abc"},
            "endpoint_url 'http://127.0.0.1:abc': Port could not be cast to integer value as 'abc'",
        ),
        (
            {"base_url": "cdn.example.org"},
            "base_url 'cdn.example.org': must be an http:// or https:// URL with a host",
        ),
        (
            {"base_url": "https://cdn.example.org", "url_mode": "presigned"},
            "base_url is for public URLs; presigned URLs are signed for the endpoint",
        ),
    ],
)
def test_bad_settings_are_one_clear_error(settings: dict, message: str) -> None:
    with pytest.raises(StoreError) as err:
        StoreSettings(**settings)
    assert str(err.value) == f"store settings: {message}"


def test_a_file_is_not_a_local_store(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match=r"file: not a directory$"):
        LocalStore(blocker)


def test_a_host_that_cannot_be_used_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"cannot listen on é\.\.b:0: encoding of hostname failed"):
        bind("é..b", 0)


class CountingStore(LocalStore):
    def __init__(self, root: Path, failing_prefetch: bool = False) -> None:
        super().__init__(root)
        self.writes = 0
        self.failing_prefetch = failing_prefetch

    def prefetch(self, count: int) -> None:
        if self.failing_prefetch:
            raise StoreError(f"{self.name}: cannot list")

    def _write(self, artifact, key, size) -> None:
        self.writes += 1
        super()._write(artifact, key, size)


def test_publish_uploads_a_file_shared_by_two_items_once(tmp_path: Path, make_artifact) -> None:
    art = make_artifact("mp3")
    results = [ItemResult("a", "ok", artifacts=(art,)), ItemResult("b", "ok", artifacts=(art,))]
    store = CountingStore(tmp_path / "media")
    hosted = publish(results, store)
    assert store.writes == 1
    assert [r.artifacts[0].media_url for r in hosted] == [store.url_for(art.name).media_url] * 2


def test_a_failed_prefetch_does_not_abort_the_batch(tmp_path: Path, make_artifact) -> None:
    arts = [make_artifact("mp3") for _ in range(3)]
    missing = replace(arts[0], path=tmp_path / "gone.mp3")
    store = CountingStore(tmp_path / "media", failing_prefetch=True)
    outcomes = {a.path.name: r for a, r in put_many(store, [*arts, missing])}
    assert sum(isinstance(r, Hosted) for r in outcomes.values()) == 3
    assert isinstance(outcomes["gone.mp3"], StoreError)
