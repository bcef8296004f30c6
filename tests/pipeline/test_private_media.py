"""Short-lived media for sensitive messages: signed expiring local URLs checked by the real server,
presigned S3 URLs outside the public prefix (SeaweedFS), a lifecycle rule, and ``voxpipe store gc``."""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from click.testing import CliRunner

from tests.appserver import AppServer
from voxpipe.cli import cli
from voxpipe.pipeline.artifact import sidecar_path
from voxpipe.pipeline.secret import folder_secret
from voxpipe.pipeline.store import S3Store, StoreSettings, init_bucket
from voxpipe.pipeline.store.local import LocalStore
from voxpipe.pipeline.store.private import collect_private, is_private, signed_query, token_holds
from voxpipe.serve import create_app

BUCKET = "voxpipe-private-test"


def _private(artifact):
    """The artifact renamed as preparation names a sensitive message's file."""
    path = Path(artifact.path)
    target = path.with_name(f"{path.stem}-private{path.suffix}")
    path.rename(target)
    return dataclasses.replace(artifact, path=target)


def test_names_mark_sensitive_files_only():
    assert is_private("pstn-0123abcd-private.mp3")
    assert is_private("voice/pstn-0123abcd-private.ogg")
    assert not is_private("pstn-0123abcd.mp3")
    assert not is_private("private-pstn.mp3")


def test_tokens_are_bound_to_name_and_expiry():
    secret = os.urandom(32)
    query, expires = signed_query(secret, "a-private.mp3", 900, now=1_000_000)
    assert expires == 1_000_900
    assert token_holds(secret, "a-private.mp3", query, now=1_000_899)
    assert not token_holds(secret, "a-private.mp3", query, now=1_000_900)  # expired
    assert not token_holds(secret, "b-private.mp3", query, now=1_000_000)  # another file
    assert not token_holds(os.urandom(32), "a-private.mp3", query, now=1_000_000)  # another key
    assert not token_holds(None, "a-private.mp3", query, now=1_000_000)
    later = query.replace(f"expires={expires}", f"expires={expires + 3600}")
    assert not token_holds(secret, "a-private.mp3", later, now=1_000_000)  # stretched expiry
    for junk in ("", "expires=x&token=y", "token=" + "0" * 32, query + "&" + query, "%zz", "expires=1e99&token=a"):
        assert not token_holds(secret, "a-private.mp3", junk, now=1_000_000)


def test_local_store_signs_sensitive_urls_and_the_server_checks_them(tmp_path, make_artifact):
    root = tmp_path / "media"
    store = LocalStore(root, StoreSettings(sensitive_expires_s=600))
    public = make_artifact("mp3")
    secret_file = _private(make_artifact("mp3"))
    hosted_public = store.put(public)
    hosted = store.put(secret_file)
    assert "?" not in hosted_public.media_url and hosted_public.expires_at is None
    assert "expires=" in hosted.media_url and "token=" in hosted.media_url
    assert hosted.expires_at is not None and 590 <= hosted.expires_at.timestamp() - time.time() <= 600
    name = urlsplit(hosted.media_url).path.lstrip("/")
    with AppServer(create_app(root)) as server, httpx.Client(timeout=10) as http:
        base = server.url
        signed = base + hosted.media_url.removeprefix(store.base_url)
        got = http.get(signed)
        assert got.status_code == 200 and got.content == Path(secret_file.path).read_bytes()
        assert got.headers["cache-control"] == "private, no-store"
        ranged = http.get(signed, headers={"Range": "bytes=0-9"})
        assert ranged.status_code == 206 and len(ranged.content) == 10
        assert http.get(f"{base}/{name}").status_code == 404  # no token
        tampered = signed[:-1] + ("0" if signed[-1] != "0" else "1")
        assert http.get(tampered).status_code == 404
        query, _ = signed_query(folder_secret(root), name, 60, now=time.time() - 120)
        assert http.get(f"{base}/{name}?{query}").status_code == 404  # expired a minute ago
        other, _ = signed_query(folder_secret(root), "x-private.mp3", 600)
        assert http.get(f"{base}/{name}?{other}").status_code == 404  # a token for another file
        assert http.get(f"{base}/.voxpipe-secret").status_code == 404  # the key itself is never served
        plain = http.get(f"{base}/{Path(public.path).name}")
        assert plain.status_code == 200 and "immutable" in plain.headers["cache-control"]


