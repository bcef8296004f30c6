"""PyAV glue: FFmpeg's own log lines become the reasons in voxpipe's errors.

PyAV raises errors such as "Invalid argument"; the line FFmpeg logged just
before says what was wrong ("The bit rate 510000 bps is unsupported...").
Those lines are captured per thread and never printed.
"""

from __future__ import annotations

import logging
from types import TracebackType

import av
import av.logging

__all__ = ["FFmpegMessages"]

# Errors only, and into the captures below: an uncaptured line is dropped, not printed.
av.logging.set_level(av.logging.ERROR)
_LOGGER = logging.getLogger("libav")
_LOGGER.addHandler(logging.NullHandler())
_LOGGER.propagate = False


class FFmpegMessages:
    """``with FFmpegMessages() as ffmpeg: ...`` then ``ffmpeg.reason(exc)``."""

    def __init__(self) -> None:
        self._capture = av.logging.Capture(local=True)
        self._logs: list[tuple[int, str, str]] = []

    def __enter__(self) -> FFmpegMessages:
        self._logs = self._capture.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._capture.__exit__(None, None, None)  # only stops capturing; the error goes on

    def reason(self, exc: BaseException) -> str:
        """FFmpeg's last logged line so far, else the error's own text; no trailing full stop."""
        lines = [str(message).strip() for _, _, message in self._logs if str(message).strip()]
        strerror = getattr(exc, "strerror", None)
        return (lines[-1] if lines else str(strerror or exc)).rstrip(".")
