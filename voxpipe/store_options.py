"""The hosting options shared by ``prepare`` and ``send`` (defaults from StoreSettings)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from voxpipe.pipeline.store import StoreSettings

from .params import Url

_D = StoreSettings()


def store_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--store", help="Host files here: a directory (served by `voxpipe serve`) or s3://bucket/prefix."),
        click.option("--base-url", type=Url(), help="Public base URL of a directory store (behind a proxy or tunnel)."),
        click.option(
            "--url-mode",
            type=click.Choice(["public", "presigned"]),
            default=_D.url_mode,
            show_default=True,
            help="s3: public object URL (bucket policy) or presigned GET URL.",
        ),
        click.option(
            "--expires",
            "expires_s",
            type=int,
            help=f"s3 presigned: seconds the URL stays valid (at most 7 days) [default: {_D.expires_s}].",
        ),
        click.option(
            "--endpoint-url", type=Url(), help="s3: endpoint of an S3-compatible service (MinIO, SeaweedFS, R2 ...)."
        ),
        click.option("--region", default=_D.region, show_default=True, help="s3: region."),
        click.option("--verify-url", is_flag=True, help="After upload, fetch each media URL anonymously and check it."),
        click.option(
            "--upload-workers",
            type=click.IntRange(1, 64),
            default=_D.workers,
            show_default=True,
            help="Concurrent uploads.",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def store_settings(
    store: str | None,
    base_url: str | None,
    url_mode: str,
    expires_s: int | None,
    endpoint_url: str | None,
    region: str,
    verify_url: bool,
    upload_workers: int,
) -> tuple[str, StoreSettings] | None:
    """(spec, settings) for ``open_store``, or None without --store; checked up front."""
    presigned_s3 = store is not None and url_mode == "presigned" and store.lower().startswith("s3://")
    if expires_s is not None and not presigned_s3:  # it would be accepted and mean nothing
        raise click.UsageError(
            "--expires applies only to presigned URLs: --store s3://bucket/prefix --url-mode presigned"
        )
    if store is None:
        for flag, value in (("--base-url", base_url), ("--endpoint-url", endpoint_url)):
            if value:
                raise click.UsageError(f"{flag} needs --store")
        return None
    if expires_s is None:
        expires_s = _D.expires_s
    settings = StoreSettings(
        url_mode=url_mode,  # type: ignore[arg-type]
        expires_s=expires_s,
        endpoint_url=endpoint_url,
        base_url=base_url,
        region=region,
        verify_url=verify_url,
        workers=upload_workers,
    )
    if presigned_s3:
        from voxpipe.pipeline.errors import StoreError
        from voxpipe.pipeline.store import MAX_PRESIGN_S

        if (
            not 0 < expires_s <= MAX_PRESIGN_S
        ):  # named by its flag here; S3Store checks it again for callers of the library
            raise StoreError(f"{store}: --expires {expires_s} s: presigned URLs last 1 s to 7 days ({MAX_PRESIGN_S} s)")
    return store, settings
