"""S3 and S3-compatible storage (AWS, SeaweedFS, MinIO, R2, Backblaze) over boto3.

Objects are written under ``prefix/NAME`` with the artifact's Content-Type,
the immutable Cache-Control and the file's sha256 as ``x-amz-meta-sha256``.
An object already under the key is compared by that sha256 (from HEAD), or
by a plain MD5 ETag from the batch listing, and is never overwritten (see
:mod:`voxpipe.pipeline.store.base`); an object without the metadata and with a
multipart ETag is judged by size alone. Files from ``multipart_threshold``
up go multipart.
Credentials come from the standard AWS chain (environment, profile, role);
they never appear in a message or a log line, and neither do presigned URLs.

URL modes:

* ``public``: ``{endpoint}/{bucket}/{key}`` (path style), readable because a
  bucket policy lets anyone ``s3:GetObject`` under the prefix; set that up
  with :func:`init_bucket`. Per-object ACLs are never used.
* ``presigned``: a GET URL signed for ``expires_s`` seconds (at most 7 days,
  the longest S3 accepts).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit, urlunsplit

import boto3
from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)

from ..artifact import sha256_file
from ..errors import StoreError
from ..redaction import redact_text
from .base import CACHE_CONTROL, MAX_PRESIGN_S, Hosted, Store, StoredObject, StoreSettings
from .private import PRIVATE_PREFIX, is_private
from .verify import UrlChecker

if TYPE_CHECKING:
    from ..artifact import Artifact

__all__ = [
    "BucketSetup",
    "S3Store",
    "describe_s3_error",
    "init_bucket",
    "make_client",
    "parse_s3_spec",
]

_LOG = logging.getLogger(__name__)

#: The longest lifetime S3 accepts for a SigV4 presigned URL (7 days).

# Parts of one multipart upload sent at once; the connection pool is sized for all workers' parts.
_PART_CONCURRENCY = 4
_BUCKET_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,61}[A-Za-z0-9]")
_S3_ERRORS = (ClientError, BotoCoreError, Boto3Error)
_PLAIN_ETAG = re.compile(r"[0-9a-f]{32}")
#: User metadata key holding the object's sha256 (sent as x-amz-meta-sha256).
SHA256_META = "sha256"


def _stored_object(size: int, etag: str | None, metadata: dict[str, str] | None) -> StoredObject:
    md5 = (etag or "").strip('"').lower()
    sha = (metadata or {}).get(SHA256_META)
    return StoredObject(size, sha.lower() if sha else None, md5 if _PLAIN_ETAG.fullmatch(md5) else None)


def parse_s3_spec(spec: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix/`` → ``("bucket", "some/prefix")``."""
    if not spec.lower().startswith("s3://"):
        raise StoreError(f"{spec}: not an s3://bucket/prefix location")
    bucket, _, prefix = spec[5:].partition("/")
    prefix = "/".join(part for part in prefix.split("/") if part)
    if not _BUCKET_RE.fullmatch(bucket):
        raise StoreError(f"{spec}: {bucket!r} is not a valid bucket name (3-63 letters, digits, '.', '-')")
    parts = prefix.split("/") if prefix else []
    if any(part in (".", "..") for part in parts) or any(ch in prefix for ch in "*?\\\0"):
        raise StoreError(f"{spec}: the prefix may not contain '.', '..', '*', '?', '\\' or NUL")
    return bucket, prefix


def make_client(settings: StoreSettings) -> Any:
    """A thread-safe boto3 S3 client for ``settings`` (path-style, SigV4).

    With no region set, ``AWS_REGION`` (the AWS SDKs' variable, which boto3
    itself does not read) and then boto3's own chain (``AWS_DEFAULT_REGION``,
    the profile) decide.
    """
    region = settings.region or os.environ.get("AWS_REGION") or None
    config = Config(
        s3={"addressing_style": "path"},
        signature_version="s3v4",
        region_name=region,
        max_pool_connections=max(10, settings.workers * _PART_CONCURRENCY),
        connect_timeout=settings.timeout_s,
        read_timeout=max(60.0, settings.timeout_s),
        retries={"max_attempts": settings.max_attempts, "mode": "standard"},
    )
    session = boto3.session.Session()
    return session.client("s3", region_name=region, endpoint_url=settings.endpoint_url, config=config)


