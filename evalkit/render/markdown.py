"""GitHub-flavoured Markdown leaderboards, for pull-request comments and job summaries."""

from __future__ import annotations

from ..ordering import DEFAULT_SORT, sort_results
from ..results import Comparison, Results, TestSetResult
from ._cells import (
    ALPHA,
    IDENTICAL,
    LABELS,
    fmt_delta,
    fmt_score,
    matrix_cells,
    tests_of,
    uncertainty_notes,
)

__all__ = ["escape_md", "render_markdown"]


def escape_md(text: str) -> str:
    """Escape text that came from a user (system names) for a Markdown table cell."""
    out = text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
    for ch in "`*_[]<>":
        out = out.replace(ch, "\\" + ch)
    return out


def render_markdown(results: Results, *, sort: str = DEFAULT_SORT) -> str:
    """Leaderboards in ``sort`` order (see :func:`evalkit.ordering.sort_results`)."""
    results = sort_results(results, sort)
    lines: list[str] = []
    for ts in results.testsets:
        norm = ts.normalization.get("signature", "")
        lines.append(f"### {escape_md(ts.name)} ({ts.lang}, {ts.segments} segments, `{norm}`)")
        lines.append("")
        header = ["system"]
        for m in ts.metrics:
            header += [LABELS.get(m, m), f"Δ {LABELS.get(m, m)}"]
        header.append("normalized segments")
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
        for s in ts.systems:
            name = escape_md(s.name) + (" (baseline)" if s.name == ts.baseline else "")
            row = [name]
            for m in ts.metrics:
                cmp_ = s.vs_baseline.get(m)
                row += [fmt_score(s.scores[m]), _delta(cmp_) if cmp_ else ""]
            row.append(str(s.changed_segments))
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
        lines += _legend(ts)
        for m in ts.metrics:
            if ts.pairwise.get(m):
                lines += _pairwise(ts, m)
        for m in ts.metrics:
            lines.append(f"- {LABELS.get(m, m)}: `{ts.systems[0].scores[m].signature}`")
        lines.append("")
    return "\n".join(lines)


def _delta(cmp_: Comparison | None) -> str:
    return fmt_delta(cmp_).replace("*", "\\*")


def _legend(ts: TestSetResult) -> list[str]:
    """What a star and ``identical`` mean, when the tables hold one."""
    compared = [c for s in ts.systems for c in s.vs_baseline.values()]
    compared += [c for mat in ts.pairwise.values() for c in matrix_cells(mat)]
    out = [note + "." for note in uncertainty_notes(ts.stats)]
    if any(c.p_value is not None for c in compared):
        tests = tests_of(compared)
        out.append(f"\\* paired test p < {ALPHA:g}" + (f" ({tests})" if tests else "") + ".")
    if any(c.identical for c in compared):
        out.append(f"{IDENTICAL}: same statistics as the system compared with, so not tested.")
    return [" ".join(out), ""] if out else []


def _pairwise(ts: TestSetResult, metric: str) -> list[str]:
    """``pairwise[metric][row][col]``: each cell is row − column, as in every other output."""
    mat = ts.pairwise[metric]
    names = [s.name for s in ts.systems]
    lines = [f"**Pairwise {LABELS.get(metric, metric)}** (row − column)", ""]
    lines.append("| row − column | " + " | ".join(escape_md(n) for n in names) + " |")
    lines.append("|---|" + "---:|" * len(names))
    for row in names:
        cells = [_delta(mat.get(row, {}).get(col)) for col in names]
        lines.append(f"| {escape_md(row)} | " + " | ".join(cells) + " |")
    lines.append("")
    return lines
