"""The hosting options shared by ``prepare`` and ``send``, merged over the configuration.

Flags here default to nothing: an unset flag leaves the configuration file's
or the environment's value (``[store]`` in ``voxpipe.toml``), and the
library's default after that (:class:`~voxpipe.pipeline.store.StoreSettings`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import click

from voxpipe.config import Config
from voxpipe.pipeline.errors import StoreError
from voxpipe.pipeline.store import MAX_PRESIGN_S, Store, StoreSettings, open_store

from .params import Url

__all__ = ["STORE_FLAGS", "configured_store", "store_flags", "store_options"]

_D = StoreSettings()
STORE_FLAGS = (
    "store",
    "base_url",
    "url_mode",
    "expires_s",
    "sensitive_expires_s",
    "endpoint_url",
    "region",
    "verify_url",
    "upload_workers",
)
"""The keyword arguments :func:`store_options` adds to a command."""


def store_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--store", help="Host files here: a directory (served by `voxpipe serve`) or s3://bucket/prefix."),
        click.option("--base-url", type=Url(), help="Public base URL of a directory store (behind a proxy or tunnel)."),
        click.option(
            "--url-mode",
            type=click.Choice(["public", "presigned"]),
            help=f"s3: public object URL (bucket policy) or presigned GET URL [default: {_D.url_mode}].",
        ),
        click.option(
            "--expires",
            "expires_s",
            type=int,
            help=f"s3 presigned: seconds the URL stays valid (at most 7 days) [default: {_D.expires_s}].",
        ),
        click.option(
            "--sensitive-expires",
            "sensitive_expires_s",
            type=click.IntRange(1, MAX_PRESIGN_S),
            help="Seconds the URL of a sensitive message's file stays valid, local or s3 "
            f"[default: {_D.sensitive_expires_s}].",
        ),
        click.option(
            "--endpoint-url", type=Url(), help="s3: endpoint of an S3-compatible service (MinIO, SeaweedFS, R2 ...)."
        ),
        click.option("--region", help="s3: region [default: the AWS chain: AWS_REGION, the profile]."),
        click.option(
            "--verify-url",
            is_flag=True,
            default=None,
            help="After upload, fetch each media URL anonymously and check it.",
        ),
        click.option(
            "--upload-workers", type=click.IntRange(1, 64), help=f"Concurrent uploads [default: {_D.workers}]."
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def store_flags(args: dict[str, Any]) -> dict[str, Any]:
    """The store flags among a command's keyword arguments (removed from it), as configuration keys."""
    given = {name: args.pop(name) for name in STORE_FLAGS}
    return {
        "store.location": given["store"],
        "store.base_url": given["base_url"],
        "store.url_mode": given["url_mode"],
        "store.expires": given["expires_s"],
        "store.sensitive_expires": given["sensitive_expires_s"],
        "store.endpoint_url": given["endpoint_url"],
        "store.region": given["region"],
        "store.verify_url": given["verify_url"],
        "store.upload_workers": given["upload_workers"],
    }


@contextlib.contextmanager
def configured_store(config: Config) -> Iterator[Store | None]:
    """The configured store, opened (a bad location fails here, before any work), or None."""
    location = config.get("store.location")
    presigned_s3 = (
        location is not None and config.get("store.url_mode") == "presigned" and location.lower().startswith("s3://")
    )
    expires = config.values.get("store.expires")
    if expires is not None and expires.source == "flag" and not presigned_s3:  # it would be accepted and mean nothing
        raise click.UsageError(
            "--expires applies only to presigned URLs: --store s3://bucket/prefix --url-mode presigned"
        )
    if presigned_s3 and expires is not None and not 0 < expires.value <= MAX_PRESIGN_S:
        raise StoreError(
            f"{location}: --expires {expires.value} s: presigned URLs last 1 s to 7 days ({MAX_PRESIGN_S} s)"
        )
    if location is None:
        for flag, key in (("--base-url", "store.base_url"), ("--endpoint-url", "store.endpoint_url")):
            if config.get(key):
                raise click.UsageError(f"{flag} needs --store")
        yield None
        return
    with open_store(location, config.store_settings()) as store:
        yield store
