"""``voxpipe config show``: the effective settings, where each came from, secrets hidden."""

from __future__ import annotations

import json

import click

from .params import current_config

__all__ = ["config", "show"]


@click.group()
def config() -> None:
    """Inspect the layered configuration (defaults, voxpipe.toml, environment, flags)."""


@config.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")
def show(as_json: bool) -> None:
    """Print every setting with its value and source; credentials show as ***."""
    current = current_config()
    rows = current.shown()
    if as_json:
        listed: dict[str, object] = {"file": str(current.file) if current.file else None}
        listed.update({name: {"value": value, "source": source} for name, value, source in rows})
        click.echo(json.dumps(listed, indent=2))
        return
    click.echo(f"# configuration file: {current.file or '(none)'}")
    width = max(len(name) for name, _, _ in rows)
    for name, value, source in rows:
        click.echo(f"{name:<{width}}  {value}  [{source}]")
