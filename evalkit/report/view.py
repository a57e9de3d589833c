"""View model: every number, label and text piece the report shows, computed before rendering.

Why a separate step: templates then only loop and print (no arithmetic, no formatting), the
whole page can be checked without Jinja2 or a browser, and untrusted texts stay plain ``str``
values until autoescaping prints them. Charts are drawn from this model by ``charts.py``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from ..diagnostics import KINDS
from ..errors import EvalkitError
from ..normalize import Normalizer
from ..render._cells import (
    ALPHA,
    IDENTICAL,
    LABELS,
    fmt_gain,
    fmt_number,
    fmt_signed,
    matrix_cells,
    moved,
    tests_of,
)
from ..results import Comparison, MetricScore, Results, SystemResult, TestSetResult
from ..scoring import higher_is_better
from .align import char_runs
from .explorer import ExplorerView, build_explorer, normalizer_for

__all__ = [
    "BucketView",
    "DeltaCell",
    "DiagnosticsView",
    "LeaderRow",
    "MetricHead",
    "NormExample",
    "NormRow",
    "NormalizationView",
    "NumCell",
    "PairCell",
    "PairwiseMatrix",
    "Piece",
    "ReportView",
    "ScoreCell",
    "ScriptShare",
    "SystemWarnings",
    "TestSetView",
    "TranslatorColumn",
    "TranslatorRow",
    "build_view",
    "delta_cell",
    "length_of",
]

EXAMPLES_PER_SYSTEM = 2
"""Normalization examples shown per system: enough to see what changed, short enough to scan."""
MAX_EXAMPLES = 12
MAX_BUCKETS = 5
DASH = "—"


@dataclass(frozen=True)
class Piece:
    """A run of text and the CSS class that marks it (``""`` unchanged, ``"chg"`` changed)."""

    text: str
    cls: str = ""


@dataclass(frozen=True)
class MetricHead:
    """A metric column: sacrebleu's signature and which direction is better."""

    key: str
    label: str
    higher_is_better: bool
    signature: str


@dataclass(frozen=True)
class ScoreCell:
    """A corpus score with its confidence interval; ``sort`` is None when the score is missing."""

    value: float | None
    text: str
    ci: tuple[float, float] | None
    ci_text: str
    sort: str


@dataclass(frozen=True)
class DeltaCell:
    """A difference against another system, its paired p-value and what it means.

    ``verdict`` is ``better`` / ``worse`` (significant at :data:`ALPHA`, direction-aware so a TER
    drop is better), ``same`` (tested, not significant), ``identical`` (same statistics, so
    not tested: ``text`` says so) or ``""`` (not tested).
    """

    text: str
    marker: str
    p_text: str
    verdict: str
    title: str
    sort: str


@dataclass(frozen=True)
class LeaderRow:
    """A system's leaderboard row; ``warnings`` are what a reader must know before comparing."""

    system: str
    index: int
    baseline: bool
    scores: tuple[ScoreCell, ...]
    deltas: tuple[DeltaCell, ...]
    changed: int
    changed_text: str
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class SystemWarnings:
    """One system's warnings for the test set's list (plain text: printed autoescaped)."""

    system: str
    texts: tuple[str, ...]


@dataclass(frozen=True)
class TranslatorColumn:
    """A column of the translators table; ``key`` is the field of ``SystemResult.translation``."""

    key: str
    label: str
    title: str
    spec: str


@dataclass(frozen=True)
class NumCell:
    """A formatted number and its sort key (``""`` when the figure is missing)."""

    text: str
    sort: str


@dataclass(frozen=True)
class TranslatorRow:
    """Speed figures of one translator system; ``when`` says which run measured them."""

    system: str
    when: str
    figures: tuple[NumCell, ...]


@dataclass(frozen=True)
class PairCell:
    """Row system minus column system on one metric; None on the diagonal."""

    cell: DeltaCell | None


@dataclass(frozen=True)
class PairwiseMatrix:
    metric: MetricHead
    systems: tuple[str, ...]
    rows: tuple[tuple[PairCell, ...], ...]
    test: str


