"""Shared cell formatting so every renderer prints the same number the same way."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..results import Comparison, MetricScore, TestSetResult

__all__ = [
    "ALPHA",
    "DECIMALS",
    "IDENTICAL",
    "LABELS",
    "fmt_change",
    "fmt_delta",
    "fmt_gain",
    "fmt_number",
    "fmt_score",
    "fmt_signed",
    "uncertainty_notes",
    "has_raw_difference",
    "is_significant",
    "mark",
    "matrix_cells",
    "moved",
    "tests_of",
]

DECIMALS = 2
"""Scores are printed with two decimals everywhere (the gate decides at this precision too)."""

LABELS = {"bleu": "BLEU", "chrf": "chrF2", "chrf++": "chrF2++", "ter": "TER"}
ALPHA = 0.05

IDENTICAL = "identical"
"""Printed instead of a delta when the system's statistics equal the other's: nothing was tested."""


def fmt_number(x: float) -> str:
    """A number at the printed precision; one that rounds to zero is ``0.00``, never ``-0.00``."""
    text = f"{x:.{DECIMALS}f}"
    return text if float(text) != 0 else f"{0.0:.{DECIMALS}f}"


def fmt_signed(x: float) -> str:
    """A difference with its sign, ``0.00`` (no sign) when it rounds to zero: never ``-0.00``."""
    text = fmt_number(x)
    return "+" + text if float(text) > 0 else text


def moved(before: float, after: float) -> bool:
    """Whether a score changed at the printed precision: the one rule for every arrow."""
    return fmt_number(before) != fmt_number(after)


def fmt_gain(before: float, after: float) -> str:
    """How far a score moved *as printed* (``49.73 → 49.74`` gains ``+0.01``), so the gain
    and the arrow never disagree; ``0.00`` exactly when :func:`moved` is False."""
    return fmt_signed(float(fmt_number(after)) - float(fmt_number(before)))


def fmt_change(before: float, after: float) -> str:
    """``before → after`` when the score moved at the printed precision, else just the score."""
    if moved(before, after):
        return f"{fmt_number(before)} → {fmt_number(after)}"
    return fmt_number(after)


def fmt_score(score: MetricScore, with_ci: bool = True) -> str:
    text = fmt_number(score.score)
    if with_ci and score.ci is not None:
        half = (score.ci[1] - score.ci[0]) / 2
        text += f" ±{half:.{DECIMALS}f}"
    return text


def fmt_delta(cmp_: Comparison | None) -> str:
    """A comparison's delta and significance mark, or :data:`IDENTICAL` (never tested)."""
    if cmp_ is None:
        return "—"
    if cmp_.identical:
        return IDENTICAL
    return f"{fmt_signed(cmp_.delta)}{mark(cmp_)}"


def is_significant(cmp_: Comparison | None, alpha: float = ALPHA) -> bool:
    return (
        cmp_ is not None
        and not cmp_.identical
        and cmp_.p_value is not None
        and cmp_.p_value < alpha
    )


def mark(cmp_: Comparison | None) -> str:
    """``*`` after a delta whose paired test has p < 0.05."""
    return "*" if is_significant(cmp_) else ""


def has_raw_difference(ts: TestSetResult) -> bool:
    return any(s.raw_scores[m].score != s.scores[m].score for s in ts.systems for m in ts.metrics)


def matrix_cells(mat: Mapping[str, Mapping[str, Comparison]]) -> list[Comparison]:
    """Every comparison of a pairwise matrix (``mat[row][col]``), row by row."""
    return [c for row in mat.values() for c in row.values()]


def tests_of(comparisons: Iterable[Comparison]) -> str:
    """The paired tests that produced these comparisons, e.g. ``paired-bs`` (``""``: none)."""
    return ", ".join(sorted({c.test for c in comparisons if c.test}))


def uncertainty_notes(stats: Mapping[str, object]) -> list[str]:
    """How the ± and the stars were computed, from a test set's ``stats`` record: the CI level
    and resamples, and the paired test with its own resample or trial count (which differs from
    the CI's when ``--bootstrap 0`` turned CIs off: the paired bootstrap still draws 1,000)."""
    out = []
    bootstrap = stats.get("bootstrap") or 0
    if bootstrap:
        level = f"{float(stats.get('confidence') or 0.95):.0%}"
        out.append(f"± half-width of the {level} bootstrap CI ({bootstrap:,} resamples)")
    paired = stats.get("paired")
    if paired == "bs":
        n = stats.get("paired_resamples") or bootstrap
        out.append(f"paired bootstrap: {n:,} resamples" + ("" if bootstrap else " (CIs off)"))
    elif paired == "ar":
        out.append(f"paired approximate randomization: {stats.get('ar_trials'):,} trials")
    return out