def _clean_endpoint(url: str) -> str:
    """The endpoint without user info, query or trailing slash."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


class S3Store(Store):
    """An S3 bucket and prefix; ``client`` and ``http`` can be injected."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        settings: StoreSettings | None = None,
        *,
        client: Any = None,
    ) -> None:
        self.settings = settings or StoreSettings()
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.name = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        self.workers = self.settings.workers
        self.verify_url = self.settings.verify_url
        if self.settings.url_mode == "presigned":
            _check_expires(self.settings.expires_s, self.name)
        own_client = client is None
        if client is None:
            try:
                client = make_client(self.settings)
            except (BotoCoreError, ValueError) as exc:
                raise StoreError(f"{self.name}: cannot set up the S3 client: {exc}") from exc
        self.client = client
        self._own_client = own_client
        self.endpoint = _clean_endpoint(self.settings.endpoint_url or client.meta.endpoint_url)
        self._public_base: str | None = self.settings.base_url.rstrip("/") if self.settings.base_url else None
        self._region: str | None = None
        self.transfer = TransferConfig(
            multipart_threshold=self.settings.multipart_threshold,
            multipart_chunksize=self.settings.multipart_chunksize,
            max_concurrency=_PART_CONCURRENCY,
            preferred_transfer_client="classic",
        )
        self._checker = UrlChecker(self.settings.timeout_s)
        self._lock = threading.Lock()
        self._bucket_ok = False
        self._known: dict[str, StoredObject] | None = None  # from prefetch()

    def close(self) -> None:
        super().close()
        if self._own_client:
            self.client.close()

    @classmethod
    def from_spec(cls, spec: str, settings: StoreSettings | None = None, *, client: Any = None) -> S3Store:
        bucket, prefix = parse_s3_spec(spec)
        return cls(bucket, prefix, settings, client=client)

    # -- the Store interface -------------------------------------------------
    def _stored(self, key: str) -> StoredObject | None:
        self._check_bucket()
        if self._known is not None and not key.startswith(PRIVATE_PREFIX):  # the listing covers the prefix only
            known = self._known.get(key)
            if known is None or known.md5 is not None:
                return known
            # Listed with a multipart ETag: only HEAD carries the sha256 metadata.
        return self._remote(key)

    def _write(self, artifact: Artifact, key: str, size: int) -> None:
        self._upload(Path(artifact.path), key, artifact.mime, size)

    @property
    def public_base(self) -> str:
        """Where public objects are read: a given base URL, the endpoint (S3-compatible services), or
        on AWS the bucket's own regional address, so a provider is not answered with a redirect."""
        if self._public_base is None:
            if self.settings.endpoint_url:
                self._public_base = f"{self.endpoint}/{quote(self.bucket)}"
            else:
                region = self.bucket_region()
                self._public_base = (
                    f"https://s3.{region}.amazonaws.com/{quote(self.bucket)}"
                    if "." in self.bucket  # a dotted name breaks the TLS name of the virtual-hosted address
                    else f"https://{self.bucket}.s3.{region}.amazonaws.com"
                )
        return self._public_base

    def bucket_region(self) -> str:
        """The bucket's real region (asked once); the client's own when the question is not allowed.

        On AWS, a client in another region gets redirects for public URLs and
        broken signatures for presigned ones, so an own client is moved there.
        """
        if self._region is None:
            try:
                where = self.client.get_bucket_location(Bucket=self.bucket).get("LocationConstraint")
                region = {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(where, where)
            except _S3_ERRORS as exc:
                region = self.client.meta.region_name or "us-east-1"
                _LOG.debug("%s: region of the bucket not known (%s); using %s", self.name, type(exc).__name__, region)
            if self._own_client and not self.settings.endpoint_url and region != self.client.meta.region_name:
                self.client.close()
                self.client = make_client(replace(self.settings, region=region))
            self._region = str(region)
        return self._region

    def key_of(self, name: str) -> str:
        # Outside the prefix a public bucket policy opens: only presigned URLs reach these.
        return PRIVATE_PREFIX + super().key_of(name) if is_private(name) else super().key_of(name)

    def url_for(self, key: str) -> Hosted:
        private = is_private(key)
        if self.settings.url_mode == "public" and not private:
            return Hosted(f"{self.public_base}/{quote(key, safe='/~')}", None, False, key)
        if not self.settings.endpoint_url:
            self.bucket_region()  # sign with the bucket's region
        # Floor to the second before signing: the URL is valid at least until expires_at.
        lifetime = self.settings.sensitive_expires_s if private else self.settings.expires_s
        expires_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=lifetime)
        try:
            url = self.client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": key},
                ExpiresIn=lifetime,
            )
        except _S3_ERRORS as exc:
            raise self._error(f"cannot presign {key}", exc) from exc
        return Hosted(url, expires_at, False, key)

    def _check_bucket(self) -> None:
        """Once per store: a missing bucket is reported as such, not as a failed put.

        Some servers (SeaweedFS) create a bucket on the first put, and a HEAD
        gives no error body, so this asks before writing. A 403 is not
        conclusive here (HeadBucket needs s3:ListBucket); the object calls
        that follow report the precise reason.
        """
        if self._bucket_ok:
            return
        with self._lock:
            if self._bucket_ok:
                return
            try:
                self.client.head_bucket(Bucket=self.bucket)
            except ClientError as exc:
                if _status(exc) not in (403,):
                    raise self._error("cannot use the bucket", exc) from exc
            except _S3_ERRORS as exc:
                raise self._error("cannot use the bucket", exc) from exc
            self._bucket_ok = True

    def end_batch(self) -> None:
        self._known = None

    def prefetch(self, count: int) -> None:
        """List the prefix once so a batch needs no HEAD per artifact.

        Gives up (and each put asks with HEAD as usual) when listing is not
        allowed, or when the prefix holds many more objects than the batch:
        a few pages are cheap, a whole archive is not.
        """
        self._check_bucket()
        max_pages = count // 1000 + 2
        known: dict[str, StoredObject] = {}
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=f"{self.prefix}/" if self.prefix else ""
            )
            for n, page in enumerate(pages):
                if n >= max_pages:
                    return
                known.update(
                    (o["Key"], _stored_object(int(o["Size"]), o.get("ETag"), None)) for o in page.get("Contents", ())
                )
        except _S3_ERRORS as exc:
            _LOG.debug("%s: not listing (%s); checking each object instead", self.name, type(exc).__name__)
            return
        self._known = known

    def _remote(self, key: str) -> StoredObject | None:
        """The stored object's size and digests, or None when there is none."""
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
            return _stored_object(int(head["ContentLength"]), head.get("ETag"), head.get("Metadata"))
        except ClientError as exc:
            if _status(exc) == 404:
                return None
            if _status(exc) != 403:
                raise self._error(f"cannot check {key}", exc) from exc
        except _S3_ERRORS as exc:
            raise self._error(f"cannot check {key}", exc) from exc
        # A HEAD answer has no body, so a 403 does not say why (wrong key id, wrong
        # secret, no permission). A one-byte GET carries the error code.
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=key, Range="bytes=0-0")
        except ClientError as exc:
            code = _code(exc)
            if code in ("NoSuchKey", "404"):
                return None
            if code == "InvalidRange":
                return StoredObject(0)
            raise self._error(f"cannot check {key}", exc) from exc
        except _S3_ERRORS as exc:
            raise self._error(f"cannot check {key}", exc) from exc
        answer["Body"].close()
        match = re.search(r"/(\d+)$", answer.get("ContentRange") or "")
        size = int(match.group(1)) if match else int(answer["ContentLength"])
        return _stored_object(size, None, answer.get("Metadata"))  # a ranged GET's ETag may not be the MD5

    def _upload(self, path: Path, key: str, mime: str, size: int) -> None:
        try:
            extra = {"ContentType": mime, "CacheControl": CACHE_CONTROL, "Metadata": {SHA256_META: sha256_file(path)}}
            if size < self.settings.multipart_threshold:
                # One request and no transfer-manager threads: the common case.
                with open(path, "rb") as body:
                    self.client.put_object(Bucket=self.bucket, Key=key, Body=body, **extra)
            else:
                self.client.upload_file(str(path), self.bucket, key, ExtraArgs=extra, Config=self.transfer)
        except OSError as exc:
            raise StoreError(f"{self.name}: cannot read the artifact {path}: {exc.strerror or exc}") from exc
        except _S3_ERRORS as exc:
            raise self._error(f"cannot upload {key}", exc) from exc
        _LOG.debug("uploaded %s to %s (%d bytes)", key, self.name, size)

    def _error(self, action: str, exc: BaseException, needs: str | None = None) -> StoreError:
        return StoreError(f"{self.name}: {action}: {describe_s3_error(exc, self, needs)}")


