"""GitHub-flavoured Markdown leaderboards, for pull-request comments and job summaries."""

from __future__ import annotations

from ..results import Results
from ._cells import LABELS, fmt_delta, fmt_score

__all__ = ["escape_md", "render_markdown"]


def escape_md(text: str) -> str:
    """Escape text that came from a user (system names) for a Markdown table cell."""
    out = text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
    for ch in "`*_[]<>":
        out = out.replace(ch, "\\" + ch)
    return out


def render_markdown(results: Results) -> str:
    lines: list[str] = []
    for ts in results.testsets:
        norm = ts.normalization.get("signature", "")
        lines.append(f"### {escape_md(ts.name)} ({ts.lang}, {ts.segments} segments, `{norm}`)")
        lines.append("")
        header = ["system"]
        for m in ts.metrics:
            header += [LABELS[m], f"Δ {LABELS[m]}"]
        header.append("normalized segments")
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
        for s in ts.systems:
            name = escape_md(s.name) + (" (baseline)" if s.name == ts.baseline else "")
            row = [name]
            for m in ts.metrics:
                cmp_ = s.vs_baseline.get(m)
                row += [fmt_score(s.scores[m]), fmt_delta(cmp_).replace("*", "\\*") if cmp_ else ""]
            row.append(str(s.changed_segments))
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
        for m in ts.metrics:
            lines.append(f"- {LABELS[m]}: `{ts.systems[0].scores[m].signature}`")
        lines.append("")
    return "\n".join(lines)
