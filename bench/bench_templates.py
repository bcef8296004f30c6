"""Benchmark of personalised messages: the segment cache against full synthesis (run by hand, not a test).

For two templates, prepares --rows messages end to end with the library call
the CLI uses (``prepare_template``, worker processes, mastering, encoding,
verification), once with the segment cache and once with
``segment_cache=False``, each into a fresh folder, and prints from one run:
  * OTP codes (pstn profile): wall time with / without the cache, goal >= 8x;
  * appointment reminders (a name, a weekday, a time from small vocabularies,
    pstn): the same, goal >= 4x;
  * the cache's hit rate (carriers found / carriers needed) over the batch;
  * CPU per message, this process and its workers, and where a message's
    time goes (assembling from the cache, full synthesis, mastering + encoding
    + verification), measured on one thread over --sample messages;
  * peak RSS while 1,000 / 10,000 / 100,000 rows stream through rendering and
    the worker queue (rows are read as workers free up; the figure must not
    grow with the row count).

    python bench/bench_templates.py [--rows 1000] [--sample 30] [--out bench/out/templates]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

OTP = 'Your Northwind code is <say-as interpret-as="digits">{code}</say-as>. I repeat: <say-as interpret-as="digits">{code}</say-as>.'
REMINDER = (
    "Hello {name}, this is Riverside Dental. Your appointment is on {day} at {time}. "
    '<break time="300ms"/> Reply one to confirm.'
)
NAMES = ["Alex", "Maria", "Jordan", "Priya", "Chen", "Olga", "Samuel", "Fatima", "Lucas", "Hana", "Tom", "Ines"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
TIMES = ["nine", "half past nine", "ten", "eleven fifteen", "noon", "two", "three thirty", "four forty five"]


def rows(kind: str, n: int, seed: int = 1) -> list[dict[str, str]]:
    rng = random.Random(seed)
    if kind == "otp":
        return [{"id": f"r{i}", "code": "".join(rng.choice("0123456789") for _ in range(6))} for i in range(n)]
    return [
        {"id": f"r{i}", "name": rng.choice(NAMES), "day": rng.choice(DAYS), "time": rng.choice(TIMES)} for i in range(n)
    ]


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run_batch(kind: str, n: int, out: Path, cache: bool) -> dict[str, float]:
    """One end-to-end batch in this process (a fresh one per call: see main)."""
    from voxpipe.pipeline.personal import prepare_template
    from voxpipe.pipeline.preparation import PrepareSettings

    shutil.rmtree(out, ignore_errors=True)
    settings = PrepareSettings(out_dir=out, profiles=("pstn",), segment_cache=cache)
    template = OTP if kind == "otp" else REMINDER
    start_wall, start_cpu = time.perf_counter(), _cpu()
    hits = misses = failed = 0
    for result in prepare_template(template, rows(kind, n), settings):
        failed += not result.ok
        if result.segments:
            hits += result.segments["hits"]
            misses += result.segments["misses"]
    return {
        "wall_s": time.perf_counter() - start_wall,
        "cpu_s": _cpu() - start_cpu,
        "hits": hits,
        "misses": misses,
        "failed": failed,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def breakdown(kind: str, sample: int, scratch: Path) -> dict[str, float]:
    """CPU per message on one thread: assembly from a warm cache, full synthesis, mastering and encoding."""
    import os

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from voxpipe.pipeline.engines import get_engine
    from voxpipe.pipeline.markup import parse
    from voxpipe.pipeline.preparation import produce
    from voxpipe.pipeline.profiles import load_profile
    from voxpipe.pipeline.segments import SegmentCache, synthesize_template
    from voxpipe.pipeline.synthesis import synthesize
    from voxpipe.pipeline.templates import Template

    engine = get_engine("piper")
    template = Template.parse(OTP if kind == "otp" else REMINDER)
    cache = SegmentCache(scratch / "cache")
    data = rows(kind, sample, seed=99)
    for row in data:  # warm: every carrier the sample needs
        synthesize_template(template, row, engine, cache)
    figures: dict[str, float] = {}
    t = time.process_time()
    spliced = [synthesize_template(template, row, engine, cache) for row in data]
    figures["assemble_ms"] = (time.process_time() - t) / sample * 1000
    t = time.process_time()
    for row in data:
        synthesize(parse(template.render(row)), engine)
    figures["full_synthesis_ms"] = (time.process_time() - t) / sample * 1000
    profile = load_profile("pstn")
    scratch.mkdir(parents=True, exist_ok=True)
    t = time.process_time()
    for i, audio in enumerate(spliced):
        assert audio is not None
        produce(audio, profile, scratch / f"m{i}.mp3")
    figures["master_encode_verify_ms"] = (time.process_time() - t) / sample * 1000
    return figures


def stream_memory(n: int, out: Path) -> float:
    """Peak RSS (MB) while ``n`` rows are rendered and queued; each row fails at planning (an unknown
    profile), so the figure is the streaming machinery's, not the synthesis'."""
    from voxpipe.pipeline.personal import prepare_template
    from voxpipe.pipeline.preparation import PrepareSettings

    def lazy_rows():
        rng = random.Random(5)
        for i in range(n):
            yield {"id": f"r{i}", "code": "".join(rng.choice("0123456789") for _ in range(6))}

    settings = PrepareSettings(out_dir=out, profiles=("no-such-profile",))
    count = sum(1 for _ in prepare_template(OTP, lazy_rows(), settings))
    assert count == n
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(*args: str) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=True, cwd=REPO
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--sample", type=int, default=30)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "templates")
    parser.add_argument("--only", choices=["otp", "reminder", "memory"], action="append")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        what, *rest = args.child
        if what == "batch":
            kind, n, out, cache = rest
            print(json.dumps(run_batch(kind, int(n), Path(out), cache == "1")))
        elif what == "breakdown":
            kind, sample, scratch = rest
            print(json.dumps(breakdown(kind, int(sample), Path(scratch))))
        else:
            n, out = rest
            print(json.dumps({"peak_rss_mb": stream_memory(int(n), Path(out))}))
        return
    goals = {"otp": 8.0, "reminder": 4.0}
    for kind in args.only or ["otp", "reminder", "memory"]:
        if kind == "memory":
            for n in (1_000, 10_000, 100_000):
                got = _child("memory", str(n), str(args.out / "memory"))
                print(f"streaming {n:>7,} rows: peak RSS {got['peak_rss_mb']:.0f} MB")
            continue
        cached = _child("batch", kind, str(args.rows), str(args.out / f"{kind}-cache"), "1")
        full = _child("batch", kind, str(args.rows), str(args.out / f"{kind}-full"), "0")
        parts = _child("breakdown", kind, str(args.sample), str(args.out / f"{kind}-sample"))
        needed = cached["hits"] + cached["misses"]
        speedup = full["wall_s"] / cached["wall_s"]
        print(f"== {kind}: {args.rows} messages, pstn")
        print(
            f"  segment cache:  {cached['wall_s']:.1f} s wall, {cached['cpu_s'] / args.rows * 1000:.0f} ms CPU/message,"
            f" hit rate {cached['hits'] / max(1, needed):.3f} ({cached['misses']} carriers synthesised of {needed})"
        )
        print(f"  full synthesis: {full['wall_s']:.1f} s wall, {full['cpu_s'] / args.rows * 1000:.0f} ms CPU/message")
        print(
            f"  speed-up {speedup:.1f}x (goal >= {goals[kind]:.0f}x); failed rows {cached['failed']}/{full['failed']}"
        )
        print(
            f"  per message, one thread: assemble {parts['assemble_ms']:.1f} ms, full synthesis"
            f" {parts['full_synthesis_ms']:.0f} ms, master+encode+verify {parts['master_encode_verify_ms']:.0f} ms"
        )


if __name__ == "__main__":
    main()
