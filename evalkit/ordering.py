"""The order systems are shown in: leaderboards read best first, with the baseline on top.

Why a module of its own: the terminal table, Markdown and the HTML report must agree on one
order (rows, pairwise matrices, charts), so each renders a :class:`Results` already ordered here.
The results document and CSV keep the input order (they are data, not a leaderboard).
"""

from __future__ import annotations

import math
from dataclasses import replace

from .errors import ConfigError
from .results import Results, SystemResult, TestSetResult
from .scoring import higher_is_better

__all__ = ["SORTS", "DEFAULT_SORT", "check_sort", "sort_results"]

SORTS = ("input", "score")
"""The named orders; any other value names a metric to sort by."""

DEFAULT_SORT = "score"


def check_sort(sort: str, metrics: tuple[str, ...] | list[str]) -> str:
    """``sort`` normalised (``input``, ``score`` or a metric's name), or a ConfigError."""
    key = sort.strip().lower()
    if key in SORTS or key in (m.lower() for m in metrics):
        return key
    raise ConfigError(
        f"sort {sort!r}: expected input, score or one of the metrics scored ({', '.join(metrics)})"
    )


def sort_results(results: Results, sort: str = DEFAULT_SORT) -> Results:
    """``results`` with each test set's systems in the ``sort`` order.

    ``input`` keeps the order the systems were given in. ``score`` puts the baseline first and
    the others by the test set's first metric, best first (lower is better for TER); a metric's
    name does the same by that metric. Ties, and systems without that score, keep input order
    (the latter last).
    """
    if sort.strip().lower() == "input":
        return results
    return replace(results, testsets=tuple(_sorted(ts, sort) for ts in results.testsets))


def _sorted(ts: TestSetResult, sort: str) -> TestSetResult:
    if not ts.metrics:
        return ts
    key = check_sort(sort, ts.metrics)
    metric = ts.metrics[0] if key == "score" else next(m for m in ts.metrics if m.lower() == key)
    some = next((s.scores[metric] for s in ts.systems if metric in s.scores), None)
    sign = 1.0 if higher_is_better(metric, some.signature if some else None) else -1.0

    def rank(s: SystemResult) -> tuple[int, float]:
        if s.name == ts.baseline:
            return (0, 0.0)
        score = s.scores[metric].score if metric in s.scores else math.nan
        return (2, 0.0) if math.isnan(score) else (1, -sign * score)

    return replace(ts, systems=tuple(sorted(ts.systems, key=rank)))
