"""Shared cell formatting so every renderer prints the same number the same way."""

from __future__ import annotations

from ..results import Comparison, MetricScore, TestSetResult

__all__ = [
    "ALPHA",
    "DECIMALS",
    "LABELS",
    "fmt_delta",
    "fmt_score",
    "has_raw_difference",
    "is_significant",
    "mark",
]

DECIMALS = 2
"""Scores are printed with two decimals everywhere (the gate decides at this precision too)."""

LABELS = {"bleu": "BLEU", "chrf": "chrF2", "chrf++": "chrF2++", "ter": "TER"}
ALPHA = 0.05


def fmt_score(score: MetricScore, with_ci: bool = True) -> str:
    text = f"{score.score:.{DECIMALS}f}"
    if with_ci and score.ci is not None:
        half = (score.ci[1] - score.ci[0]) / 2
        text += f" ±{half:.{DECIMALS}f}"
    return text


def fmt_delta(cmp_: Comparison | None) -> str:
    if cmp_ is None:
        return "—"
    return f"{cmp_.delta:+.{DECIMALS}f}{mark(cmp_)}"


def is_significant(cmp_: Comparison | None, alpha: float = ALPHA) -> bool:
    return cmp_ is not None and cmp_.p_value is not None and cmp_.p_value < alpha


def mark(cmp_: Comparison | None) -> str:
    """``*`` after a delta whose paired test has p < 0.05."""
    return "*" if is_significant(cmp_) else ""


def has_raw_difference(ts: TestSetResult) -> bool:
    return any(s.raw_scores[m].score != s.scores[m].score for s in ts.systems for m in ts.metrics)
