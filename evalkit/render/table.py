"""Terminal tables: one leaderboard per test set, plus the normalization impact when it moved."""

from __future__ import annotations

import io

from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from ..results import Results, TestSetResult
from ._cells import DECIMALS, LABELS, fmt_delta, fmt_score, has_raw_difference, is_significant

__all__ = ["render_table"]


def _leaderboard(ts: TestSetResult) -> Table:
    norm = ts.normalization.get("signature", "")
    title = f"{ts.name}  ·  target {ts.lang}  ·  {ts.segments} segments  ·  {norm}"
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left")
    table.add_column("system")
    for m in ts.metrics:
        arrow = "↓" if m == "ter" else "↑"
        table.add_column(f"{LABELS[m]} {arrow}", justify="right")
        table.add_column("Δ", justify="right")
    for s in ts.systems:
        name = f"{s.name} (baseline)" if s.name == ts.baseline else s.name
        cells: list[Text | str] = [name]
        for m in ts.metrics:
            cells.append(fmt_score(s.scores[m]))
            cmp_ = s.vs_baseline.get(m)
            style = ""
            if is_significant(cmp_):
                better = (cmp_.delta > 0) == (m != "ter")
                style = "green" if better else "red"
            cells.append(Text(fmt_delta(cmp_), style=style) if cmp_ else "")
        table.add_row(*cells)
    return table


def _impact(ts: TestSetResult) -> Table:
    table = Table(
        title=f"{ts.name}: normalization impact (raw → normalized)",
        box=box.SIMPLE_HEAD,
        title_justify="left",
    )
    table.add_column("system")
    table.add_column("script")
    table.add_column("changed", justify="right")
    for m in ts.metrics:
        table.add_column(LABELS[m], justify="right")
    for s in ts.systems:
        script = (s.script or {}).get("verdict", "—")
        row = [s.name, script, f"{s.changed_segments}/{ts.segments}"]
        for m in ts.metrics:
            raw, norm = s.raw_scores[m].score, s.scores[m].score
            text = f"{raw:.{DECIMALS}f}"
            row.append(f"{text} → {norm:.{DECIMALS}f}" if raw != norm else text)
        table.add_row(*row)
    return table


def render_table(results: Results, *, color: bool = False, width: int | None = None) -> str:
    """Leaderboards (and normalization impact) as text; ANSI colours only when asked."""
    parts: list = []
    for ts in results.testsets:
        parts.append(_leaderboard(ts))
        if has_raw_difference(ts):
            parts.append(_impact(ts))
    buf = io.StringIO()
    console = Console(
        file=buf,
        width=width or 120,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        highlight=False,
    )
    console.print(Group(*parts))
    notes = (
        ["* paired test p < 0.05 vs the baseline"]
        if any(
            c.p_value is not None
            for ts in results.testsets
            for s in ts.systems
            for c in s.vs_baseline.values()
        )
        else []
    )
    for ts in results.testsets:
        for s in ts.systems:
            notes += [f"! {ts.name}/{s.name}: {w}" for w in s.warnings]
    for ts in results.testsets:
        sigs = {LABELS[m]: ts.systems[0].scores[m].signature for m in ts.metrics}
        for label, sig in sigs.items():
            line = f"{ts.name} {label}: {sig}"
            if line not in notes:
                notes.append(line)
    return buf.getvalue().rstrip() + "\n" + "\n".join(notes) + "\n"
