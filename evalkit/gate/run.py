"""Drive a gate run or a baseline write through :func:`evalkit.evaluate`.

The gate scores the baseline's *stored* output lines next to the candidates in one test set
(``dataclasses.replace`` on the suite's TestSet), so the paired test is rerun exactly against
every new candidate. Everything around that call is checking: every rule's significance must
be reachable with the paired test's resamples, the test set must be the one the baseline was
made on before scoring, and the signatures must match after. A candidate whose lines are the
baseline's is reported as identical, without a paired test.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence

from ..cache import StatsCache
from ..corpus import TestSet
from ..errors import ConfigError, MismatchError
from ..evaluation import StatsOptions, samples_needed, smallest_p_value, versions
from ..results import TestSetResult
from ..scoring import higher_is_better
from ..suite import SuiteConfig
from .baseline import Baseline, baseline_testset, verify_scores, verify_testset
from .report import GateReport
from .rules import GateConfig
from .verdict import P_DECIMALS, Measurement, decide

__all__ = ["check_reachable", "gated_systems", "make_baseline", "run_gate"]

Progress = Callable[[str], None]


def make_baseline(
    suite: SuiteConfig,
    *,
    system: str | None = None,
    cache: StatsCache | None = None,
    progress: Progress | None = None,
) -> Baseline:
    """Score the released system (each test set's baseline, or ``system``) on every test set."""
    testsets = [spec.load() for spec in suite.testsets]
    released: list[TestSet] = []
    for ts in testsets:
        name = system or ts.baseline_name
        if name not in ts.systems:
            raise ConfigError(
                f"--system {name!r} is not a system of test set {ts.name!r} "
                f"({', '.join(ts.systems)})",
                suite.path,
            )
        released.append(dataclasses.replace(ts, systems={name: ts.systems[name]}, baseline=name))
    # the baseline file keeps scores only: no CIs or paired tests to compute
    results = suite.evaluate(
        released, stats=StatsOptions(0, "none"), cache=cache, progress=progress
    )
    stored = {
        ts.name: baseline_testset(ts, results.testset(ts.name), ts.baseline_name) for ts in released
    }
    return Baseline(stored, suite.name, versions())


def gated_systems(ts: TestSet, config: GateConfig, released: str) -> list[str]:
    """Candidates on this test set: the configured ones it has, else every system that is
    neither the suite's baseline nor the released system."""
    if config.candidates is not None:
        return [c for c in config.candidates if c in ts.systems]
    return [s for s in ts.systems if s not in (ts.baseline_name, released)]


def run_gate(
    suite: SuiteConfig,
    config: GateConfig,
    baseline: Baseline,
    *,
    stats: StatsOptions,
    cache: StatsCache | None = None,
    progress: Progress | None = None,
) -> GateReport:
    """Check the baseline matches, score candidates against its stored output, judge the rules."""
    if stats.paired not in ("bs", "ar"):
        raise ConfigError(f"the gate needs a paired test (bs or ar), got {stats.paired!r}")
    check_reachable(config, stats)
    names = [spec.name for spec in suite.testsets]
    missing = [n for n in names if n not in baseline.testsets]
    if missing:
        raise MismatchError(
            f"test set {missing[0]!r} is in the suite but not in the baseline "
            f"(baseline has: {', '.join(baseline.testsets)}); rewrite it with evalkit baseline",
            baseline.path,
        )
    extra = [n for n in baseline.testsets if n not in names]
    if extra:
        raise MismatchError(
            f"test set {extra[0]!r} is in the baseline but no longer in the suite "
            f"({', '.join(names)}); rewrite it with evalkit baseline",
            baseline.path,
        )
    prepared: list[TestSet] = []
    keys: dict[str, str] = {}
    for spec in suite.testsets:
        ts = spec.load()
        base = baseline.testsets[ts.name]
        verify_testset(base, ts, baseline.path)
        key = f"{base.system} (baseline)"
        candidates = gated_systems(ts, config, base.system)
        systems = {key: base.output, **{c: ts.systems[c] for c in candidates}}
        prepared.append(dataclasses.replace(ts, systems=systems, baseline=key))
        keys[ts.name] = key
    if not any(len(ts.systems) > 1 for ts in prepared):
        raise ConfigError(
            "the gate has nothing to check: no candidate system on any test set", config.path
        )
    results = suite.evaluate(prepared, stats=stats, cache=cache, progress=progress)
    measurements: list[Measurement] = []
    for ts in prepared:
        result = results.testset(ts.name)
        base = baseline.testsets[ts.name]
        verify_scores(base, result, keys[ts.name], suite.metrics, baseline.path)
        measurements += _measurements(result, keys[ts.name], suite.metrics, ts.systems)
    verdicts = decide(config.rules, measurements)
    if not verdicts:
        raise ConfigError("the gate checked nothing: no rule matched a candidate", config.path)
    return GateReport(
        verdicts=verdicts,
        suite=suite.name,
        baseline_path=baseline.path,
        released={name: b.system for name, b in baseline.testsets.items()},
        test=f"paired-{stats.paired}",
        resamples=stats.paired_samples,
        seed=stats.seed,
    )


def check_reachable(config: GateConfig, stats: StatsOptions) -> None:
    """Refuse a rule whose significance level the paired test can never reach: with B
    resamples (or trials) no p-value is below 1/(B+1), so such a rule would pass every
    regression as noise (``--bootstrap 10``: p >= 0.0909 whatever the drop)."""
    n = stats.paired_samples
    floor = smallest_p_value(n, P_DECIMALS)  # p-values are compared as printed
    for rule in config.rules:
        if rule.max_drop is None or rule.significance is None or floor < rule.significance:
            continue
        fix = (
            f"--bootstrap {samples_needed(rule.significance, P_DECIMALS)} or more"
            if stats.paired == "bs"
            else f"at least {samples_needed(rule.significance, P_DECIMALS):,} trials"
        )
        raise ConfigError(
            f"rule {rule.name!r}: significance {rule.significance:g} cannot be reached with "
            f"{n:,} {stats.paired_unit} (the smallest p-value is 1/({n}+1) = {floor:.4f}), so "
            f'every drop beyond max_drop would pass as noise; use {fix}, or significance = "none"',
            config.path,
            rule.line,
        )


def _measurements(
    result: TestSetResult,
    key: str,
    metrics: Sequence[str],
    lines: Mapping[str, Sequence[str]],
) -> list[Measurement]:
    """One measurement per candidate and metric; a candidate whose output lines are the
    baseline's is marked identical and gets no p-value (a paired test of equal outputs says
    p = 0.001 only because of how the count is corrected, not because anything differs)."""
    out = []
    base = result.system(key)
    for sr in result.systems:
        if sr.name == key:
            continue
        identical = tuple(lines[sr.name]) == tuple(lines[key])
        for metric in metrics:
            cmp_ = sr.vs_baseline.get(metric)
            out.append(
                Measurement(
                    testset=result.name,
                    system=sr.name,
                    metric=metric,
                    higher_is_better=higher_is_better(metric, base.scores[metric].signature),
                    baseline=base.scores[metric].score,
                    candidate=sr.scores[metric].score,
                    p_value=None if cmp_ is None or identical else cmp_.p_value,
                    identical=identical,
                )
            )
        for kind, found in (sr.diagnostics or {}).items():
            if base.diagnostics is None:  # not computed: no diagnostic rule can be judged
                break
            out.append(
                Measurement(
                    testset=result.name,
                    system=sr.name,
                    metric=kind,
                    higher_is_better=False,
                    baseline=100 * base.diagnostics[kind]["rate"],
                    candidate=100 * found["rate"],
                    diagnostic=True,
                )
            )
    return out
