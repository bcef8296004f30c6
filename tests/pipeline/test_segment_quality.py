"""Quality gates of the segment cache, with real piper and an offline recogniser (pocketsphinx).

* Intelligibility: 50 one-time codes assembled from cached segments are
  recognised no worse than the same 50 synthesised in full (+0.05 digit WER).
* Seams: at every cut the sample-to-sample step stays within the message's
  own steps (no click), and each value is within 1 LU of the speech around it.
* Pauses written in the template stay exact; the mastered files are on target
  (graded by ffmpeg's ebur128, not by the code's own meter).
"""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

import numpy as np
import pytest

from tests.audio_checks import ebur128, silent_gaps_ms
from voxpipe.pipeline.engines import get_engine
from voxpipe.pipeline.markup import parse
from voxpipe.pipeline.personal import prepare_template
from voxpipe.pipeline.preparation import PrepareSettings
from voxpipe.pipeline.profiles import load_profile
from voxpipe.pipeline.segments import (
    SegmentCache,
    TemplateRun,
    segment_loudness,
    splice_run,
    synthesize_template,
    template_runs,
)
from voxpipe.pipeline.synthesis import synthesize
from voxpipe.pipeline.templates import Template

pocketsphinx = pytest.importorskip("pocketsphinx", reason="pocketsphinx (test extra) recognises the codes")

OTP = Template.parse('Your Northwind code is <say-as interpret-as="digits">{code}</say-as>.')
DIGITS = "zero one two three four five six seven eight nine".split()


@pytest.fixture(scope="module")
def engine():
    return get_engine("piper")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return SegmentCache(tmp_path_factory.mktemp("segments"))


def _codes(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice("0123456789") for _ in range(6)) for _ in range(n)]


class _Recogniser:
    """pocketsphinx with its bundled en-US model, listening for the template's words then digits (as a
    phone menu would): the same for both renditions, and ~5x faster than its open vocabulary."""

    GRAMMAR = "#JSGF V1.0; grammar otp; public <s> = [your] [north] [wind] [code] [is] <d>+; <d> = {};"

    def __init__(self) -> None:
        from scipy.signal import resample_poly

        self._resample = resample_poly
        self._decoder = pocketsphinx.Decoder(samprate=16000, logfn="/dev/null")
        self._decoder.add_jsgf_string("otp", self.GRAMMAR.format(" | ".join(DIGITS)))
        self._decoder.activate_search("otp")

    def digits(self, samples: np.ndarray, rate: int) -> list[str]:
        y = self._resample(samples.astype(np.float64), 16000, rate)
        pcm = (np.clip(y / max(1e-9, float(np.abs(y).max())) * 0.5, -1, 1) * 32767).astype("<i2").tobytes()
        self._decoder.start_utt()
        self._decoder.process_raw(pcm, full_utt=True)
        self._decoder.end_utt()
        hyp = self._decoder.hyp()
        return [w for w in (hyp.hypstr if hyp else "").split() if w in DIGITS]


def _edits(a: list[str], b: list[str]) -> int:
    row = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        prev, row[0] = row[0], i
        for j in range(1, len(b) + 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] != b[j - 1]))
    return row[-1]


def test_spliced_codes_are_as_intelligible_as_full_synthesis(engine, cache):
    recogniser = _Recogniser()
    errors = {"spliced": 0, "full": 0}
    total = 0
    for code in _codes(50):
        truth = [DIGITS[int(c)] for c in code]
        total += len(truth)
        spliced = synthesize_template(OTP, {"code": code}, engine, cache)
        assert spliced is not None
        full = synthesize(parse(OTP.render({"code": code})), engine)
        errors["spliced"] += _edits(truth, recogniser.digits(spliced.samples, spliced.rate))
        errors["full"] += _edits(truth, recogniser.digits(full.samples, full.rate))
    wer = {name: count / total for name, count in errors.items()}
    print(f"digit WER over 50 codes: {wer}")
    assert wer["spliced"] <= wer["full"] + 0.05, wer


