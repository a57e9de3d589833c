"""Out-of-process segment metrics (COMET, xCOMET, MetricX, LLM judges) beside BLEU and chrF.

Declared as ``[metrics.NAME]`` in a suite or with ``--metric-command``; run as a command in their
own environment or as requests to an OpenAI-compatible judge; cached per segment; scored as the
mean of segment scores with statistics every resampling step of evalkit understands.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..corpus import TestSet, detect_lang
from ..metrics import parse_metric_names
from .config import (
    DEFAULT_JUDGE_PROMPT,
    CometPrecisionWarning,
    ExternalMetric,
    parse_metric_option,
    parse_metric_table,
)
from .spec import ExternalSpec

__all__ = [
    "DEFAULT_JUDGE_PROMPT",
    "CometPrecisionWarning",
    "ExternalMetric",
    "ExternalSpec",
    "bind",
    "parse_metric_option",
    "parse_metric_table",
    "split_metrics",
]


def split_metrics(
    metrics: str | Sequence[str | ExternalMetric],
) -> tuple[tuple[str, ...], dict[str, ExternalMetric]]:
    """Metric names in order (built-in and external) and the external metrics by name."""
    if isinstance(metrics, str):
        return parse_metric_names(metrics), {}
    external = {m.name: m for m in metrics if isinstance(m, ExternalMetric)}
    names = [m.name if isinstance(m, ExternalMetric) else m for m in metrics]
    return parse_metric_names(names, extra=tuple(external)), external


def bind(metric: ExternalMetric, ts: TestSet) -> ExternalSpec:
    """The metric for one test set: its sources and languages (the source language is the
    sources' detected one, else the other of zh/en)."""
    if ts.sources is not None:
        source_lang = detect_lang(ts.sources)
    else:
        source_lang = {"zh": "en", "en": "zh"}.get(ts.lang, "")
    return ExternalSpec(metric, ts.sources, source_lang, ts.lang)
