"""``voxpipe prepare --cluster`` on real Dask processes.

A ``LocalCluster`` (``--cluster local:2``, two worker processes) writes into
the output folder and the CLI hosts the files in a directory store; a
``dask scheduler`` and two ``dask worker`` processes (``--cluster tcp://...``)
put every file into a real S3 server (SeaweedFS) themselves. Every file's
sha256 must equal a local run's, results come back in input order, a bad
row fails alone, and a worker killed with SIGKILL mid-batch costs nothing
but a retry that the report names.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from distributed import Client

from tests.cli import REPO, voxpipe
from tests.s3server import S3Server
from voxpipe.pipeline.batch import prepare_batch
from voxpipe.pipeline.cluster import ClusterSpec, parse_cluster
from voxpipe.pipeline.cluster.worker import worker_threads
from voxpipe.pipeline.errors import ClusterError
from voxpipe.pipeline.manifest import expand_sources
from voxpipe.pipeline.preparation import PrepareSettings

pytestmark = pytest.mark.timeout(600)

TEXTS = {
    "m1": "Your code is 4 8 3 9.",
    "m2": "The water is off today.",
    "m3": "Your parcel is on its way.",
    "bad": "Hello <foo>there</foo>.",
    "m4": "The clinic opens at nine.",
    "m5": "Please call us back.",
    "m6": "Thank you for waiting.",
}
GOOD = [i for i in TEXTS if i != "bad"]
_START_TIMEOUT_S = 120.0


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cluster") / "batch.csv"
    path.write_text("id,text\n" + "".join(f'{i},"{t}"\n' for i, t in TEXTS.items()), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def local_files(manifest: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    """The same batch prepared on this machine (one process): id -> {file name: sha256 of its bytes}."""
    out = tmp_path_factory.mktemp("local-run")
    report = prepare_batch(expand_sources([manifest]), PrepareSettings(out_dir=out, profiles=("pstn",), jobs=1))
    files = {r.id: {a.path.name: _sha256(a.path.read_bytes()) for a in r.artifacts} for r in report.results if r.ok}
    assert sorted(files) == sorted(GOOD)
    return files


def _check_report(data: dict[str, Any], local_files: dict[str, dict[str, str]]) -> None:
    """In input order; every good item ok with the local run's files; the bad row failed alone."""
    items = data["items"]
    assert [i["id"] for i in items] == list(TEXTS)
    by_id = {i["id"]: i for i in items}
    assert by_id["bad"]["status"] == "error" and "unknown tag <foo>" in by_id["bad"]["error"]
    for item_id in GOOD:
        item = by_id[item_id]
        assert item["status"] == "ok", item
        assert {Path(a["path"]).name: a["sha256"] for a in item["artifacts"]} == local_files[item_id]
        assert all(a["media_url"] for a in item["artifacts"])
    assert data["summary"]["ok"] == len(GOOD) and data["summary"]["error"] == 1


# --------------------------------------------------------------------------- local:N


def test_local_cluster_prepares_the_same_files_as_a_local_run(
    manifest: Path, local_files: dict[str, dict[str, str]], tmp_path: Path
) -> None:
    out, media, report = tmp_path / "out", tmp_path / "media", tmp_path / "report.json"
    args = ("prepare", str(manifest), "-p", "pstn", "--out", str(out), "--store", str(media), "--report", str(report))
    proc = voxpipe(*args, "--cluster", "local:2")
    assert proc.returncode == 1, proc.stderr  # the bad row
    assert "Traceback" not in proc.stderr
    data = json.loads(report.read_text())
    _check_report(data, local_files)
    for item_id in GOOD:  # the directory store holds the very same bytes
        for name, digest in local_files[item_id].items():
            assert _sha256((media / name).read_bytes()) == digest
            assert _sha256((out / name).read_bytes()) == digest
    assert data["summary"]["retried"] == 0

    again = voxpipe(*args, "--cluster", "local:2", "--json")
    assert all(a["reused"] for i in json.loads(again.stdout)["items"] for a in i["artifacts"])