@dataclass(frozen=True)
class ScriptShare:
    """Detected script of a text, as whole percentages of its Han characters."""

    verdict: str
    simplified: int
    traditional: int
    neutral: int


@dataclass(frozen=True)
class NormRow:
    """A system's raw → normalized scores; ``moved[i]`` says whether metric ``i`` changed at
    the printed precision (the one rule that draws an arrow, in every output)."""

    system: str
    changed: int
    changed_text: str
    raw: tuple[str, ...]
    normalized: tuple[str, ...]
    gain: tuple[DeltaCell, ...]
    moved: tuple[bool, ...]
    script: ScriptShare | None


@dataclass(frozen=True)
class NormExample:
    """One line before and after normalization, with the changed characters marked."""

    who: str
    segment: int
    raw: tuple[Piece, ...]
    normalized: tuple[Piece, ...]


@dataclass(frozen=True)
class NormalizationView:
    signature: str
    requested: str
    identity: bool
    ref_changed: str | None
    reference_script: ScriptShare | None
    rows: tuple[NormRow, ...]
    examples: tuple[NormExample, ...]
    note: str
    detected_from: str


@dataclass(frozen=True)
class BucketView:
    """Mean segment score per length bucket: ``means[metric][system][bucket]`` (None if empty)."""

    unit: str
    labels: tuple[str, ...]
    counts: tuple[int, ...]
    means: Mapping[str, Mapping[str, tuple[float | None, ...]]]
    cells: Mapping[str, tuple[tuple[str, ...], ...]]


@dataclass(frozen=True)
class TestSetView:
    __test__ = False

    index: int
    anchor: str
    name: str
    lang: str
    lang_label: str
    segments_text: str
    n_refs: int | None
    streamed: bool
    baseline: str
    systems: tuple[str, ...]
    metrics: tuple[MetricHead, ...]
    leaderboard: tuple[LeaderRow, ...]
    warnings: tuple[SystemWarnings, ...]
    translators: tuple[TranslatorRow, ...]
    has_ci: bool
    has_p: bool
    has_identical: bool
    ci_label: str
    tests: str
    stats_items: tuple[str, ...]
    pairwise: tuple[PairwiseMatrix, ...]
    normalization: NormalizationView
    buckets: BucketView | None
    distribution: Mapping[str, Mapping[str, Sequence[float]]] | None
    explorer: ExplorerView | None
    """Per-segment views: None when the test set was streamed (no segment data was kept)."""
    diagnostics: DiagnosticsView | None = None
    """Why systems lost points, per kind; None when not computed (streamed, older files)."""


@dataclass(frozen=True)
class DiagCell:
    """One system's rate of one diagnostic: ``level`` 0–3 colours it (none, <1%, <10%, more)."""

    text: str
    title: str
    level: int
    sort: str


@dataclass(frozen=True)
class DiagExample:
    """A flagged output with its flagged span marked (chatter; other kinds: the whole line)."""

    system: str
    kind: str
    segment: int
    pieces: tuple[Piece, ...]


@dataclass(frozen=True)
class DiagnosticsView:
    """The diagnostics table (rate per system and kind) and a few flagged examples."""

    kinds: tuple[str, ...]
    rows: tuple[tuple[str, tuple[DiagCell, ...]], ...]
    examples: tuple[DiagExample, ...]
    any_flagged: bool


DIAG_EXAMPLES_PER_KIND = 2
"""Flagged examples shown per system and kind: enough to recognise the failure."""


def _diag_level(rate: float) -> int:
    return 0 if rate == 0 else 1 if rate < 0.01 else 2 if rate < 0.1 else 3


def _flag_pieces(text: str, spans: Sequence[Sequence[int]]) -> tuple[Piece, ...]:
    """``text`` cut at the flagged ``spans`` (code-point offsets), those pieces marked."""
    if not spans:
        return (Piece(text, "flag"),) if text else (Piece("(empty)", "muted"),)
    out, at = [], 0
    for start, end in spans:
        if start > at:
            out.append(Piece(text[at:start]))
        out.append(Piece(text[start:end], "flag"))
        at = max(at, end)
    if at < len(text):
        out.append(Piece(text[at:]))
    return tuple(out)


