"""voxpipe serve benchmark (run by hand, not a test): the stdlib server it replaced against the
Starlette app on uvicorn, on the same files, in one run.

The old server (``pipeline/store/server.py``, ``http.server.ThreadingHTTPServer``)
is loaded from git history; the new one is ``voxpipe serve`` as a user runs
it. Each runs in its own process; the load comes from this process (asyncio
on raw sockets, uvloop where installed), on the same machine, so on 2 cores
the client takes CPU from the server: compare the ratios, not the absolute
figures. Check ``uptime`` first: other work on the machine moves them too.

  * 2,000 range GETs, 50 at a time, a new connection each, then on 50 kept-alive
    connections: requests/s, p99 latency, connection errors (goal: none dropped,
    p99 <= 0.3 s, throughput >= the old server's in both modes);
  * 300 slowloris connections (a partial request line, one more byte every 10 s):
    the latency of a normal GET meanwhile (goal <= 1 s) and when the slow ones
    are closed (goal: within the header timeout, 10 s by default);
  * callbacks at 1,000/s for 10 s (new server only: the old receiver's API is
    gone): every callback answered 200 is in the journal, none answered 5xx.

    python bench/bench_serve.py [--requests 2000] [--concurrency 50] [--slow 300] [--rate 1000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import random
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
OLD_SERVER = "pipeline/store/server.py"


# --------------------------------------------------------------------------- the two servers


def old_server_source() -> str:
    """The stdlib server as it was just before it was removed."""
    removed = subprocess.run(
        ["git", "rev-list", "-n", "1", "HEAD", "--", OLD_SERVER], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()
    return subprocess.run(
        ["git", "show", f"{removed}^:{OLD_SERVER}"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout


def run_old_server(directory: str, port: int, source_file: str) -> None:
    """In the child process: the old MediaServer on ``port`` (its relative imports resolve in the package)."""
    import logging

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s: %(message)s")
    spec = importlib.util.spec_from_file_location("voxpipe.pipeline.store.old_server", source_file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    module.MediaServer(directory, "127.0.0.1", port).serve_forever()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_listening(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the server did not start")


def children(pid: int) -> list[int]:
    try:
        found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(c) for c in found]


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    def cpu_s(self) -> float:
        """CPU seconds the server process (and its workers) used so far."""
        total = 0.0
        for pid in [self.proc.pid, *children(self.proc.pid)]:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def start(name: str, media: Path, work: Path) -> Server:
    port = free_port()
    log = work / f"{name}.log"
    if name == "old":
        source = work / "old_server.py"
        source.write_text(old_server_source())
        argv = [sys.executable, __file__, "--old-server", str(media), str(port), str(source)]
    else:
        argv = [
            sys.executable,
            "-m",
            "voxpipe",
            "serve",
            str(media),
            "--port",
            str(port),
            "--journal",
            str(work / "j.db"),
        ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOXPIPE_")}
    proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=log.open("wb"))
    wait_listening(port, proc)
    return Server(name, proc, port, log)


# --------------------------------------------------------------------------- a small HTTP/1.1 client


async def read_response(reader: asyncio.StreamReader, close_delimited: bool) -> tuple[int, int]:
    """(status, body bytes) of one response."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if length is not None:
        await reader.readexactly(length)
        return status, length
    body = await reader.read() if close_delimited else b""
    return status, len(body)


def range_request(files: list[tuple[str, int]], keep_alive: bool, rng: random.Random) -> bytes:
    name, size = rng.choice(files)
    first = rng.randrange(0, max(1, size - 65536))
    last = min(size - 1, first + rng.randrange(16384, 65536))
    connection = "keep-alive" if keep_alive else "close"
    return (
        f"GET /{name} HTTP/1.1\r\nHost: 127.0.0.1\r\nRange: bytes={first}-{last}\r\nConnection: {connection}\r\n\r\n"
    ).encode()


