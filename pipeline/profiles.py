"""Profiles: what a destination needs from an audio file.

Presets are JSON files in ``assets/profiles/``. A user adds or overrides one
by putting ``NAME.json`` in a directory named by ``VOXPIPE_PROFILES_DIR`` (or
passed as ``extra_dirs``), or by naming a JSON file path directly.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ProfileError

__all__ = ["DEFAULT_PROFILES", "Profile", "assets_dir", "available_profiles", "load_profile"]

DEFAULT_PROFILES: tuple[str, ...] = ("pstn", "whatsapp")
_CONTAINERS = {"mp3": "libmp3lame", "ogg": "libopus", "wav": "pcm_s16le"}
#: Bitrates (kbps) each lossy encoder accepts.
BITRATE_RANGE = {"libmp3lame": (8, 320), "libopus": (6, 510)}
MAX_EDGE_MS = 10_000
MAX_FADE_MS = 1_000
MAX_GAIN_DB = 60.0
_OPUS_FRAMES_MS = (5, 10, 20, 40, 60)
_OPUS_APPLICATIONS = ("voip", "audio", "lowdelay")
_STRINGS = ("name", "container", "codec", "extension", "mime", "description")
_INTS = ("sample_rate", "lead_ms", "tail_ms", "fade_ms", "channels")
_OPTIONAL_INTS = ("bitrate_kbps", "min_bitrate_kbps", "frame_ms", "size_budget_bytes", "max_bytes")
_FLOATS = ("lufs", "true_peak_dbtp", "highpass_hz", "max_gain_db")


def _type_problem(name: str, value: Any) -> str | None:
    """What is wrong with the JSON type of field ``name``, if anything."""
    if name in _STRINGS or name == "application":
        if value is None and name in ("application", "description"):
            return None
        return None if isinstance(value, str) else f"{name} must be a string, not {_shown(value)}"
    if name == "vbr":
        return None if isinstance(value, bool) else f"vbr must be true or false, not {_shown(value)}"
    if name in _OPTIONAL_INTS and value is None:
        return None
    if name in _INTS or name in _OPTIONAL_INTS:
        if isinstance(value, bool) or not isinstance(value, int):
            return f"{name} must be a whole number, not {_shown(value)}"
        return None
    if name in _FLOATS:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return f"{name} must be a finite number, not {_shown(value)}"
    return None


def _shown(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, float) or math.isfinite(value) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def assets_dir() -> Path:
    """The ``assets/`` folder: ``voxpipe/assets`` when installed, ``assets/`` in the source tree.

    Either way it sits beside this package's folder (``voxpipe.pipeline`` maps to ``pipeline/``).
    """
    env = os.environ.get("VOXPIPE_ASSETS_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "assets"


@dataclass(frozen=True)
class Profile:
    """One output format with its mastering targets."""

    name: str
    container: str
    codec: str
    extension: str
    mime: str
    sample_rate: int
    lufs: float
    true_peak_dbtp: float
    bitrate_kbps: int | None = None
    min_bitrate_kbps: int | None = None
    vbr: bool = False
    application: str | None = None
    frame_ms: int | None = None
    highpass_hz: float = 80.0
    lead_ms: int = 500
    tail_ms: int = 500
    fade_ms: int = 10
    max_gain_db: float = 40.0
    """Most gain ever applied; below it, the input's noise floor decides (see mastering)."""
    size_budget_bytes: int | None = None
    max_bytes: int | None = None
    channels: int = 1
    description: str = ""

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise ProfileError(f"profile {self.name!r}: " + "; ".join(problems))

    def problems(self) -> list[str]:
        """Everything wrong with this profile, one phrase per field."""
        types = [p for f in dataclasses.fields(self) if (p := _type_problem(f.name, getattr(self, f.name)))]
        if types:
            return types
        problems = []
        if _CONTAINERS.get(self.container) != self.codec:
            problems.append(f"container {self.container!r} with codec {self.codec!r} is not supported")
        if self.channels != 1:
            problems.append("only mono output is supported")
        if self.container != "wav" and not self.bitrate_kbps:
            problems.append("a lossy profile needs bitrate_kbps")
        if not -40.0 <= self.lufs <= -5.0:
            problems.append(f"lufs {self.lufs} is outside -40..-5")
        if not -12.0 <= self.true_peak_dbtp <= 0.0:
            problems.append(f"true_peak_dbtp {self.true_peak_dbtp} is outside -12..0")
        if self.sample_rate not in (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000):
            problems.append(f"sample_rate {self.sample_rate} is not supported")
        if self.container == "ogg" and self.sample_rate not in (8000, 12000, 16000, 24000, 48000):
            problems.append("Opus takes 8, 12, 16, 24 or 48 kHz")
        low, high = BITRATE_RANGE.get(self.codec, (0, 0))
        for name in ("bitrate_kbps", "min_bitrate_kbps"):
            kbps = getattr(self, name)
            if kbps is not None and self.codec in BITRATE_RANGE and not low <= kbps <= high:
                problems.append(f"{name} {kbps} is outside {low}..{high} for {self.codec}")
        if self.min_bitrate_kbps is not None and self.bitrate_kbps and self.min_bitrate_kbps > self.bitrate_kbps:
            problems.append(f"min_bitrate_kbps {self.min_bitrate_kbps} is above bitrate_kbps {self.bitrate_kbps}")
        for name in ("lead_ms", "tail_ms"):
            if not 0 <= getattr(self, name) <= MAX_EDGE_MS:
                problems.append(f"{name} {getattr(self, name)} is outside 0..{MAX_EDGE_MS}")
        if not 0 <= self.fade_ms <= MAX_FADE_MS:
            problems.append(f"fade_ms {self.fade_ms} is outside 0..{MAX_FADE_MS}")
        if not 0 <= self.max_gain_db <= MAX_GAIN_DB:
            problems.append(f"max_gain_db {self.max_gain_db} is outside 0..{MAX_GAIN_DB:g}")
        if not 0 <= self.highpass_hz < self.sample_rate / 2:
            problems.append(
                f"highpass_hz {self.highpass_hz} is outside 0..{self.sample_rate // 2} (half the sample rate)"
            )
        for name in ("size_budget_bytes", "max_bytes"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                problems.append(f"{name} {getattr(self, name)} must be positive")
        if self.frame_ms is not None and self.frame_ms not in _OPUS_FRAMES_MS:
            problems.append(f"frame_ms {self.frame_ms} is not one of {', '.join(map(str, _OPUS_FRAMES_MS))}")
        if self.application is not None and self.application not in _OPUS_APPLICATIONS:
            problems.append(f"application {self.application!r} is not one of {', '.join(_OPUS_APPLICATIONS)}")
        if not self.name or "/" in self.name or self.name.startswith("."):
            problems.append(f"name {self.name!r} must be a plain file-name stem")
        if not self.extension.isalnum():
            problems.append(f"extension {self.extension!r} must be letters and digits")
        return problems

    def settings(self) -> dict[str, object]:
        """Everything that changes the bytes produced (for content addressing)."""
        data = dataclasses.asdict(self)
        data.pop("description")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, object], source: str = "profile") -> Profile:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ProfileError(f"{source}: unknown field(s) {', '.join(unknown)}")
        required = [f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING and f.name not in data]
        if required:
            raise ProfileError(f"{source}: missing field(s) {', '.join(required)}")
        types = [p for name, value in data.items() if (p := _type_problem(name, value))]
        if types:
            raise ProfileError(f"{source}: " + "; ".join(types))
        try:
            return cls(**data)  # type: ignore[arg-type]
        except ProfileError as exc:
            raise ProfileError(f"{source}: {exc}") from None


