"""The gate's decision: a pure function of a rule and one measured comparison.

Like coverage.py's ``should_fail_under``, the decision is made at the printed precision: scores
are rounded to :data:`~evalkit.render._cells.DECIMALS` first, the delta is the difference of the
*printed* scores and p-values are rounded as they are printed, so the table and the verdict can
never disagree (34.10 against a floor of 34.1 passes).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..render._cells import DECIMALS, LABELS
from .rules import GateRule

__all__ = [
    "EXIT_FAIL",
    "EXIT_OK",
    "IDENTICAL",
    "P_DECIMALS",
    "Measurement",
    "Verdict",
    "at_precision",
    "decide",
    "exit_code",
    "judge",
    "printed_p",
    "worsening",
]

EXIT_OK, EXIT_FAIL = 0, 1
"""Exit codes of a decided gate; bad input is 2 (any EvalkitError) and never reaches here."""

P_DECIMALS = 4
"""p-values are printed with four decimals (:func:`printed_p`) and compared as printed."""


def at_precision(value: float, decimals: int = DECIMALS) -> float:
    """``value`` exactly as it is printed, back as a float (``34.104`` → ``34.1``)."""
    return float(f"{value:.{decimals}f}")


def printed_p(p: float | None) -> str:
    """A p-value as the gate's table, Markdown and JUnit print it; ``—`` without a paired test."""
    return "—" if p is None else f"{p:.{P_DECIMALS}f}"


@dataclass(frozen=True)
class Measurement:
    """A candidate against the baseline on one test set and metric, as measured."""

    testset: str
    system: str
    metric: str
    higher_is_better: bool
    baseline: float
    candidate: float
    p_value: float | None = None
    identical: bool = False
    """The candidate's output lines are the baseline's: no paired test, nothing to judge."""
    diagnostic: bool = False
    """``metric`` is a diagnostic kind and the numbers are flagged-segment rates in percent."""


IDENTICAL = "identical to baseline"
"""The reason given for a candidate whose output lines equal the baseline's."""


@dataclass(frozen=True)
class Verdict:
    """One rule applied to one measurement; numbers are the printed (rounded) ones.

    ``delta`` is candidate − baseline (raw sign); ``drop`` is the worsening in the metric's own
    direction (positive = worse; for TER that is a rise). ``identical`` candidates carry no
    p-value: their outputs equal the baseline's, so no test is run on them.
    """

    rule: GateRule
    testset: str
    system: str
    metric: str
    higher_is_better: bool
    baseline: float
    candidate: float
    delta: float
    drop: float
    p_value: float | None
    passed: bool
    reason: str
    identical: bool = False

    @property
    def label(self) -> str:
        if self.rule.diagnostic is not None:
            return f"{self.metric} %"
        return LABELS.get(self.metric, self.metric)


def worsening(higher_is_better: bool) -> str:
    """What getting worse is called for a metric: a BLEU *drop*, a TER *rise*."""
    return "drop" if higher_is_better else "rise"


def judge(rule: GateRule, m: Measurement) -> Verdict:
    """Apply ``rule`` to ``m``: fail below a floor (``min``) or above a ceiling (``max``), or on
    a worsening beyond ``max_drop`` that is significant (or any such worsening when the rule's
    significance is none). A candidate identical to the baseline cannot have worsened: only
    the absolute limits, which hold whatever the baseline did, are checked."""
    base, cand = at_precision(m.baseline), at_precision(m.candidate)
    delta = at_precision(cand - base)
    drop = at_precision(-delta if m.higher_is_better else delta) + 0.0  # no "-0.00"
    p = None if m.p_value is None or m.identical else at_precision(m.p_value, P_DECIMALS)
    if rule.max_rate is not None:
        return _judge_rate(rule, m, base, cand, delta)
    word = worsening(m.higher_is_better)
    failures: list[str] = []
    notes: list[str] = []
    for limit, bound, side in ((rule.min, "floor", "below"), (rule.max, "ceiling", "above")):
        if limit is None:
            continue
        if (cand < limit) if bound == "floor" else (cand > limit):
            failures.append(f"{cand:.{DECIMALS}f} {side} {bound} {limit:g}")
        else:
            notes.append(f"within {bound} {limit:g}")
    if rule.max_drop is not None and not m.identical:
        if drop <= rule.max_drop:
            notes.append(
                f"improved by {-drop:.{DECIMALS}f}"
                if drop < 0
                else f"{word} {drop:.{DECIMALS}f} <= {rule.max_drop:g}"
            )
        elif rule.significance is None:
            failures.append(f"{word} {drop:.{DECIMALS}f} > {rule.max_drop:g}")
        elif p is None:  # never judge significance without a test: fail loudly instead
            failures.append(f"{word} {drop:.{DECIMALS}f} > {rule.max_drop:g}, no paired p-value")
        elif p < rule.significance:
            failures.append(
                f"{word} {drop:.{DECIMALS}f} > {rule.max_drop:g}, "
                f"significant (p={printed_p(p)} < {rule.significance:g})"
            )
        else:
            notes.append(
                f"{word} {drop:.{DECIMALS}f} > {rule.max_drop:g} but not significant "
                f"(p={printed_p(p)} >= {rule.significance:g})"
            )
    return Verdict(
        rule=rule,
        testset=m.testset,
        system=m.system,
        metric=m.metric,
        higher_is_better=m.higher_is_better,
        baseline=base,
        candidate=cand,
        delta=delta + 0.0,
        drop=drop,
        p_value=p,
        passed=not failures,
        reason="; ".join([IDENTICAL] * m.identical + (failures or notes)),
        identical=m.identical,
    )


def _judge_rate(rule: GateRule, m: Measurement, base: float, cand: float, delta: float) -> Verdict:
    """A diagnostic rule: the candidate's flagged share (in percent, as printed) against
    ``max_rate``; the baseline's share is shown for context, never judged."""
    limit = at_precision(rule.max_rate * 100)
    passed = cand <= limit
    side = "<=" if passed else ">"
    return Verdict(
        rule=rule,
        testset=m.testset,
        system=m.system,
        metric=m.metric,
        higher_is_better=False,
        baseline=base,
        candidate=cand,
        delta=delta + 0.0,
        drop=delta + 0.0,
        p_value=None,
        passed=passed,
        reason=f"{m.metric} in {cand:.{DECIMALS}f}% of segments {side} max_rate {limit:g}%",
    )


def decide(rules: Sequence[GateRule], measurements: Iterable[Measurement]) -> tuple[Verdict, ...]:
    """Every rule against every measurement it applies to, in rule order, then input order."""
    ms = list(measurements)
    return tuple(
        judge(rule, m)
        for rule in rules
        for m in ms
        if rule.applies_to(m.testset, m.metric, m.diagnostic)
    )


def exit_code(verdicts: Iterable[Verdict]) -> int:
    """0 when every verdict passed, 1 when any failed (a regression)."""
    return EXIT_OK if all(v.passed for v in verdicts) else EXIT_FAIL