@dataclass
class Load:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    wall_s: float = 0.0

    def add(self, status: int, took: float) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.latencies.append(took)

    def fail(self, exc: BaseException) -> None:
        kind = type(exc).__name__
        self.errors[kind] = self.errors.get(kind, 0) + 1

    def p(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def row(self) -> str:
        done = len(self.latencies)
        errors = ", ".join(f"{k} {v}" for k, v in sorted(self.errors.items())) or "0"
        return (
            f"{done / self.wall_s:7.0f} req/s  p50 {self.p(0.5) * 1000:7.1f} ms  p99 {self.p(0.99) * 1000:7.1f} ms  "
            f"statuses {dict(sorted(self.statuses.items()))}  errors {errors}"
        )


async def range_gets(port: int, files: list[tuple[str, int]], total: int, concurrency: int, keep_alive: bool) -> Load:
    load = Load()
    rng = random.Random(7)
    left = [total]

    async def new_connection_each() -> None:
        while left[0] > 0:
            left[0] -= 1
            started = time.perf_counter()
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 30)
                writer.write(range_request(files, False, rng))
                status, _ = await asyncio.wait_for(read_response(reader, True), 30)
                writer.close()
                load.add(status, time.perf_counter() - started)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
                load.fail(exc)

    async def kept_alive() -> None:
        writer = None
        while left[0] > 0:
            left[0] -= 1
            started = time.perf_counter()
            try:
                if writer is None:
                    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 30)
                writer.write(range_request(files, True, rng))
                status, _ = await asyncio.wait_for(read_response(reader, False), 30)
                load.add(status, time.perf_counter() - started)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
                load.fail(exc)
                if writer is not None:
                    writer.close()
                writer = None
        if writer is not None:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(kept_alive() if keep_alive else new_connection_each() for _ in range(concurrency)))
    load.wall_s = time.perf_counter() - started
    return load


# --------------------------------------------------------------------------- slowloris


async def slowloris(port: int, files: list[tuple[str, int]], count: int, observe_s: float) -> dict[str, object]:
    """``count`` connections trickling a request line; a normal GET every 2 s meanwhile."""
    closed_after: list[float] = []
    started = time.perf_counter()

    async def slow() -> None:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            closed_after.append(0.0)
            return
        line = f"GET /{files[0][0]} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
        try:
            for i in range(len(line)):
                writer.write(line[i : i + 1])
                try:
                    got = await asyncio.wait_for(reader.read(4096), 10)  # one more byte every 10 s
                except TimeoutError:
                    continue
                if not got or got.startswith(b"HTTP/"):
                    closed_after.append(time.perf_counter() - started)
                    return
        except OSError:
            closed_after.append(time.perf_counter() - started)
        finally:
            writer.close()

    async def normal_gets() -> list[float]:
        took = []
        rng = random.Random(3)
        while time.perf_counter() - started < observe_s:
            await asyncio.sleep(2)
            t = time.perf_counter()
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 10)
                writer.write(range_request(files, False, rng))
                await asyncio.wait_for(read_response(reader, True), 10)
                writer.close()
                took.append(time.perf_counter() - t)
            except (TimeoutError, OSError, asyncio.IncompleteReadError):
                took.append(float("inf"))
        return took

    tasks = [asyncio.ensure_future(slow()) for _ in range(count)]
    gets = await normal_gets()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "normal GET worst": max(gets),
        "normal GETs": len(gets),
        "slow closed by the server": len(closed_after),
        "last closed after": max(closed_after) if closed_after else None,
        f"still open after {observe_s:g} s": count - len(closed_after),
    }


# --------------------------------------------------------------------------- callbacks


async def callbacks(port: int, secret: str, rate: float, seconds: float) -> tuple[Load, set[str]]:
    """Wawp acks at ``rate`` per second (open loop), each with its own id; the ids answered 200."""
    load = Load()
    answered: set[str] = set()
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    total = int(rate * seconds)
    target = f"/hooks/wawp/{secret}"

    async def one(n: int) -> None:
        ref = f"true_1@c.us_bench{n:06d}"
        body = json.dumps({"event": "message.ack", "payload": {"id": ref, "ack": 2}}).encode()
        request = (
            f"POST {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        started = time.perf_counter()
        try:
            reader, writer = (
                idle.pop() if idle else await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 60)
            )
            writer.write(request)
            status, _ = await asyncio.wait_for(read_response(reader, False), 120)
            idle.append((reader, writer))
            load.add(status, time.perf_counter() - started)
            if status == 200:
                answered.add(ref)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            load.fail(exc)

    started = time.perf_counter()
    tasks = []
    for n in range(total):
        delay = started + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(one(n)))
    await asyncio.gather(*tasks)
    load.wall_s = time.perf_counter() - started
    for _, writer in idle:
        writer.close()
    return load, answered


