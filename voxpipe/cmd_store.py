"""``voxpipe serve`` and ``voxpipe storage init``."""

from __future__ import annotations

import functools
import logging
import logging.config
import os
from pathlib import Path
from typing import Any

import click

from voxpipe.pipeline.store import DEFAULT_HOST, DEFAULT_PORT

from .params import FiniteFloat, Url, current_config

__all__ = ["callback_setup", "serve", "storage", "storage_init", "store_gc", "store_group"]

_LOG = logging.getLogger("voxpipe.serve")
_SECRET_ENV = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


@click.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--host", default=DEFAULT_HOST, show_default=True, help="Address to listen on (0.0.0.0 for every interface)."
)
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True)
@click.option(
    "--base-url",
    type=Url(),
    help="Public address of this server (behind a proxy or tunnel): for printed URLs and for the URL providers sign.",
)
@click.option(
    "--journal",
    "journal_file",
    help="Send journal that receives delivery callbacks under /hooks/ (created if missing) [default: $VOXPIPE_JOURNAL or ./voxpipe-journal.db].",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Server processes sharing the port; each has its own connection to the journal.",
)
@click.option(
    "--proxy-headers/--no-proxy-headers",
    default=False,
    show_default=True,
    help="Behind a reverse proxy: take the client address and scheme from its X-Forwarded-For/-Proto.",
)
@click.option(
    "--forwarded-allow-ips",
    default="127.0.0.1",
    show_default=True,
    help="Comma-separated proxy addresses (or networks, or *) whose X-Forwarded-* headers are trusted.",
)
@click.option("--ssl-certfile", type=click.Path(dir_okay=False), help="Serve HTTPS with this certificate (PEM).")
@click.option("--ssl-keyfile", type=click.Path(dir_okay=False), help="The certificate's private key (PEM).")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Log lines as timestamped text or as one JSON object each.",
)
@click.option(
    "--header-timeout",
    type=FiniteFloat(0, 300, low_open=True),
    default=10.0,
    show_default=True,
    help="Seconds a request's line and headers may take to arrive; slower connections are closed.",
)
@click.option(
    "--shutdown-timeout",
    type=FiniteFloat(0, 3600),
    default=10.0,
    show_default=True,
    help="On SIGTERM: seconds requests in flight get to finish.",
)
def serve(
    directory: Path,
    host: str,
    port: int,
    base_url: str | None,
    journal_file: str | None,
    workers: int,
    proxy_headers: bool,
    forwarded_allow_ips: str,
    ssl_certfile: str | None,
    ssl_keyfile: str | None,
    log_format: str,
    header_timeout: float,
    shutdown_timeout: float,
) -> None:
    """Serve a directory of prepared files over HTTP (GET, HEAD, ranges), and
    receive the providers' delivery callbacks into the send journal
    (`voxpipe hooks --public-url URL` prints their URLs). GET /healthz tells
    a load balancer whether media and journal can be used. SIGTERM stops it
    cleanly: requests in flight finish, callbacks answered are in the journal."""
    from voxpipe.sender.journal_db import parse_location
    from voxpipe.serve import ServerSettings, ServeSettings, create_app
    from voxpipe.serve.logs import log_config
    from voxpipe.serve.run import bind, check_tls, uvicorn_config
    from voxpipe.serve.run import serve as run_server

    server = ServerSettings(
        host=host,
        port=port,
        workers=workers,
        header_timeout_s=header_timeout,
        shutdown_timeout_s=shutdown_timeout,
        proxy_headers=proxy_headers,
        forwarded_allow_ips=forwarded_allow_ips,
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
        log_format="json" if log_format == "json" else "text",
    )
    if ssl_keyfile and not ssl_certfile:
        raise click.UsageError("--ssl-keyfile needs --ssl-certfile too")
    check_tls(ssl_certfile, ssl_keyfile)
    sock = bind(host, port, server.backlog)  # before the journal: a port in use must not leave a new journal behind
    try:
        journal, providers = callback_setup(journal_file)
        secrets = [s for p in providers.values() for s in p.secrets.values()] + [
            os.environ.get(n, "") for n in _SECRET_ENV
        ]
        logs = log_config(server.log_format, logging.getLogger().level, [s for s in secrets if s and s != "***"])
        logging.config.dictConfig(logs)
        shown_host = f"[{host}]" if ":" in host else host
        url = f"{'https' if ssl_certfile else 'http'}://{shown_host}:{sock.getsockname()[1]}"
        _LOG.info("serving %s at %s%s", directory, url, f" (public: {base_url})" if base_url else "")
        shown = parse_location(journal).shown  # a database URL without its password
        _LOG.info("receiving delivery callbacks into %s under /hooks/ (see `voxpipe hooks`)", shown)
        app = functools.partial(create_app, directory, journal, providers, ServeSettings(base_url=base_url))
        run_server(uvicorn_config(app, server, logs), sock)
    finally:
        sock.close()


