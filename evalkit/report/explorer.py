"""The segment explorer's data: every text, segment score and alignment, for the page's script.

Why JSON and client-side paging: 10 systems × 2,000 segments as rendered rows would be tens of
megabytes; as compact JSON (UTF-8, not ``\\uXXXX``) with run-length alignments it is a few, and
the script draws only the visible page, with ``textContent``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..diagnostics import KINDS
from ..errors import EvalkitError
from ..normalize import Normalizer
from ..render._cells import DECIMALS
from ..results import TestSetResult
from .align import Aligner

if TYPE_CHECKING:
    from .view import MetricHead

__all__ = ["ExplorerView", "build_explorer", "normalizer_for"]


@dataclass(frozen=True)
class ExplorerView:
    """Controls of the segment explorer and the JSON payload its script pages through."""

    data_id: str
    systems: tuple[str, ...]
    metrics: tuple[MetricHead, ...]
    payload: Mapping[str, Any]


def normalizer_for(norm: Mapping[str, Any]) -> Normalizer | None:
    """The Normalizer a test set was scored with, or None if this installation lacks it."""
    try:
        return Normalizer.from_dict(norm)
    except EvalkitError:  # an OpenCC config this installation lacks: show no examples
        return None


def _round(xs: Sequence[float]) -> list[float | None]:
    return [round(x, DECIMALS) if math.isfinite(x) else None for x in xs]


def _diff_codes(ts: TestSetResult, names: Sequence[str]) -> list[list[list[int]]]:
    """Per system and segment, the candidate aligned with reference 1 as scored: normalized.

    Normalization that keeps every length (t2s, s2t, punctuation folding) maps positions one to
    one, so the alignment of the normalized texts marks the raw texts shown on the page and a
    Traditional candidate is not all "different" from a Simplified reference. A line whose
    length normalization changed is aligned as written.
    """
    sd = ts.segment_data
    ref = sd.refs[0] if sd.refs else ("",) * ts.segments
    normalizer = normalizer_for(ts.normalization)
    if normalizer is None or normalizer.is_identity:

        def norm(lines: Sequence[str]) -> Sequence[str]:
            return lines
    else:

        def norm(lines: Sequence[str]) -> Sequence[str]:
            out = normalizer.apply(lines).lines
            return [n if len(n) == len(r) else r for n, r in zip(out, lines, strict=True)]

    ref_n = norm(ref)
    aligners = [Aligner(r, ts.lang) for r in ref_n]
    return [[a.code(h) for a, h in zip(aligners, norm(sd.hyps[n]), strict=True)] for n in names]


def _flags(ts: TestSetResult, name: str) -> dict[str, list[int]] | None:
    diag = ts.system(name).diagnostics
    if diag is None:
        return None
    return {k: list(diag[k]["segments"]) for k in KINDS if k in diag and diag[k]["segments"]}


def build_explorer(ts: TestSetResult, index: int, heads: Sequence[MetricHead]) -> ExplorerView:
    """The explorer's controls and its payload: texts, rounded segment scores, alignments."""
    sd = ts.segment_data
    names = [s.name for s in ts.systems]
    payload = {
        "lang": ts.lang,
        "n": ts.segments,
        "systems": names,
        "baseline": names.index(ts.baseline) if ts.baseline in names else -1,
        "metrics": [{"key": h.key, "label": h.label, "higher": h.higher_is_better} for h in heads],
        "src": None if sd.sources is None else list(sd.sources),
        "refs": [list(r) for r in sd.refs],
        "refChanged": [int(c) for c in sd.ref_changed],
        "hyps": [list(sd.hyps[n]) for n in names],
        "scores": [[_round(sd.scores[n][h.key]) for h in heads] for n in names],
        "changed": [[int(c) for c in sd.changed.get(n, ())] for n in names],
        "diff": _diff_codes(ts, names),
        # kind → 0-based flagged segments, per system (None: diagnostics not computed)
        "kinds": list(KINDS),
        "flags": [_flags(ts, n) for n in names],
    }
    return ExplorerView(
        data_id=f"segdata-{index}",
        systems=tuple(names),
        metrics=tuple(heads),
        payload=payload,
    )
