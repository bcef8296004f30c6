"""``voxpipe serve`` and ``voxpipe storage init``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import click

from voxpipe.pipeline.store import DEFAULT_HOST, DEFAULT_PORT, MediaServer

from .output import echo_err
from .params import Url, current_config

__all__ = ["hook_receiver", "serve", "storage", "storage_init"]


@click.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--host", default=DEFAULT_HOST, show_default=True, help="Address to listen on (0.0.0.0 for every interface)."
)
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True)
@click.option(
    "--base-url", type=Url(), help="Public address of this server (behind a proxy or tunnel), for printed URLs."
)
@click.option(
    "--journal",
    "journal_file",
    help="Send journal that receives delivery callbacks under /hooks/ (created if missing) [default: $VOXPIPE_JOURNAL or ./voxpipe-journal.db].",
)
def serve(directory: Path, host: str, port: int, base_url: str | None, journal_file: str | None) -> None:
    """Serve a directory of prepared files over HTTP (GET, HEAD, ranges), and
    receive the providers' delivery callbacks into the send journal
    (`voxpipe hooks --public-url URL` prints their URLs)."""
    server = MediaServer(directory, host, port)
    server.bind()  # before the journal: a port in use must not leave a new journal behind
    receiver = hook_receiver(journal_file)
    try:
        server.mount(*receiver.route)
        logging.getLogger("voxpipe.pipeline.store.server").setLevel(logging.INFO)
        echo_err(f"serving {directory} at {server.url}" + (f" (public: {base_url})" if base_url else ""))
        echo_err(f"receiving delivery callbacks into {receiver.path} under /hooks/ (see `voxpipe hooks`)")
        server.serve_forever()
    finally:
        receiver.close()


def hook_receiver(journal_file: str | None) -> Any:
    """The callback receiver mounted next to the media. A journal named with
    --journal or in the configuration is created now; the default one is
    opened once it exists (so serving media alone leaves no journal behind).
    The providers parse callbacks configured as for sending (their keys)."""
    from voxpipe.sender.hooks import HookReceiver
    from voxpipe.sender.journal import Journal
    from voxpipe.sender.providers import registry
    from voxpipe.sender.sending import DEFAULT_JOURNAL

    config = current_config({"journal": journal_file})
    path = Path(config.get("journal", DEFAULT_JOURNAL))
    providers = {name: config.provider(name) for name in registry()}
    return HookReceiver(Journal(path) if "journal" in config.values else path, providers)


@click.group()
def storage() -> None:
    """Set up S3-compatible storage."""


@storage.command("init")
@click.argument("spec")
@click.option("--endpoint-url", type=Url(), help="Endpoint of an S3-compatible service.")
@click.option("--region", help="Region to create the bucket in [default: the AWS chain: AWS_REGION, the profile].")
def storage_init(spec: str, endpoint_url: str | None, region: str | None) -> None:
    """Create the bucket of SPEC (s3://bucket/prefix) and let anyone read objects under the prefix.

    Uses a bucket policy allowing s3:GetObject on bucket/prefix/* only (no
    listing, no writes, no per-object ACLs), so public media URLs work.
    """
    from voxpipe.pipeline.store import init_bucket

    config = current_config({"store.endpoint_url": endpoint_url, "store.region": region})
    click.echo(init_bucket(spec, config.store_settings()).describe())
