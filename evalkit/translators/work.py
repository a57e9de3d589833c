"""The contract between the runner and the two kinds of translator.

The runner cuts the segments still to translate into units (a batch for a command, a single
segment for an endpoint), hands each unit to a backend callable, and stores what comes back. A
backend raises :class:`~evalkit.errors.EvalkitError` naming the unit when it cannot translate it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

__all__ = ["Unit", "UnitResult", "batches", "segment_ranges"]

K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True)
class Unit:
    """One piece of work: ``number`` counts units from 1; ``segments`` are 1-based segment
    numbers in the caller's input (for messages), aligned with ``sources``."""

    number: int
    segments: tuple[int, ...]
    sources: tuple[str, ...]


@dataclass(frozen=True)
class UnitResult:
    """Raw translations aligned with the unit's sources, how long the unit took (None when no
    translator was asked, e.g. an empty segment) and the tokens it cost, if reported."""

    texts: tuple[str, ...]
    latency_s: float | None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


def batches(items: Sequence[tuple[K, V]], size: int) -> Iterator[tuple[int, list[K], list[V]]]:
    """``(number, keys, values)`` of consecutive runs of ``size`` items, numbered from 1: how
    the pending work of translators and external metrics is cut into units."""
    for number, at in enumerate(range(0, len(items), size), 1):
        chunk = items[at : at + size]
        yield number, [k for k, _ in chunk], [v for _, v in chunk]


def segment_ranges(numbers: tuple[int, ...], limit: int = 4) -> str:
    """``(1, 2, 3, 7)`` → ``"1-3, 7"``, eliding after ``limit`` ranges, for error messages."""
    spans: list[list[int]] = []
    for n in numbers:
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    ranges = [str(a) if a == b else f"{a}-{b}" for a, b in spans]
    if len(ranges) > limit:
        ranges = [*ranges[:limit], "…"]
    return ", ".join(ranges)
