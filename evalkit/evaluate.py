"""The one orchestrator: TestSet × Normalizer × metrics (+ statistics) → Results.

This is the only module that chains the stages. Statistics are extracted once per
(test set, system, metric, normalization); scores, segment scores, confidence intervals and
significance tests are all computed from those arrays.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import version as _pkg_version

import numpy as np

from .cache import StatsCache, stats_key
from .corpus import TestSet
from .detect import detect_script
from .metrics import MetricSpec, make_metric, parse_metric_names
from .normalize import Normalizer, resolve_normalizer
from .results import (
    Comparison,
    MetricScore,
    Results,
    SegmentData,
    SystemResult,
    TestSetResult,
)

__all__ = ["DEFAULT_METRICS", "evaluate", "versions"]

DEFAULT_METRICS: tuple[str, ...] = ("bleu", "chrf", "chrf++", "ter")

Progress = Callable[[str], None]
"""Called with a short description before each system is scored (the CLI draws a bar)."""


def versions() -> dict[str, str]:
    """Versions of everything that can change a number, recorded in every Results."""
    from . import __version__

    return {
        "evalkit": __version__,
        "sacrebleu": _pkg_version("sacrebleu"),
        "opencc": _pkg_version("opencc"),
        "numpy": np.__version__,
    }


@dataclass(frozen=True)
class _SystemStats:
    raw: dict[str, np.ndarray]
    norm: dict[str, np.ndarray]


def evaluate(
    testsets: TestSet | Sequence[TestSet],
    metrics: str | Sequence[str] = DEFAULT_METRICS,
    normalizer: str | Normalizer | None = "auto",
    *,
    punct: bool = False,
    tokenize: str | None = None,
    ter_plain: bool = False,
    progress: Progress | None = None,
    cache: StatsCache | None = None,
    meta: dict[str, object] | None = None,
) -> Results:
    """Score every system of every test set; return one :class:`Results`.

    ``normalizer`` is ``"auto"`` (the reference's dominant script for a Chinese target),
    ``"none"``, an OpenCC config name, or a :class:`Normalizer`. Scores are reported both raw
    and normalized; normalization is applied to references and candidates alike. With a
    ``cache``, statistics already extracted for identical inputs are reused.
    """
    sets = [testsets] if isinstance(testsets, TestSet) else list(testsets)
    names = parse_metric_names(metrics)
    results = [
        _evaluate_one(ts, names, normalizer, punct, tokenize, ter_plain, progress, cache)
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
) -> TestSetResult:
    ref_script = detect_script(ts.refs[0]) if ts.lang == "zh" else None
    norm = resolve_normalizer(
        normalizer_spec,
        lang=ts.lang,
        reference_script=ref_script.verdict if ref_script else None,
        punct=punct,
    )
    specs = [make_metric(m, ts.lang, tokenize=tokenize, ter_plain=ter_plain) for m in metric_names]
    norm_refs = [norm.apply(stream) for stream in ts.refs]
    ref_changed = tuple(any(flags) for flags in zip(*(r.changed for r in norm_refs), strict=True))
    refs_n = [r.lines for r in norm_refs]

    systems: list[SystemResult] = []
    seg_scores: dict[str, dict[str, tuple[float, ...]]] = {}
    seg_raw: dict[str, dict[str, tuple[float, ...]]] = {}
    changed: dict[str, tuple[bool, ...]] = {}
    all_stats: dict[str, _SystemStats] = {}
    for sys_name, hyps in ts.systems.items():
        if progress:
            progress(f"{ts.name}: {sys_name}")
        norm_hyps = norm.apply(hyps)
        changed[sys_name] = norm_hyps.changed
        same_text = norm_hyps.n_changed == 0 and not any(ref_changed)
        raw_stats: dict[str, np.ndarray] = {}
        norm_stats: dict[str, np.ndarray] = {}
        for spec in specs:
            raw_stats[spec.name] = _extract(spec, hyps, ts.refs, Normalizer(), cache)
            norm_stats[spec.name] = (
                raw_stats[spec.name]
                if same_text
                else _extract(spec, norm_hyps.lines, refs_n, norm, cache)
            )
        all_stats[sys_name] = _SystemStats(raw_stats, norm_stats)
        systems.append(
            SystemResult(
                name=sys_name,
                scores=_scores(specs, norm_stats, len(ts.refs)),
                raw_scores=_scores(specs, raw_stats, len(ts.refs)),
                changed_segments=norm_hyps.n_changed,
                script=detect_script(hyps).as_dict() if ts.lang == "zh" else None,
            )
        )
        seg_scores[sys_name] = _segment_scores(specs, norm_stats)
        seg_raw[sys_name] = _segment_scores(specs, raw_stats)

    baseline = ts.baseline_name
    systems = _with_baseline_deltas(systems, baseline, metric_names)
    normalization = {
        **norm.as_dict(),
        "signature": norm.describe(),
        "requested": normalizer_spec if isinstance(normalizer_spec, str) else None,
        "ref_changed_segments": sum(ref_changed),
    }
    return TestSetResult(
        name=ts.name,
        lang=ts.lang,
        segments=ts.n_segments,
        metrics=metric_names,
        normalization=normalization,
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
    )


def _extract(
    spec: MetricSpec,
    hyps: Sequence[str],
    refs: Sequence[Sequence[str]],
    norm: Normalizer,
    cache: StatsCache | None,
) -> np.ndarray:
    """Statistics for one (system, metric, normalization), through the cache when there is one."""
    if cache is None:
        return spec.extract_stats(hyps, refs)
    key = stats_key(spec.signature(len(refs)), norm.describe(), "sacrebleu", refs, hyps)
    return cache.get_or_compute(key, lambda: spec.extract_stats(hyps, refs))


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
    return {s.name: tuple(float(x) for x in s.segment_scores(stats[s.name])) for s in specs}


def _with_baseline_deltas(
    systems: list[SystemResult], baseline: str, metric_names: Sequence[str]
) -> list[SystemResult]:
    base = next(s for s in systems if s.name == baseline)
    out = []
    for s in systems:
        if s.name == baseline:
            out.append(s)
            continue
        vs = {m: Comparison(delta=s.scores[m].score - base.scores[m].score) for m in metric_names}
        out.append(SystemResult(s.name, s.scores, s.raw_scores, vs, s.changed_segments, s.script))
    return out