def test_a_template_on_a_local_cluster_shares_one_segment_cache_and_matches_a_local_run(tmp_path: Path) -> None:
    """Workers assemble the rows from the output folder's segment cache (each carrier made once, by one of
    them) and write the very bytes a one-process run writes; sensitive values stay out of the report."""
    template, data = tmp_path / "otp.ssml", tmp_path / "rows.csv"
    template.write_text('Your code is <say-as interpret-as="digits">{code}</say-as>.', encoding="utf-8")
    data.write_text("id,code\na,482913\nb,771204\nbad,12x\nc,482913\n", encoding="utf-8")
    base = ("prepare", "--template", str(template), "--data", str(data), "-p", "pstn", "--not-sensitive", "--json")
    local = voxpipe(*base, "--out", str(tmp_path / "local"), "--jobs", "1")
    spread = voxpipe(*base, "--out", str(tmp_path / "spread"), "--cluster", "local:2")
    assert local.returncode == spread.returncode == 1, spread.stderr  # the bad row
    files = {}
    for proc in (local, spread):
        items = {i["id"]: i for i in json.loads(proc.stdout)["items"]}
        assert list(items) == ["a", "b", "bad", "c"] and items["bad"]["status"] == "error"
        files[proc is spread] = {i: [a["sha256"] for a in items[i]["artifacts"]] for i in ("a", "b", "c")}
    assert files[True] == files[False] and files[True]["a"] == files[True]["c"]
    cache = tmp_path / "spread" / ".segment-cache"
    made = [p for p in cache.rglob("*") if p.is_file() and not p.name.startswith(".")]
    assert made, "the workers filled the output folder's cache"
    secret = voxpipe(*base[:-2], "--json", "--out", str(tmp_path / "secret"), "--cluster", "local:2")
    assert "482913" not in secret.stdout + secret.stderr and "****" in secret.stdout
    assert all(Path(a["path"]).name.endswith("-private.mp3") for i in json.loads(secret.stdout)["items"]
               for a in i["artifacts"])  # fmt: skip


# --------------------------------------------------------------------------- a scheduler and two workers


@dataclass
class DaskProcesses:
    """``dask scheduler`` and ``dask worker`` processes on 127.0.0.1 (each worker under its nanny)."""

    address: str
    scheduler: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]]
    base: Path

    def client(self) -> Client:
        return Client(self.address, timeout=30, set_as_default=False)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(20)


@pytest.fixture(scope="module")
def dask_processes(tmp_path_factory: pytest.TempPathFactory, s3_server: S3Server) -> Iterator[DaskProcesses]:
    base = tmp_path_factory.mktemp("dask")
    dask = str(Path(sys.executable).parent / "dask")
    # Workers find the S3 credentials in their own environment (the AWS chain), never from the client;
    # PYTHONPATH lets them run this module's helpers (client.run).
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "VOXPIPE_"))}
    env.update(s3_server.env(), PYTHONPATH=str(REPO))
    scheduler_file = base / "scheduler.json"
    started: list[subprocess.Popen[bytes]] = []

    def start(name: str, *args: str) -> subprocess.Popen[bytes]:
        folder = base / name
        folder.mkdir()
        with open(folder / "log.txt", "wb") as log:
            proc = subprocess.Popen(
                [dask, *args], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=folder, env=env
            )
        started.append(proc)
        return proc

    try:
        scheduler = start(
            "scheduler", "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
            "--scheduler-file", str(scheduler_file),
        )  # fmt: skip
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not scheduler_file.is_file() or "address" not in scheduler_file.read_text():
            assert scheduler.poll() is None, (base / "scheduler" / "log.txt").read_text()
            assert time.monotonic() < deadline, "the scheduler did not start"
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text())["address"]
        workers = [
            start(
                name,
                "worker",
                address,
                "--host",
                "127.0.0.1",
                "--nthreads",
                "1",
                "--no-dashboard",
                "--name",
                name,
                "--death-timeout",
                "60",
            )  # fmt: skip
            for name in ("w1", "w2")
        ]
        with Client(address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(2, timeout=_START_TIMEOUT_S)
        yield DaskProcesses(address, scheduler, workers, base)
    finally:
        for proc in reversed(started):
            _stop(proc)


def _loaded_voices() -> list[str]:
    from voxpipe.pipeline.engines import piper_engine

    return sorted(piper_engine._LOADED)


def _s3_args(s3_server: S3Server, bucket: str, prefix: str) -> tuple[str, ...]:
    client = s3_server.client()
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket=bucket)
    return ("--store", f"s3://{bucket}/{prefix}", "--endpoint-url", s3_server.endpoint)


def _check_s3(s3_server: S3Server, data: dict[str, Any], local_files: dict[str, dict[str, str]]) -> None:
    client = s3_server.client()
    for item in data["items"]:
        for artifact in item["artifacts"]:
            bucket, _, key = artifact["media_url"].split(f"{s3_server.endpoint}/", 1)[1].partition("/")
            body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
            assert _sha256(body) == local_files[item["id"]][Path(artifact["path"]).name]


def test_remote_workers_put_every_file_in_s3(
    dask_processes: DaskProcesses,
    s3_server: S3Server,
    manifest: Path,
    local_files: dict[str, dict[str, str]],
    tmp_path: Path,
) -> None:
    with dask_processes.client() as client:
        assert [len(v) for v in client.run(_loaded_voices).values()] == [0, 0]
        report = tmp_path / "report.json"
        proc = voxpipe(
            "prepare", str(manifest), "-p", "pstn", "--out", str(tmp_path / "worker-out"), "--report", str(report),
            "--cluster", dask_processes.address, *_s3_args(s3_server, "cluster", "run1"),
            # Wrong credentials here: the workers put the files with their own, this process uploads nothing.
            env={**s3_server.env(), "AWS_ACCESS_KEY_ID": "not-the-workers"},
        )  # fmt: skip
        assert proc.returncode == 1, proc.stderr  # the bad row
        assert "Traceback" not in proc.stderr
        data = json.loads(report.read_text())
        _check_report(data, local_files)
        _check_s3(s3_server, data, local_files)
        # Each worker loaded the voice once, at setup (the plugin), and kept it for every item.
        assert [len(v) for v in client.run(_loaded_voices).values()] == [1, 1]


