"""Credential flags, generated from the provider classes (declared once, beside each provider)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import click

from voxpipe.sender.providers import Provider


def credential_options(classes: Iterable[type[Provider]]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Add one flag per credential; providers that share a flag (``--key``) share the option."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        creds: dict[str, list[Any]] = {}
        for cls in classes:
            for c in cls.credentials:
                creds.setdefault(c.flag, []).append(c)
        for flag in sorted(creds, reverse=True):
            envs = " or ".join(c.env for c in creds[flag])
            fn = click.option(
                flag, f"cred_{creds[flag][0].name}", help=f"Credential (prefer the environment: {envs})."
            )(fn)
        return fn

    return decorate


def given_credentials(options: dict[str, Any]) -> dict[str, str]:
    """The credential values among a command's keyword arguments."""
    return {k[5:]: v for k, v in options.items() if k.startswith("cred_") and v}
