"""Gate rules: read the ``[gate]`` table of a suite (or ``[tool.evalkit.gate]`` of a
pyproject.toml) and validate it up front, so a typo in a threshold never reaches CI as a pass.

A rule names a test set and a metric (or ``*`` for all) and one or more of:

- ``min``: a floor for a higher-is-better metric (BLEU, chrF, chrF++): score ≥ min;
- ``max``: a ceiling for a lower-is-better metric (TER): score ≤ max. The wrong one for the
  metric's direction (``min`` on TER, ``max`` on BLEU) is refused, naming the right one; both
  need one metric, not ``*``, because the metrics differ in scale and direction;
- ``max_drop``: the largest acceptable worsening vs the baseline, in metric points (for TER
  the worsening is a *rise*), failing only when the paired test says p < ``significance``
  (``significance = "none"`` fails on any drop beyond ``max_drop``). A significance level the
  paired test's resamples can never reach is refused when the gate runs (``run.py``).

A diagnostic rule names a kind of :mod:`evalkit.diagnostics` instead of a metric
(``diagnostic = "off_target"``) and ``max_rate``, the largest share of a candidate's segments
that may be flagged with it (0.01 = 1%); it takes no metric or score limits.
"""

from __future__ import annotations

import dataclasses
import math
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..diagnostics import KINDS
from ..errors import ConfigError
from ..metrics import parse_metric_names
from ..scoring import higher_is_better
from ..suite import SuiteConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "DEFAULT_SIGNIFICANCE",
    "GateConfig",
    "GateRule",
    "limit_problem",
    "load_gate_config",
    "parse_gate",
]

DEFAULT_SIGNIFICANCE = 0.05
"""A drop must be significant at this level to fail, unless the rule says otherwise."""

_GATE_KEYS = {"baseline", "candidates", "paired", "rules"}
_RULE_KEYS = {
    "name",
    "testset",
    "metric",
    "min",
    "max",
    "max_drop",
    "significance",
    "diagnostic",
    "max_rate",
}
_PAIRED = ("bs", "ar")


@dataclass(frozen=True)
class GateRule:
    """One validated rule; ``significance`` is ``None`` when the rule says ``"none"``.

    ``min`` is a floor (higher-is-better metrics), ``max`` a ceiling (lower-is-better ones);
    ``line`` is where the rule's table starts in its file, for error messages only.
    """

    name: str
    testset: str = "*"
    metric: str = "*"
    min: float | None = None
    max_drop: float | None = None
    significance: float | None = DEFAULT_SIGNIFICANCE
    max: float | None = None
    line: int | None = field(default=None, compare=False)
    diagnostic: str | None = None
    """A kind of evalkit.diagnostics: the rule caps its rate (``max_rate``), not a metric."""
    max_rate: float | None = None

    def __post_init__(self) -> None:
        problem = limit_problem(self.metric, self.min, self.max)
        if problem:
            raise ConfigError(f"rule {self.name!r}: {problem}")

    def applies_to(self, testset: str, metric: str, diagnostic: bool = False) -> bool:
        """Whether the rule judges this measurement: a diagnostic rule only its own kind's rate
        (``metric`` is then the kind), a metric rule only metrics."""
        if self.testset not in ("*", testset):
            return False
        if self.diagnostic is not None:
            return diagnostic and metric == self.diagnostic
        return not diagnostic and self.metric in ("*", metric)

    def describe(self) -> str:
        """``min 40, max_drop 1 (p<0.05)`` — the rule's thresholds in one short phrase."""
        parts = []
        if self.max_rate is not None:
            parts.append(f"max_rate {self.max_rate:g}")
        if self.min is not None:
            parts.append(f"min {self.min:g}")
        if self.max is not None:
            parts.append(f"max {self.max:g}")
        if self.max_drop is not None:
            sig = "any" if self.significance is None else f"p<{self.significance:g}"
            parts.append(f"max_drop {self.max_drop:g} ({sig})")
        return ", ".join(parts)


@dataclass(frozen=True)
class GateConfig:
    """The rules plus who is gated; ``path`` is the file they came from (for messages)."""

    rules: tuple[GateRule, ...]
    path: Path | None = None
    candidates: tuple[str, ...] | None = None
    baseline: Path | None = None
    paired: str | None = None

    def with_candidates(self, names: Sequence[str], suite: SuiteConfig) -> GateConfig:
        """Apply ``--candidate`` flags (they replace ``candidates`` from the file)."""
        if not names:
            return self
        _check_candidates(list(names), suite, "--candidate", suite.path)
        return dataclasses.replace(self, candidates=tuple(dict.fromkeys(names)))

    def paired_test(self, suite: SuiteConfig) -> str:
        """The paired test for p-values: ``[gate].paired`` < the suite's ``paired`` < ``bs``."""
        if self.paired is not None:
            return self.paired
        return suite.paired if suite.paired in _PAIRED else "bs"


