"""TABLE: the Results value object, its pandas views and its versioned JSON form.

Everything downstream (terminal tables, CSV, the gate, the HTML report) reads a :class:`Results`;
nothing downstream recomputes a score. The JSON form carries the segment texts and per-segment
scores too, so ``evalkit report results.json`` can rebuild the full report from the file alone.

The pairwise matrix has one orientation everywhere (JSON, pandas, every renderer)::

    pairwise[metric][row][col] = Comparison(delta = score(row) − score(col), p_value)

the paired test run with ``col`` as its baseline and ``row`` as the system (what
``sacrebleu --paired-bs`` prints for system ``row`` against baseline ``col``), so a row reads like
``vs_baseline``: ``system.vs_baseline[m]`` is ``pairwise[m][system][baseline]``. The matrix holds
every ordered pair of distinct systems: deltas are antisymmetric and p-values symmetric (sacrebleu's
paired bootstrap and randomization tests use ``|Δ|``, so swapping the baseline gives the same p).

A system whose statistics for a metric equal the other system's exactly (same segment statistics,
so the same outputs after normalization as far as the metric can see) is not tested: no test can
tell the two apart and sacrebleu's p-value would be its floor 1/(B+1), a false "significant". Its
:class:`Comparison` says ``identical`` with delta 0 and no p-value.

Schema versions:
    1 — first release: testsets → systems → scores / raw_scores / vs_baseline, plus segments;
        ``pairwise[m][anchor][other]`` held other − anchor (the transpose of today's matrix).
    2 — ``pairwise[m][row][col]`` = row − col; ``Comparison.identical``. Version 1 files are
        still read: their matrix is transposed on reading, so it means what version 2 means.
    3 — each system's ``diagnostics`` (kind → count, rate, 0-based segments; chatter spans) and
        each test set's ``diagnostics_config`` (the thresholds, or ``{"computed": false, …}``
        when streamed). Version 1 and 2 files are read with both as None: not computed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from .errors import InputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "READABLE_SCHEMAS",
    "SCHEMA_VERSION",
    "Comparison",
    "Pairwise",
    "MetricScore",
    "Results",
    "SegmentData",
    "SystemResult",
    "TestSetResult",
]

SCHEMA_VERSION = 3
READABLE_SCHEMAS = (1, 2, 3)
"""Schema versions :meth:`Results.from_json` reads (older ones converted to the current one)."""


@dataclass(frozen=True)
class MetricScore:
    """A corpus score with the sacrebleu signature that reproduces it and an optional CI."""

    score: float
    signature: str
    ci: tuple[float, float] | None = None
    ci_mean: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"score": self.score, "signature": self.signature}
        if self.ci is not None:
            out["ci"] = list(self.ci)
            out["ci_mean"] = self.ci_mean
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> MetricScore:
        ci = d.get("ci")
        return cls(
            score=float(d["score"]),
            signature=str(d["signature"]),
            ci=None if ci is None else (float(ci[0]), float(ci[1])),
            ci_mean=None if d.get("ci_mean") is None else float(d["ci_mean"]),
        )


@dataclass(frozen=True)
class Comparison:
    """A system against another on one metric: delta (system − other) and a paired p-value.

    ``identical`` says the two systems' statistics for the metric are the same, so no test was
    run (``p_value`` and ``test`` are None, ``delta`` is 0): renderers say "identical" instead
    of a significance verdict.
    """

    delta: float
    p_value: float | None = None
    test: str | None = None
    identical: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "delta": self.delta,
            "p_value": self.p_value,
            "test": self.test,
            "identical": self.identical,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Comparison:
        p = d.get("p_value")
        identical = d.get("identical", False)
        if not isinstance(identical, bool):
            raise TypeError(f"'identical' must be true or false, got {identical!r}")
        return cls(float(d["delta"]), None if p is None else float(p), d.get("test"), identical)


Pairwise = Mapping[str, Mapping[str, Mapping[str, Comparison]]]
"""metric → row system → column system → Comparison of row against col (delta = row − col)."""


@dataclass(frozen=True)
class SystemResult:
    """One system on one test set: normalized and raw scores, comparison with the baseline."""

    name: str
    scores: Mapping[str, MetricScore]
    raw_scores: Mapping[str, MetricScore]
    vs_baseline: Mapping[str, Comparison] = field(default_factory=dict)
    changed_segments: int = 0
    script: Mapping[str, Any] | None = None
    warnings: tuple[str, ...] = ()
    translation: Mapping[str, Any] | None = None
    diagnostics: Mapping[str, Mapping[str, Any]] | None = None
    """kind → {"count", "rate", "segments"} (evalkit.diagnostics); None: not computed."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "scores": {k: v.to_dict() for k, v in self.scores.items()},
            "raw_scores": {k: v.to_dict() for k, v in self.raw_scores.items()},
            "vs_baseline": {k: v.to_dict() for k, v in self.vs_baseline.items()},
            "changed_segments": self.changed_segments,
            "script": None if self.script is None else dict(self.script),
            "warnings": list(self.warnings),
            "translation": None if self.translation is None else dict(self.translation),
            "diagnostics": None if self.diagnostics is None else dict(self.diagnostics),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SystemResult:
        return cls(
            name=d["name"],
            scores={k: MetricScore.from_dict(v) for k, v in d["scores"].items()},
            raw_scores={k: MetricScore.from_dict(v) for k, v in d["raw_scores"].items()},
            vs_baseline={k: Comparison.from_dict(v) for k, v in d.get("vs_baseline", {}).items()},
            changed_segments=int(d.get("changed_segments", 0)),
            script=d.get("script"),
            warnings=tuple(d.get("warnings", ())),
            translation=d.get("translation"),
            diagnostics=d.get("diagnostics"),
        )


