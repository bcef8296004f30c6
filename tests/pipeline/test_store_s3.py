"""S3Store and init_bucket against a real SeaweedFS server (see tests/s3server.py).

Nothing here mocks boto3 or httpx: uploads, URLs, signatures, policies and
errors all come from the running server. Anonymous reads use plain httpx.
"""

from __future__ import annotations

import hashlib
import json
import logging
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import pytest

from tests.appserver import AppServer
from voxpipe.pipeline.errors import StoreError
from voxpipe.pipeline.store import (
    CACHE_CONTROL,
    MAX_PRESIGN_S,
    Hosted,
    S3Store,
    Store,
    StoreSettings,
    init_bucket,
    open_store,
    parse_s3_spec,
    put_many,
)
from voxpipe.serve import create_app

BUCKET = "voxpipe-test"
_MIB = 1024 * 1024


@pytest.fixture(scope="module")
def admin(s3_server):
    """A client with the server's own credentials."""
    client = s3_server.client()
    yield client
    client.close()


@pytest.fixture
def closing():
    """``closing(x)`` returns x and closes it at the end of the test."""
    things = []

    def register(thing):
        things.append(thing)
        return thing

    yield register
    for thing in reversed(things):
        thing.close()


@pytest.fixture(scope="module")
def public_prefix(s3_server, admin) -> str:
    """``s3://voxpipe-test/public``, set up by init_bucket once for this module."""
    spec = f"s3://{BUCKET}/public"
    init_bucket(spec, StoreSettings(endpoint_url=s3_server.endpoint), client=admin)
    return spec


@pytest.fixture
def anon():
    with httpx.Client(timeout=10) as client:
        yield client


def settings_for(s3_server, **overrides) -> StoreSettings:
    return StoreSettings(endpoint_url=s3_server.endpoint, region=s3_server.region, **overrides)


@pytest.fixture
def store_at(s3_server, admin, closing):
    """``store_at(spec, **settings)``: an S3Store on the admin client, closed after the test."""

    def make(spec: str, **overrides) -> S3Store:
        return closing(S3Store.from_spec(spec, settings_for(s3_server, **overrides), client=admin))

    return make


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- init_bucket and public URLs ----------------------------------------------------


def test_init_bucket_sets_a_prefix_only_policy_and_is_idempotent(s3_server, admin):
    settings = settings_for(s3_server)
    first = init_bucket("s3://voxpipe-init/media/voice", settings, client=admin)
    assert (first.created, first.policy_changed) == (True, True)
    assert first.public_resource == "voxpipe-init/media/voice/*"
    assert "anyone may GET voxpipe-init/media/voice/*" in first.describe()
    again = init_bucket("s3://voxpipe-init/media/voice/", settings, client=admin)
    assert (again.created, again.policy_changed) == (False, False)

    init_bucket("s3://voxpipe-init/other", settings, client=admin)
    policy = json.loads(admin.get_bucket_policy(Bucket="voxpipe-init")["Policy"])
    resources = sorted(s["Resource"] for s in policy["Statement"])
    assert resources == ["arn:aws:s3:::voxpipe-init/media/voice/*", "arn:aws:s3:::voxpipe-init/other/*"]
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow" and statement["Principal"] == "*"
        assert statement["Action"] == "s3:GetObject"


def test_public_url_is_readable_anonymously_and_private_objects_are_not(
    s3_server, public_prefix, anon, make_artifact, store_at
):
    art = make_artifact("mp3")
    data = art.path.read_bytes()
    hosted = store_at(public_prefix).put(art)
    assert hosted.uploaded and hosted.expires_at is None
    assert hosted.key == f"public/{art.path.name}"
    assert hosted.media_url == f"{s3_server.endpoint}/{BUCKET}/public/{art.path.name}"
    assert hosted.report_fields() == {"media_url": hosted.media_url}

    got = anon.get(hosted.media_url)
    assert got.status_code == 200 and got.content == data
    assert got.headers["content-type"] == "audio/mpeg"
    assert got.headers["cache-control"] == CACHE_CONTROL
    head = anon.head(hosted.media_url)
    assert head.status_code == 200 and head.headers["content-length"] == str(len(data))

    private = store_at(f"s3://{BUCKET}/private").put(art)
    assert private.media_url == f"{s3_server.endpoint}/{BUCKET}/private/{art.path.name}"
    assert anon.get(private.media_url).status_code == 403
    assert anon.head(private.media_url).status_code == 403
    # the policy gives reads of objects only: no listing, no writes
    assert anon.get(f"{s3_server.endpoint}/{BUCKET}?list-type=2&prefix=public/").status_code == 403
    assert anon.put(f"{s3_server.endpoint}/{BUCKET}/public/evil.mp3", content=b"x").status_code == 403
    assert art.path.read_bytes() == data  # nothing local is touched


