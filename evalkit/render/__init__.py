"""Results → strings for terminals, CSV, Markdown and JSON. Nothing here prints or computes."""

from __future__ import annotations

from .csv import render_csv, render_segments_csv
from .markdown import render_markdown
from .table import render_table

__all__ = [
    "FORMATS",
    "render",
    "render_csv",
    "render_markdown",
    "render_segments_csv",
    "render_table",
]

FORMATS = ("table", "json", "csv", "markdown")


def render(results, fmt: str, *, color: bool = False, width: int | None = None) -> str:  # noqa: ANN001
    """Render ``results`` in one of :data:`FORMATS`."""
    if fmt == "table":
        return render_table(results, color=color, width=width)
    if fmt == "json":
        return results.to_json()
    if fmt == "csv":
        return render_csv(results)
    if fmt == "markdown":
        return render_markdown(results)
    raise ValueError(f"unknown format {fmt!r}")
