"""The one orchestrator (named evaluation.py, not evaluate.py, so the module never shadows
the public function ``evalkit.evaluate``): TestSet × Normalizer × metrics (+ statistics) → Results.

This is the only module that chains the stages. Statistics are extracted once per
(test set, system, metric, normalization); scores, segment scores, confidence intervals and
significance tests are all computed from those arrays.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from .cache import StatsCache, stats_keys
from .corpus import TestSet
from .detect import ScriptShare, detect_script
from .diagnostics import DiagnosticsConfig, diagnose_systems
from .errors import ConfigError
from .metrics import MetricSpec, make_metric
from .normalize import Normalizer, resolve_normalizer
from .plugins import ExternalMetric, ExternalSpec, bind, split_metrics
from .results import (
    Comparison,
    MetricScore,
    Results,
    SegmentData,
    SystemResult,
    TestSetResult,
)
from .results_cache import dependency_versions
from .stats import (
    DEFAULT_SEED,
    BootstrapScores,
    PairedResult,
    bootstrap_scores,
    paired_approximate_randomization,
)

__all__ = [
    "DEFAULT_BOOTSTRAP",
    "DEFAULT_CONFIDENCE",
    "DEFAULT_METRICS",
    "DEFAULT_PAIRED",
    "PAIRED_TESTS",
    "StatsOptions",
    "evaluate",
    "samples_needed",
    "smallest_p_value",
    "versions",
]

DEFAULT_METRICS: tuple[str, ...] = ("bleu", "chrf", "chrf++", "ter")

Progress = Callable[[str], None]
"""Called with a short description before each system is scored (the CLI draws a bar)."""


def versions() -> dict[str, str | None]:
    """Versions of everything that can change a number, recorded in every Results: evalkit's
    and those of the dependencies the results cache keys on (one list, in results_cache)."""
    from . import __version__

    return {"evalkit": __version__, **dependency_versions()}


PAIRED_TESTS = ("bs", "ar", "none")

DEFAULT_BOOTSTRAP = 1000
"""Bootstrap resamples for CIs, and of the paired bootstrap (sacrebleu's default for both)."""
DEFAULT_PAIRED = "bs"
"""Every system is compared with the baseline by a paired bootstrap unless asked otherwise."""
DEFAULT_CONFIDENCE = 0.95


def smallest_p_value(samples: int, decimals: int | None = None) -> float:
    """The smallest p-value a paired test with ``samples`` resamples (bs) or trials (ar) can
    give: ``(0 + 1) / (samples + 1)``, evalkit.stats' (and sacrebleu's) p-value when no draw is
    as extreme as the observed difference. ``decimals``: as printed with that many."""
    p = 1 / (samples + 1)
    return p if decimals is None else float(f"{p:.{decimals}f}")


def samples_needed(alpha: float, decimals: int | None = None) -> int:
    """The fewest resamples or trials whose smallest p-value (as printed with ``decimals``)
    is below ``alpha``: below it no difference can ever be called significant."""
    n = max(1, math.floor(1 / alpha) - 1)
    while smallest_p_value(n, decimals) >= alpha:
        n += 1
    return n


@dataclass(frozen=True)
class StatsOptions:
    """What uncertainty to compute. ``bootstrap`` resamples give each score a CI (0: none);
    ``paired`` compares every system with the baseline (``bs``: paired bootstrap, ``ar``:
    approximate randomization, ``none``); ``pairwise`` runs that test for every pair of systems.

    The defaults are the command line's (1,000-resample 95% CIs, paired bootstrap vs the
    baseline, seed 12345): ``evaluate()`` without ``stats`` and ``evalkit score`` agree.
    """

    bootstrap: int = DEFAULT_BOOTSTRAP
    paired: str = DEFAULT_PAIRED
    pairwise: bool = False
    seed: int = DEFAULT_SEED
    confidence: float = DEFAULT_CONFIDENCE
    ar_trials: int = 10_000

    def __post_init__(self) -> None:
        if self.paired not in PAIRED_TESTS:
            raise ConfigError(f"unknown paired test {self.paired!r}; use bs, ar or none")
        if self.bootstrap < 0:
            raise ConfigError(f"bootstrap must be >= 0, got {self.bootstrap}")

    @property
    def active(self) -> bool:
        return self.bootstrap > 0 or self.paired != "none"

    @property
    def paired_samples(self) -> int:
        """Resamples (bs) or trials (ar) of the paired test; a paired bootstrap with CIs off
        (``bootstrap=0``) still resamples sacrebleu's default 1,000 times."""
        if self.paired == "ar":
            return self.ar_trials
        return self.bootstrap or DEFAULT_BOOTSTRAP

    @property
    def paired_unit(self) -> str:
        """``paired-bs resamples`` / ``paired-ar trials``: what :attr:`paired_samples` counts."""
        return f"paired-{self.paired} {'trials' if self.paired == 'ar' else 'resamples'}"

    def warnings(self, alpha: float) -> tuple[str, ...]:
        """What a reader of p-values at level ``alpha`` must know about these settings (the
        CLI prints them): a paired bootstrap drawing resamples although ``bootstrap`` is 0, and
        too few resamples or trials for any p-value to get below ``alpha``."""
        if self.paired == "none":
            return ()
        out = []
        n = self.paired_samples
        if self.paired == "bs" and self.bootstrap == 0:
            out.append(
                f"bootstrap 0 turns confidence intervals off; the paired bootstrap still draws "
                f"{n:,} resamples"
            )
        p = smallest_p_value(n)
        if p >= alpha:
            out.append(
                f"with {n:,} {self.paired_unit} the smallest possible p-value is "
                f"1/({n}+1) = {p:.4f}, so no difference can be significant at p < {alpha:g}; "
                f"use at least {samples_needed(alpha):,}"
            )
        return tuple(out)

    def as_dict(self) -> dict[str, object]:
        return {
            "bootstrap": self.bootstrap,
            "paired": self.paired,
            "pairwise": self.pairwise,
            "seed": self.seed,
            "confidence": self.confidence,
            "ar_trials": self.ar_trials if self.paired == "ar" else None,
            # said only when it is not `bootstrap`: CIs off, the paired bootstrap still draws
            "paired_resamples": self.paired_samples
            if self.paired == "bs" and not self.bootstrap
            else None,
        }


@dataclass(frozen=True)
class _Extraction:
    """How statistics are extracted (never what they are: every engine is identical)."""

    engine: str = "auto"
    jobs: int = 1
    external: Mapping[str, ExternalMetric] | None = None  # out-of-process metrics by name


def evaluate(
    testsets: TestSet | Sequence[TestSet],
    metrics: str | Sequence[str | ExternalMetric] = DEFAULT_METRICS,
    normalizer: str | Normalizer | None = "auto",
    *,
    punct: bool = False,
    tokenize: str | None = None,
    ter_plain: bool = False,
    progress: Progress | None = None,
    cache: StatsCache | None = None,
    stats: StatsOptions | None = None,
    engine: str = "auto",
    jobs: int = 1,
    meta: dict[str, object] | None = None,
    diagnostics: DiagnosticsConfig | None = None,
) -> Results:
    """Score every system of every test set; return one :class:`Results`.

    ``normalizer`` is ``"auto"`` (the reference's dominant script for a Chinese target),
    ``"none"``, an OpenCC config name, or a :class:`Normalizer`. Scores are reported both raw
    and normalized; normalization is applied to references and candidates alike. With a
    ``cache``, statistics already extracted for identical inputs are reused. ``metrics`` may
    hold :class:`evalkit.plugins.ExternalMetric` objects beside built-in names (COMET, judges).

    ``stats`` defaults to ``StatsOptions()``, the command line's settings: 1,000-resample 95%
    CIs and a paired bootstrap of every system against the baseline, seeded
    (``StatsOptions(0, "none")`` computes neither).

    ``diagnostics``: thresholds of the per-segment diagnostics (default: DiagnosticsConfig()).
    """
    sets = [testsets] if isinstance(testsets, TestSet) else list(testsets)
    names, external = split_metrics(metrics)
    results = [
        _evaluate_one(
            ts,
            names,
            normalizer,
            punct,
            tokenize,
            ter_plain,
            progress,
            cache,
            stats or StatsOptions(),
            _Extraction(engine, jobs, external),
            diagnostics or DiagnosticsConfig(),
        )
        for ts in sets
    ]
    info = {"versions": versions(), **(meta or {})}
    return Results(testsets=tuple(results), evalkit_version=info["versions"]["evalkit"], meta=info)


def _evaluate_one(
    ts: TestSet,
    metric_names: tuple[str, ...],
    normalizer_spec: str | Normalizer | None,
    punct: bool,
    tokenize: str | None,
    ter_plain: bool,
    progress: Progress | None,
    cache: StatsCache | None,
    stats_opts: StatsOptions,
    extraction: _Extraction,
    diagnostics: DiagnosticsConfig,
) -> TestSetResult:
    ref_script = detect_script(ts.refs[0]) if ts.lang == "zh" else None
    norm = resolve_normalizer(
        normalizer_spec,
        lang=ts.lang,
        reference_script=ref_script.verdict if ref_script else None,
        punct=punct,
    )
    specs = [
        bind(extraction.external[m], ts)
        if extraction.external and m in extraction.external
        else make_metric(m, ts.lang, tokenize=tokenize, ter_plain=ter_plain)
        for m in metric_names
    ]
    norm_refs = [norm.apply(stream) for stream in ts.refs]
    ref_changed = tuple(any(flags) for flags in zip(*(r.changed for r in norm_refs), strict=True))
    ref_converted = sum(any(f) for f in zip(*(r.converted for r in norm_refs), strict=True))
    refs_n = [r.lines for r in norm_refs]

    systems: list[SystemResult] = []
    seg_scores: dict[str, dict[str, tuple[float, ...]]] = {}
    seg_raw: dict[str, dict[str, tuple[float, ...]]] = {}
    changed: dict[str, tuple[bool, ...]] = {}
    norm_by_system: dict[str, dict[str, np.ndarray]] = {}
    normed = {name: norm.apply(hyps) for name, hyps in ts.systems.items()}
    if progress:
        progress(f"{ts.name}: extracting statistics")
    raw_all = _extract(specs, dict(ts.systems), ts.refs, Normalizer(), cache, extraction)
    # Normalization that changed nothing on either side leaves the statistics as they were.
    to_norm = {name: r.lines for name, r in normed.items() if r.n_changed > 0 or any(ref_changed)}
    norm_all = _extract(specs, to_norm, refs_n, norm, cache, extraction) if to_norm else {}
    for sys_name, hyps in ts.systems.items():
        if progress:
            progress(f"{ts.name}: {sys_name}")
        norm_hyps = normed[sys_name]
        changed[sys_name] = norm_hyps.changed
        raw_stats = raw_all[sys_name]
        norm_stats = norm_all.get(sys_name, raw_stats)
        norm_by_system[sys_name] = norm_stats
        script = detect_script(hyps) if ts.lang == "zh" else None
        systems.append(
            SystemResult(
                name=sys_name,
                scores=_scores(specs, norm_stats, len(ts.refs)),
                raw_scores=_scores(specs, raw_stats, len(ts.refs)),
                changed_segments=norm_hyps.n_changed,
                script=script.as_dict() if script else None,
                warnings=_warnings(
                    sum(not h.strip() for h in hyps), script, ref_script, norm_hyps.n_converted
                ),
            )
        )
        seg_scores[sys_name] = _segment_scores(specs, norm_stats)
        seg_raw[sys_name] = (
            seg_scores[sys_name] if norm_stats is raw_stats else _segment_scores(specs, raw_stats)
        )

    baseline = ts.baseline_name
    if stats_opts.active and progress:
        progress(f"{ts.name}: resampling")
    systems, pairwise = _with_statistics(systems, norm_by_system, specs, baseline, stats_opts)
    findings = diagnose_systems(ts.sources, ts.refs[0], ts.systems, ts.lang, diagnostics)
    systems = [replace(s, diagnostics=findings[s.name].to_dict()) for s in systems]
    return TestSetResult(
        name=ts.name,
        lang=ts.lang,
        segments=ts.n_segments,
        metrics=metric_names,
        normalization=_normalization_record(
            norm,
            normalizer_spec,
            sum(ref_changed),
            ref_converted,
            {name: r.n_converted for name, r in normed.items()},
        ),
        baseline=baseline,
        systems=tuple(systems),
        segment_data=SegmentData(
            sources=ts.sources,
            refs=ts.refs,
            hyps=dict(ts.systems),
            scores=seg_scores,
            raw_scores=seg_raw,
            changed=changed,
            ref_changed=ref_changed,
        ),
        reference_script=ref_script.as_dict() if ref_script else None,
        pairwise=pairwise,
        stats=stats_opts.as_dict() if stats_opts.active else {},
        diagnostics_config=diagnostics.as_dict(),
    )


def _normalization_record(
    norm: Normalizer,
    requested: str | Normalizer | None,
    ref_changed_segments: int,
    ref_converted_segments: int,
    converted_segments: Mapping[str, int],
) -> dict[str, object]:
    """A test set's ``normalization`` entry: the normalizer, what was asked for, and per side
    how many segments it touched (counts, so the streamed path can build it too).

    ``ref_changed_segments``: reference segments any step changed (a segment counts once
    across references); ``ref_converted_segments`` and ``converted_segments`` (system → count):
    segments the OpenCC conversion changed, which under ``auto`` are only other-script ones.
    """
    return {
        **norm.as_dict(),
        "signature": norm.describe(),
        "requested": requested if isinstance(requested, str) else None,
        "ref_changed_segments": ref_changed_segments,
        "ref_converted_segments": ref_converted_segments,
        "converted_segments": dict(converted_segments),
    }


def _warnings(
    empty: int, script: ScriptShare | None, ref_script: ScriptShare | None, converted: int
) -> tuple[str, ...]:
    """What a reader should know before trusting a system's numbers, from its count of empty
    output segments, its script and how many of its segments normalization converted (counts,
    so the streamed path can call it too)."""
    out = []
    clear = ("simplified", "traditional")
    if (
        script
        and ref_script
        and ref_script.verdict in clear
        and script.verdict in (*clear, "mixed")
    ):
        if script.verdict != ref_script.verdict:
            if converted:
                plural = "s" if converted != 1 else ""
                effect = (
                    f"normalization converted {converted} of its segment{plural}, "
                    "so the normalized scores hide this"
                )
            else:
                effect = "normalization converted none of its segments, so the scores count it"
            out.append(
                f"wrong script: output is {script.verdict}, the reference is "
                f"{ref_script.verdict} ({effect})"
            )
    if empty:
        out.append(f"{empty} empty output segment{'s' if empty != 1 else ''}")
    return tuple(out)


def _extract(
    specs: Sequence[MetricSpec],
    hyps_by_system: dict[str, Sequence[str]],
    refs: Sequence[Sequence[str]],
    norm: Normalizer,
    cache: StatsCache | None,
    extraction: _Extraction,
) -> dict[str, dict[str, np.ndarray]]:
    """system → metric → statistics for one normalization, through the cache when there is
    one. Each metric extracts all (missing) systems in one call, so the reference-side work is
    done once per test set rather than once per system.

    The cache keys leave the engine out on purpose (see :mod:`evalkit.cache`).
    """
    names = list(hyps_by_system)
    texts = [hyps_by_system[n] for n in names]
    out: dict[str, dict[str, np.ndarray]] = {n: {} for n in names}
    for spec in specs:

        def compute(indices: list[int], spec: MetricSpec = spec) -> list[np.ndarray]:
            return spec.extract_stats_many(
                [texts[i] for i in indices], refs, engine=extraction.engine, jobs=extraction.jobs
            )

        if cache is None or isinstance(spec, ExternalSpec):  # those cache segment scores
            arrays = compute(list(range(len(names))))
        else:
            keys = stats_keys(spec.signature(len(refs)), norm.describe(), refs, texts)
            arrays = cache.get_or_compute_many(keys, compute)
        for name, arr in zip(names, arrays, strict=True):
            out[name][spec.name] = arr
    return out


def _scores(
    specs: Sequence[MetricSpec], stats: dict[str, np.ndarray], n_refs: int
) -> dict[str, MetricScore]:
    return {
        s.name: MetricScore(score=s.corpus_score(stats[s.name]), signature=s.signature(n_refs))
        for s in specs
    }


def _segment_scores(
    specs: Sequence[MetricSpec], stats: dict[str, np.ndarray]
) -> dict[str, tuple[float, ...]]:
    return {s.name: tuple(s.segment_scores(stats[s.name]).tolist()) for s in specs}


def _paired_ar(
    opts: StatsOptions, spec: MetricSpec, base: np.ndarray, others: list[np.ndarray]
) -> list[PairedResult]:
    return paired_approximate_randomization(
        base,
        others,
        spec.score_fn,
        higher_is_better=spec.higher_is_better,
        n_trials=opts.ar_trials,
        seed=opts.seed,
        n_confidence=0,
    )


Pairwise = dict[str, dict[str, dict[str, Comparison]]]
"""metric → row system → column system → Comparison of row against col (row − col, tested with
col as the baseline): the orientation :mod:`evalkit.results` defines for ``pairwise``."""

CiFn = Callable[[str, MetricSpec], tuple[float, float, float]]
"""(system, metric) → (low, high, mean) of the bootstrap scores."""

CompareFn = Callable[[MetricSpec, str, list[str]], dict[str, Comparison]]
"""(metric, anchor, others) → paired-test Comparison of each other system with the anchor."""

SameFn = Callable[[str, str, str], bool]
"""(metric, system, other) → whether the two systems' statistics for the metric are equal."""


def _same_statistics(get: Callable[[str, str], np.ndarray | Sequence[np.ndarray]]) -> SameFn:
    """A :data:`SameFn` over statistics given whole or as row chunks by ``get(system, metric)``.

    Equal statistics, not equal texts, decide: the paired tests only see statistics, and on
    equal ones every resampled difference is 0, so sacrebleu's p-value is its floor 1/(B+1)
    ("significant") whatever the texts. Outputs equal after normalization always qualify; so
    do outputs a metric cannot tell apart. Compared chunk by chunk when the chunks line up (the
    streamed path never joins millions of rows just to compare them).
    """

    def same(metric: str, a: str, b: str) -> bool:
        xs, ys = get(a, metric), get(b, metric)
        xs = [xs] if isinstance(xs, np.ndarray) else list(xs)
        ys = [ys] if isinstance(ys, np.ndarray) else list(ys)
        if [x.shape for x in xs] == [y.shape for y in ys]:
            return all(np.array_equal(x, y) for x, y in zip(xs, ys, strict=True))
        return np.array_equal(np.concatenate(xs), np.concatenate(ys))

    return same


def _apply_statistics(
    systems: list[SystemResult],
    specs: Sequence[MetricSpec],
    baseline: str,
    opts: StatsOptions,
    ci: CiFn,
    compare: CompareFn,
    same: SameFn,
) -> tuple[list[SystemResult], Pairwise]:
    """Put CIs into the scores and comparisons into ``vs_baseline`` (and the pairwise matrix).

    Shared by the in-memory path and the streamed one, which differ only in how a CI and a
    paired test are computed. With no paired test the comparison is the plain delta. A system
    whose statistics equal the anchor's is not tested: its comparison says ``identical``. Each
    matrix cell ``pairwise[m][row][col]`` is the test of ``row`` with ``col`` as the baseline.
    """
    names = [s.name for s in systems]
    scores = {s.name: dict(s.scores) for s in systems}
    vs: dict[str, dict[str, Comparison]] = {n: {} for n in names}
    pairwise: Pairwise = {}
    test = opts.paired != "none"
    matrix = opts.pairwise and test
    for spec in specs:
        m = spec.name
        if opts.bootstrap > 0:
            for n in names:
                low, high, mean = ci(n, spec)
                old = scores[n][m]
                scores[n][m] = MetricScore(old.score, old.signature, (low, high), mean)
        if matrix:
            pairwise[m] = {n: {} for n in names}
        for anchor in names if matrix else [baseline]:
            others = [n for n in names if n != anchor]
            delta = {o: scores[o][m].score - scores[anchor][m].score for o in others}
            # Equal statistics give equal scores: only a zero delta needs the array comparison.
            twins = [o for o in others if delta[o] == 0 and same(m, o, anchor)]
            tested = [o for o in others if o not in twins]
            if test:
                cmps = compare(spec, anchor, tested) if tested else {}
            else:
                cmps = {o: Comparison(delta[o]) for o in tested}
            cmps.update({o: Comparison(delta[o], identical=True) for o in twins})
            for o in others:
                if anchor == baseline:
                    vs[o][m] = cmps[o]
                if matrix:
                    pairwise[m][o][anchor] = cmps[o]
    out = [replace(s, scores=scores[s.name], vs_baseline=vs[s.name]) for s in systems]
    return out, pairwise


def _with_statistics(
    systems: list[SystemResult],
    norm_stats: dict[str, dict[str, np.ndarray]],
    specs: Sequence[MetricSpec],
    baseline: str,
    opts: StatsOptions,
    same: SameFn | None = None,
) -> tuple[list[SystemResult], Pairwise]:
    """Bootstrap CIs and paired tests from the extracted (normalized) statistics, given as
    system → metric → ``N × d`` array; with no statistics requested, just the deltas.
    ``same`` tells identical systems apart when ``norm_stats`` is not given (default: compare
    the arrays of ``norm_stats``).

    CIs and paired bootstrap tests draw the same resamples, so each metric is resampled and
    scored once for all systems and every CI and test reads those scores.
    """
    names = list(norm_stats)
    column = {n: j for j, n in enumerate(names)}

    @functools.cache
    def resampled(metric: str, n_samples: int) -> BootstrapScores:
        spec = next(s for s in specs if s.name == metric)
        arrays = [norm_stats[n][metric] for n in names]
        return bootstrap_scores(arrays, spec.score_fn, n_samples=n_samples, seed=opts.seed)

    def ci(name: str, spec: MetricSpec) -> tuple[float, float, float]:
        est = resampled(spec.name, opts.bootstrap).ci(column[name], opts.confidence)
        return est.low, est.high, est.mean

    def compare(spec: MetricSpec, anchor: str, others: list[str]) -> dict[str, Comparison]:
        m = spec.name
        if opts.paired == "ar":
            res = _paired_ar(opts, spec, norm_stats[anchor][m], [norm_stats[o][m] for o in others])
        else:
            res = resampled(m, opts.paired_samples).paired(
                column[anchor], [column[o] for o in others], higher_is_better=spec.higher_is_better
            )
        return {
            o: Comparison(r.delta, r.p_value, f"paired-{opts.paired}")
            for o, r in zip(others, res, strict=True)
        }

    if same is None:
        same = _same_statistics(lambda system, metric: norm_stats[system][metric])
    return _apply_statistics(systems, specs, baseline, opts, ci, compare, same)