def test_content_type_per_format_and_cache_control(admin, public_prefix, make_artifact, store_at):
    store = store_at(public_prefix)
    for ext, mime in (("ogg", "audio/ogg; codecs=opus"), ("wav", "audio/wav")):
        hosted = store.put(make_artifact(ext, seconds=0.3))
        head = admin.head_object(Bucket=BUCKET, Key=hosted.key)
        assert (head["ContentType"], head["CacheControl"]) == (mime, CACHE_CONTROL)


def test_range_requests_give_206_with_the_right_bytes(public_prefix, anon, make_artifact, store_at):
    art = make_artifact("wav")
    data = art.path.read_bytes()
    url = store_at(public_prefix).put(art).media_url
    r = anon.get(url, headers={"Range": "bytes=0-99"})
    assert (r.status_code, r.content) == (206, data[:100])
    assert r.headers["content-range"] == f"bytes 0-99/{len(data)}"
    r = anon.get(url, headers={"Range": "bytes=-10"})
    assert (r.status_code, r.content) == (206, data[-10:])
    r = anon.get(url, headers={"Range": "bytes=100-"})
    assert (r.status_code, r.content) == (206, data[100:])


def test_second_put_of_the_same_artifact_is_skipped(admin, public_prefix, make_artifact, store_at):
    art = make_artifact("mp3")
    store = store_at(public_prefix)
    assert not store.exists(art)
    assert store.put(art).uploaded is True
    assert store.exists(art)
    again = store.put(art)
    assert again.uploaded is False
    assert again.media_url.endswith(art.path.name)
    assert admin.head_object(Bucket=BUCKET, Key=again.key)["Metadata"]["sha256"] == art.sha256
    # a different size under the same key is not "already there", and it is not overwritten either:
    # its URL was served as immutable, so it is kept and the put says so
    admin.put_object(Bucket=BUCKET, Key=again.key, Body=b"truncated")
    assert not store.exists(art)
    kept = store.put(art)
    assert kept.uploaded is False and kept.media_url == again.media_url
    assert "already holds other bytes (9 bytes stored" in kept.warning and "kept the stored object" in kept.warning
    assert admin.get_object(Bucket=BUCKET, Key=again.key)["Body"].read() == b"truncated"


def test_big_files_go_multipart(admin, public_prefix, anon, make_artifact, store_at):
    art = make_artifact("wav", seconds=200)  # 16 kHz 16-bit mono: about 6.1 MiB
    assert art.path.stat().st_size > 6 * _MIB
    store = store_at(public_prefix, multipart_threshold=1 * _MIB, multipart_chunksize=5 * _MIB)
    hosted = store.put(art)
    head = admin.head_object(Bucket=BUCKET, Key=hosted.key)
    assert head["ETag"].strip('"').endswith("-2")  # two parts: 5 MiB + the rest
    assert (head["ContentType"], head["CacheControl"]) == ("audio/wav", CACHE_CONTROL)
    got = anon.get(hosted.media_url)
    assert hashlib.sha256(got.content).hexdigest() == art.sha256
    # below the threshold: a single PUT (plain MD5 ETag)
    small = store.put(make_artifact("mp3"))
    assert "-" not in admin.head_object(Bucket=BUCKET, Key=small.key)["ETag"]


# -- presigned URLs -------------------------------------------------------------------


def test_presigned_get_works_and_tampering_is_refused(anon, make_artifact, store_at):
    art = make_artifact("ogg")
    store = store_at(f"s3://{BUCKET}/signed", url_mode="presigned", expires_s=600)
    before = datetime.now(UTC)
    hosted = store.put(art)
    after = datetime.now(UTC)
    assert hosted.expires_at is not None
    assert before + timedelta(seconds=599) <= hosted.expires_at <= after + timedelta(seconds=600)
    assert hosted.report_fields()["expires_at"].endswith("Z")
    query = dict(parse_qsl(urlsplit(hosted.media_url).query))
    assert query["X-Amz-Expires"] == "600"

    r = anon.get(hosted.media_url)
    assert r.status_code == 200 and r.content == art.path.read_bytes()
    assert r.headers["content-type"] == "audio/ogg; codecs=opus"
    r = anon.get(hosted.media_url, headers={"Range": "bytes=0-9"})
    assert (r.status_code, r.content) == (206, art.path.read_bytes()[:10])

    parts = urlsplit(hosted.media_url)
    sig = query["X-Amz-Signature"]
    tampered = dict(query, **{"X-Amz-Signature": ("0" if sig[0] != "0" else "1") + sig[1:]})
    assert anon.get(urlunsplit(parts._replace(query=urlencode(tampered)))).status_code == 403
    longer = dict(query, **{"X-Amz-Expires": "604800"})
    assert anon.get(urlunsplit(parts._replace(query=urlencode(longer)))).status_code == 403
    assert anon.get(urlunsplit(parts._replace(query=""))).status_code == 403


