"""Build the TestSetResult evaluate() would build, from the collected arrays and counters:
corpus scores, warnings, and statistics (evaluate()'s own up to the exact limit, else the
row-block resampling)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..detect import ScriptShare
from ..diagnostics import NOT_STREAMED
from ..evaluation import (
    StatsOptions,
    _normalization_record,
    _same_statistics,
    _warnings,
    _with_statistics,
)
from ..metrics import MetricSpec
from ..normalize import Normalizer
from ..results import Comparison, MetricScore, SystemResult, TestSetResult
from .collect import _Collector, _sacrebleu_sums
from .reading import EXACT_RESAMPLING_MAX_SEGMENTS
from .resampling import _poisson_statistics

SAMPLE_LINES = 100_000
"""The target language and, for ``--normalize auto``, the reference's script are detected from
the reference's first this-many lines (the whole file when shorter, as evaluate() does)."""


def _metric_score(spec: MetricSpec, chunks: Sequence[np.ndarray], n_refs: int) -> MetricScore:
    """What ``spec.corpus_score(stats)`` gives on the concatenated array."""
    sums = _sacrebleu_sums(chunks)
    score = float(spec.sacrebleu_metric._compute_score_from_stats(sums).score)
    return MetricScore(score=score, signature=spec.signature(n_refs))


def _share(counts: np.ndarray) -> ScriptShare:
    return ScriptShare(*(int(x) for x in counts))


@dataclass(frozen=True)
class _Plan:
    """What was decided before scoring, needed again to build the result."""

    testset: str
    lang: str
    n: int
    n_refs: int
    specs: Sequence[MetricSpec]
    norm: Normalizer
    requested: str | Normalizer | None
    opts: StatsOptions
    jobs: int

    @property
    def metric_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.specs)


def _assemble(plan: _Plan, col: _Collector, base: str) -> TestSetResult:
    """The TestSetResult evaluate() builds, from the collected arrays and counters."""
    zh = plan.lang == "zh"
    ref_script = _share(col.ref_script) if zh else None
    systems = []
    for sys_name in col.systems:
        script = _share(col.script[sys_name]) if zh else None
        scores = {}
        for kind in ("norm", "raw"):
            scores[kind] = {
                s.name: _metric_score(s, col.chunks(kind, sys_name, s.name), plan.n_refs)
                for s in plan.specs
            }
        systems.append(
            SystemResult(
                name=sys_name,
                scores=scores["norm"],
                raw_scores=scores["raw"],
                changed_segments=col.changed[sys_name],
                script=script.as_dict() if script else None,
                warnings=_warnings(
                    col.empty[sys_name], script, ref_script, col.converted[sys_name]
                ),
            )
        )
    opts, names = plan.opts, plan.metric_names
    pairwise: dict[str, dict[str, dict[str, Comparison]]] = {}
    stats_dict: dict[str, object] = {}
    if opts.active and plan.n <= EXACT_RESAMPLING_MAX_SEGMENTS:
        norm = {
            s: {m: np.concatenate(col.chunks("norm", s, m)) for m in names} for s in col.systems
        }
        systems, pairwise = _with_statistics(systems, norm, plan.specs, base, opts)
        stats_dict = opts.as_dict()
    elif opts.active:
        chunks = {(s, m): col.chunks("norm", s, m) for s in col.systems for m in names}
        systems, pairwise = _poisson_statistics(systems, chunks, plan.specs, base, opts, plan.jobs)
        stats_dict = {**opts.as_dict(), "method": "poisson"}
    else:  # no CI, no paired test: just the deltas (and which systems equal the baseline)
        same = _same_statistics(lambda s, m: col.chunks("norm", s, m))
        systems, pairwise = _with_statistics(systems, {}, plan.specs, base, opts, same)
    normalization = _normalization_record(
        plan.norm,
        plan.requested,
        col.ref_changed,
        col.ref_converted,
        {s: col.converted[s] for s in col.systems},
    )
    if plan.n > SAMPLE_LINES:
        normalization["detected_from_segments"] = SAMPLE_LINES
    return TestSetResult(
        name=plan.testset,
        lang=plan.lang,
        segments=plan.n,
        metrics=names,
        normalization=normalization,
        baseline=base,
        systems=tuple(systems),
        segment_data=None,
        reference_script=ref_script.as_dict() if ref_script else None,
        pairwise=pairwise,
        stats=stats_dict,
        diagnostics_config=NOT_STREAMED,
    )
