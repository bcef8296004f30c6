"""LocalStore, and its files checked over real HTTP from ``voxpipe serve``'s app under uvicorn.

The routes themselves are tested in tests/voxpipe/test_serve_media.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.appserver import AppServer
from voxpipe.pipeline.errors import StoreError
from voxpipe.pipeline.store import Hosted, LocalStore, StoreSettings, open_store, put_many
from voxpipe.serve import create_app


@pytest.fixture
def media_dir(tmp_path: Path) -> Path:
    root = tmp_path / "media"
    root.mkdir()
    return root


@pytest.fixture
def server(media_dir: Path) -> Iterator[AppServer]:
    with AppServer(create_app(media_dir)) as srv:
        yield srv


# -- LocalStore -----------------------------------------------------------------


def test_put_copies_atomically_and_builds_url(media_dir, make_artifact):
    art = make_artifact("mp3")
    store = LocalStore(media_dir, StoreSettings(base_url="https://media.example.org/voice/"))
    assert not store.exists(art)
    hosted = store.put(art)
    assert hosted == Hosted(f"https://media.example.org/voice/{art.path.name}", None, True, art.path.name)
    assert (media_dir / art.path.name).read_bytes() == art.path.read_bytes()
    assert store.exists(art)
    assert oct((media_dir / art.path.name).stat().st_mode & 0o777) == oct(0o644)
    assert [p.name for p in media_dir.iterdir()] == [art.path.name]  # no temp file left behind
    assert art.path.exists()  # the source is never touched

    again = store.put(art)
    assert again.uploaded is False and again.media_url == hosted.media_url


def test_put_of_a_file_already_in_the_root_does_not_copy(media_dir, make_artifact):
    art = make_artifact("ogg", directory=media_dir)
    before = art.path.stat().st_mtime_ns
    hosted = LocalStore(media_dir).put(art)
    assert hosted.uploaded is False
    assert hosted.media_url == f"http://127.0.0.1:8765/{art.path.name}"
    assert art.path.stat().st_mtime_ns == before


def test_url_is_quoted(media_dir):
    assert (
        LocalStore(media_dir, StoreSettings(base_url="http://h:1")).url_for("a b#.mp3").media_url
        == "http://h:1/a%20b%23.mp3"
    )


def test_missing_source_is_a_store_error_naming_the_store(media_dir, make_artifact):
    art = make_artifact("mp3")
    art.path.unlink()
    with pytest.raises(StoreError, match=rf"^{media_dir}: cannot read the artifact"):
        LocalStore(media_dir).put(art)


def test_open_store_settings(tmp_path):
    store = open_store(str(tmp_path / "m"), StoreSettings(base_url="https://x.example/a/", workers=3))
    assert isinstance(store, LocalStore)
    assert store.base_url == "https://x.example/a" and store.workers == 3
    with pytest.raises(StoreError, match="presigned URLs need an s3:// store"):
        open_store(str(tmp_path), StoreSettings(url_mode="presigned"))
    with pytest.raises(StoreError, match="unsupported scheme"):
        open_store("gs://bucket/x")
    with pytest.raises(StoreError, match="url_mode must be"):
        StoreSettings(url_mode="signed")  # type: ignore[arg-type]


def test_put_many_local_reports_each_item(media_dir, make_artifact):
    good = [make_artifact("mp3") for _ in range(3)]
    bad = make_artifact("wav")
    bad.path.unlink()
    results = {a.path.name: r for a, r in put_many(LocalStore(media_dir), [*good, bad], workers=4)}
    assert len(results) == 4
    assert isinstance(results[bad.path.name], StoreError)
    assert all(isinstance(results[a.path.name], Hosted) and results[a.path.name].uploaded for a in good)


def test_verify_url_against_the_running_server(media_dir, server, make_artifact):
    art = make_artifact("mp3")
    with LocalStore(media_dir, StoreSettings(base_url=server.url, verify_url=True)) as store:
        assert store.put(art).uploaded
    with LocalStore(media_dir, StoreSettings(base_url=server.url + "/wrong", verify_url=True)) as store:
        with pytest.raises(StoreError, match="media URL check failed: anonymous HEAD of .* answered HTTP 404"):
            store.put(make_artifact("mp3"))


def test_a_store_that_cannot_be_created_is_refused_when_opened(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match=r"a-file/store/deeper: cannot be created, .*a-file is a file"):
        open_store(str(blocker / "store" / "deeper"))
