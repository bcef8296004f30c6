"""Sender benchmark (run by hand, not a test): client CPU per recipient and achieved rate.

Starts a provider simulator in its own process with a rate limit, then runs
`voxpipe send` as a user would, pacing itself at that limit, and prints from
one run:
  * the client's CPU time per recipient (goal < 1 ms),
  * requests per second achieved / the simulator's limit (goal >= 0.9),
  * that every recipient was accepted exactly once.

    python bench/bench_send.py [--ninebits 100000] [--messagebird 10000] [--rate 20]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent


def start_sim(provider: str, rate: float, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.simulators", provider, "--rate-limit", str(rate), "--no-fetch-media"],
        cwd=REPO,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    return proc, json.loads(line)["base_url"]


def run(provider: str, count: int, rate: float, message: list[str], env: dict[str, str], per_request: int) -> None:
    sim, base = start_sim(provider, rate, env)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            to = Path(tmp) / "to.txt"
            to.write_text("".join(f"+2348{i:09d}\n" for i in range(count)))
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            proc = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "voxpipe",
                    "send",
                    "-P",
                    provider,
                    "--api-url",
                    base,
                    *message,
                    "--recipients",
                    str(to),
                    "--rate",
                    str(rate),
                    "--concurrency",
                    "4",
                    "--journal",
                    str(Path(tmp) / "j.db"),
                    "--json",
                    "--no-progress",
                ],
                cwd=REPO,
                env={**os.environ, **env},
                capture_output=True,
                text=True,
            )
            wall = time.perf_counter() - started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            raise SystemExit(proc.stderr[-2000:])
        report = json.loads(proc.stdout)
        state = httpx.get(f"{base}/_sim/state").json()
    finally:
        sim.terminate()
        sim.wait(10)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    requests = -(-count // per_request)
    accepted = report["counts"].get("accepted", 0)
    print(f"{provider}: {count} recipients in {requests} requests, {wall:.1f} s wall")
    print(f"  client CPU {cpu:.2f} s = {1000 * cpu / count:.3f} ms per recipient (goal < 1 ms)")
    span = state["last_request_at"] - state["first_request_at"]
    achieved = (state["requests"] - 1) / span if span > 0 else float("nan")
    print(
        f"  achieved {achieved:.1f} requests/s while sending (first to last request at the simulator) "
        f"against a limit of {rate:g}/s = {achieved / rate:.2f} (goal >= 0.9)"
    )
    print(
        f"  accepted {accepted}/{count} ({len(state['accepted_counts'])} distinct, none twice: "
        f"{max(state['accepted_counts'].values()) == 1}); simulator saw {state['requests']} requests, "
        f"{state['statuses'].get('429', 0)} rate-limited"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ninebits", type=int, default=100_000)
    parser.add_argument("--messagebird", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=20.0)
    opts = parser.parse_args()
    run(
        "9bits",
        opts.ninebits,
        opts.rate,
        ["--media-url", "https://media.example.com/notice.mp3"],
        {"VOXPIPE_9BITS_TOKEN": "bench-token"},
        1000,
    )
    run(
        "messagebird",
        opts.messagebird,
        opts.rate * 2,
        ["--text", "Your appointment is tomorrow at 10:30."],
        {"VOXPIPE_MESSAGEBIRD_KEY": "bench-key"},
        50,
    )


if __name__ == "__main__":
    main()
