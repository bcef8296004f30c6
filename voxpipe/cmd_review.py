"""``voxpipe review``, and the HTML pages of ``prepare --review`` and ``status --html``.

The commands that own those options call :func:`write_prepared_review` and
:func:`write_status_html`; the option decorators live here too, so the pages
are wired into them with a few lines.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from .output import echo_err

if TYPE_CHECKING:
    from voxpipe.sender.journal import Campaign, Journal

__all__ = [
    "review",
    "review_option",
    "status_html_options",
    "write_prepared_review",
    "write_status_html",
]

_F = TypeVar("_F", bound=Callable[..., Any])
REVIEW_PAGE = "review.html"


def _said(path: Path, summary: dict[str, Any]) -> None:
    echo_err(
        f"review page: {path} ({summary['items']} item(s), {summary['failed']} failed, {summary['flagged']} flagged)"
    )


@click.command()
@click.argument("report", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--out",
    "out_file",
    type=click.Path(path_type=Path),
    help=f"The page to write [default: {REVIEW_PAGE} beside REPORT].",
)
@click.option(
    "--media",
    type=click.Choice(["path", "url"]),
    default="path",
    show_default=True,
    help="How the players find each file: by its path relative to the page, or by its media_url where the report has one.",
)
@click.option("--title", help="Page title [default: 'Review: ' and the report's name].")
def review(report: Path, out_file: Path | None, media: str, title: str | None) -> None:
    """Build a review page from a saved preparation report (`voxpipe prepare --report FILE`).

    One self-contained HTML file: per item the text as written (or the source
    file) and per file a player, a waveform, the momentary loudness against
    the profile's target and the measured facts; outliers are flagged and
    sort to the top. Files are found as the report names them, or under the
    report's folder.
    """
    from voxpipe.pipeline.pages import ReviewSettings, load_report, write_review

    data = load_report(report)
    page = out_file or report.parent / REVIEW_PAGE
    settings = ReviewSettings(media="url" if media == "url" else "path")
    summary = write_review(data, page, report.parent, settings, title or f"Review: {report.name}")
    _said(page, summary)


def review_option(command: _F) -> _F:
    """``prepare --review``."""
    return click.option(
        "--review",
        is_flag=True,
        help=f"Also write {REVIEW_PAGE} into the output folder: hear, see and check every file in a browser.",
    )(command)


def write_prepared_review(report: dict[str, Any], out_dir: Path) -> None:
    """``prepare --review``: the page of this run's report, in the output folder beside the files."""
    from voxpipe.pipeline.pages import write_review

    page = out_dir / REVIEW_PAGE
    _said(page, write_review(report, page, title=f"Review: {out_dir.resolve().name or out_dir}"))


def status_html_options(command: _F) -> _F:
    """``status --html FILE --mask-numbers/--no-mask-numbers``."""
    command = click.option(
        "--mask-numbers/--no-mask-numbers",
        default=True,
        show_default=True,
        help="Show phone numbers on the --html page as +23480****0001.",
    )(command)
    return click.option(
        "--html",
        "html_file",
        type=click.Path(path_type=Path),
        help="Also write the campaigns as one self-contained HTML page (status bar, statuses over time, recipients).",
    )(command)


def write_status_html(journal: Journal, campaigns: list[Campaign], path: Path, mask_numbers: bool) -> None:
    """``status --html``: the page of these campaigns, read from the open journal."""
    from voxpipe.sender.status_page import StatusPageSettings, write_status_page

    write_status_page(path, journal, campaigns, StatusPageSettings(mask_numbers=mask_numbers))
    echo_err(f"status page: {path} ({len(campaigns)} campaign(s), numbers {'masked' if mask_numbers else 'shown'})")
