"""Results → strings for terminals, CSV, Markdown and JSON. Nothing here prints or computes."""

from __future__ import annotations

from typing import Any

from ..ordering import DEFAULT_SORT
from .csv import render_csv, render_segments_csv
from .markdown import render_markdown

__all__ = [
    "FORMATS",
    "render",
    "render_csv",
    "render_markdown",
    "render_segments_csv",
    "render_table",
]

FORMATS = ("table", "json", "csv", "markdown")


def render(
    results,  # noqa: ANN001
    fmt: str,
    *,
    color: bool = False,
    width: int | None = None,
    sort: str = DEFAULT_SORT,
) -> str:
    """Render ``results`` in one of :data:`FORMATS`; ``sort`` orders the leaderboards (table,
    Markdown), while JSON and CSV keep the input order."""
    if fmt == "table":
        from .table import render_table

        return render_table(results, color=color, width=width, sort=sort)
    if fmt == "json":
        return results.to_json()
    if fmt == "csv":
        return render_csv(results)
    if fmt == "markdown":
        return render_markdown(results, sort=sort)
    raise ValueError(f"unknown format {fmt!r}")


def __getattr__(name: str) -> Any:
    """``render_table`` loads rich (~20 ms) on first use, not for JSON, CSV or Markdown."""
    if name == "render_table":
        from .table import render_table

        return render_table
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