def stored_refs(journal: Path) -> set[str]:
    with sqlite3.connect(journal) as db:
        rows = db.execute("SELECT payload FROM events WHERE source = 'hook:wawp'").fetchall()
    return {json.loads(p)["ref"] for (p,) in rows}


# --------------------------------------------------------------------------- the run


def make_files(media: Path, count: int = 20) -> list[tuple[str, int]]:
    from tests.simulators import make_audio

    files = []
    for n in range(count):
        data = make_audio("mp3", 12.0 + n)
        name = f"bench{n:02d}.mp3"
        (media / name).write_bytes(data)
        files.append((name, len(data)))
    return files


def new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop

        return uvloop.new_event_loop()
    except ImportError:
        return asyncio.new_event_loop()


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--old-server":
        run_old_server(sys.argv[2], int(sys.argv[3]), sys.argv[4])
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--slow", type=int, default=300)
    parser.add_argument("--observe", type=float, default=40.0, help="seconds to watch the slow connections")
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--skip", action="append", default=[], choices=["ranges", "slowloris", "callbacks"])
    opts = parser.parse_args()
    print(f"uptime: {os.popen('uptime').read().strip()}")
    loop = new_loop()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        media = work / "media"
        media.mkdir()
        files = make_files(media)
        print(
            f"{len(files)} MP3 files of {min(s for _, s in files)}-{max(s for _, s in files)} bytes; ranges of 16-64 KiB\n"
        )
        servers = [start("old", media, work), start("new", media, work)]
        try:
            if "ranges" not in opts.skip:
                for keep_alive in (False, True):
                    mode = "kept-alive connections" if keep_alive else "a new connection each"
                    print(f"{opts.requests} range GETs, {opts.concurrency} at a time, {mode}:")
                    for server in servers:
                        cpu = server.cpu_s()
                        load = loop.run_until_complete(
                            range_gets(server.port, files, opts.requests, opts.concurrency, keep_alive)
                        )
                        per = (server.cpu_s() - cpu) / max(1, len(load.latencies)) * 1000
                        print(f"  {server.name}: {load.row()}  server CPU {per:.2f} ms/request")
            if "slowloris" not in opts.skip:
                print(f"\n{opts.slow} slowloris connections (one byte every 10 s), watched for {opts.observe:g} s:")
                for server in servers:
                    found = loop.run_until_complete(slowloris(server.port, files, opts.slow, opts.observe))
                    print(f"  {server.name}: {found}")
            if "callbacks" not in opts.skip:
                new = servers[1]
                from voxpipe.sender.journal import Journal

                with Journal(work / "j.db") as journal:  # the server's journal (created when it started)
                    secret = journal.hook_secret()
                print(f"\ncallbacks at {opts.rate:g}/s for {opts.seconds:g} s (new server):")
                cpu = new.cpu_s()
                load, answered = loop.run_until_complete(callbacks(new.port, secret, opts.rate, opts.seconds))
                cpu = new.cpu_s() - cpu
                stored = stored_refs(work / "j.db")
                fivexx = sum(v for k, v in load.statuses.items() if k >= 500)
                print(f"  {load.row()}  server CPU {cpu / max(1, len(load.latencies)) * 1000:.2f} ms/callback")
                print(
                    f"  sent {int(opts.rate * opts.seconds)} over {load.wall_s:.1f} s; answered 200: {len(answered)}; "
                    f"5xx: {fivexx}; answered but not in the journal: {len(answered - stored)}"
                )
        finally:
            for server in servers:
                server.stop()
            for server in servers:
                tracebacks = server.log.read_text(errors="replace").count("Traceback")
                if tracebacks:
                    print(f"  ({server.name} server logged {tracebacks} tracebacks)")


if __name__ == "__main__":
    main()
