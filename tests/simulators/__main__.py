"""Run one provider simulator in its own process (benchmarks, kill-and-rerun tests).

    python -m tests.simulators ninebits --token t --rate-limit 50 --no-fetch-media
    python -m tests.simulators messagebird --access-key k
    python -m tests.simulators wawp --instance-id i --access-token a
    python -m tests.simulators alphasms --key k [--accept-repeated-ids]

Prints one JSON line ``{"provider": ..., "base_url": ..., "pid": ...}`` on
stdout once it is listening, then serves until SIGTERM/SIGINT. Control and
inspection go through the ``/_sim/`` admin endpoints (see base.py).
Credentials may also come from the environment variables voxpipe reads
(``VOXPIPE_9BITS_TOKEN``, ...); they are never printed.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading

from .alphasms import AlphaSmsSim
from .messagebird import MessageBirdSim
from .ninebits import NineBitsSim
from .wawp import WawpSim


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.simulators")
    ap.add_argument("provider", choices=["ninebits", "9bits", "messagebird", "wawp", "alphasms"])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--token", default=os.environ.get("VOXPIPE_9BITS_TOKEN"))
    ap.add_argument("--access-key", default=os.environ.get("VOXPIPE_MESSAGEBIRD_KEY"))
    ap.add_argument("--instance-id", default=os.environ.get("VOXPIPE_WAWP_INSTANCE_ID"))
    ap.add_argument("--access-token", default=os.environ.get("VOXPIPE_WAWP_ACCESS_TOKEN"))
    ap.add_argument("--key", default=os.environ.get("VOXPIPE_ALPHASMS_KEY"))
    ap.add_argument("--rate-limit", type=float, default=None, help="requests per second (token bucket)")
    ap.add_argument("--retry-after", type=int, default=None, help="fixed Retry-After for rate-limited answers")
    ap.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    ap.add_argument("--callback-url", default=None)
    ap.add_argument("--no-fetch-media", action="store_true")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument(
        "--accept-repeated-ids", action="store_true", help="alphasms: take a repeated voice id as a new call"
    )
    a = ap.parse_args(argv)

    common = {
        "port": a.port,
        "rate_limit_per_s": a.rate_limit,
        "rate_limit_retry_after": a.retry_after,
        "latency_s": a.latency,
        "callback_url": a.callback_url,
        "fetch_media": not a.no_fetch_media,
        "seed": a.seed,
        "admin": True,
    }

    def need(value: str | None, flag: str) -> str:
        if not value:
            ap.error(f"{a.provider} needs {flag}")
        return value

    if a.provider in ("ninebits", "9bits"):
        sim = NineBitsSim(need(a.token, "--token"), **common)
    elif a.provider == "messagebird":
        sim = MessageBirdSim(need(a.access_key, "--access-key"), **common)
    elif a.provider == "wawp":
        sim = WawpSim(need(a.instance_id, "--instance-id"), need(a.access_token, "--access-token"), **common)
    else:
        sim = AlphaSmsSim(need(a.key, "--key"), accept_repeated_ids=a.accept_repeated_ids, **common)

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print(json.dumps({"provider": sim.name, "base_url": sim.base_url, "pid": os.getpid()}), flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        sim.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
