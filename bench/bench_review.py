"""Benchmark of the review page at 5,000 items (run by hand, not a test).

Prepares 20 real messages (piper, both default profiles), then writes a
report of 5,000 items whose files are copies of those (1,000 distinct files,
so measuring them is real work, not a cache hit), and prints:
  * measuring files (decode, waveform peaks, momentary loudness, silences), ms per file;
  * building the 5,000-item page, seconds, and its size;
  * in headless Chromium over HTTP: time from navigation to the first page
    drawn (domComplete), goal < 3 s, and to every player of that page having
    its metadata.

    python bench/bench_review.py [--items 5000] [--distinct 1000] [--out bench/out/review]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.browser import StaticServer, chromium  # noqa: E402
from voxpipe.pipeline.pages import build_review  # noqa: E402
from voxpipe.pipeline.pages.audio_facts import measure_file  # noqa: E402

TEXTS = [
    f"Hello {name}, this is a reminder of your appointment on {day} at {hour} o'clock. Reply to reschedule."
    for name, day, hour in zip(
        ["Alex", "Maria", "Jordan", "Priya", "Chen", "Olga", "Samuel", "Fatima", "Lucas", "Hana"] * 2,
        ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"] * 4,
        [9, 10, 11, 2, 3, 4, 5, 8, 1, 12] * 2,
        strict=True,
    )
]


def prepare(out: Path) -> list[dict]:
    manifest = out / "batch.jsonl"
    manifest.write_text("".join(json.dumps({"id": f"t{n}", "text": t}) + "\n" for n, t in enumerate(TEXTS)))
    subprocess.run(
        [sys.executable, "-m", "voxpipe", "prepare", str(manifest), "--out", str(out / "files"), "--report",
         str(out / "small.json")],
        check=True, cwd=out,
    )  # fmt: skip
    return json.loads((out / "small.json").read_text())["items"]  # type: ignore[no-any-return]


def big_report(items: list[dict], out: Path, n: int, distinct: int) -> dict:
    copies = out / "copies"
    copies.mkdir(exist_ok=True)
    made = []
    for k in range(n):
        item = json.loads(json.dumps(items[k % len(items)]))
        item["id"] = f"msg-{k:05d}"
        if k < distinct // 2:  # two files an item: `distinct` files in all
            for a in item["artifacts"]:
                src = Path(a["path"])
                dest = copies / f"{k:05d}-{src.name}"
                if not dest.exists():
                    shutil.copyfile(src, dest)
                a["path"] = str(dest)
        made.append(item)
    return {"items": made}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--distinct", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "review")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    items = prepare(args.out)
    files = [Path(a["path"]) for i in items for a in i["artifacts"]]
    took = []
    for path in files * 5:
        started = time.perf_counter()
        measure_file(path)
        took.append(time.perf_counter() - started)
    print(f"measuring a file: {1000 * statistics.median(took):.1f} ms median over {len(took)} "
          f"(mean duration {statistics.mean(i['artifacts'][0]['duration_s'] for i in items):.1f} s)")  # fmt: skip
    report = big_report(items, args.out, args.items, args.distinct)
    page = args.out / "review.html"
    started = time.perf_counter()
    page.write_text(build_review(report, page, args.out), encoding="utf-8")
    print(f"building the {args.items}-item page ({args.distinct} distinct files): "
          f"{time.perf_counter() - started:.1f} s, {page.stat().st_size / 1e6:.1f} MB")  # fmt: skip
    loads, ready = [], []
    for _ in range(3):
        tmp = args.out / "chromium"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        with StaticServer(args.out) as server, chromium(tmp) as tab:
            tab.open(f"{server.url}/review.html")
            loads.append(tab.evaluate('performance.getEntriesByType("navigation")[0].domComplete'))
            ready.append(tab.evaluate(
                'Promise.all([...document.querySelectorAll("audio")].map((a) => a.readyState >= 1 ? 0 : '
                'new Promise((ok) => a.addEventListener("loadedmetadata", ok, { once: true }))))'
                '.then(() => performance.now())'
            ))  # fmt: skip
            assert tab.errors() == [], tab.errors()
    print(f"Chromium, first page drawn (domComplete): {', '.join(f'{v / 1000:.2f}' for v in loads)} s (goal < 3 s)")
    print(f"Chromium, its 100 players with metadata:   {', '.join(f'{v / 1000:.2f}' for v in ready)} s")


if __name__ == "__main__":
    main()
