"""CSV: the tidy system table (one row per test set × system × metric) and the segment table."""

from __future__ import annotations

from ..results import Results

__all__ = ["render_csv", "render_segments_csv"]


def render_csv(results: Results) -> str:
    return results.systems.to_csv(index=False, float_format="%.6f", lineterminator="\n")


def render_segments_csv(results: Results) -> str:
    return results.segments.to_csv(index=False, float_format="%.6f", lineterminator="\n")
