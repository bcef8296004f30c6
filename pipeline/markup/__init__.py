"""Markup: SSML-like text in, a flat :class:`Script` of speech and pauses out.

``parse`` reads the markup, ``normalize`` turns say-as hints into words,
``to_plain_text`` flattens a script for engines that take no markup.
"""

from __future__ import annotations

from .normalize import normalize, spell_digits, to_plain_text
from .parser import parse
from .script import Pause, Prosody, Script, Speech

__all__ = ["Pause", "Prosody", "Script", "Speech", "normalize", "parse", "spell_digits", "to_plain_text"]