def _diagnostics(ts: TestSetResult) -> DiagnosticsView | None:
    found = {s.name: s.diagnostics for s in ts.systems if s.diagnostics is not None}
    if not found:
        return None
    rows = []
    for name, diag in found.items():
        cells = []
        for kind in KINDS:
            entry = diag.get(kind) or {"count": 0, "rate": 0.0}
            rate = float(entry["rate"])
            cells.append(
                DiagCell(
                    text=f"{rate * 100:.1f}%",
                    title=f"{entry['count']} of {ts.segments} segments",
                    level=_diag_level(rate),
                    sort=_sort_key(rate),
                )
            )
        rows.append((name, tuple(cells)))
    examples = []
    sd = ts.segment_data
    if sd is not None:
        for name, diag in found.items():
            for kind in KINDS:
                entry = diag.get(kind) or {}
                segs = entry.get("segments", [])[:DIAG_EXAMPLES_PER_KIND]
                spans = entry.get("spans", [])
                for k, i in enumerate(segs):
                    text = sd.hyps[name][i]
                    marked = spans[k] if kind == "chatter" and k < len(spans) else ()
                    examples.append(DiagExample(name, kind, i + 1, _flag_pieces(text, marked)))
    flagged = any(c.level for _, cells in rows for c in cells)
    return DiagnosticsView(KINDS, tuple(rows), tuple(examples[: MAX_EXAMPLES * 2]), flagged)


@dataclass(frozen=True)
class SignatureRow:
    label: str
    signature: str
    testsets: str


@dataclass(frozen=True)
class ReportView:
    title: str
    translator_columns: tuple[TranslatorColumn, ...]
    created: str
    suite: str
    versions: tuple[tuple[str, str], ...]
    signatures: tuple[SignatureRow, ...]
    normalizations: tuple[tuple[str, str], ...]
    testsets: tuple[TestSetView, ...]
    alpha: str


def build_view(results: Results, *, title: str | None, created: datetime) -> ReportView:
    """Compute everything the page shows from ``results``; no rendering happens here."""
    suite = _suite_name(results.meta)
    testsets = tuple(_testset_view(i, ts) for i, ts in enumerate(results.testsets))
    versions = results.meta.get("versions") or {"evalkit": results.evalkit_version}
    return ReportView(
        title=title or (f"evalkit report: {suite}" if suite else _describe(results)),
        translator_columns=TRANSLATOR_COLUMNS,
        created=created.isoformat(timespec="seconds"),
        suite=suite,
        versions=tuple((str(k), str(v)) for k, v in versions.items()),
        signatures=_signature_rows(testsets),
        normalizations=tuple((t.name, t.normalization.signature) for t in testsets),
        testsets=testsets,
        alpha=f"{ALPHA:g}",
    )


def _describe(results: Results) -> str:
    """A title for results without a suite (``score``): what was scored, not a generic label,
    e.g. "en-zh: zh target, 2,037 segments"."""
    parts = [f"{ts.name}: {ts.lang} target, {ts.segments:,} segments" for ts in results.testsets]
    return "; ".join(parts) or "evalkit report"


def _suite_name(meta: Mapping[str, Any]) -> str:
    suite = meta.get("suite")
    if isinstance(suite, Mapping):
        suite = suite.get("name")
    return "" if suite is None else str(suite)


def _signature_rows(testsets: Sequence[TestSetView]) -> tuple[SignatureRow, ...]:
    seen: dict[tuple[str, str], list[str]] = {}
    for ts in testsets:
        for m in ts.metrics:
            seen.setdefault((m.label, m.signature), []).append(ts.name)
    return tuple(SignatureRow(k[0], k[1], ", ".join(v)) for k, v in seen.items())


def _higher_is_better(metric: str, signature: str | None = None) -> bool:
    try:
        return higher_is_better(metric, signature)
    except EvalkitError:  # a metric this evalkit does not know (results from a newer one)
        return True


def _fmt(x: float | None) -> str:
    return DASH if x is None or not math.isfinite(x) else fmt_number(x)


def _sort_key(x: float | None) -> str:
    return "" if x is None or not math.isfinite(x) else repr(float(x))


