"""Self-contained HTML pages for people: the review page of a preparation report.

The campaign status page is built beside the journal it reads
(``voxpipe.sender.status_page``); its stylesheet and script ship here with
the other page assets.
"""

from __future__ import annotations

from .review import ReviewSettings, build_review, load_report, review_data, write_review

__all__ = ["ReviewSettings", "build_review", "load_report", "review_data", "write_review"]
