"""Terminal tables: one leaderboard per test set, the pairwise matrix when every pair was tested,
plus the normalization impact when it moved."""

from __future__ import annotations

import io

from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from ..diagnostics import summary_line
from ..errors import EvalkitError
from ..ordering import DEFAULT_SORT, sort_results
from ..results import Comparison, Results, TestSetResult
from ..scoring import higher_is_better
from ._cells import (
    ALPHA,
    IDENTICAL,
    LABELS,
    fmt_change,
    fmt_delta,
    fmt_score,
    has_raw_difference,
    is_significant,
    matrix_cells,
    tests_of,
    uncertainty_notes,
)

__all__ = ["render_table"]


def _leaderboard(ts: TestSetResult) -> Table:
    norm = ts.normalization.get("signature", "")
    title = f"{ts.name}  ·  target {ts.lang}  ·  {ts.segments} segments  ·  {norm}"
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left")
    table.add_column("system", no_wrap=True)  # "name (baseline)" stays on one line
    for m in ts.metrics:
        arrow = "↑" if _higher(ts, m) else "↓"
        table.add_column(f"{LABELS.get(m, m)} {arrow}", justify="right")
        table.add_column("Δ", justify="right")
    for s in ts.systems:
        name = f"{s.name} (baseline)" if s.name == ts.baseline else s.name
        cells: list[Text | str] = [name]
        for m in ts.metrics:
            cells.append(fmt_score(s.scores[m]))
            cmp_ = s.vs_baseline.get(m)
            cells.append(_delta_text(cmp_, _higher(ts, m)) if cmp_ else "")
        table.add_row(*cells)
    return table


def _higher(ts: TestSetResult, metric: str) -> bool:
    """The metric's direction: TER's is down, an external metric states its own."""
    sig = ts.systems[0].scores[metric].signature if ts.systems else None
    try:
        return higher_is_better(metric, sig)
    except EvalkitError:  # a metric this evalkit does not know (results from a newer one)
        return True


def _delta_text(cmp_: Comparison, higher: bool) -> Text:
    """A delta coloured by its verdict: green significantly better, red significantly worse."""
    style = ""
    if is_significant(cmp_):
        better = (cmp_.delta > 0) == higher
        style = "green" if better else "red"
    return Text(fmt_delta(cmp_), style=style)


def _pairwise(ts: TestSetResult, metric: str) -> Table:
    """``pairwise[metric][row][col]`` as printed: each cell is row − column; columns are
    numbered (system names would not fit across a terminal)."""
    mat = ts.pairwise[metric]
    names = [s.name for s in ts.systems]
    tests = tests_of(matrix_cells(mat))
    table = Table(
        title=f"{ts.name}: pairwise {LABELS.get(metric, metric)}, row − column"
        + (f" ({tests})" if tests else ""),
        box=box.SIMPLE_HEAD,
        title_justify="left",
    )
    table.add_column("system")
    for j in range(len(names)):
        table.add_column(str(j + 1), justify="right")
    for i, row in enumerate(names):
        cells: list[Text | str] = [f"{i + 1} {row}"]
        for col in names:
            cmp_ = mat.get(row, {}).get(col)
            cells.append("—" if cmp_ is None else _delta_text(cmp_, _higher(ts, metric)))
        table.add_row(*cells)
    return table


def _impact(ts: TestSetResult) -> Table:
    table = Table(
        title=f"{ts.name}: normalization impact (raw → normalized where the printed score moved)",
        box=box.SIMPLE_HEAD,
        title_justify="left",
    )
    table.add_column("system")
    table.add_column("script")
    table.add_column("changed", justify="right")
    for m in ts.metrics:
        table.add_column(LABELS.get(m, m), justify="right")
    for s in ts.systems:
        script = (s.script or {}).get("verdict", "—")
        row = [s.name, script, f"{s.changed_segments}/{ts.segments}"]
        row += [fmt_change(s.raw_scores[m].score, s.scores[m].score) for m in ts.metrics]
        table.add_row(*row)
    return table


PIPED_WIDTH = 200
"""Width when no terminal sets one (a pipe, a file, CI logs): wide enough that a leaderboard of
four metrics with CIs never wraps; lines carry no trailing padding, so narrow tables stay narrow."""


def render_table(
    results: Results, *, color: bool = False, width: int | None = None, sort: str = DEFAULT_SORT
) -> str:
    """Leaderboards (and normalization impact) as text; ANSI colours only when asked.
    ``width`` is the terminal's when there is one (the CLI passes it), else :data:`PIPED_WIDTH`;
    systems in ``sort`` order (see :func:`evalkit.ordering.sort_results`)."""
    results = sort_results(results, sort)
    parts: list = []
    for ts in results.testsets:
        parts.append(_leaderboard(ts))
        parts += [_pairwise(ts, m) for m in ts.metrics if ts.pairwise.get(m)]
        if has_raw_difference(ts):
            parts.append(_impact(ts))
    buf = io.StringIO()
    console = Console(
        file=buf,
        width=width or PIPED_WIDTH,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        highlight=False,
    )
    console.print(Group(*parts))
    compared = [c for ts in results.testsets for s in ts.systems for c in s.vs_baseline.values()]
    in_matrix = [
        c for ts in results.testsets for m in ts.pairwise.values() for c in matrix_cells(m)
    ]
    notes = []
    for ts in results.testsets:
        notes += [n for n in uncertainty_notes(ts.stats) if n not in notes]
    if any(c.p_value is not None for c in compared + in_matrix):
        against = " (pairwise: row vs column)" if in_matrix else ""
        notes.append(f"* paired test p < {ALPHA:g} vs the baseline{against}")
    if any(c.identical for c in compared + in_matrix):
        notes.append(f"{IDENTICAL}: same statistics as the system compared with, so not tested")
    for ts in results.testsets:
        for s in ts.systems:
            notes += [f"! {ts.name}/{s.name}: {w}" for w in s.warnings]
            flagged = summary_line(s.diagnostics or {}, ts.segments)
            if flagged:  # one line per system: which failure modes cost it points, and how often
                notes.append(f"! {ts.name}/{s.name}: {flagged}")
    for ts in results.testsets:
        sigs = {LABELS.get(m, m): ts.systems[0].scores[m].signature for m in ts.metrics}
        for label, sig in sigs.items():
            line = f"{ts.name} {label}: {sig}"
            if line not in notes:
                notes.append(line)
    body = "\n".join(line.rstrip() for line in buf.getvalue().rstrip().splitlines())
    return body + "\n" + "\n".join(notes) + "\n"
