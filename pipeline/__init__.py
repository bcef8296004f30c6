"""Preparation stages: markup or source audio into mastered, verified files.

```python
from voxpipe.pipeline import parse, get_engine, synthesize, master, encode, load_profile

script = parse('Your code is <say-as interpret-as="digits">4839</say-as>.')
audio = synthesize(script, get_engine("piper"))
mastered = master(audio, load_profile("pstn"))
```

or all at once: ``prepare(Item("otp", text=...), PrepareSettings(out_dir=...))``.
Heavy modules (scipy, onnxruntime, boto3) load on first use, not on import.
"""

from __future__ import annotations

from .artifact import Artifact
from .audio import Audio
from .encoding import Verified, encode, verify
from .engines import Engine, VoiceSettings, engine_infos, get_engine
from .errors import (
    AudioInputError,
    EncodeError,
    ManifestError,
    MarkupError,
    ProfileError,
    StoreError,
    SynthesisError,
    VoxpipeError,
)
from .load import FetchSettings, load_audio
from .manifest import expand_sources, read_manifest
from .markup import Pause, Prosody, Script, Speech, normalize, parse, to_plain_text
from .mastering import Mastered, MasterSettings, master
from .preparation import Item, ItemResult, PrepareSettings, prepare, produce
from .profiles import Profile, available_profiles, load_profile
from .runner import prepare_many
from .synthesis import synthesize

__all__ = [
    "Artifact",
    "Audio",
    "AudioInputError",
    "EncodeError",
    "Engine",
    "FetchSettings",
    "Item",
    "ItemResult",
    "ManifestError",
    "MarkupError",
    "MasterSettings",
    "Mastered",
    "Pause",
    "PrepareSettings",
    "Profile",
    "ProfileError",
    "Prosody",
    "Script",
    "Speech",
    "StoreError",
    "SynthesisError",
    "Verified",
    "VoiceSettings",
    "VoxpipeError",
    "available_profiles",
    "encode",
    "engine_infos",
    "expand_sources",
    "get_engine",
    "load_audio",
    "load_profile",
    "master",
    "normalize",
    "parse",
    "prepare",
    "prepare_many",
    "produce",
    "read_manifest",
    "synthesize",
    "to_plain_text",
    "verify",
]
