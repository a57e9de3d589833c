"""Out-of-process segment metrics (COMET, xCOMET, MetricX, LLM judges) beside BLEU and chrF.

Declared as ``[metrics.NAME]`` in a suite or with ``--metric-command``; run as a command in their
own environment or as requests to an OpenAI-compatible judge; cached per segment; scored as the
mean of segment scores with statistics every resampling step of evalkit understands.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..corpus import TestSet, detect_lang
from ..errors import ConfigError
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
    "declared_metrics",
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


def declared_metrics(
    metrics: str, commands: Sequence[str], cache_dir: str | Path | None
) -> list[str | ExternalMetric]:
    """``--metrics`` plus ``--metric-command NAME=COMMAND`` declarations: the names in order,
    each declared one as its :class:`ExternalMetric` (appended when ``metrics`` leaves it out).
    Segment scores are cached under ``cache_dir/metric-scores`` when there is a ``--cache``."""
    where = Path(cache_dir) / "metric-scores" if cache_dir else None
    external = {}
    for value in commands:
        metric = parse_metric_option(value, cache_dir=where)
        if metric.name in external:
            raise ConfigError(f"--metric-command declares metric {metric.name!r} twice")
        external[metric.name] = metric
    names = parse_metric_names(metrics, extra=tuple(external))
    names += tuple(n for n in external if n not in names)
    return [external.get(n, n) for n in names]


def bind(metric: ExternalMetric, ts: TestSet) -> ExternalSpec:
    """The metric for one test set: its sources and languages (the source language is the
    sources' detected one, else the other of zh/en)."""
    if ts.sources is not None:
        source_lang = detect_lang(ts.sources)
    else:
        source_lang = {"zh": "en", "en": "zh"}.get(ts.lang, "")
    return ExternalSpec(metric, ts.sources, source_lang, ts.lang)
