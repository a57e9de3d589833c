"""Translator speed figures (segments translated vs cached, throughput, latency, tokens)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from rich import box
from rich.console import Console
from rich.table import Table

__all__ = ["render_translators"]

_COLUMNS = (
    ("segments", "segments", "d"),
    ("translated", "translated", "d"),
    ("cached", "from_cache", "d"),
    ("wall s", "wall_time_s", ".2f"),
    ("seg/s", "segments_per_s", ".1f"),
    ("chars/s", "chars_per_s", ".0f"),
    ("p50 s", "latency_p50_s", ".3f"),
    ("p95 s", "latency_p95_s", ".3f"),
)


class _Produced(Protocol):
    testset: str
    system: str
    stats: Mapping[str, Any]


def _cell(value: Any, fmt: str) -> str:
    return "—" if value is None else format(value, fmt)


def render_translators(produced: Sequence[_Produced]) -> str:
    """One row per translator system, as plain text for a terminal or a CI log."""
    table = Table(title="translators:", box=box.SIMPLE_HEAD, title_justify="left")
    for header in ("test set", "system"):
        table.add_column(header)
    for header, _, _ in _COLUMNS:
        table.add_column(header, justify="right")
    table.add_column("tokens in/out", justify="right")
    for p in produced:
        st = p.stats
        tokens = st.get("prompt_tokens")
        table.add_row(
            p.testset,
            p.system,
            *(_cell(st.get(key), fmt) for _, key, fmt in _COLUMNS),
            "—" if tokens is None else f"{tokens}/{st.get('completion_tokens')}",
        )
    buf = io.StringIO()
    console = Console(file=buf, width=140, no_color=True, highlight=False)
    console.print(table)
    return buf.getvalue()
