"""The ffmpeg program, where one is installed: only pydub needs it.

voxpipe decodes and encodes in-process with PyAV and needs no ffmpeg
binary. pydub runs one for its own ``from_file`` of non-WAV formats and for
``export``; :func:`configure_pydub` points pydub at the binary of the
``imageio-ffmpeg`` package when that is installed, else at ``ffmpeg`` on the
PATH, and leaves pydub alone when there is neither. This module imports
nothing of voxpipe's, so :mod:`voxpipe.pipeline.audio` may use it.
"""

from __future__ import annotations

import functools
import shutil
import warnings
from typing import Any

__all__ = ["configure_pydub", "find_ffmpeg"]


@functools.cache
def find_ffmpeg() -> str | None:
    """Path of an ffmpeg program: imageio-ffmpeg's if installed, else one on the PATH, else None."""
    try:
        import imageio_ffmpeg
    except ImportError:
        return shutil.which("ffmpeg")
    try:
        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except RuntimeError:  # the package without its binary (an unsupported platform)
        return shutil.which("ffmpeg")


@functools.cache
def configure_pydub() -> Any:
    """pydub's ``AudioSegment`` class, pointed at :func:`find_ffmpeg`'s program when there is one.

    Without an ffmpeg, pydub still builds segments from raw samples and WAV
    files; voxpipe's own stages never need pydub's ffmpeg.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydub warns at import when no ffmpeg is on PATH
        from pydub import AudioSegment

    exe = find_ffmpeg()
    if exe is not None:
        AudioSegment.converter = exe
        AudioSegment.ffmpeg = exe
    return AudioSegment