def _inner(exc: BaseException) -> BaseException:
    """boto3's S3UploadFailedError hides the ClientError it was raised from."""
    while isinstance(exc, Boto3Error) and (exc.__cause__ or exc.__context__) is not None:
        exc = exc.__cause__ or exc.__context__
    return exc


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _status(exc: ClientError) -> int:
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if isinstance(status, int):
        return status
    code = _code(exc)
    return int(code) if code.isdigit() else 0


def describe_s3_error(exc: BaseException, store: S3Store, needs: str | None = None) -> str:
    """One clear line for a boto3/botocore error; no secrets, no URLs with queries.

    ``needs`` names the permissions the failed call requires, for the access-denied hint.
    """
    exc = _inner(exc)
    if isinstance(exc, NoCredentialsError):
        return "no AWS credentials found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)"
    if isinstance(exc, (PartialCredentialsError, ProfileNotFound)):
        return f"AWS credentials are incomplete: {exc}"
    if isinstance(exc, EndpointConnectionError):
        return f"cannot reach the endpoint {store.endpoint} (is the service running, and is --endpoint-url right?)"
    if isinstance(exc, ConnectTimeoutError):
        return f"timed out connecting to the endpoint {store.endpoint}"
    if isinstance(exc, ReadTimeoutError):
        return f"the endpoint {store.endpoint} did not answer in time"
    if isinstance(exc, ClientError):
        code, status = _code(exc), _status(exc)
        message = str(exc.response.get("Error", {}).get("Message", "")).strip()
        if code == "NoSuchBucket" or (code in ("404", "NotFound") and exc.operation_name == "HeadBucket"):
            return f"bucket {store.bucket!r} does not exist (create it with `voxpipe storage init {store.name}`)"
        if code == "InvalidAccessKeyId":
            return "wrong credentials: the server does not know this access key id"
        if code == "SignatureDoesNotMatch":
            return "wrong credentials: the secret key does not match the access key id"
        if code in ("ExpiredToken", "InvalidToken", "TokenRefreshRequired"):
            return "the AWS session token is invalid or has expired"
        if code == "AccessDenied" or status == 403:
            if "public" in message.lower() and "block" in message.lower():
                return (
                    "access denied: the bucket's Block Public Access settings refuse a public policy "
                    "(allow public bucket policies for this bucket, or use --url-mode presigned)"
                )
            if needs is None:
                where = f"{store.bucket}/{store.prefix}/*" if store.prefix else f"{store.bucket}/*"
                needs = f"s3:GetObject and s3:PutObject on {where}"
            return f"access denied (the credentials need {needs})"
        if code in ("PermanentRedirect", "301") or status == 301:
            return (
                f"bucket {store.bucket!r} is in another region than {store.client.meta.region_name!r}; set the region"
            )
        if code == "InvalidBucketName":
            return f"{store.bucket!r} is not a valid bucket name"
        if code == "RequestTimeTooSkewed":
            return "the local clock is too far off the server's; fix the system time"
        detail = f"{code}: {message}" if message and message != code else code or "error"
        return f"{detail} (HTTP {status})" if status else detail
    return f"{type(exc).__name__}: {redact_text(str(exc))}"


