"""REPORT: Results → view model → Jinja2 (autoescape) → one self-contained, offline HTML page.

``render_report`` returns the page as a string; ``write_report`` writes it atomically.
"""

from __future__ import annotations

from .render import render_report, write_report

__all__ = ["render_report", "write_report"]
