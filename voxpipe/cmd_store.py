"""``voxpipe serve`` and ``voxpipe storage init``."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from pipeline.store import DEFAULT_HOST, DEFAULT_PORT, MediaServer, StoreSettings


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to listen on (0.0.0.0 for every interface).")
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True)
@click.option("--base-url", help="Public address of this server (behind a proxy or tunnel), for printed URLs.")
def serve(directory: Path, host: str, port: int, base_url: str | None) -> None:
    """Serve a directory of prepared files over HTTP (GET, HEAD, ranges)."""
    if not directory.is_dir():
        raise click.UsageError(f"{directory}: no such directory")
    server = MediaServer(directory, host, port, routes=extra_routes())
    server.bind()
    logging.getLogger("pipeline.store.server").setLevel(logging.INFO)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, format="%(message)s")
    click.echo(f"serving {directory} at {server.url}" + (f" (public: {base_url})" if base_url else ""), err=True)
    server.serve_forever()


def extra_routes() -> list:  # replaced when the callback receiver is mounted
    return []


@click.group()
def storage() -> None:
    """Set up S3-compatible storage."""


@storage.command("init")
@click.argument("spec")
@click.option("--endpoint-url", help="Endpoint of an S3-compatible service.")
@click.option("--region", default=StoreSettings().region, show_default=True)
def storage_init(spec: str, endpoint_url: str | None, region: str) -> None:
    """Create the bucket of SPEC (s3://bucket/prefix) and let anyone read objects under the prefix.

    Uses a bucket policy allowing s3:GetObject on bucket/prefix/* only (no
    listing, no writes, no per-object ACLs), so public media URLs work.
    """
    from pipeline.store import init_bucket

    click.echo(init_bucket(spec, StoreSettings(endpoint_url=endpoint_url, region=region)).describe())