def callback_setup(journal_file: str | None) -> tuple[Path, dict[str, Any]]:
    """The journal and the providers the callback routes use. A journal named
    with --journal or in the configuration is created now; the default one is
    opened once it exists (so serving media alone leaves no journal behind).
    The providers parse callbacks configured as for sending (their keys)."""
    from voxpipe.sender.journal import Journal
    from voxpipe.sender.providers import registry
    from voxpipe.sender.sending import DEFAULT_JOURNAL

    config = current_config({"journal": journal_file})
    path = Path(config.get("journal", DEFAULT_JOURNAL))
    providers = {name: config.provider(name) for name in registry()}
    if "journal" in config.values:
        Journal(path).close()
    return path, providers


@click.group()
def storage() -> None:
    """Set up S3-compatible storage."""


@storage.command("init")
@click.argument("spec")
@click.option("--endpoint-url", type=Url(), help="Endpoint of an S3-compatible service.")
@click.option("--region", help="Region to create the bucket in [default: the AWS chain: AWS_REGION, the profile].")
@click.option(
    "--expire-days",
    type=click.IntRange(1, 36500),
    help="Let the storage delete sensitive messages' objects (private/PREFIX/) this many days after upload.",
)
def storage_init(spec: str, endpoint_url: str | None, region: str | None, expire_days: int | None) -> None:
    """Create the bucket of SPEC (s3://bucket/prefix) and let anyone read objects under the prefix.

    Uses a bucket policy allowing s3:GetObject on bucket/prefix/* only (no
    listing, no writes, no per-object ACLs), so public media URLs work.
    """
    from voxpipe.pipeline.store import init_bucket

    config = current_config({"store.endpoint_url": endpoint_url, "store.region": region})
    click.echo(init_bucket(spec, config.store_settings(), expire_days=expire_days).describe())


@click.group("store")
def store_group() -> None:
    """Look after a local media folder."""


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class _Age(click.ParamType):
    name = "age"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        text = str(value).strip().lower()
        number, unit = (text[:-1], text[-1]) if text[-1:] in _UNITS else (text, "s")
        try:
            seconds = float(number) * _UNITS[unit]
        except ValueError:
            self.fail(f"{value!r} is not an age like 90s, 30m, 1h or 2d", param, ctx)
        if not 0 <= seconds < float("inf"):
            self.fail(f"{value!r} must be a finite age of 0 or more", param, ctx)
        return seconds


@store_group.command("gc")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--older-than", "older_than", type=_Age(), required=True, help="Age: 90s, 30m, 1h, 2d.")
def store_gc(folder: Path, older_than: float) -> None:
    """Delete sensitive messages' files (and sidecars) in FOLDER older than --older-than.

    Only files named ``…-private.mp3/ogg/wav`` are touched: those of templates
    marked sensitive. Their URLs stop working at their expiry anyway; this
    removes the audio itself.
    """
    from voxpipe.pipeline.store.private import collect_private

    removed = collect_private(folder, older_than)
    click.echo(f"{folder}: deleted {len(removed)} sensitive file{'s' if len(removed) != 1 else ''}")