def _kill_a_busy_worker(client: Client, prefix: str, deadline: float) -> tuple[str, int]:
    """Wait for a worker holding one of the batch's tasks, SIGKILL its process; (its address, its pid)."""
    while time.monotonic() < deadline:
        busy = [w for w, keys in client.processing().items() if any(str(k).startswith(prefix) for k in keys)]
        if busy:
            pid = int(client.run(os.getpid, workers=[busy[0]])[busy[0]])
            os.kill(pid, signal.SIGKILL)
            return busy[0], pid
        time.sleep(0.05)
    raise AssertionError("no worker ever held a task of the batch")


def test_a_worker_killed_mid_batch_costs_a_retry_not_an_item(
    dask_processes: DaskProcesses,
    s3_server: S3Server,
    manifest: Path,
    local_files: dict[str, dict[str, str]],
    tmp_path: Path,
) -> None:
    report = tmp_path / "report.json"
    args = [
        sys.executable, "-m", "voxpipe", "prepare", str(manifest), "-p", "pstn", "--out", str(tmp_path / "wout"),
        "--report", str(report), "--cluster", dask_processes.address, *_s3_args(s3_server, "cluster", "run2"),
    ]  # fmt: skip
    with dask_processes.client() as client:
        with subprocess.Popen(
            args, cwd=REPO, env={**os.environ, **s3_server.env()}, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        ) as proc:
            killed, _ = _kill_a_busy_worker(client, "voxpipe-prepare-", time.monotonic() + _START_TIMEOUT_S)
            _, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 1, stderr.decode()  # the bad row only
        assert b"Traceback" not in stderr
        data = json.loads(report.read_text())
        _check_report(data, local_files)
        _check_s3(s3_server, data, local_files)
        # The report names exactly the items the scheduler gave to another worker.
        moved: set[str] = set()
        for _, event in client.get_events("all"):
            if isinstance(event, dict) and event.get("action") == "remove-worker" and event.get("worker") == killed:
                keys = [*event.get("processing-tasks", ()), *event.get("lost-computed-tasks", ())]
                moved.update(str(k) for k in keys if str(k).startswith("voxpipe-prepare-"))
        assert moved, "the killed worker held none of the batch's tasks"
        index = dict(enumerate(TEXTS))
        assert {index[int(k.rsplit("-", 1)[1])] for k in moved} == {i["id"] for i in data["items"] if i["retried"]}
        assert data["summary"]["retried"] == len(moved)
        client.wait_for_workers(2, timeout=_START_TIMEOUT_S)  # the nanny started a new one


# --------------------------------------------------------------------------- addresses and threads


@pytest.mark.parametrize(
    ("text", "address", "local"),
    [
        ("local:2", None, 2),
        (" local:1 ", None, 1),
        ("tcp://10.0.0.5:8786", "tcp://10.0.0.5:8786", None),
        ("tcp://scheduler", "tcp://scheduler:8786", None),
        ("tcp://[::1]:9000", "tcp://[::1]:9000", None),
    ],
)
def test_cluster_addresses(text: str, address: str | None, local: int | None) -> None:
    spec = parse_cluster(text)
    assert (spec.address, spec.local_workers, spec.remote) == (address, local, address is not None)
    assert isinstance(spec, ClusterSpec)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("local:0", "1 to 256 workers"),
        ("local:two", "whole number"),
        ("local:", "whole number"),
        ("scheduler:8786", "tcp://host:port"),
        ("http://scheduler:8786", "tcp://host:port"),
        ("tcp://:8786", "tcp://host:port"),
        ("tcp://h:99999", "port"),
        ("tcp://h:0", "port 0"),
        ("tcp://h:8786/path", "nothing before the host or after the port"),
        ("tcp://user:secret@h:8786", "nothing before the host"),
    ],
)
def test_malformed_cluster_addresses_are_one_clear_error(text: str, says: str) -> None:
    with pytest.raises(ClusterError, match="`cluster`") as caught:
        PrepareSettings(cluster=text)
    assert says in str(caught.value)
    assert "secret" not in str(caught.value)


@pytest.mark.parametrize(
    ("wanted", "cores", "host_threads", "threads"),
    [(None, 2, 2, 1), (None, 8, 2, 4), (3, 8, 2, 3), (8, 8, 2, 4), (None, 2, 4, 1), (None, 16, 1, 16)],
)
def test_worker_threads_never_oversubscribe_the_host(
    wanted: int | None, cores: int, host_threads: int, threads: int
) -> None:
    assert worker_threads(wanted, cores, host_threads) == threads
    assert threads * host_threads <= cores or threads == 1