@dataclass(frozen=True)
class SegmentData:
    """Texts and per-segment scores of one test set (texts as read, before normalization).

    ``scores[system][metric]`` and ``raw_scores[...]`` are lists of N floats; ``changed[system]``
    says, per segment, whether normalization changed that candidate line.
    """

    sources: tuple[str, ...] | None
    refs: tuple[tuple[str, ...], ...]
    hyps: Mapping[str, tuple[str, ...]]
    scores: Mapping[str, Mapping[str, tuple[float, ...]]]
    raw_scores: Mapping[str, Mapping[str, tuple[float, ...]]]
    changed: Mapping[str, tuple[bool, ...]]
    ref_changed: tuple[bool, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "sources": None if self.sources is None else list(self.sources),
            "refs": [list(r) for r in self.refs],
            "hyps": {k: list(v) for k, v in self.hyps.items()},
            "scores": {s: {m: list(v) for m, v in d.items()} for s, d in self.scores.items()},
            "raw_scores": {
                s: {m: list(v) for m, v in d.items()} for s, d in self.raw_scores.items()
            },
            "changed": {k: list(v) for k, v in self.changed.items()},
            "ref_changed": list(self.ref_changed),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SegmentData:
        def table(t: Mapping[str, Mapping[str, list[float]]]) -> dict[str, dict[str, tuple]]:
            return {
                s: {m: tuple(float(x) for x in v) for m, v in dd.items()} for s, dd in t.items()
            }

        return cls(
            sources=None if d.get("sources") is None else tuple(d["sources"]),
            refs=tuple(tuple(r) for r in d["refs"]),
            hyps={k: tuple(v) for k, v in d["hyps"].items()},
            scores=table(d["scores"]),
            raw_scores=table(d["raw_scores"]),
            changed={k: tuple(bool(x) for x in v) for k, v in d["changed"].items()},
            ref_changed=tuple(bool(x) for x in d["ref_changed"]),
        )


@dataclass(frozen=True)
class TestSetResult:
    """All systems scored on one test set with one normalization.

    ``segment_data`` is None when the test set was streamed (millions of segments): corpus
    scores and statistics are complete, per-segment texts and scores were not kept.
    """

    __test__ = False

    name: str
    lang: str
    segments: int
    metrics: tuple[str, ...]
    normalization: Mapping[str, Any]
    baseline: str
    systems: tuple[SystemResult, ...]
    segment_data: SegmentData | None
    reference_script: Mapping[str, Any] | None = None
    pairwise: Pairwise = field(default_factory=dict)
    """``pairwise[metric][row][col]``: row − col, tested with col as the baseline (see above)."""
    stats: Mapping[str, Any] = field(default_factory=dict)
    diagnostics_config: Mapping[str, Any] | None = None
    """The diagnostics' thresholds; ``{"computed": false, "reason": …}`` when they were not
    computed (a streamed test set); None in files older than schema 3."""

    def system(self, name: str) -> SystemResult:
        for s in self.systems:
            if s.name == name:
                return s
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "lang": self.lang,
            "segments": self.segments,
            "metrics": list(self.metrics),
            "normalization": dict(self.normalization),
            "reference_script": None
            if self.reference_script is None
            else dict(self.reference_script),
            "baseline": self.baseline,
            "stats": dict(self.stats),
            "diagnostics_config": None
            if self.diagnostics_config is None
            else dict(self.diagnostics_config),
            "systems": [s.to_dict() for s in self.systems],
            "pairwise": {
                m: {a: {b: c.to_dict() for b, c in row.items()} for a, row in mat.items()}
                for m, mat in self.pairwise.items()
            },
            "segment_data": None if self.segment_data is None else self.segment_data.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], schema: int = SCHEMA_VERSION) -> TestSetResult:
        """Read a test set; a schema-1 ``pairwise`` (anchor → other) is transposed to row → col."""
        pairwise = {
            m: {a: {b: Comparison.from_dict(c) for b, c in row.items()} for a, row in mat.items()}
            for m, mat in d.get("pairwise", {}).items()
        }
        if schema == 1:
            pairwise = {m: _transpose(mat) for m, mat in pairwise.items()}
        return cls(
            name=d["name"],
            lang=d["lang"],
            segments=int(d["segments"]),
            metrics=tuple(d["metrics"]),
            normalization=d["normalization"],
            reference_script=d.get("reference_script"),
            baseline=d["baseline"],
            stats=d.get("stats", {}),
            diagnostics_config=d.get("diagnostics_config"),
            systems=tuple(SystemResult.from_dict(s) for s in d["systems"]),
            pairwise=pairwise,
            segment_data=(
                None if d["segment_data"] is None else SegmentData.from_dict(d["segment_data"])
            ),
        )


