"""One chunk's work, the unit every engine runs: read its byte ranges, normalize, extract
per-segment statistics (stored compactly) and count what the result needs (changes, empty
outputs, script shares)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..detect import detect_script
from ..errors import EvalkitError
from ..metrics import MetricSpec
from ..normalize import Normalizer
from .reading import FileRange, read_range


@dataclass(frozen=True)
class ChunkTask:
    """Everything a process needs to score one chunk, and nothing it must share.

    Sent to workers as is (paths, byte ranges, the normalizer, metric fields): text is read
    where it is scored. ``extra`` files are read only to validate them (the source).
    ``ref_info`` asks for reference change counts and script share (one task per chunk).
    """

    index: int
    refs: tuple[FileRange, ...]
    hyps: tuple[tuple[str, FileRange], ...]
    normalizer: Normalizer
    metrics: tuple[tuple[str, str, str | None, bool, bool], ...]
    lang: str
    engine: str = "auto"
    extra: tuple[FileRange, ...] = ()
    ref_info: bool = True

    @property
    def n_segments(self) -> int:
        return self.refs[0].n_lines


@dataclass
class SystemChunk:
    """One system's chunk: statistics (``norm[m] is raw[m]`` when normalization changed
    nothing in the chunk) and additive counters."""

    raw: dict[str, np.ndarray]
    norm: dict[str, np.ndarray]
    changed: int
    converted: int
    empty: int
    script: tuple[int, int, int, int] | None


@dataclass
class ChunkResult:
    index: int
    n_segments: int
    systems: dict[str, SystemChunk]
    ref_changed: int | None = None
    ref_converted: int | None = None
    ref_script: tuple[int, int, int, int] | None = None


@dataclass
class ChunkFailure:
    """Bad input inside a chunk, returned rather than raised so that Dask does not retry it.

    ``order`` is the file's place in load_testset's reading order, so every engine reports the
    error the local engine meets first.
    """

    index: int
    order: int
    error: EvalkitError

    @property
    def key(self) -> tuple[int, int]:
        return (self.index, self.order)


@lru_cache(maxsize=64)
def _spec(fields: tuple[str, str, str | None, bool, bool]) -> MetricSpec:
    """Rebuilt per process from plain fields: sacrebleu objects do not pickle."""
    return MetricSpec(*fields)


def _fields(spec: MetricSpec) -> tuple[str, str, str | None, bool, bool]:
    return (spec.name, spec.lang, spec.tokenize, spec.lowercase, spec.ter_plain)


def _compact(stats: np.ndarray) -> np.ndarray:
    """The smallest of uint16 / int32 / int64 holding integer statistics exactly (¼ or ½ the
    memory of int64; every later step converts to float64 or Python ints, so nothing changes)."""
    if stats.dtype.kind not in "iu" or stats.size == 0:
        return stats
    lo, hi = int(stats.min()), int(stats.max())
    for dtype in (np.uint16, np.int32):
        info = np.iinfo(dtype)
        if info.min <= lo and hi <= info.max:
            return stats.astype(dtype)
    return stats


def _script_counts(lines: Sequence[str]) -> tuple[int, int, int, int]:
    """detect_script's counts (simplified, traditional, neutral, other) as a plain tuple.

    The counts are sums over characters, so chunks simply add up to the whole file's.
    """
    share = detect_script(lines)
    return (share.simplified, share.traditional, share.neutral, share.other)


def _read_task(task: ChunkTask) -> tuple[list[list[str]], list[list[str]]] | ChunkFailure:
    """Read every file of the task in load_testset's order; the first bad one is the failure."""
    texts: dict[int, list[str]] = {}
    ranges = [*task.refs, *task.extra, *(r for _, r in task.hyps)]
    for rng in sorted(ranges, key=lambda r: r.order):
        try:
            texts[rng.order] = read_range(rng)
        except EvalkitError as exc:
            return ChunkFailure(task.index, rng.order, exc)
    return [texts[r.order] for r in task.refs], [texts[r.order] for _, r in task.hyps]


def run_chunk(task: ChunkTask) -> ChunkResult | ChunkFailure:
    """Read, normalize and extract one chunk: the unit of work of every engine."""
    read = _read_task(task)
    if isinstance(read, ChunkFailure):
        return read
    refs, hyps_per_system = read
    norm = task.normalizer
    specs = [_spec(f) for f in task.metrics]
    applied = [norm.apply(stream) for stream in refs]  # the identity returns the lines as read
    refs_n = [list(a.lines) for a in applied]
    ref_flags = [any(flags) for flags in zip(*(a.changed for a in applied), strict=True)]
    ref_converted = sum(any(flags) for flags in zip(*(a.converted for a in applied), strict=True))
    ref_changed = np.array(ref_flags, dtype=bool)
    systems: dict[str, SystemChunk] = {}
    for (name, _), hyps in zip(task.hyps, hyps_per_system, strict=True):
        applied_h = norm.apply(hyps)
        rows = np.flatnonzero(np.array(applied_h.changed, dtype=bool) | ref_changed)
        raw: dict[str, np.ndarray] = {}
        normed: dict[str, np.ndarray] = {}
        for spec in specs:
            stats = spec.extract_stats(hyps, refs, engine=task.engine)
            raw[spec.name] = _compact(stats)
            if rows.size == 0:
                normed[spec.name] = raw[spec.name]
                continue
            # Statistics are per segment: only the segments normalization changed are redone.
            picked = rows.tolist()
            redone = spec.extract_stats(
                [applied_h.lines[i] for i in picked],
                [[stream[i] for i in picked] for stream in refs_n],
                engine=task.engine,
            )
            spliced = stats.copy()
            spliced[rows] = redone
            normed[spec.name] = _compact(spliced)
        systems[name] = SystemChunk(
            raw=raw,
            norm=normed,
            changed=applied_h.n_changed,
            converted=applied_h.n_converted,
            empty=sum(1 for h in hyps if not h.strip()),
            script=_script_counts(hyps) if task.lang == "zh" else None,
        )
    result = ChunkResult(task.index, task.n_segments, systems)
    if task.ref_info:
        result.ref_changed = sum(ref_flags)
        result.ref_converted = ref_converted
        result.ref_script = _script_counts(refs[0]) if task.lang == "zh" else None
    return result