def test_expired_presigned_url_is_refused(anon, make_artifact, store_at):
    store = store_at(f"s3://{BUCKET}/signed", url_mode="presigned", expires_s=1)
    hosted = store.put(make_artifact("mp3"))
    time.sleep(2.2)
    assert anon.get(hosted.media_url).status_code == 403
    assert anon.get(store.url_for(hosted.key).media_url).status_code == 200  # a fresh one works


@pytest.mark.parametrize("expires", [MAX_PRESIGN_S + 1, 30 * 24 * 3600, 0, -5])
def test_presign_expiry_outside_1s_to_7_days_is_refused(expires, store_at):
    with pytest.raises(
        StoreError,
        match=r"^s3://voxpipe-test/signed: presigned URL expiry must be between 1 and 604800 seconds \(7 days\)",
    ):
        store_at(f"s3://{BUCKET}/signed", url_mode="presigned", expires_s=expires)


def test_seven_days_exactly_is_accepted(store_at):
    store = store_at(f"s3://{BUCKET}/signed", url_mode="presigned", expires_s=MAX_PRESIGN_S)
    assert "X-Amz-Expires=604800" in store.url_for("signed/x.mp3").media_url


def test_presigned_urls_are_not_logged(make_artifact, caplog, store_at):
    store = store_at(f"s3://{BUCKET}/signed", url_mode="presigned", verify_url=True)
    with caplog.at_level(logging.DEBUG, logger="pipeline"):
        hosted = store.put(make_artifact("mp3"))
    signature = dict(parse_qsl(urlsplit(hosted.media_url).query))["X-Amz-Signature"]
    assert not any(signature in r.getMessage() or "X-Amz-" in r.getMessage() for r in caplog.records)


# -- errors ---------------------------------------------------------------------------


def test_missing_bucket(admin, make_artifact, store_at):
    store = store_at("s3://no-such-bucket/voice")
    with pytest.raises(StoreError) as info:
        store.put(make_artifact("mp3"))
    assert str(info.value) == (
        "s3://no-such-bucket/voice: cannot use the bucket: bucket 'no-such-bucket' does not exist "
        "(create it with `voxpipe storage init s3://no-such-bucket/voice`)"
    )
    assert not any(b["Name"] == "no-such-bucket" for b in admin.list_buckets()["Buckets"])


@pytest.mark.parametrize(
    ("creds", "reason"),
    [
        ({"access_key": "AKIANOTKNOWN0000"}, "wrong credentials: the server does not know this access key id"),
        ({"secret_key": "not-the-secret"}, "wrong credentials: the secret key does not match the access key id"),
    ],
)
def test_wrong_credentials(s3_server, public_prefix, make_artifact, creds, reason, closing):
    art = make_artifact("mp3")
    client = closing(s3_server.client(**creds))
    store = closing(S3Store.from_spec(public_prefix, settings_for(s3_server), client=client))
    with pytest.raises(StoreError) as info:
        store.put(art)
    message = str(info.value)
    assert message == f"s3://{BUCKET}/public: cannot check public/{art.path.name}: {reason}"
    assert s3_server.secret_key not in message and "not-the-secret" not in message


