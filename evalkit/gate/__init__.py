"""GATE: fail CI when a candidate translator regressed against the released one, pass on noise.

    rules.py     [gate] / [tool.evalkit.gate] → validated GateConfig (GateRule per check)
    baseline.py  the baseline file: released output + scores + signatures; read and verify
    verdict.py   judge(rule, measurement) → Verdict: the pure decision, at printed precision
    run.py       make_baseline / run_gate: the only calls into evalkit.evaluate
    report.py    GateReport: all verdicts + provenance; versioned JSON
    summary.py   terminal table, Markdown (PR summary), $GITHUB_STEP_SUMMARY append
    junit.py     JUnit XML

Exit codes (applied by the CLI): 0 every rule passed, 1 a rule failed, 2 bad input or a
baseline that does not describe the same evaluation (any EvalkitError).
"""

from __future__ import annotations

from .baseline import Baseline, BaselineTestSet, read_baseline
from .junit import render_junit
from .report import GateReport
from .rules import GateConfig, GateRule, load_gate_config, parse_gate
from .run import make_baseline, run_gate
from .summary import append_summary, describe_baseline, render_markdown, render_table
from .verdict import EXIT_FAIL, EXIT_OK, Measurement, Verdict, decide, exit_code, judge

__all__ = [
    "EXIT_FAIL",
    "EXIT_OK",
    "Baseline",
    "BaselineTestSet",
    "GateConfig",
    "GateReport",
    "GateRule",
    "Measurement",
    "Verdict",
    "append_summary",
    "decide",
    "describe_baseline",
    "exit_code",
    "judge",
    "load_gate_config",
    "make_baseline",
    "parse_gate",
    "read_baseline",
    "render_junit",
    "render_markdown",
    "render_table",
    "run_gate",
]
