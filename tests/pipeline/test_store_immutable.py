"""A key that was served as immutable keeps its bytes: every store refuses to
replace an existing object with different content, keeps it, warns, and reports
the existing URL (local directory and a real SeaweedFS server)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from voxpipe.pipeline.errors import StoreError
from voxpipe.pipeline.preparation import ItemResult
from voxpipe.pipeline.store import Hosted, LocalStore, S3Store, StoreSettings, init_bucket, publish, put_many

BUCKET = "voxpipe-immutable"


def _same_size_other_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    return data[:-64] + bytes(b ^ 0x5A for b in data[-64:])


def test_local_store_keeps_the_stored_file_when_the_bytes_differ(tmp_path: Path, make_artifact, caplog) -> None:
    art = make_artifact("mp3")
    store = LocalStore(tmp_path / "media")
    first = store.put(art)
    original = (tmp_path / "media" / art.path.name).read_bytes()
    # Same name and size, other content (what a non-deterministic re-render used to produce).
    art.path.write_bytes(_same_size_other_bytes(art.path))
    assert not store.exists(art)
    with caplog.at_level(logging.WARNING, logger="voxpipe.pipeline.store.base"):
        kept = store.put(art)
    assert kept.uploaded is False and kept.media_url == first.media_url
    assert kept.warning and "already holds other bytes (sha256 differs)" in kept.warning
    assert (tmp_path / "media" / art.path.name).read_bytes() == original
    assert any("kept the stored object" in r.getMessage() for r in caplog.records)
    # Other size: kept as well.
    art.path.write_bytes(original + b"tail")
    assert "bytes stored" in store.put(art).warning
    assert (tmp_path / "media" / art.path.name).read_bytes() == original


def test_local_store_same_bytes_is_a_quiet_no_op(tmp_path: Path, make_artifact) -> None:
    art = make_artifact("ogg")
    store = LocalStore(tmp_path / "media")
    assert store.put(art).uploaded
    again = store.put(art)
    assert again.uploaded is False and again.warning is None


def test_publish_reports_the_kept_url_with_a_warning(tmp_path: Path, make_artifact) -> None:
    art = make_artifact("mp3")
    store = LocalStore(tmp_path / "media", StoreSettings(base_url="https://media.example.org"))
    store.put(art)
    art.path.write_bytes(_same_size_other_bytes(art.path))
    [result] = publish([ItemResult("otp", "ok", artifacts=(art,))], store)
    assert result.ok
    assert result.artifacts[0].media_url == f"https://media.example.org/{art.path.name}"
    assert any("kept the stored object" in w for w in result.warnings)


@pytest.fixture(scope="module")
def admin(s3_server):
    client = s3_server.client()
    yield client
    client.close()


@pytest.fixture()
def s3_store(s3_server, admin, request):
    spec = f"s3://{BUCKET}/{request.node.name[:40]}"
    settings = StoreSettings(endpoint_url=s3_server.endpoint, region=s3_server.region)
    init_bucket(spec, settings, client=admin)
    store = S3Store.from_spec(spec, settings, client=admin)
    yield store
    store.close()


def test_s3_upload_carries_the_sha256_and_a_changed_file_never_replaces_it(s3_store, admin, make_artifact) -> None:
    art = make_artifact("mp3")
    first = s3_store.put(art)
    assert first.uploaded
    assert admin.head_object(Bucket=BUCKET, Key=first.key)["Metadata"] == {"sha256": art.sha256}
    original = art.path.read_bytes()
    art.path.write_bytes(_same_size_other_bytes(art.path))
    kept = s3_store.put(art)
    assert kept.uploaded is False and kept.media_url == first.media_url
    assert "(sha256 differs)" in kept.warning
    assert admin.get_object(Bucket=BUCKET, Key=first.key)["Body"].read() == original


def test_s3_batch_listing_compares_content_too(s3_store, admin, make_artifact) -> None:
    arts = [make_artifact("mp3", seconds=0.3) for _ in range(3)]
    assert all(isinstance(r, Hosted) and r.uploaded for _, r in put_many(s3_store, arts))
    original = arts[1].path.read_bytes()
    arts[1].path.write_bytes(_same_size_other_bytes(arts[1].path))
    results = {a.path.name: r for a, r in put_many(s3_store, arts)}
    assert all(isinstance(r, Hosted) and not r.uploaded for r in results.values())
    assert results[arts[1].path.name].warning and "other bytes" in results[arts[1].path.name].warning
    assert [r.warning for n, r in results.items() if n != arts[1].path.name] == [None, None]
    assert admin.get_object(Bucket=BUCKET, Key=results[arts[1].path.name].key)["Body"].read() == original


def test_s3_object_without_the_metadata_is_judged_by_size(s3_store, admin, make_artifact) -> None:
    same = make_artifact("mp3")
    other = make_artifact("mp3")
    for art, body in ((same, same.path.read_bytes()), (other, b"x" * 100)):
        admin.put_object(Bucket=BUCKET, Key=s3_store.key_for(art), Body=body)  # no sha256 metadata
    assert s3_store.put(same).warning is None
    kept = s3_store.put(other)
    assert kept.uploaded is False and "100 bytes stored" in kept.warning
    assert admin.get_object(Bucket=BUCKET, Key=kept.key)["Body"].read() == b"x" * 100


def test_store_error_lines_never_show_url_passwords() -> None:
    with pytest.raises(StoreError) as err:
        StoreSettings(endpoint_url="http://user:s3cr3t@h:99999/")
    assert "s3cr3t" not in str(err.value)
    with pytest.raises(StoreError) as err:
        StoreSettings(base_url="ftp://user:s3cr3t@h/")
    assert "s3cr3t" not in str(err.value)
