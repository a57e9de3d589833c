"""Gate report → terminal table and Markdown (for a PR summary); strings only, nothing printed.

Numbers are the verdicts' own rounded values, so what a reviewer reads is what was judged.
"""

from __future__ import annotations

import io
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .._io import append_output
from ..render._cells import DECIMALS, LABELS
from .baseline import Baseline
from .report import GateReport
from .verdict import Verdict, printed_p

__all__ = ["append_summary", "describe_baseline", "render_markdown", "render_table"]

_COLUMNS = ("rule", "test set", "system", "metric", "baseline", "candidate", "Δ", "p", "verdict")
_NUMERIC = frozenset({"baseline", "candidate", "Δ", "p"})


def _cells(v: Verdict) -> list[str]:
    arrow = "↑" if v.higher_is_better else "↓"
    return [
        v.rule.name,
        v.testset,
        v.system,
        f"{v.label} {arrow}",
        f"{v.baseline:.{DECIMALS}f}",
        f"{v.candidate:.{DECIMALS}f}",
        f"{v.delta:+.{DECIMALS}f}",
        printed_p(v.p_value),
    ]


def render_table(report: GateReport, *, color: bool = False, width: int | None = None) -> str:
    """The verdict table with a headline; ANSI colours only when asked."""
    table = Table(
        title=f"evalkit gate · suite {report.suite} · baseline {report.baseline_path} · "
        f"{report.method}",
        box=box.SIMPLE_HEAD,
        title_justify="left",
    )
    for col in _COLUMNS:
        table.add_column(col, justify="right" if col in _NUMERIC else "left")
    table.add_column("why")
    for v in report.verdicts:
        verdict = Text("pass", style="green") if v.passed else Text("FAIL", style="bold red")
        table.add_row(*_cells(v), verdict, v.reason)
    buf = io.StringIO()
    console = Console(
        file=buf,
        width=width or 160,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        highlight=False,
    )
    console.print(table)
    console.print(
        Text(report.headline, style="bold green" if report.passed else "bold red"),
        f" (exit {report.exit_code}; decided at {DECIMALS} decimals)",
    )
    return "".join(line.rstrip() + "\n" for line in buf.getvalue().splitlines())


def _md(text: str) -> str:
    """A table cell: pipes escaped, no line breaks, no raw HTML from rule or system names."""
    text = text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
    return text.replace("&", "&amp;").replace("<", "&lt;")


def _code(text: str) -> str:
    """Inline code; a backtick inside would end it early, so it becomes a quote."""
    return "`" + text.replace("`", "'").replace("\n", " ") + "`"


def _md_table(verdicts: tuple[Verdict, ...]) -> list[str]:
    lines = [
        "| " + " | ".join((*_COLUMNS, "why")) + " |",
        "|" + "|".join("---:" if c in _NUMERIC else "---" for c in _COLUMNS) + "|---|",
    ]
    for v in verdicts:
        verdict = "✅ pass" if v.passed else "❌ **fail**"
        cells = [_md(c) for c in _cells(v)] + [verdict, _md(v.reason)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def render_markdown(report: GateReport) -> str:
    """A PR-summary section: headline, the failures, then every check folded in <details>."""
    icon = "✅" if report.passed else "❌"
    released = ", ".join(f"{_code(s)} on {_md(t)}" for t, s in report.released.items())
    out = [
        f"### {icon} evalkit gate: {report.headline}",
        "",
        f"Suite {_code(report.suite)} against baseline {_code(str(report.baseline_path))} "
        f"(released: {released}); p-values from {report.method}; "
        f"scores compared at {DECIMALS} decimals.",
        "",
    ]
    if report.failures:
        out += ["#### Failures", "", *_md_table(report.failures), ""]
    out += [
        "<details><summary>All checks</summary>" if report.failures else "#### All checks",
        "",
        *_md_table(report.verdicts),
        "",
    ]
    if report.failures:
        out += ["</details>", ""]
    return "\n".join(out)


def append_summary(path: str | Path, markdown: str) -> None:
    """Append to a Markdown file such as ``$GITHUB_STEP_SUMMARY``, in place (a file other steps
    write too is never replaced; a failed append is undone: evalkit._io.append_output)."""
    append_output(path, markdown)


def describe_baseline(baseline: Baseline, path: str) -> str:
    """One line per test set: what was recorded (for the ``baseline`` command's stderr)."""
    lines = []
    for name, t in baseline.testsets.items():
        scores = ", ".join(
            f"{LABELS.get(m, m)} {s.score:.{DECIMALS}f}" for m, s in t.scores.items()
        )
        lines.append(f"{path}: {name}: {t.system}, {t.segments} segments: {scores}")
    return "\n".join(lines) + "\n"
