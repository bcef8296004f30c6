"""Rendering a :class:`Script` with an engine.

Engines only speak plain text at their natural rate; the markup is realised
here: say-as and sub become words before synthesis, runs of speech with the
same prosody are spoken in one call (so the engine keeps its sentence
melody), a rate becomes a pitch-preserving time-stretch (piper's
``length_scale`` missed by 10 points on a 1.25 request, rubberband is exact),
pitch a pitch shift, volume and emphasis a gain. At a pause the engine's own
edge silence is trimmed and exactly the requested silence is inserted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import dsp
from .audio import Audio
from .engines import Engine
from .errors import SynthesisError
from .markup import Pause, Prosody, Script, Speech, normalize
from .markup.symbols import EMPHASIS_GAIN_DB

__all__ = ["join_spoken", "synthesize"]

# Edge silence below the message peak by this much is cut at pauses.
TRIM_BELOW_PEAK_DB = 40.0
# Between two runs of speech with no pause, each side keeps this much of its own edge.
JOIN_EDGE_MS = 40.0


@dataclass(frozen=True)
class _Run:
    text: str
    prosody: Prosody
    emphasis: str | None


def _runs(script: Script) -> list[_Run | Pause]:
    out: list[_Run | Pause] = []
    for seg in script.segments:
        if isinstance(seg, Pause):
            if out and isinstance(out[-1], Pause):
                out[-1] = Pause(out[-1].ms + seg.ms, out[-1].strength)
            else:
                out.append(seg)
            continue
        assert isinstance(seg, Speech)
        last = out[-1] if out else None
        if isinstance(last, _Run) and last.prosody == seg.prosody and last.emphasis == seg.emphasis:
            out[-1] = _Run(last.text + seg.text, last.prosody, last.emphasis)
        else:
            out.append(_Run(seg.text, seg.prosody, seg.emphasis))
    return [r for r in out if not (isinstance(r, _Run) and not any(ch.isalnum() for ch in r.text))]


def _speak(run: _Run, engine: Engine) -> Audio:
    audio = engine.synthesize(" ".join(run.text.split()))
    audio = dsp.time_stretch(audio, run.prosody.rate, run.prosody.pitch_st)
    return audio.gain(run.prosody.volume_db + EMPHASIS_GAIN_DB.get(run.emphasis or "none", 0.0))


def synthesize(script: Script, engine: Engine, *, language: str | None = None) -> Audio:
    """Speak ``script`` with ``engine``; returns the raw (unmastered) message."""
    words = normalize(script, language or engine.language)
    runs = _runs(words)
    return join_spoken([_speak(r, engine) if isinstance(r, _Run) else r for r in runs], engine.name)


def join_spoken(spoken: list[Audio | Pause], engine_name: str) -> Audio:
    """Runs of speech and pauses as one message: exactly the written silence at a pause (each run's own
    edge silence trimmed), a short natural gap between two runs with no pause between them."""
    speech = [a for a in spoken if isinstance(a, Audio) and a.peak > 0]
    if not speech:
        raise SynthesisError(f"{engine_name}: the engine produced no audio for this text")
    rate = speech[0].rate
    peak = max(a.peak for a in speech)
    threshold = 20 * math.log10(peak) - TRIM_BELOW_PEAK_DB

    keep = int(rate * JOIN_EDGE_MS / 1000)
    parts: list[Audio] = []
    tail: np.ndarray | None = None  # trimmed edge of the speech just before, if no pause since
    for item in spoken:
        if isinstance(item, Pause):
            parts.append(Audio.silence(item.ms, rate))
            tail = None
            continue
        bounds = dsp.active_bounds(item, threshold)
        if bounds is None:
            continue
        start, end = bounds
        if tail is not None:  # speech straight after speech: keep a natural, short gap
            parts.append(Audio(tail[:keep], rate))
            start = max(0, start - keep)
        parts.append(item.with_samples(item.samples[start:end]))
        tail = item.samples[end:]
    return Audio.concat([p for p in parts if len(p.samples)])