def _check_expires(expires_s: int, name: str) -> None:
    if expires_s <= 0 or expires_s > MAX_PRESIGN_S:
        raise StoreError(
            f"{name}: presigned URL expiry must be between 1 and {MAX_PRESIGN_S} seconds (7 days), "
            f"not {expires_s}; S3 refuses longer-lived presigned URLs"
        )


@dataclass(frozen=True)
class BucketSetup:
    """What :func:`init_bucket` did."""

    bucket: str
    prefix: str
    created: bool
    policy_changed: bool
    public_resource: str
    expire_days: int | None = None
    """Days after which the storage deletes sensitive messages' objects (a lifecycle rule), if set."""

    def describe(self) -> str:
        where = f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"
        bucket = "created bucket" if self.created else "bucket exists"
        policy = "policy set" if self.policy_changed else "policy already in place"
        text = f"{where}: {bucket}; {policy}: anyone may GET {self.public_resource}"
        if self.expire_days is not None:
            text += f"; sensitive objects ({_private_prefix(self.prefix)}) deleted after {self.expire_days} days"
        return text


def _private_prefix(prefix: str) -> str:
    return f"{PRIVATE_PREFIX}{prefix}/" if prefix else PRIVATE_PREFIX


def _expire_private(client: Any, bucket: str, prefix: str, days: int) -> None:
    """One lifecycle rule (its own ID, replaced when run again) expiring the prefix's sensitive objects."""
    rule = {
        "ID": "VoxpipeSensitiveExpiry" + hashlib.sha256(prefix.encode("utf-8")).hexdigest()[:12],
        "Filter": {"Prefix": _private_prefix(prefix)},
        "Status": "Enabled",
        "Expiration": {"Days": days},
    }
    try:
        rules = client.get_bucket_lifecycle_configuration(Bucket=bucket).get("Rules", [])
    except ClientError as exc:
        if _code(exc) != "NoSuchLifecycleConfiguration" and _status(exc) != 404:
            raise
        rules = []
    kept = [r for r in rules if r.get("ID") != rule["ID"]]
    client.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [*kept, rule]})


