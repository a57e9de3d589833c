"""Gather chunk results, arriving in any order, into per-(system, metric) lists of chunk arrays
and counters; and sum such lists exactly as the whole array would be summed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import EvalkitError
from .chunks import ChunkFailure, ChunkResult


@dataclass
class _Collector:
    """Chunk results, in any order, into per-(system, metric) lists of chunk arrays."""

    n_chunks: int
    systems: tuple[str, ...]
    metrics: tuple[str, ...]
    raw: dict[str, dict[str, list[np.ndarray | None]]] = field(init=False)
    norm: dict[str, dict[str, list[np.ndarray | None]]] = field(init=False)
    changed: Counter[str] = field(default_factory=Counter)
    converted: Counter[str] = field(default_factory=Counter)
    empty: Counter[str] = field(default_factory=Counter)
    script: dict[str, np.ndarray] = field(default_factory=dict)
    ref_changed: int = 0
    ref_converted: int = 0
    ref_script: np.ndarray = field(default_factory=lambda: np.zeros(4, dtype=np.int64))
    failure: ChunkFailure | None = None

    def __post_init__(self) -> None:
        def empty_lists() -> dict[str, dict[str, list[np.ndarray | None]]]:
            return {s: {m: [None] * self.n_chunks for m in self.metrics} for s in self.systems}

        self.raw, self.norm = empty_lists(), empty_lists()
        self.script = {s: np.zeros(4, dtype=np.int64) for s in self.systems}

    def add(self, result: ChunkResult | ChunkFailure) -> int:
        """Store one result; return how many (segment, system) units it completed."""
        if isinstance(result, ChunkFailure):
            if self.failure is None or result.key < self.failure.key:
                self.failure = result
            return 0
        for name, sc in result.systems.items():
            for m in self.metrics:
                self.raw[name][m][result.index] = sc.raw[m]
                self.norm[name][m][result.index] = sc.norm[m]
            self.changed[name] += sc.changed
            self.converted[name] += sc.converted
            self.empty[name] += sc.empty
            if sc.script is not None:
                self.script[name] += sc.script
        if result.ref_changed is not None:
            self.ref_changed += result.ref_changed
        if result.ref_converted is not None:
            self.ref_converted += result.ref_converted
        if result.ref_script is not None:
            self.ref_script += result.ref_script
        return result.n_segments * len(result.systems)

    def chunks(self, kind: str, system: str, metric: str) -> list[np.ndarray]:
        table = self.raw if kind == "raw" else self.norm
        parts = table[system][metric]
        if any(p is None for p in parts):  # pragma: no cover - an engine lost a chunk
            raise EvalkitError(f"internal error: missing chunks of {system}/{metric}")
        return [p for p in parts if p is not None]


def _sacrebleu_sums(chunks: Sequence[np.ndarray]) -> list[Any]:
    """``sum_of_lists(rows)`` without the rows: exact Python ints for integer statistics, the
    same sequential float64 additions (a cumulative sum) for TER's fractional lengths."""
    if chunks[0].dtype.kind in "iu":
        totals = sum(c.sum(axis=0, dtype=np.int64).astype(object) for c in chunks)
        return [int(x) for x in totals]
    stacked = np.concatenate([c.astype(np.float64) for c in chunks])
    if stacked.shape[0] == 1:
        return stacked[0].tolist()
    return np.cumsum(stacked, axis=0)[-1].tolist()


def _float64_totals(chunks: Sequence[np.ndarray]) -> np.ndarray:
    """evalkit.stats' ``stats.sum(axis=0)`` on the float64 array, chunk by chunk when exact."""
    if chunks[0].dtype.kind in "iu":
        return np.asarray(_sacrebleu_sums(chunks), dtype=np.float64)
    return np.concatenate([c.astype(np.float64) for c in chunks]).sum(axis=0)
