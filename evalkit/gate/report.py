"""The outcome of one gate run as a value, with its versioned JSON form (``--format json``).

Schema versions (``"schema"``):
    1 — first release: suite, baseline, test, passed, exit_code, checks[]; checks later gained
        ``max`` (a ceiling, for lower-is-better metrics) and ``identical`` (the candidate's
        output equals the baseline's: no paired test, ``p_value`` null).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .verdict import Verdict, exit_code

__all__ = ["SCHEMA_VERSION", "GateReport"]

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class GateReport:
    """Every verdict of a run plus what it was run against (for tables, JUnit and summaries)."""

    verdicts: tuple[Verdict, ...]
    suite: str = ""
    baseline_path: str | None = None
    released: Mapping[str, str] = field(default_factory=dict)
    test: str = "paired-bs"
    resamples: int = 1000
    seed: int = 12345

    @property
    def passed(self) -> bool:
        return all(v.passed for v in self.verdicts)

    @property
    def failures(self) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if not v.passed)

    @property
    def exit_code(self) -> int:
        return exit_code(self.verdicts)

    @property
    def headline(self) -> str:
        """``PASSED: 20 checks`` / ``FAILED: 3 of 20 checks failed``."""
        n = len(self.verdicts)
        if self.passed:
            return f"PASSED: {n} check{'s' if n != 1 else ''} passed"
        return f"FAILED: {len(self.failures)} of {n} checks failed"

    @property
    def method(self) -> str:
        """How p-values were obtained, e.g. ``paired-bs, 1000 resamples, seed 12345``."""
        unit = "trials" if self.test == "paired-ar" else "resamples"
        return f"{self.test}, {self.resamples} {unit}, seed {self.seed}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_VERSION,
            "suite": self.suite,
            "baseline": self.baseline_path,
            "released": dict(self.released),
            "test": {"name": self.test, "resamples": self.resamples, "seed": self.seed},
            "passed": self.passed,
            "exit_code": self.exit_code,
            "checks": [_check(v) for v in self.verdicts],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1, allow_nan=False) + "\n"


def _check(v: Verdict) -> dict[str, Any]:
    return {
        "rule": v.rule.name,
        "testset": v.testset,
        "system": v.system,
        "metric": v.metric,
        "higher_is_better": v.higher_is_better,
        "baseline": v.baseline,
        "candidate": v.candidate,
        "delta": v.delta,
        "drop": v.drop,
        "p_value": v.p_value,
        "identical": v.identical,
        "min": v.rule.min,
        "max": v.rule.max,
        "max_drop": v.rule.max_drop,
        "significance": v.rule.significance,
        "diagnostic": v.rule.diagnostic,
        "max_rate": v.rule.max_rate,
        "verdict": "pass" if v.passed else "fail",
        "reason": v.reason,
    }