def _policy_sid(prefix: str) -> str:
    return "VoxpipePublicRead" + hashlib.sha256(prefix.encode("utf-8")).hexdigest()[:12]


def init_bucket(
    spec: str, settings: StoreSettings | None = None, *, client: Any = None, expire_days: int | None = None
) -> BucketSetup:
    """Create the bucket if missing and let anyone GET objects under the prefix.

    The bucket policy gets one statement (its own ``Sid``, replaced when run
    again) allowing anonymous ``s3:GetObject`` on ``arn:aws:s3:::bucket/prefix/*``
    only: no listing, no writes, nothing outside the prefix, no object ACLs.
    Other statements already in the policy are kept. Safe to run twice.
    With ``expire_days`` a lifecycle rule also lets the storage delete the
    prefix's sensitive messages (``private/prefix/``) that many days after
    they were written. Sensitive objects are outside the public prefix only
    when there is one: with a bare bucket the policy opens ``private/`` too.
    """
    store = S3Store.from_spec(spec, settings, client=client)
    c, bucket, prefix = store.client, store.bucket, store.prefix
    created = False
    try:
        try:
            c.head_bucket(Bucket=bucket)
            exists = True
        except ClientError as exc:
            if _status(exc) not in (403, 404):  # 403 is not conclusive: create_bucket says whose it is
                raise
            exists = False
        if not exists:
            kwargs: dict[str, Any] = {}
            region = store.settings.region or c.meta.region_name
            if region and region != "us-east-1":  # us-east-1 takes no location constraint
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
            try:
                c.create_bucket(Bucket=bucket, **kwargs)
                created = True
            except ClientError as exc:
                if _code(exc) == "BucketAlreadyExists":
                    raise StoreError(f"{store.name}: the bucket name {bucket!r} is taken by another account") from exc
                if _code(exc) != "BucketAlreadyOwnedByYou":
                    raise
        resource = f"arn:aws:s3:::{bucket}/{prefix}/*" if prefix else f"arn:aws:s3:::{bucket}/*"
        statement = {
            "Sid": _policy_sid(prefix),
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": resource,
        }
        try:
            policy = json.loads(c.get_bucket_policy(Bucket=bucket)["Policy"])
        except ClientError as exc:
            if _code(exc) != "NoSuchBucketPolicy" and _status(exc) != 404:
                raise
            policy = {"Version": "2012-10-17", "Statement": []}
        statements = policy.get("Statement", [])
        if isinstance(statements, dict):
            statements = [statements]
        changed = statement not in statements
        if changed:
            kept = [s for s in statements if not (isinstance(s, dict) and s.get("Sid") == statement["Sid"])]
            policy = {"Version": policy.get("Version", "2012-10-17"), **policy, "Statement": [*kept, statement]}
            c.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
        if expire_days is not None:
            _expire_private(c, bucket, prefix, expire_days)
    except StoreError:
        raise
    except _S3_ERRORS as exc:
        needs = f"s3:CreateBucket, s3:GetBucketPolicy and s3:PutBucketPolicy on {bucket}"
        if expire_days is not None:
            needs += " (and s3:GetLifecycleConfiguration, s3:PutLifecycleConfiguration)"
        raise store._error("cannot set up public reads", exc, needs) from exc
    finally:
        store.close()
    return BucketSetup(bucket, prefix, created, changed, resource.removeprefix("arn:aws:s3:::"), expire_days)
