"""Check a parsed results document before it becomes a :class:`~evalkit.results.Results`.

Why: ``evalkit report`` reads results files it did not write. A damaged one (a reversed CI, a
list one segment short, an infinity, an unknown metric, a string where a number belongs) used to
surface as a traceback deep in the renderer. Each problem here is an InputError naming the file
and the JSON key path, e.g. ``testsets[0].systems[2].scores.bleu.ci: low > high``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from .diagnostics import KINDS
from .errors import InputError
from .scoring import HIGHER_IS_BETTER

__all__ = ["check_results"]


class _Checker:
    """Walks one document; ``fail`` raises with the file and the key path."""

    def __init__(self, path: str | None) -> None:
        self.path = path

    def fail(self, where: str, problem: str) -> None:
        raise InputError(f"malformed evalkit results file: {where}: {problem}", self.path)

    def get(self, d: Mapping[str, Any], key: str, where: str, kind: type | tuple[type, ...]) -> Any:
        if key not in d:
            self.fail(where, f"missing key {key!r}")
        return self.typed(d[key], f"{where}.{key}", kind)

    def typed(self, value: Any, where: str, kind: type | tuple[type, ...]) -> Any:
        kinds = kind if isinstance(kind, tuple) else (kind,)
        # bool is an int to Python, never a count or a score in a results file
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            names = " or ".join(dict.fromkeys(_JSON_NAMES.get(k, k.__name__) for k in kinds))
            self.fail(where, f"expected {names}, got {_json_name(value)}")
        return value

    def number(self, value: Any, where: str) -> float:
        self.typed(value, where, (int, float))
        if not math.isfinite(value):
            self.fail(where, f"{value} is not a finite number")
        return float(value)

    def optional(self, d: Mapping[str, Any], key: str, where: str, check: Callable) -> None:
        if d.get(key) is not None:
            check(d[key], f"{where}.{key}")

    def score(self, d: Any, where: str) -> None:
        self.typed(d, where, dict)
        if "score" not in d:
            self.fail(where, "missing key 'score'")
        self.number(d["score"], f"{where}.score")
        self.get(d, "signature", where, str)
        if d.get("ci") is not None:
            ci = self.typed(d["ci"], f"{where}.ci", list)
            if len(ci) != 2:
                self.fail(f"{where}.ci", f"expected [low, high], got {len(ci)} values")
            low, high = (self.number(x, f"{where}.ci[{i}]") for i, x in enumerate(ci))
            if low > high:
                self.fail(f"{where}.ci", f"low {low:g} > high {high:g}")
        self.optional(d, "ci_mean", where, self.number)

    def comparison(self, d: Any, where: str) -> None:
        self.typed(d, where, dict)
        if "delta" not in d:
            self.fail(where, "missing key 'delta'")
        self.number(d["delta"], f"{where}.delta")
        if d.get("p_value") is not None:
            p = self.number(d["p_value"], f"{where}.p_value")
            if not 0 <= p <= 1:
                self.fail(f"{where}.p_value", f"{p:g} is not a probability")
        self.optional(d, "test", where, lambda v, w: self.typed(v, w, str))

    def metric_table(self, d: Any, where: str, metrics: list[str], check: Callable) -> None:
        self.typed(d, where, dict)
        for metric, value in d.items():
            if metric not in metrics:
                self.fail(f"{where}.{metric}", f"metric not in the test set's {metrics}")
            check(value, f"{where}.{metric}")

    def column(self, value: Any, where: str, n: int, kind: type | tuple[type, ...]) -> None:
        self.typed(value, where, list)
        if len(value) != n:
            self.fail(where, f"{len(value)} values for {n} segments")
        for i, x in enumerate(value):
            if kind is float:
                self.number(x, f"{where}[{i}]")
            else:
                self.typed(x, f"{where}[{i}]", kind)


_JSON_NAMES = {
    dict: "an object",
    list: "a list",
    str: "a string",
    int: "a number",
    float: "a number",
}


def _json_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    return _JSON_NAMES.get(type(value), type(value).__name__)


def check_results(doc: Mapping[str, Any], path: str | None = None) -> None:
    """Raise InputError at the first key of ``doc`` that :meth:`Results.from_dict` cannot trust."""
    c = _Checker(path)
    c.get(doc, "evalkit_version", "results", str)
    if doc.get("meta") is not None:
        c.typed(doc["meta"], "meta", dict)
    for i, ts in enumerate(c.get(doc, "testsets", "results", list)):
        _testset(c, ts, f"testsets[{i}]")


def _testset(c: _Checker, ts: Any, where: str) -> None:
    c.typed(ts, where, dict)
    c.get(ts, "name", where, str)
    c.get(ts, "lang", where, str)
    n = c.get(ts, "segments", where, int)
    if n < 0:
        c.fail(f"{where}.segments", f"{n} is negative")
    metrics = c.get(ts, "metrics", where, list)
    for j, m in enumerate(metrics):
        name = c.typed(m, f"{where}.metrics[{j}]", str)
        if name not in HIGHER_IS_BETTER and not _external(ts, name):
            c.fail(f"{where}.metrics[{j}]", f"unknown metric {m!r}")
    c.get(ts, "normalization", where, dict)
    c.optional(ts, "diagnostics_config", where, lambda v, w: c.typed(v, w, dict))
    systems = c.get(ts, "systems", where, list)
    names: list[str] = []
    for j, sr in enumerate(systems):
        names.append(_system(c, sr, f"{where}.systems[{j}]", metrics, n))
    if len(set(names)) != len(names):
        c.fail(f"{where}.systems", "duplicate system names")
    baseline = c.get(ts, "baseline", where, str)
    if names and baseline not in names:
        c.fail(f"{where}.baseline", f"{baseline!r} is not one of the systems")
    for m, matrix in c.typed(ts.get("pairwise") or {}, f"{where}.pairwise", dict).items():
        at = f"{where}.pairwise.{m}"
        if m not in metrics:
            c.fail(at, "metric not in the test set's metrics")
        for a, row in c.typed(matrix, at, dict).items():
            for b, cmp_ in c.typed(row, f"{at}.{a}", dict).items():
                if a not in names or b not in names:
                    c.fail(f"{at}.{a}.{b}", "names a system the test set does not have")
                c.comparison(cmp_, f"{at}.{a}.{b}")
    if "segment_data" not in ts:
        c.fail(where, "missing key 'segment_data'")
    if ts["segment_data"] is not None:
        _segment_data(c, ts["segment_data"], f"{where}.segment_data", n, names, metrics)


def _external(ts: dict[str, Any], metric: str) -> bool:
    """Whether ``metric`` is an external one (evalkit.plugins): its scores' signatures say
    ``kind:`` and ``higher:`` (the direction every reader of the results needs)."""
    systems = ts.get("systems")
    first = systems[0] if isinstance(systems, list) and systems else None
    scores = first.get("scores") if isinstance(first, dict) else None
    score = scores.get(metric) if isinstance(scores, dict) else None
    sig = score.get("signature") if isinstance(score, dict) else None
    return isinstance(sig, str) and sig.startswith("kind:") and "|higher:" in sig


def _system(c: _Checker, sr: Any, where: str, metrics: list[str], n: int) -> str:
    c.typed(sr, where, dict)
    name = c.get(sr, "name", where, str)
    for key in ("scores", "raw_scores"):
        table = c.get(sr, key, where, dict)
        missing = [m for m in metrics if m not in table]
        if missing:
            c.fail(f"{where}.{key}", f"no score for {', '.join(missing)}")
        c.metric_table(table, f"{where}.{key}", metrics, c.score)
    c.metric_table(sr.get("vs_baseline") or {}, f"{where}.vs_baseline", metrics, c.comparison)
    if "changed_segments" in sr:
        c.typed(sr["changed_segments"], f"{where}.changed_segments", int)
    for key in ("script", "translation"):
        c.optional(sr, key, where, lambda v, w: c.typed(v, w, dict))
    for k, w in enumerate(c.typed(sr.get("warnings", []), f"{where}.warnings", list)):
        c.typed(w, f"{where}.warnings[{k}]", str)
    c.optional(sr, "diagnostics", where, lambda v, w: _diagnostics(c, v, w, n))
    return name


def _diagnostics(c: _Checker, d: Any, where: str, n: int) -> None:
    """kind → {count, rate, segments} (+ chatter spans): known kinds, indices in range."""
    for kind, entry in c.typed(d, where, dict).items():
        at = f"{where}.{kind}"
        if kind not in KINDS:
            c.fail(at, f"unknown diagnostic (kinds: {', '.join(KINDS)})")
        c.typed(entry, at, dict)
        count = c.get(entry, "count", at, int)
        rate = c.number(c.get(entry, "rate", at, (int, float)), f"{at}.rate")
        if not 0 <= rate <= 1:
            c.fail(f"{at}.rate", f"{rate:g} is not a rate")
        segments = c.get(entry, "segments", at, list)
        for k, i in enumerate(segments):
            if not 0 <= c.typed(i, f"{at}.segments[{k}]", int) < n:
                c.fail(f"{at}.segments[{k}]", f"segment {i} is outside 0..{n - 1}")
        if count != len(segments):
            c.fail(f"{at}.count", f"{count} for {len(segments)} segments")
        spans = c.typed(entry.get("spans", []), f"{at}.spans", list)
        if "spans" in entry and len(spans) != len(segments):
            c.fail(f"{at}.spans", f"{len(spans)} span lists for {len(segments)} segments")
        for k, per_segment in enumerate(spans):
            for m, span in enumerate(c.typed(per_segment, f"{at}.spans[{k}]", list)):
                pair = c.typed(span, f"{at}.spans[{k}][{m}]", list)
                if len(pair) != 2 or not all(type(x) is int for x in pair):
                    c.fail(f"{at}.spans[{k}][{m}]", "expected [start, end] character offsets")
                if not 0 <= pair[0] <= pair[1]:
                    c.fail(f"{at}.spans[{k}][{m}]", f"bad span {pair}")


def _segment_data(
    c: _Checker, sd: Any, where: str, n: int, names: list[str], metrics: list[str]
) -> None:
    c.typed(sd, where, dict)
    if sd.get("sources") is not None:
        c.column(sd["sources"], f"{where}.sources", n, str)
    for k, ref in enumerate(c.get(sd, "refs", where, list)):
        c.column(ref, f"{where}.refs[{k}]", n, str)
    for key, kind in (("hyps", str), ("changed", bool)):
        table = c.get(sd, key, where, dict)
        for name in names:
            if name not in table:
                c.fail(f"{where}.{key}", f"no entry for system {name!r}")
            c.column(table[name], f"{where}.{key}.{name}", n, kind)
    for key in ("scores", "raw_scores"):
        table = c.get(sd, key, where, dict)
        for name in names:
            if name not in table:
                c.fail(f"{where}.{key}", f"no entry for system {name!r}")
            per_metric = c.typed(table[name], f"{where}.{key}.{name}", dict)
            for m in metrics:
                if m not in per_metric:
                    c.fail(f"{where}.{key}.{name}", f"no segment scores for {m}")
                c.column(per_metric[m], f"{where}.{key}.{name}.{m}", n, float)
    c.column(c.get(sd, "ref_changed", where, list), f"{where}.ref_changed", n, bool)