def _count(n: int) -> str:
    """Millions of segments stay readable: 10,000,000."""
    return f"{n:,}"


def _score_cell(score: MetricScore | None) -> ScoreCell:
    if score is None:
        return ScoreCell(None, DASH, None, "", "")
    ci = score.ci
    ci_text = "" if ci is None else f"[{_fmt(ci[0])}, {_fmt(ci[1])}]"
    return ScoreCell(score.score, _fmt(score.score), ci, ci_text, _sort_key(score.score))


def delta_cell(cmp_: Comparison | None, higher: bool, what: str) -> DeltaCell:
    """Format a comparison and judge it: significant at ALPHA, in the metric's own direction."""
    if cmp_ is None:
        return DeltaCell(DASH, "", "", "", "", "")
    if cmp_.identical:
        title = f"{what}: identical statistics, so no test was run"
        return DeltaCell(IDENTICAL, "", "", "identical", title, _sort_key(cmp_.delta))
    text = fmt_signed(cmp_.delta)
    if cmp_.p_value is None or not math.isfinite(cmp_.p_value):
        return DeltaCell(text, "", "", "", f"{what}: no significance test", _sort_key(cmp_.delta))
    p = cmp_.p_value
    p_text = "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
    significant = p < ALPHA
    gain = cmp_.delta > 0 if higher else cmp_.delta < 0
    if not significant or cmp_.delta == 0:
        verdict = "same"
    else:
        verdict = "better" if gain else "worse"
    test = f" ({cmp_.test})" if cmp_.test else ""
    title = (
        f"{what}: {p_text}{test}, "
        + ("significant" if significant else "not significant")
        + f" at {ALPHA:g}"
    )
    return DeltaCell(
        text, "*" if significant else "", p_text, verdict, title, _sort_key(cmp_.delta)
    )


def _metric_heads(ts: TestSetResult) -> tuple[MetricHead, ...]:
    heads = []
    for m in ts.metrics:
        sig = next((s.scores[m].signature for s in ts.systems if m in s.scores), "")
        heads.append(MetricHead(m, LABELS.get(m, m), _higher_is_better(m, sig), sig))
    return tuple(heads)


def _leaderboard(ts: TestSetResult, heads: Sequence[MetricHead]) -> tuple[LeaderRow, ...]:
    rows = []
    for i, sr in enumerate(ts.systems):
        base = sr.name == ts.baseline
        rows.append(
            LeaderRow(
                system=sr.name,
                index=i,
                baseline=base,
                scores=tuple(_score_cell(sr.scores.get(h.key)) for h in heads),
                deltas=tuple(
                    delta_cell(
                        None if base else sr.vs_baseline.get(h.key),
                        h.higher_is_better,
                        f"{sr.name} − {ts.baseline}, {h.label}",
                    )
                    for h in heads
                ),
                changed=sr.changed_segments,
                changed_text=_count(sr.changed_segments),
                warnings=tuple(str(w) for w in sr.warnings),
            )
        )
    return tuple(rows)


def _warnings(ts: TestSetResult) -> tuple[SystemWarnings, ...]:
    return tuple(
        SystemWarnings(sr.name, tuple(str(w) for w in sr.warnings))
        for sr in ts.systems
        if sr.warnings
    )


TRANSLATOR_COLUMNS = (
    TranslatorColumn("segments", "Segments", "segments in the test set", ",.0f"),
    TranslatorColumn("translated", "Translated", "segments the translator was asked for", ",.0f"),
    TranslatorColumn("from_cache", "From cache", "segments taken from the segment cache", ",.0f"),
    TranslatorColumn("wall_time_s", "Wall time (s)", "wall time of the whole run", ",.2f"),
    TranslatorColumn("segments_per_s", "Segments/s", "translated segments per second", ",.1f"),
    TranslatorColumn(
        "chars_per_s", "Characters/s", "source characters translated per second", ",.0f"
    ),
    TranslatorColumn("latency_p50_s", "Latency p50 (s)", "median latency", ",.3f"),
    TranslatorColumn("latency_p95_s", "Latency p95 (s)", "95th percentile latency", ",.3f"),
    TranslatorColumn("prompt_tokens", "Tokens in", "prompt tokens the endpoint reported", ",.0f"),
    TranslatorColumn(
        "completion_tokens", "Tokens out", "completion tokens the endpoint reported", ",.0f"
    ),
)
"""The translators table, in the order of ``evalkit run``'s terminal table."""