def load_gate_config(suite: SuiteConfig, cwd: str | Path | None = None) -> GateConfig:
    """The suite's ``[gate]``; without one, ``[tool.evalkit.gate]`` of a pyproject.toml found
    next to the suite or in ``cwd``. No rules anywhere is an error: a gate must check something."""
    if suite.gate:
        return parse_gate(suite.gate, suite, suite.path)
    places = [] if suite.path is None else [suite.path.parent / "pyproject.toml"]
    if cwd is not None:
        places.append(Path(cwd) / "pyproject.toml")
    seen: set[Path] = set()
    for place in places:
        if place.resolve() in seen or not place.is_file():
            continue
        seen.add(place.resolve())
        table = _pyproject_gate(place)
        if table is not None:
            return parse_gate(table, suite, place, prefix="tool.evalkit.gate")
    raise ConfigError(
        "no gate rules: add a [gate] table with [[gate.rules]] to the suite "
        "(or [tool.evalkit.gate] to a pyproject.toml next to it)",
        suite.path,
    )


def _pyproject_gate(path: Path) -> Mapping[str, Any] | None:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ConfigError("pyproject.toml is not valid UTF-8", path) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"TOML syntax error: {exc}", path) from exc
    table = data.get("tool", {}).get("evalkit", {}).get("gate")
    if table is not None and not isinstance(table, dict):
        raise ConfigError("[tool.evalkit.gate] must be a table", path)
    return table


def parse_gate(
    table: Mapping[str, Any],
    suite: SuiteConfig,
    path: Path | None,
    prefix: str = "gate",
) -> GateConfig:
    """Validate a raw gate table against the suite it gates; every problem is a ConfigError
    naming ``path`` (and the line of the offending ``[[gate.rules]]`` when it can be found)."""
    text = _read_text(path)
    line0 = next(iter(_header_lines(text, prefix, array=False)), None)
    where = f"[{prefix}]"
    unknown = sorted(set(table) - _GATE_KEYS)
    if unknown:
        raise ConfigError(
            f"unknown key {unknown[0]!r} in {where}; allowed: {', '.join(sorted(_GATE_KEYS))}",
            path,
            line0,
        )
    candidates = None
    if "candidates" in table:
        raw = table["candidates"]
        if not isinstance(raw, list) or not all(isinstance(c, str) for c in raw) or not raw:
            raise ConfigError(f"{where}.candidates must be a non-empty list of system names", path)
        _check_candidates(raw, suite, f"{where}.candidates", path, line0)
        candidates = tuple(dict.fromkeys(raw))
    baseline = None
    if "baseline" in table:
        if not isinstance(table["baseline"], str) or not table["baseline"]:
            raise ConfigError(f"{where}.baseline must be a file path (a string)", path, line0)
        base_dir = path.parent if path is not None else Path(".")
        baseline = base_dir / table["baseline"]
    paired = table.get("paired")
    if paired is not None and paired not in _PAIRED:
        raise ConfigError(f"{where}.paired must be 'bs' or 'ar', got {paired!r}", path, line0)

    raw_rules = table.get("rules")
    if not raw_rules:
        raise ConfigError(f"{where} has no rules; add at least one [[{prefix}.rules]]", path, line0)
    if not isinstance(raw_rules, list):
        raise ConfigError(f"{where}.rules must be an array of tables ([[{prefix}.rules]])", path)
    lines = _header_lines(text, f"{prefix}.rules", array=True)
    rules = []
    for i, raw_rule in enumerate(raw_rules, 1):
        line = lines[i - 1] if len(lines) == len(raw_rules) else None
        rules.append(_rule(raw_rule, i, suite, path, line, prefix))
    names = [r.name for r in rules]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup is not None:
        raise ConfigError(f"duplicate rule name {dup!r} in {where}", path)
    return GateConfig(tuple(rules), path, candidates, baseline, paired)


def _rule(
    raw: Any, index: int, suite: SuiteConfig, path: Path | None, line: int | None, prefix: str
) -> GateRule:
    where = f"[[{prefix}.rules]] #{index}"

    def fail(message: str) -> ConfigError:
        return ConfigError(f"{where}: {message}", path, line)

    if not isinstance(raw, dict):
        raise fail("must be a table")
    unknown = sorted(set(raw) - _RULE_KEYS)
    if unknown:
        raise fail(f"unknown key {unknown[0]!r}; allowed: {', '.join(sorted(_RULE_KEYS))}")
    name = raw.get("name", f"rule{index}")
    if not isinstance(name, str) or not name.strip():
        raise fail(f"name must be a non-empty string, got {name!r}")
    testset = raw.get("testset", "*")
    names = [t.name for t in suite.testsets]
    if not isinstance(testset, str) or (testset != "*" and testset not in names):
        raise fail(f"testset {testset!r} is not in the suite (test sets: {', '.join(names)}, *)")
    if "diagnostic" in raw or "max_rate" in raw:
        return _diagnostic_rule(raw, name.strip(), testset, line, fail)
    metric = raw.get("metric", "*")
    if not isinstance(metric, str):
        raise fail(f"metric must be a string, got {metric!r}")
    if metric != "*":
        try:
            (metric,) = parse_metric_names(metric, extra=tuple(suite.plugins))
        except ConfigError as exc:
            raise fail(exc.message) from exc
        if metric not in suite.metrics:
            raise fail(
                f"metric {metric!r} is not scored by the suite "
                f"(metrics: {', '.join(suite.metrics)})"
            )
    minimum = _number(raw, "min", fail)
    maximum = _number(raw, "max", fail)
    max_drop = _number(raw, "max_drop", fail)
    if minimum is None and maximum is None and max_drop is None:
        raise fail("needs min (a floor), max (a ceiling, for TER) and/or max_drop")
    if max_drop is not None and max_drop < 0:
        raise fail(
            f"max_drop must be >= 0 (a drop is counted in the bad direction), got {max_drop}"
        )
    plugin = suite.plugins.get(metric)
    problem = limit_problem(metric, minimum, maximum, plugin.higher_is_better if plugin else None)
    if problem:
        raise fail(problem)
    significance: float | None = DEFAULT_SIGNIFICANCE
    if "significance" in raw:
        if max_drop is None:
            raise fail("significance applies to max_drop, which this rule does not set")
        significance = _significance(raw["significance"], fail)
    return GateRule(
        name.strip(), testset, metric, minimum, max_drop, significance, maximum, line=line
    )