def test_unreachable_endpoint(monkeypatch, s3_server, make_artifact, closing):
    for key, value in s3_server.env().items():
        monkeypatch.setenv(key, value)
    port = closed_port()
    store = closing(
        open_store(
            f"s3://{BUCKET}/public", StoreSettings(endpoint_url=f"http://127.0.0.1:{port}", max_attempts=1, timeout_s=2)
        )
    )
    started = time.monotonic()
    with pytest.raises(StoreError) as info:
        store.put(make_artifact("mp3"))
    assert str(info.value) == (
        f"s3://{BUCKET}/public: cannot use the bucket: cannot reach the endpoint http://127.0.0.1:{port} "
        "(is the service running, and is --endpoint-url right?)"
    )
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(("prefix", "step"), [("private", "check"), ("public", "upload")])
def test_access_denied_for_an_anonymous_writer(s3_server, public_prefix, make_artifact, prefix, step, closing):
    # SeaweedFS cannot easily give an identity without rights; an unsigned client is a real denial.
    art = make_artifact("mp3")
    client = closing(s3_server.client(unsigned=True))
    store = closing(S3Store.from_spec(f"s3://{BUCKET}/{prefix}", settings_for(s3_server), client=client))
    with pytest.raises(StoreError) as info:
        store.put(art)
    assert str(info.value) == (
        f"s3://{BUCKET}/{prefix}: cannot {step} {prefix}/{art.path.name}: access denied "
        f"(the credentials need s3:GetObject and s3:PutObject on {BUCKET}/{prefix}/*)"
    )


def test_no_credentials(monkeypatch, tmp_path, s3_server, make_artifact, closing):
    for key in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    store = closing(open_store(f"s3://{BUCKET}/public", settings_for(s3_server)))
    with pytest.raises(StoreError) as info:
        store.put(make_artifact("mp3"))
    assert str(info.value) == (
        f"s3://{BUCKET}/public: cannot use the bucket: no AWS credentials found "
        "(set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)"
    )


def test_credentials_from_the_standard_chain(monkeypatch, s3_server, public_prefix, anon, make_artifact):
    for key, value in s3_server.env().items():
        monkeypatch.setenv(key, value)
    art = make_artifact("mp3")
    with open_store(public_prefix, settings_for(s3_server, workers=3, verify_url=True)) as store:
        assert isinstance(store, S3Store) and store.workers == 3
        assert anon.get(store.put(art).media_url).content == art.path.read_bytes()


# -- verify_url -----------------------------------------------------------------------


def test_verify_url_passes_for_public_and_presigned(public_prefix, make_artifact, store_at):
    assert store_at(public_prefix, verify_url=True).put(make_artifact("ogg")).uploaded
    # HEAD on a GET-signed URL is refused, so this goes through the ranged-GET fallback
    assert store_at(f"s3://{BUCKET}/signed", url_mode="presigned", verify_url=True).put(make_artifact("mp3")).uploaded


def test_verify_url_catches_a_wrong_url(s3_server, tmp_path, public_prefix, make_artifact, store_at):
    art = make_artifact("mp3")
    # public URLs for a prefix that no policy opens: anonymous reads get 403
    with pytest.raises(StoreError) as info:
        store_at(f"s3://{BUCKET}/private", verify_url=True).put(art)
    assert str(info.value) == (
        f"s3://{BUCKET}/private: private/{art.path.name}: media URL check failed: anonymous ranged GET of "
        f"{s3_server.endpoint}/{BUCKET}/private/{art.path.name} answered HTTP 403, not 200/206"
    )
    # a base URL that points at the wrong bucket, or at a server without the file
    with pytest.raises(
        StoreError, match=r"media URL check failed: anonymous ranged GET of .*/wrong/public/.* answered HTTP 403"
    ):
        store_at(public_prefix, verify_url=True, base_url=f"{s3_server.endpoint}/wrong").put(art)
    with AppServer(create_app(tmp_path)) as elsewhere:
        with pytest.raises(
            StoreError, match=r"media URL check failed: anonymous HEAD of .*/public/.* answered HTTP 404"
        ):
            store_at(public_prefix, verify_url=True, base_url=elsewhere.url).put(art)
    # nobody listening at all
    with pytest.raises(
        StoreError,
        match=r"media URL check failed: cannot fetch http://127\.0\.0\.1:\d+/public/.* anonymously: ConnectError",
    ):
        store_at(public_prefix, verify_url=True, base_url=f"http://127.0.0.1:{closed_port()}").put(art)
    # the object itself was uploaded; only the URL was wrong
    assert store_at(public_prefix).exists(art)


# -- put_many -------------------------------------------------------------------------


class GatedStore(Store):
    """Delegates to a real store; the first ``parties`` puts wait for each other.

    With fewer than ``parties`` puts running at once, the barrier times out
    and those puts fail: the batch only succeeds when it really runs in parallel.
    """

    def __init__(self, inner: S3Store, parties: int) -> None:
        self.inner, self.name, self.prefix = inner, inner.name, inner.prefix
        self.barrier = threading.Barrier(parties, timeout=10)
        self.calls = 0
        self.lock = threading.Lock()

    def _stored(self, key):
        return self.inner._stored(key)

    def _write(self, artifact, key, size):
        self.inner._write(artifact, key, size)

    def url_for(self, key):
        return self.inner.url_for(key)

    def put(self, artifact):
        with self.lock:
            self.calls += 1
            gated = self.calls <= self.barrier.parties
        if gated:
            self.barrier.wait()
        return self.inner.put(artifact)