def _runs(template: Template, values: dict[str, str], engine) -> list[TemplateRun]:
    runs = template_runs(template, values, engine.language)
    assert runs is not None
    return [r for r in runs if isinstance(r, TemplateRun) and any(p.field for p in r.pieces)]


TEMPLATES = [
    (OTP, [{"code": c} for c in _codes(8, seed=3)]),
    (
        Template.parse(
            'Hello {name}, your appointment is on {day} at {time}. <break time="400ms"/> Reply to change it.'
        ),
        [
            {"name": n, "day": d, "time": t}
            for n, d, t in [
                ("Amelia", "Tuesday", "nine thirty"),
                ("Oluwaseun", "Friday", "two fifteen"),
                ("Jo", "Monday", "noon"),
            ]
        ],
    ),
]


@pytest.mark.parametrize(("template", "rows"), TEMPLATES, ids=["otp", "reminder"])
def test_seams_have_no_click_and_values_match_the_speech_around_them(engine, cache, template, rows):
    checked = 0
    for values in rows:
        for run in _runs(template, values, engine):
            spliced = splice_run(run, engine, cache, engine.language)
            assert spliced is not None, run.text()
            x = spliced.audio.samples.astype(np.float64)
            steps = np.abs(np.diff(x))
            away = np.ones(len(steps), bool)
            for j in spliced.joins:  # the message's own steps: everything but the joins themselves
                away[max(0, j - 2) : j + 2] = False
            ceiling = float(steps[away].max())
            for j in spliced.joins:
                assert float(steps[max(0, j - 2) : j + 2].max()) <= ceiling, (run.text(), j)
            bounds = (0, *spliced.joins, len(x))
            stretches = [x[a:b] for a, b in itertools.pairwise(bounds)]
            rate = spliced.audio.rate
            for region in sorted({r for r in spliced.regions if r >= 0}):  # a value: all its stretches
                members = [i for i, r in enumerate(spliced.regions) if r == region]
                level = segment_loudness(np.concatenate([stretches[i] for i in members]), rate)
                around = [
                    segment_loudness(stretches[k], rate)
                    for k in (members[0] - 1, members[-1] + 1)
                    if 0 <= k < len(stretches) and spliced.regions[k] < 0
                ]
                known = [v for v in around if v is not None]
                if level is None or not known:
                    continue
                assert abs(level - float(np.mean(known))) <= 1.0, (run.text(), region, level, known)
                checked += 1
    assert checked >= len(rows)


def test_pauses_stay_exact(engine, cache):
    template = Template.parse(
        'Code <say-as interpret-as="digits">{code}</say-as>. <break time="700ms"/> '
        'Again <say-as interpret-as="digits">{code}</say-as>.'
    )
    spliced = synthesize_template(template, {"code": "5309"}, engine, cache)
    assert spliced is not None
    gaps = silent_gaps_ms(spliced.samples, spliced.rate, min_ms=400)
    assert any(abs(g - 700) <= 20 for g in gaps), gaps


def test_spliced_artifacts_are_on_target(tmp_path):
    settings = PrepareSettings(out_dir=tmp_path / "out", profiles=("pstn", "whatsapp"))
    rows = [{"id": f"r{i}", "code": code} for i, code in enumerate(_codes(3, seed=11))]
    results = list(prepare_template(OTP, rows, settings))
    assert all(r.ok for r in results), [r.error for r in results]
    assert all(r.segments is not None and r.segments["hits"] + r.segments["misses"] > 0 for r in results)
    for result in results:
        for artifact in result.artifacts:
            profile = load_profile(artifact.profile)
            measured = ebur128(Path(artifact.path))
            assert abs(measured.integrated_lufs - profile.lufs) <= 1.0, (artifact.path, measured)
            assert measured.true_peak_dbtp <= profile.true_peak_dbtp + 0.1, (artifact.path, measured)
    report = json.dumps([r.to_dict() for r in results])
    for row in rows:
        assert row["code"] not in report