def _number(value: Any) -> float | None:
    """A finite number from the results file, else None (a hand-edited file may hold anything)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _translators(ts: TestSetResult) -> tuple[TranslatorRow, ...]:
    rows = []
    for sr in ts.systems:
        t = sr.translation
        if not isinstance(t, Mapping):
            continue
        figures = []
        for col in TRANSLATOR_COLUMNS:
            x = _number(t.get(col.key))
            figures.append(NumCell(DASH if x is None else format(x, col.spec), _sort_key(x)))
        now = t.get("translated_now")
        when = "this run" if now is True else "earlier run" if now is False else DASH
        rows.append(TranslatorRow(sr.name, when, tuple(figures)))
    return tuple(rows)


def _pairwise(ts: TestSetResult, heads: Sequence[MetricHead]) -> tuple[PairwiseMatrix, ...]:
    out = []
    names = tuple(s.name for s in ts.systems)
    for h in heads:
        mat = ts.pairwise.get(h.key)
        if not mat:
            continue
        rows = []
        for a in names:
            row = []
            for b in names:
                cmp_ = None if a == b else mat.get(a, {}).get(b)
                cell = delta_cell(cmp_, h.higher_is_better, f"{a} − {b}, {h.label}")
                row.append(PairCell(None if a == b else cell))
            rows.append(tuple(row))
        out.append(PairwiseMatrix(h, names, tuple(rows), tests_of(matrix_cells(mat))))
    return tuple(out)


def _script_share(d: Mapping[str, Any] | None) -> ScriptShare | None:
    if not d:
        return None

    def pct(key: str) -> int:
        v = d.get(key)
        return round(float(v) * 100) if isinstance(v, (int, float)) else 0

    return ScriptShare(
        str(d.get("verdict", "")),
        pct("simplified_share"),
        pct("traditional_share"),
        pct("neutral_share"),
    )


def _char_pieces(a: str, b: str) -> tuple[tuple[Piece, ...], tuple[Piece, ...]]:
    """Both lines cut into unchanged and changed runs (character level)."""
    left, right = char_runs(a, b)
    return (
        tuple(Piece(t, "chg" if c else "") for t, c in left),
        tuple(Piece(t, "chg" if c else "") for t, c in right),
    )


def _norm_examples(ts: TestSetResult, normalizer: Normalizer) -> tuple[NormExample, ...]:
    sd = ts.segment_data
    if sd is None:
        return ()
    picks: list[tuple[str, int, str]] = []
    ref0 = sd.refs[0] if sd.refs else ()
    for i in [i for i, c in enumerate(sd.ref_changed) if c][:EXAMPLES_PER_SYSTEM]:
        picks.append(("reference", i, ref0[i]))
    for sr in ts.systems:
        flags = sd.changed.get(sr.name, ())
        for i in [i for i, c in enumerate(flags) if c][:EXAMPLES_PER_SYSTEM]:
            picks.append((sr.name, i, sd.hyps[sr.name][i]))
    out = []
    for who, i, text in picks[:MAX_EXAMPLES]:
        raw, normalized = _char_pieces(text, normalizer(text))
        out.append(NormExample(who, i + 1, raw, normalized))
    return tuple(out)


def _normalization(ts: TestSetResult, heads: Sequence[MetricHead]) -> NormalizationView:
    norm = ts.normalization
    normalizer = normalizer_for(norm)
    identity = normalizer is not None and normalizer.is_identity
    rows = []
    for sr in ts.systems:
        raw = tuple(_fmt(_score(sr.raw_scores, h.key)) for h in heads)
        new = tuple(_fmt(_score(sr.scores, h.key)) for h in heads)
        gain = tuple(_gain_cell(sr, h) for h in heads)
        went = tuple(_moved(sr, h) for h in heads)
        script = _script_share(sr.script)
        changed = sr.changed_segments
        rows.append(NormRow(sr.name, changed, _count(changed), raw, new, gain, went, script))
    examples = () if normalizer is None or identity else _norm_examples(ts, normalizer)
    if identity:
        note = "No normalization was applied: raw and normalized scores are the same."
    elif normalizer is None:
        note = f"Examples unavailable: normalization {norm.get('config')!r} is not installed."
    elif ts.segment_data is None:
        note = "Examples unavailable: the test set was streamed, so no segment text was kept."
    elif not examples:
        note = "Normalization changed no segment."
    else:
        note = ""
    return NormalizationView(
        signature=str(norm.get("signature", "")),
        requested=str(norm.get("requested") or ""),
        identity=identity,
        ref_changed=_ref_changed(ts),
        reference_script=_script_share(ts.reference_script),
        rows=tuple(rows),
        examples=examples,
        note=note,
        detected_from=_detected_from(norm),
    )


def _ref_changed(ts: TestSetResult) -> str | None:
    """Reference segments normalization changed: the stored count, else counted; None if unknown."""
    n = _number(ts.normalization.get("ref_changed_segments"))
    if n is None and ts.segment_data is not None:
        n = sum(ts.segment_data.ref_changed)
    return None if n is None else _count(int(n))


def _detected_from(norm: Mapping[str, Any]) -> str:
    """A streamed set detects the reference script from its first lines only: say how many."""
    n = _number(norm.get("detected_from_segments"))
    return "" if n is None else _count(int(n))


def _score(scores: Mapping[str, MetricScore], key: str) -> float | None:
    s = scores.get(key)
    return None if s is None else s.score


def _raw_and_normalized(sr: SystemResult, h: MetricHead) -> tuple[float, float] | None:
    raw, new = _score(sr.raw_scores, h.key), _score(sr.scores, h.key)
    if raw is None or new is None or not (math.isfinite(raw) and math.isfinite(new)):
        return None
    return raw, new


def _gain_cell(sr: SystemResult, h: MetricHead) -> DeltaCell:
    """How far normalization moved the score as printed (so it agrees with the arrow)."""
    pair = _raw_and_normalized(sr, h)
    if pair is None:
        return delta_cell(None, h.higher_is_better, "")
    return DeltaCell(fmt_gain(*pair), "", "", "", "", _sort_key(pair[1] - pair[0]))


def _moved(sr: SystemResult, h: MetricHead) -> bool:
    pair = _raw_and_normalized(sr, h)
    return pair is not None and moved(*pair)


def length_of(text: str, lang: str) -> int:
    """Segment length as the report buckets it: characters for Chinese, words for English."""
    if lang == "zh":
        return sum(1 for ch in text if not ch.isspace())
    return len(text.split())


def _buckets(ts: TestSetResult, heads: Sequence[MetricHead]) -> BucketView | None:
    sd = ts.segment_data
    if sd is None:
        return None
    lengths = np.array([length_of(t, ts.lang) for t in sd.refs[0]], dtype=np.int64)
    unit = "characters" if ts.lang == "zh" else "words"
    if lengths.size == 0:
        return BucketView(unit, (), (), {}, {})
    qs = np.percentile(lengths, np.linspace(0, 100, MAX_BUCKETS + 1)[1:-1])
    edges = sorted({int(q) for q in qs} | {int(lengths.max())})
    which = np.searchsorted(np.array(edges), lengths, side="left")
    labels, counts, keep = [], [], []
    lo = int(lengths.min())
    for b, hi in enumerate(edges):
        n = int((which == b).sum())
        if n:
            labels.append(f"{lo}–{hi}" if hi > lo else f"{hi}")
            counts.append(n)
            keep.append(b)
        lo = hi + 1
    means: dict[str, dict[str, tuple[float | None, ...]]] = {}
    cells: dict[str, tuple[tuple[str, ...], ...]] = {}
    for h in heads:
        per_sys: dict[str, tuple[float | None, ...]] = {}
        for sr in ts.systems:
            scores = np.asarray(sd.scores[sr.name][h.key], dtype=np.float64)
            per_sys[sr.name] = tuple(_mean(scores[which == b]) for b in keep)
        means[h.key] = per_sys
        cells[h.key] = tuple(
            tuple(_fmt(per_sys[sr.name][k]) for sr in ts.systems) for k in range(len(keep))
        )
    return BucketView(unit, tuple(labels), tuple(counts), means, cells)


def _mean(x: np.ndarray) -> float | None:
    x = x[np.isfinite(x)]
    return float(x.mean()) if x.size else None


_PAIRED = {"bs": "paired bootstrap", "ar": "approximate randomization"}
_METHODS = {"poisson": "Poisson(1) bootstrap weights (streamed; not sacrebleu's draws)"}


def _stats_items(stats: Mapping[str, Any]) -> tuple[str, ...]:
    """How the CIs and p-values were computed, in words; unknown keys shown as ``key value``."""
    items = []
    paired = stats.get("paired")
    for key, value in stats.items():
        if value is None or value is False or isinstance(value, Mapping) or key == "confidence":
            continue
        if key == "bootstrap":
            items.append(f"{value:,} bootstrap resamples" if value else "no bootstrap")
        elif key == "paired":
            if value != "none":
                items.append(f"{_PAIRED.get(str(value), str(value))} test")
        elif key == "pairwise":
            items.append("every pair of systems tested")
        elif key == "ar_trials":
            if paired == "ar":
                items.append(f"{value:,} randomization trials")
        elif key == "paired_resamples":  # CIs off, the paired bootstrap still resampled
            items.append(f"{value:,} paired bootstrap resamples")
        elif key == "method":
            items.append(_METHODS.get(str(value), f"method {str(value)[:60]}"))
        else:
            items.append(f"{key} {str(value)[:60]}")
    return tuple(items)


_NREFS = re.compile(r"(?:^|\|)nrefs:(\d+)(?:\||$)")


def _n_refs(ts: TestSetResult) -> int | None:
    """References per segment: counted from the segment data, else read from a signature."""
    if ts.segment_data is not None:
        return len(ts.segment_data.refs)
    for sr in ts.systems:
        for score in sr.scores.values():
            found = _NREFS.search(score.signature)
            if found:
                return int(found.group(1))
    return None


def _testset_view(index: int, ts: TestSetResult) -> TestSetView:
    heads = _metric_heads(ts)
    sd = ts.segment_data
    has_ci = any(
        s.scores[m].ci is not None for s in ts.systems for m in ts.metrics if m in s.scores
    )
    comparisons = [c for s in ts.systems for c in s.vs_baseline.values()]
    comparisons += [c for mat in ts.pairwise.values() for c in matrix_cells(mat)]
    has_p = any(c.p_value is not None for c in comparisons)
    tests = tests_of(comparisons)
    confidence = ts.stats.get("confidence", 0.95)
    try:
        ci_label = f"{float(confidence) * 100:g}% CI"
    except (TypeError, ValueError):
        ci_label = "CI"
    return TestSetView(
        index=index,
        anchor=f"ts-{index}",
        name=ts.name,
        lang=ts.lang,
        lang_label={"zh": "Chinese", "en": "English"}.get(ts.lang, ts.lang),
        segments_text=_count(ts.segments),
        n_refs=_n_refs(ts),
        streamed=sd is None,
        baseline=ts.baseline,
        systems=tuple(s.name for s in ts.systems),
        metrics=heads,
        leaderboard=_leaderboard(ts, heads),
        warnings=_warnings(ts),
        translators=_translators(ts),
        has_ci=has_ci,
        has_p=has_p,
        has_identical=any(c.identical for c in comparisons),
        ci_label=ci_label,
        tests=tests,
        stats_items=_stats_items(ts.stats),
        pairwise=_pairwise(ts, heads),
        normalization=_normalization(ts, heads),
        buckets=_buckets(ts, heads),
        distribution=None
        if sd is None
        else {h.key: {s.name: sd.scores[s.name][h.key] for s in ts.systems} for h in heads},
        explorer=None if sd is None else build_explorer(ts, index, heads),
        diagnostics=_diagnostics(ts),
    )
