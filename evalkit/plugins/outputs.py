"""Segment scores out of what a metric command printed or wrote, in one of four formats.

``lines``: one number a line. ``jsonl``: one JSON object a line with a numeric ``score``.
``comet``: comet-score's stdout, ``FILE<TAB>Segment i<TAB>score: x`` (4 decimals; its
``FILE<TAB>score: x`` system line and other chatter are skipped). ``comet-json``: the
``--to_json`` file, ``{FILE: [{"src": …, "mt": …, "ref": …, "COMET": x}, …]}`` for one system
file. Every problem is a :class:`ValueError` whose message the caller prefixes with the metric.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

__all__ = ["parse_scores"]

_COMET_SEGMENT = re.compile(r"\tSegment (\d+)\tscore: (\S+)")


def parse_scores(fmt: str, text: str, n: int) -> list[float]:
    """``n`` finite scores from ``text`` (stdout, or the ``{out}`` file) in format ``fmt``."""
    if fmt == "comet-json":
        scores = _comet_json(text)
    elif fmt == "comet":
        scores = _comet_lines(text)
    else:
        lines = text.splitlines()
        while lines and not lines[-1].strip():
            lines.pop()  # a trailing blank line is not a score
        scores = [
            _number(
                _jsonl_score(line) if fmt == "jsonl" else line.strip(), f"output line {k}", line
            )
            for k, line in enumerate(lines, 1)
        ]
    if len(scores) != n:
        raise ValueError(f"gave {len(scores)} scores for {n} segments")
    return scores


def _number(value: Any, what: str, raw: str) -> float:
    """A finite float, or an error quoting the line."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        x = float(value)
    else:
        try:
            x = float(str(value))
        except ValueError:
            x = math.nan
    if not math.isfinite(x):
        shown = raw if len(raw) <= 80 else raw[:79] + "…"
        raise ValueError(f"{what} is not a finite number: {shown!r}")
    return x


def _jsonl_score(line: str) -> Any:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record.get("score") if isinstance(record, dict) else None


def _comet_lines(text: str) -> list[float]:
    scores: list[float] = []
    for k, line in enumerate(text.splitlines(), 1):
        m = _COMET_SEGMENT.search(line)
        if not m:
            continue  # the system-score line, "Predictions saved in: …", warnings
        if int(m.group(1)) != len(scores):
            raise ValueError(f"output line {k} is segment {m.group(1)}, expected {len(scores)}")
        scores.append(_number(m.group(2), f"output line {k}", line))
    if not scores:
        raise ValueError(
            "printed no 'Segment i<TAB>score: x' lines (comet-score --quiet prints none; "
            "prefer output = 'comet-json' with --to_json {out})"
        )
    return scores


def _comet_json(text: str) -> list[float]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"the {{out}} file is not JSON: {exc}") from None
    if isinstance(data, dict):
        if len(data) != 1:
            raise ValueError(f"the {{out}} file holds {len(data)} system files, expected 1")
        (data,) = data.values()
    if not isinstance(data, list):
        raise ValueError("the {out} file is not comet-score's --to_json output")
    scores = []
    for k, record in enumerate(data):
        value = record.get("COMET") if isinstance(record, dict) else None
        raw = json.dumps(record, ensure_ascii=False)
        scores.append(_number(value, f"record {k + 1}'s COMET field", raw))
    return scores