def test_put_many_runs_concurrently_and_one_failure_does_not_stop_the_rest(
    admin, public_prefix, make_artifact, store_at
):
    good = [make_artifact("mp3", seconds=0.2) for _ in range(7)]
    bad = make_artifact("mp3", seconds=0.2)
    bad.path.unlink()
    items = [good[0], bad, *good[1:]]
    store = GatedStore(store_at(public_prefix), parties=4)

    results = list(put_many(store, items, workers=4))

    assert len(results) == len(items)
    by_name = {a.path.name: r for a, r in results}
    assert isinstance(by_name[bad.path.name], StoreError)
    assert "cannot read the artifact" in str(by_name[bad.path.name])
    for art in good:
        hosted = by_name[art.path.name]
        assert isinstance(hosted, Hosted) and hosted.uploaded, hosted
        assert art.path.exists()
        assert admin.head_object(Bucket=BUCKET, Key=hosted.key)["ContentLength"] == art.bytes


def test_put_many_sequential_and_idempotent(public_prefix, make_artifact, store_at):
    arts = [make_artifact("mp3", seconds=0.2) for _ in range(3)]
    store = store_at(f"s3://{BUCKET}/public/batch")
    first = list(put_many(store, arts, workers=1))
    assert [a for a, _ in first] == arts  # one worker: input order
    assert all(isinstance(r, Hosted) and r.uploaded for _, r in first)
    assert all(isinstance(r, Hosted) and not r.uploaded for _, r in put_many(store, arts))


# -- specs and URLs without a server ----------------------------------------------------


def test_spec_parsing():
    assert parse_s3_spec("s3://bucket") == ("bucket", "")
    assert parse_s3_spec("s3://bucket//a//b/") == ("bucket", "a/b")
    for bad in ("s3://b", "s3://bucket/../x", "s3://bucket/a/*", "s3://Bad Name/x", "s3:///x"):
        with pytest.raises(StoreError):
            parse_s3_spec(bad)


def _stubbed_aws_client(region: str, bucket: str, bucket_region: str):
    """A real boto3 client for AWS whose get_bucket_location is answered by botocore's Stubber (no network)."""
    import boto3
    from botocore.stub import Stubber

    client = boto3.client("s3", region_name=region, aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret")
    stub = Stubber(client)
    stub.add_response("get_bucket_location", {"LocationConstraint": bucket_region}, {"Bucket": bucket})
    stub.activate()
    return client


@pytest.mark.parametrize(
    ("spec", "bucket_region", "url"),
    [
        ("s3://media/voice", "eu-west-1", "https://media.s3.eu-west-1.amazonaws.com/voice/a%20b.mp3"),
        ("s3://media/voice", "", "https://media.s3.us-east-1.amazonaws.com/voice/a%20b.mp3"),  # us-east-1 says nothing
        ("s3://media.example.com/voice", "EU", "https://s3.eu-west-1.amazonaws.com/media.example.com/voice/a%20b.mp3"),
    ],
)
def test_public_url_uses_the_buckets_own_region(closing, spec, bucket_region, url):
    """A client in another region (us-east-1 here) would give a URL that answers with a redirect."""
    bucket = spec[5:].split("/")[0]
    store = closing(
        S3Store.from_spec(spec, StoreSettings(), client=_stubbed_aws_client("us-east-1", bucket, bucket_region))
    )
    assert store.url_for("voice/a b.mp3").media_url == url


def test_an_unset_region_is_left_to_the_aws_chain(monkeypatch):
    from voxpipe.pipeline.store.s3 import make_client

    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    assert StoreSettings().region is None
    assert make_client(StoreSettings()).meta.region_name == "eu-west-1"
    assert make_client(StoreSettings(region="ap-south-1")).meta.region_name == "ap-south-1"


def test_a_base_url_replaces_the_bucket_address(closing):
    cdn = closing(S3Store.from_spec("s3://media/voice", StoreSettings(base_url="https://cdn.example.org/")))
    assert cdn.url_for("voice/x.mp3").media_url == "https://cdn.example.org/voice/x.mp3"
