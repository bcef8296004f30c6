"""Upload benchmark: put_many with a thread pool vs one at a time, to SeaweedFS.

Run by hand from the repository root:

    /work/venv/bin/python bench/bench_upload.py [--count 200] [--kib 50] [--workers 8] [--repeat 1]

It starts ``weed mini`` through tests/s3server.py, writes COUNT artifacts of
about KIB KiB (random bytes under content-hash names: upload cost does not
depend on the audio inside), and uploads them into fresh prefixes, once with
``workers=1`` and once with ``--workers``, alternating which goes first when
repeated. The ratio printed is sequential time / concurrent time, measured
in the same run against the same server. Goal: >= 1.5x.

Then it runs a whole ``voxpipe prepare --store s3://...`` over MESSAGES
distinct ~5 s messages (both default profiles) and prints the share of the
run spent uploading, from the timing in the command's own JSON report.
Goal: under 10%.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from tests.s3server import running_s3_server  # noqa: E402
from voxpipe.pipeline.artifact import Artifact  # noqa: E402
from voxpipe.pipeline.store import Hosted, S3Store, StoreSettings, init_bucket, put_many  # noqa: E402

BUCKET = "bench"
CPU: dict[bool, list[tuple[float, float]]] = {False: [], True: []}  # (client, server) CPU seconds per run


def make_artifacts(directory: Path, count: int, size: int) -> list[Artifact]:
    arts = []
    for _ in range(count):
        data = os.urandom(size)
        digest = hashlib.sha256(data).hexdigest()
        path = directory / f"{digest[:32]}.mp3"
        path.write_bytes(data)
        arts.append(
            Artifact(
                path=path,
                profile="pstn",
                mime="audio/mpeg",
                sha256=digest,
                bytes=size,
                duration_s=size / 4000,
                sample_rate=16000,
                channels=1,
                lufs=-16.0,
                true_peak_dbtp=-1.0,
                container="mp3",
                codec="mp3",
            )
        )
    return arts


def server_cpu_s(pid: int) -> float:
    """User+system CPU seconds used so far by the server process (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_upload(server, settings: StoreSettings, prefix: str, arts: list[Artifact], workers: int) -> float:
    # A fresh store (and boto3 client) per run, as a `prepare` invocation would have.
    store = S3Store.from_spec(f"s3://{BUCKET}/{prefix}", settings)
    store.exists(arts[0])  # warm the client and its connection so both runs start alike
    started, cpu, srv = time.perf_counter(), time.process_time(), server_cpu_s(server.process.pid)
    results = list(put_many(store, arts, workers=workers))
    elapsed = time.perf_counter() - started
    CPU[workers > 1].append((time.process_time() - cpu, server_cpu_s(server.process.pid) - srv))
    failures = [r for _, r in results if not isinstance(r, Hosted)]
    uploaded = sum(1 for _, r in results if isinstance(r, Hosted) and r.uploaded)
    if failures or uploaded != len(arts):
        raise SystemExit(f"{prefix}: {len(failures)} failed, {uploaded} uploaded; first failure: {failures[:1]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--kib", type=int, default=50)
    parser.add_argument("--workers", type=int, default=StoreSettings.workers)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--messages", type=int, default=20, help="messages for the prepare --store run")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="voxpipe-bench-") as tmp, running_s3_server(Path(tmp) / "s3") as server:
        os.environ.update(server.env())  # the standard AWS credential chain finds them
        settings = StoreSettings(endpoint_url=server.endpoint, workers=args.workers)
        init_bucket(f"s3://{BUCKET}/warmup", settings)
        art_dir = Path(tmp) / "artifacts"
        art_dir.mkdir()
        arts = make_artifacts(art_dir, args.count, args.kib * 1024)
        timed_upload(server, settings, "warmup", arts[:20], args.workers)  # first writes allocate volumes

        seq_times, par_times = [], []
        for run in range(args.repeat):
            order = [("seq", 1), ("par", args.workers)]
            if run % 2:
                order.reverse()
            for label, workers in order:
                elapsed = timed_upload(server, settings, f"{label}-{run}", arts, workers)
                (seq_times if label == "seq" else par_times).append(elapsed)

        total_mb = args.count * args.kib * 1024 / 1e6
        seq, par = statistics.median(seq_times), statistics.median(par_times)
        print(
            f"SeaweedFS {server.endpoint}: {args.count} artifacts x {args.kib} KiB ({total_mb:.1f} MB), cpus={os.cpu_count()}"
        )
        print(
            f"sequential (workers=1): {seq:.3f} s  ({args.count / seq:.0f} obj/s)  runs: {', '.join(f'{t:.3f}' for t in seq_times)}"
        )
        print(
            f"concurrent (workers={args.workers}): {par:.3f} s  ({args.count / par:.0f} obj/s)  runs: {', '.join(f'{t:.3f}' for t in par_times)}"
        )
        print(f"speed-up: {seq / par:.2f}x (goal >= 1.5x)")
        for label, key in (("sequential", False), ("concurrent", True)):
            client = statistics.median(c for c, _ in CPU[key][-args.repeat :])
            srv = statistics.median(s for _, s in CPU[key][-args.repeat :])
            print(f"  CPU during {label} runs (median): client {client:.2f} s, server {srv:.2f} s")
        print(f"  load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
        upload_share(server, Path(tmp), args.messages)


def upload_share(server, tmp: Path, count: int) -> None:
    import json
    import subprocess

    from bench_prepare import texts

    manifest = tmp / "messages.jsonl"
    manifest.write_text("".join(json.dumps({"id": f"m{i}", "text": t}) + "\n" for i, t in enumerate(texts(count))))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "voxpipe",
            "prepare",
            str(manifest),
            "--out",
            str(tmp / "prepared"),
            "--store",
            f"s3://{BUCKET}/voice",
            "--endpoint-url",
            server.endpoint,
            "--json",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **server.env()},
    )
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-2000:])
    timing = json.loads(proc.stdout)["summary"]["timing"]
    total = timing["prepare_s"] + timing["upload_s"]
    print(
        f"prepare --store s3 of {count} messages (x2 profiles): prepare {timing['prepare_s']:.1f} s, "
        f"upload {timing['upload_s']:.2f} s = {100 * timing['upload_s'] / total:.1f}% of the run (goal < 10%)"
    )


if __name__ == "__main__":
    main()