def _search_dirs(extra_dirs: tuple[Path, ...]) -> list[Path]:
    dirs = list(extra_dirs)
    env = os.environ.get("VOXPIPE_PROFILES_DIR")
    if env:
        dirs.append(Path(env))
    dirs.append(assets_dir() / "profiles")
    return dirs


def load_profile(name_or_path: str | Path, extra_dirs: tuple[Path, ...] = ()) -> Profile:
    """Load a profile by preset name (user directories first) or JSON path."""
    text = str(name_or_path)
    candidates = [Path(text)] if text.endswith(".json") else [d / f"{text}.json" for d in _search_dirs(extra_dirs)]
    for path in candidates:
        if path.exists() and not path.is_file():
            raise ProfileError(f"profile file {path}: not a regular file")
        if path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except OSError as exc:
                raise ProfileError(f"profile file {path}: cannot read: {exc.strerror or exc}") from exc
            except UnicodeDecodeError:
                raise ProfileError(f"profile file {path}: not UTF-8 text") from None
            except RecursionError:
                raise ProfileError(f"profile file {path}: not valid JSON (nested too deeply)") from None
            except ValueError as exc:  # not JSON, or a number over Python's 4,300-digit limit
                raise ProfileError(f"profile file {path}: {str(exc)[:160]} (not valid JSON)") from None
            if not isinstance(data, dict):
                raise ProfileError(f"profile file {path}: expected a JSON object")
            data.setdefault("name", path.stem)
            return Profile.from_dict(data, source=f"profile file {path}")
    known = ", ".join(available_profiles(extra_dirs)) or "none"
    raise ProfileError(f"unknown profile {text!r} (known: {known})")


def available_profiles(extra_dirs: tuple[Path, ...] = ()) -> list[str]:
    names: set[str] = set()
    for d in _search_dirs(extra_dirs):
        if d.is_dir():
            names.update(p.stem for p in d.glob("*.json"))
    return sorted(names)