def test_gc_deletes_old_sensitive_files_only(tmp_path, make_artifact):
    root = tmp_path / "media"
    old = _private(make_artifact("mp3", directory=root))
    new = _private(make_artifact("ogg", directory=root))
    public = make_artifact("mp3", directory=root)
    sidecar_path(Path(old.path)).write_text("{}")
    two_hours_ago = time.time() - 7200
    for path in (Path(old.path), Path(public.path)):
        os.utime(path, (two_hours_ago, two_hours_ago))
    result = CliRunner().invoke(cli, ["store", "gc", str(root), "--older-than", "1h"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"{root}: deleted 1 sensitive file"
    assert not Path(old.path).exists() and not sidecar_path(Path(old.path)).exists()
    assert Path(new.path).exists() and Path(public.path).exists()  # too young; not sensitive
    assert collect_private(root, 0) == [Path(new.path)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--older-than", "soon"], "'soon' is not an age like 90s, 30m, 1h or 2d"),
        (["--older-than", "-1h"], "must be a finite age of 0 or more"),
        (["--older-than", "infh"], "must be a finite age of 0 or more"),
    ],
)
def test_gc_bad_age_is_one_line(tmp_path, args, message):
    result = CliRunner().invoke(cli, ["store", "gc", str(tmp_path), *args])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_gc_of_a_file_is_one_line(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    result = CliRunner().invoke(cli, ["store", "gc", str(target), "--older-than", "1h"])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert str(target) in result.output


def test_s3_keeps_sensitive_objects_outside_the_public_prefix_behind_presigned_urls(s3_server, make_artifact):
    admin = s3_server.client()
    settings = StoreSettings(endpoint_url=s3_server.endpoint, region=s3_server.region, sensitive_expires_s=900)
    spec = f"s3://{BUCKET}/voice"
    setup = init_bucket(spec, settings, client=admin, expire_days=1)
    assert "deleted after 1 days" in setup.describe()
    rules = admin.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]
    ours = [r for r in rules if r["ID"].startswith("VoxpipeSensitiveExpiry")]
    assert len(ours) == 1 and ours[0]["Expiration"]["Days"] == 1
    assert ours[0]["Filter"]["Prefix"] == "private/voice/" and ours[0]["Status"] == "Enabled"
    init_bucket(spec, settings, client=admin, expire_days=2)  # run again: one rule, replaced
    rules = admin.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]
    assert [r["Expiration"]["Days"] for r in rules if r["ID"].startswith("VoxpipeSensitiveExpiry")] == [2]

    store = S3Store.from_spec(spec, settings, client=admin)  # public URL mode
    try:
        artifact = _private(make_artifact("mp3"))
        hosted = store.put(artifact)
        public = store.put(make_artifact("mp3"))
    finally:
        store.close()
    assert hosted.key == f"private/voice/{Path(artifact.path).name}"
    assert "X-Amz-Signature=" in hosted.media_url and hosted.expires_at is not None
    assert 890 <= hosted.expires_at.timestamp() - time.time() <= 900
    with httpx.Client(timeout=10) as anon:
        assert anon.get(hosted.media_url).content == Path(artifact.path).read_bytes()
        unsigned = hosted.media_url.split("?", 1)[0]
        assert anon.get(unsigned).status_code in (401, 403)  # the public policy does not reach private/
        assert anon.get(public.media_url).status_code == 200 and "?" not in public.media_url
    admin.close()