@dataclass(frozen=True)
class Results:
    """Everything one evaluation produced; rendered by render/, report/ and judged by gate."""

    testsets: tuple[TestSetResult, ...]
    evalkit_version: str
    meta: Mapping[str, Any] = field(default_factory=dict)

    def testset(self, name: str) -> TestSetResult:
        for t in self.testsets:
            if t.name == name:
                return t
        raise KeyError(name)

    @property
    def systems(self) -> pd.DataFrame:
        """One row per (test set, system, metric): score, raw score, CI, delta, p-value.

        ``identical`` is True where the system's statistics equal the baseline's (its p-value
        is NaN: no test was run)."""
        import pandas as pd  # lazily: the CLI's JSON path never needs it (0.25 s to import)

        rows = []
        for ts in self.testsets:
            for sr in ts.systems:
                for metric in ts.metrics:
                    sc = sr.scores[metric]
                    raw = sr.raw_scores[metric]
                    cmp_ = sr.vs_baseline.get(metric)
                    rows.append(
                        {
                            "testset": ts.name,
                            "system": sr.name,
                            "metric": metric,
                            "score": sc.score,
                            "raw_score": raw.score,
                            "ci_low": sc.ci[0] if sc.ci else math.nan,
                            "ci_high": sc.ci[1] if sc.ci else math.nan,
                            "delta": cmp_.delta if cmp_ else math.nan,
                            "p_value": cmp_.p_value
                            if cmp_ and cmp_.p_value is not None
                            else math.nan,
                            "identical": bool(cmp_ and cmp_.identical),
                            "baseline": ts.baseline,
                            "changed_segments": sr.changed_segments,
                            "signature": sc.signature,
                            "normalization": ts.normalization.get("signature", ""),
                        }
                    )
        return pd.DataFrame(rows, columns=_SYSTEM_COLUMNS)

    @property
    def segments(self) -> pd.DataFrame:
        """One row per (test set, segment, system): source, candidate, every reference, and the
        per-metric segment scores.

        ``source`` is empty when the test set has none; ``reference`` is the first reference and
        ``reference_2``, ``reference_3``, … the others of a multi-reference test set (empty for
        a test set with fewer references than another in the same table).
        """
        import pandas as pd

        frames = []
        n_refs = max((len(t.segment_data.refs) for t in self.testsets if t.segment_data), default=1)
        for ts in self.testsets:
            sd = ts.segment_data
            if sd is None:  # streamed: per-segment texts and scores were not kept
                continue
            refs = [*sd.refs, *[""] * (n_refs - len(sd.refs))]  # same columns for every test set
            for sr in ts.systems:
                data: dict[str, Any] = {
                    "testset": ts.name,
                    "segment": range(1, ts.segments + 1),
                    "system": sr.name,
                    "source": sd.sources if sd.sources is not None else "",
                    "hypothesis": sd.hyps[sr.name],
                    **{_reference_column(k): ref for k, ref in enumerate(refs)},
                }
                for metric in ts.metrics:
                    data[metric] = sd.scores[sr.name][metric]
                for metric in ts.metrics:
                    data[f"raw_{metric}"] = sd.raw_scores[sr.name][metric]
                data["normalization_changed"] = sd.changed[sr.name]
                frames.append(pd.DataFrame(data))
        if not frames:
            return pd.DataFrame()
        return pd.concat(frames, ignore_index=True)

    def with_translation(self, stats: Mapping[tuple[str, str], Mapping[str, Any]]) -> Results:
        """Attach translator speed figures, keyed by (test set, system), to the systems."""
        testsets = []
        for ts in self.testsets:
            systems = tuple(
                replace(s, translation=dict(stats[(ts.name, s.name)]))
                if (ts.name, s.name) in stats
                else s
                for s in ts.systems
            )
            testsets.append(replace(ts, systems=systems))
        return replace(self, testsets=tuple(testsets))

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_VERSION,
            "evalkit_version": self.evalkit_version,
            "meta": dict(self.meta),
            "testsets": [t.to_dict() for t in self.testsets],
        }

    def to_json(self, indent: int | None = 1) -> str:
        """Deterministic JSON: same inputs and seed give byte-identical text.

        The summary is indented for people and diffs; each test set's bulky ``segment_data``
        is written compactly on one line (the indenting encoder took about twice as long on a
        WMT22 test set's segment data, and nobody reads 20,000 segment scores by eye).
        """
        data = self.to_dict()
        blobs: list[tuple[str, str]] = []
        for i, ts in enumerate(data["testsets"]):
            if ts.get("segment_data") is not None:
                placeholder = f"\x00segment_data:{i}\x00"
                compact = json.dumps(
                    ts["segment_data"], ensure_ascii=False, allow_nan=False, separators=(",", ":")
                )
                blobs.append((json.dumps(placeholder), compact))
                ts["segment_data"] = placeholder
        text = json.dumps(data, ensure_ascii=False, indent=indent, allow_nan=False)
        for quoted, compact in blobs:
            text = text.replace(quoted, compact, 1)
        return text + "\n"

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Results:
        """Read a results document of any of :data:`READABLE_SCHEMAS` (default: the current)."""
        schema = d.get("schema", SCHEMA_VERSION)
        return cls(
            testsets=tuple(TestSetResult.from_dict(t, schema) for t in d["testsets"]),
            evalkit_version=d["evalkit_version"],
            meta=d.get("meta", {}),
        )

    @classmethod
    def from_json(cls, text: str, path: str | None = None) -> Results:
        """Parse :meth:`to_json` output; a wrong schema or a damaged file is an InputError."""
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"not valid JSON: {exc.msg}", path, exc.lineno, exc.colno) from exc
        except RecursionError:  # Python's parser recurses per level of [ or {
            raise InputError("nested too deeply to be an evalkit results file", path) from None
        if not isinstance(d, dict) or "schema" not in d:
            raise InputError("not an evalkit results file (no 'schema' key)", path)
        if type(d["schema"]) is not int or d["schema"] not in READABLE_SCHEMAS:  # True == 1
            readable = ", ".join(str(v) for v in READABLE_SCHEMAS)
            raise InputError(
                f"results schema {d['schema']!r} is not supported (this evalkit reads {readable})",
                path,
            )
        from .results_check import check_results  # a damaged file's key path, before use

        check_results(d, path)
        try:
            return cls.from_dict(d)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise InputError(f"malformed evalkit results file: missing or bad {exc}", path) from exc


def _transpose(
    mat: Mapping[str, Mapping[str, Comparison]],
) -> dict[str, dict[str, Comparison]]:
    """``out[b][a] = mat[a][b]``: schema 1's anchor → other (other − anchor) as row → col."""
    out: dict[str, dict[str, Comparison]] = {}
    for a, row in mat.items():
        for b, c in row.items():
            out.setdefault(b, {})[a] = c
    return out


_SYSTEM_COLUMNS = [
    "testset",
    "system",
    "metric",
    "score",
    "raw_score",
    "ci_low",
    "ci_high",
    "delta",
    "p_value",
    "identical",
    "baseline",
    "changed_segments",
    "signature",
    "normalization",
]


def _reference_column(k: int) -> str:
    """``reference`` for the first reference (the column's name before multi-reference output),
    ``reference_2``, ``reference_3``, … for the others."""
    return "reference" if k == 0 else f"reference_{k + 1}"
