"""An external metric bound to one test set, shaped like :class:`evalkit.metrics.MetricSpec`.

The corpus score is the mean of the segment scores. The statistics are ``[score, 1]`` per
segment (``N × 2``), so a resample's summed statistics divided column by column give its mean:
evalkit's bootstrap CIs, paired bootstrap / approximate randomization, pairwise matrix, report and
gate work on them unchanged. With several references the metric is asked once per reference
and a segment's score is the mean of those.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .config import ExternalMetric
from .run import Triple, score_triples

__all__ = ["ExternalSpec", "mean_scores"]


def mean_scores(stats: np.ndarray) -> np.ndarray:
    """``(B, 2)`` summed ``[score, count]`` statistics → ``(B,)`` mean scores."""
    stats = np.asarray(stats, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return stats[..., 0] / stats[..., 1]


@dataclass(frozen=True)
class ExternalSpec:
    """What evaluation needs of a metric: its name, direction, statistics, scores and
    signature. ``sources`` are the test set's (None when it has none)."""

    metric: ExternalMetric
    sources: tuple[str, ...] | None
    source_lang: str
    target_lang: str

    fast_supported = False

    @property
    def name(self) -> str:
        return self.metric.name

    @property
    def label(self) -> str:
        return self.metric.name

    @property
    def higher_is_better(self) -> bool:
        return self.metric.higher_is_better

    @property
    def score_fn(self) -> object:
        return mean_scores

    def signature(self, n_refs: int) -> str:
        return self.metric.signature(n_refs)

    def extract_stats(
        self, hyps: Sequence[str], refs: Sequence[Sequence[str]], **_: object
    ) -> np.ndarray:
        return self.extract_stats_many([hyps], refs)[0]

    def extract_stats_many(
        self, systems: Sequence[Sequence[str]], refs: Sequence[Sequence[str]], **_: object
    ) -> list[np.ndarray]:
        """``[mean score, 1]`` per segment of every system, in one pass over the metric so a
        command loads its model once for all systems (``batch_size`` permitting)."""
        uses = self.metric.uses
        n = len(refs[0]) if refs else (len(systems[0]) if systems else 0)
        if "src" in uses and self.sources is None:
            raise self.metric.error("uses the source ({src}) but the test set has no sources")
        sources = self.sources if "src" in uses and self.sources is not None else ("",) * n
        ref_streams = list(refs) if "ref" in uses else [("",) * n]
        triples: list[Triple] = []
        segments: list[int] = []
        for hyps in systems:
            for ref in ref_streams:
                triples.extend(zip(sources, hyps, ref, strict=True))
                segments.extend(range(1, n + 1))
        flat = score_triples(
            self.metric,
            triples,
            segments,
            source_lang=self.source_lang,
            target_lang=self.target_lang,
        )
        k = len(ref_streams)
        scores = np.asarray(flat, dtype=np.float64).reshape(len(systems), k, n).mean(axis=1)
        return [np.column_stack([row, np.ones(n)]) for row in scores]

    def corpus_score(self, stats: np.ndarray) -> float:
        if len(stats) == 0:
            return 0.0
        return float(mean_scores(stats.sum(axis=0)))

    def segment_scores(self, stats: np.ndarray) -> np.ndarray:
        return np.asarray(stats, dtype=np.float64)[:, 0].reshape(len(stats))
