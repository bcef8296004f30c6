"""Profiles: what a destination needs from an audio file.

Presets are JSON files in ``assets/profiles/``. A user adds or overrides one
by putting ``NAME.json`` in a directory named by ``VOXPIPE_PROFILES_DIR`` (or
passed as ``extra_dirs``), or by naming a JSON file path directly.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import ProfileError

__all__ = ["DEFAULT_PROFILES", "Profile", "assets_dir", "available_profiles", "load_profile"]

DEFAULT_PROFILES: tuple[str, ...] = ("pstn", "whatsapp")
_CONTAINERS = {"mp3": "libmp3lame", "ogg": "libopus", "wav": "pcm_s16le"}


def assets_dir() -> Path:
    """The ``assets/`` folder, installed as ``voxpipe.assets`` or beside the source."""
    env = os.environ.get("VOXPIPE_ASSETS_DIR")
    if env:
        return Path(env)
    source_tree = Path(__file__).resolve().parent.parent / "assets"
    if (source_tree / "profiles").is_dir():
        return source_tree
    import voxpipe.assets  # installed copy (a namespace package: data only)

    return Path(next(iter(voxpipe.assets.__path__)))


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
    max_gain_db: float = 20.0
    size_budget_bytes: int | None = None
    max_bytes: int | None = None
    channels: int = 1
    description: str = ""

    def __post_init__(self) -> None:
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
        if problems:
            raise ProfileError(f"profile {self.name!r}: " + "; ".join(problems))

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
        try:
            return cls(**data)  # type: ignore[arg-type]
        except TypeError as exc:
            raise ProfileError(f"{source}: {exc}") from exc


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
        if path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise ProfileError(f"profile file {path}: {exc}") from exc
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