def _diagnostic_rule(
    raw: Mapping[str, Any], name: str, testset: str, line: int | None, fail: Any
) -> GateRule:
    """``diagnostic = "<kind>"`` with ``max_rate`` in [0, 1], and nothing of a metric rule."""
    kind = raw.get("diagnostic")
    if kind is None:
        raise fail('max_rate needs diagnostic = "<kind>"')
    if kind not in KINDS:
        raise fail(f"unknown diagnostic {kind!r}; valid kinds: {', '.join(KINDS)}")
    others = sorted(set(raw) & {"metric", "min", "max", "max_drop", "significance"})
    if others:
        raise fail(f"a diagnostic rule takes max_rate, not {others[0]}")
    rate = _number(raw, "max_rate", fail)
    if rate is None:
        raise fail(f"diagnostic {kind!r} needs max_rate (the largest flagged share, e.g. 0.01)")
    if not 0 <= rate <= 1:
        raise fail(f"max_rate must be a share in [0, 1] (0.01 = 1%), got {rate:g}")
    return GateRule(name, testset, line=line, diagnostic=kind, max_rate=rate)


def limit_problem(
    metric: str, minimum: float | None, maximum: float | None, higher: bool | None = None
) -> str | None:
    """Why an absolute limit does not fit the metric's direction, else None.

    A floor (``min``) only makes sense where higher is better and a ceiling (``max``) where
    lower is better: ``min = 60`` on TER reads as "at least 60 edits per 100 words". With
    ``metric = "*"`` one number would be a BLEU floor and a TER ceiling at once, on scales
    that differ, so limits need one metric.
    """
    if minimum is None and maximum is None:
        return None
    key = "min" if minimum is not None else "max"
    if metric == "*":
        return (
            f"{key} needs one metric, not '*' (the metrics differ in scale and direction: "
            "min is a floor for bleu, chrf, chrf++; max a ceiling for ter)"
        )
    value = minimum if minimum is not None else maximum
    try:
        up = higher_is_better(metric) if higher is None else higher  # given: an external metric
    except ConfigError:  # an external metric, checked with its direction when parsed
        return None
    if up:
        if maximum is not None:
            return (
                f"{metric} is higher-is-better: write its limit as a floor, min = {value:g} "
                "(max is a ceiling, for lower-is-better metrics such as ter)"
            )
    elif minimum is not None:
        return (
            f"{metric} is lower-is-better: write its limit as a ceiling, max = {value:g} "
            "(min is a floor, for higher-is-better metrics such as bleu)"
        )
    return None


def _number(raw: Mapping[str, Any], key: str, fail: Any) -> float | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise fail(f"{key} must be a number, got {value!r}")
    return float(value)


def _significance(value: Any, fail: Any) -> float | None:
    if isinstance(value, str) and value.strip().lower() == "none":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise fail(f'significance must be a number in (0, 1) or "none", got {value!r}')
    if not 0 < value < 1:
        raise fail(f'significance must be in (0, 1) (e.g. 0.05) or "none", got {value!r}')
    return float(value)


def _check_candidates(
    names: list[str], suite: SuiteConfig, where: str, path: Path | None, line: int | None = None
) -> None:
    systems = {s.name for t in suite.testsets for s in t.systems}
    for name in names:
        if name not in systems:
            raise ConfigError(
                f"{where}: {name!r} is not a system of any test set "
                f"(systems: {', '.join(sorted(systems))})",
                path,
                line,
            )


def _read_text(path: Path | None) -> str:
    if path is None or not path.is_file():
        return ""
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return ""


def _header_lines(text: str, dotted: str, *, array: bool) -> list[int]:
    """1-based lines of ``[dotted]`` (or ``[[dotted]]``) headers, for line-numbered errors."""
    key = r"\s*\.\s*".join(re.escape(part) for part in dotted.split("."))
    pattern = rf"^\s*\[\[\s*{key}\s*\]\]" if array else rf"^\s*\[\s*{key}\s*\]"
    return [i for i, ln in enumerate(text.splitlines(), 1) if re.match(pattern, ln)]
