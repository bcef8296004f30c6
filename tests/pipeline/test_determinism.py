"""Same input, same pipeline version: the same bytes, in any process, with any
job or thread count (files are named by the input's hash and served as immutable)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.cli import voxpipe
from voxpipe.pipeline.engines import VoiceSettings, get_engine

ROWS = [
    {"id": "otp", "text": 'Your code is <say-as interpret-as="digits">4839</say-as>. <break time="300ms"/> Goodbye.'},
    {"id": "notice", "text": "Good morning. The water supply will be interrupted on Tuesday from nine until noon."},
    {
        "id": "slow",
        "text": '<speak><prosody rate="slow" pitch="-1st">Please hold the line.</prosody> Thank you.</speak>',
    },
]


def _files(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.suffix != ".json"}


def test_two_processes_with_different_jobs_and_threads_write_identical_files(tmp_path: Path) -> None:
    manifest = tmp_path / "batch.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    runs = {"a": ["-j", "1", "--threads", "2"], "b": ["-j", "2", "--threads", "1"]}
    for name, args in runs.items():
        proc = voxpipe("prepare", str(manifest), "-o", str(tmp_path / name), *args)
        assert proc.returncode == 0, proc.stderr
    first, second = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert len(first) == 2 * len(ROWS)  # pstn + whatsapp per item
    assert first == second


def test_the_voice_does_not_depend_on_what_it_spoke_before() -> None:
    one = get_engine("piper", VoiceSettings(threads=1))
    text = "Your appointment is confirmed for Friday."
    before = one.synthesize(text).samples
    one.synthesize("Something else entirely, to move any random state along.")
    again = one.synthesize(text).samples
    assert before.tobytes() == again.tobytes()
    other_threads = get_engine("piper", VoiceSettings(threads=2)).synthesize(text).samples
    assert other_threads.tobytes() == before.tobytes()
    assert before.std() > 0.01  # still speech, not silence
