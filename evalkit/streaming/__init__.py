"""STREAM: score file pairs too large to hold in memory, one chunk of segments at a time.

Why: ``evaluate()`` keeps every segment's text and scores, and its bootstrap draws a B × N index
matrix; at millions of segments neither fits. Here the text only ever exists one chunk at a
time: each chunk is read, normalized and turned into per-segment statistics, and only those
arrays (stored in the smallest integer type that holds them) and a few counters are kept.
Everything else — corpus scores, CIs, paired tests — comes from the arrays, as in evaluate().

How the files are read: every file is first *indexed* (one pass counting ``b"\\n"`` in 1 MiB
blocks, recording the byte offset of every chunk boundary), so a count mismatch fails before any
scoring and a chunk is a byte range that any process — a local worker or a Dask worker — can
read and decode by itself. Decoding follows :func:`evalkit._io.read_lines` exactly (UTF-8, BOM
dropped on line 1, ``\\n`` splitting, ``rstrip()`` per line, empty lines kept) with the same
one-line errors naming file and line. Structural errors (missing or empty file, counts) are
found at indexing, before any text is decoded; a file with both kinds reports the structural one.

Identical results: statistics are per segment, so chunking never changes them, and at up to
:data:`EXACT_RESAMPLING_MAX_SEGMENTS` segments the arrays go through evaluate()'s own statistics
code: scores, signatures, CIs and p-values equal evaluate()'s on the same files. Above it, the
B × N draw cannot be made (10⁹–10¹⁰ cells), so resampling runs over row blocks: a Poisson(1)
bootstrap (each segment weighted by an independent Poisson(1) count, the standard streaming
equivalent of drawing N segments with replacement — statistically equivalent, not sacrebleu's
draws) and approximate randomization with its swaps drawn block by block. The results' stats
dict then says ``"method": "poisson"``. Draws depend only on (N, samples, seed): never on the
chunk size, the number of processes or the engine.
"""

from __future__ import annotations

import math
import os
import statistics
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import IO, Any

import numpy as np
from threadpoolctl import threadpool_limits

from ..corpus import _check_count, _system_pairs, detect_lang
from ..detect import ScriptShare, _classify, is_han
from ..errors import ConfigError, EvalkitError, InputError
from ..evaluation import (
    DEFAULT_METRICS,
    StatsOptions,
    _SystemStats,
    _with_baseline_deltas,
    _with_statistics,
    versions,
)
from ..metrics import ENGINES, MetricSpec, make_metric, parse_metric_names
from ..normalize import Normalizer, resolve_normalizer
from ..results import Comparison, MetricScore, Results, SystemResult, TestSetResult

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "EXACT_RESAMPLING_MAX_SEGMENTS",
    "SAMPLE_LINES",
    "STREAM_ENGINES",
    "ChunkFailure",
    "ChunkResult",
    "ChunkTask",
    "FileRange",
    "LineIndex",
    "StreamProgress",
    "count_lines",
    "index_file",
    "read_aligned",
    "read_range",
    "run_chunk",
    "score_files",
]

DEFAULT_CHUNK_SIZE = 100_000
"""Segments per chunk: ~10 MB of text per file, large enough for numpy to be efficient."""

SAMPLE_LINES = 100_000
"""The target language and, for ``--normalize auto``, the reference's script are detected from
the reference's first this-many lines (the whole file when shorter, as evaluate() does)."""

EXACT_RESAMPLING_MAX_SEGMENTS = 100_000
"""Up to here resampling is evalkit.stats' (sacrebleu's draws, identical to evaluate()); its
B × N index matrix is 0.8 GB at the default 1000 resamples. Above: the Poisson bootstrap."""

STREAM_ENGINES: tuple[str, ...] = (*ENGINES, "dask")
"""``auto``/``fast``/``sacrebleu`` extract in this machine's processes; ``dask`` sends the
chunks to a Dask cluster (see :mod:`evalkit.distributed`), whose workers extract with ``auto``."""

StreamProgress = Callable[[str, int, int], None]
"""Called with (description, segments done, segments in all) as chunks finish; a segment
counts once per system."""

_SCAN_BLOCK = 1 << 20
_RESAMPLE_CELLS = 1 << 22  # weights per block of rows: 32 MiB of float64
_BOM = "\ufeff"
_BOM_BYTES = _BOM.encode("utf-8")
_KINDS = ("simplified", "traditional", "neutral")

# ----------------------------------------------------------------------------- reading


def _where(path: str | os.PathLike[str]) -> str:
    """How a path is named in messages: as ``read_lines`` names it (``Path(path)``)."""
    text = os.fspath(path)
    return text if "://" in text else str(Path(text))


def _location(path: str | os.PathLike[str]) -> str:
    """What a process opens: an absolute path (workers may run elsewhere) or a URL."""
    text = os.fspath(path)
    return text if "://" in text else os.path.abspath(text)


def _open_binary(path: str, label: str) -> IO[bytes]:
    """Open for reading with read_lines' errors; ``scheme://`` URLs go through fsspec."""
    if "://" in path:
        try:
            import fsspec
        except ImportError as exc:
            raise ConfigError("reading URLs needs fsspec: pip install fsspec", label) from exc
        try:
            fs, _, (target,) = fsspec.get_fs_token_paths(path)
            if fs.isdir(target):
                raise InputError("is a directory, expected a text file", label)
            return fs.open(target, "rb")
        except FileNotFoundError as exc:
            raise InputError("file not found", label) from exc
        except OSError as exc:
            raise InputError(f"cannot read file: {exc.strerror or exc}", label) from exc
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", label)
    if p.is_dir():
        raise InputError("is a directory, expected a text file", label)
    try:
        return open(p, "rb")  # noqa: SIM115 - the caller closes it
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror or exc}", label) from exc


@dataclass(frozen=True)
class LineIndex:
    """Where a file's chunks start: ``starts[c]`` is the byte offset of line ``c * chunk_size + 1``.

    ``path`` is what a process opens (absolute or a URL), ``label`` how read errors name the
    file (as read_lines does), ``given`` the path as the caller wrote it (count errors use it).
    """

    path: str
    label: str
    given: str
    n_lines: int
    size: int
    chunk_size: int
    starts: tuple[int, ...]

    def range(self, chunk: int, order: int = 0) -> FileRange:
        """The byte range of chunk ``chunk`` (``order``: the file's place in the reading order)."""
        stop = self.starts[chunk + 1] if chunk + 1 < len(self.starts) else self.size
        first = chunk * self.chunk_size
        n = min(self.chunk_size, self.n_lines - first)
        return FileRange(self.path, self.label, self.starts[chunk], stop, first + 1, n, order)


def index_file(path: str | os.PathLike[str], chunk_size: int = DEFAULT_CHUNK_SIZE) -> LineIndex:
    """Count the lines of a file and find its chunk boundaries without holding it.

    Raises read_lines' errors for a missing, unreadable or empty file (text is checked later,
    chunk by chunk, by :func:`read_range`).
    """
    if chunk_size < 1:
        raise ConfigError(f"chunk size must be at least 1, got {chunk_size}")
    label = _where(path)
    starts = [0]
    lines = size = 0
    head = last = b""
    next_cut = chunk_size
    with _open_binary(_location(path), label) as fh:
        while block := fh.read(_SCAN_BLOCK):
            if not size:
                head = block[:4]
            newlines = block.count(b"\n")
            if lines + newlines >= next_cut:
                where = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10)
                while next_cut <= lines + newlines:
                    starts.append(size + int(where[next_cut - lines - 1]) + 1)
                    next_cut += chunk_size
            lines += newlines
            size += len(block)
            last = block[-1:]
    if size == 0:
        raise InputError("file is empty (expected one segment per line)", label)
    if head == _BOM_BYTES:
        raise InputError("file has no segments (only a byte-order mark)", label)
    if starts[-1] == size:  # a boundary at the very end starts no chunk
        starts.pop()
    n_lines = lines + (last != b"\n")
    return LineIndex(
        _location(path), label, os.fspath(path), n_lines, size, chunk_size, tuple(starts)
    )


def count_lines(path: str | os.PathLike[str]) -> int:
    """The number of segments ``read_lines`` would return, counted in blocks."""
    return index_file(path, chunk_size=1 << 62).n_lines


@dataclass(frozen=True)
class FileRange:
    """Lines ``first_line .. first_line + n_lines - 1`` of a file: bytes ``[start, stop)``."""

    path: str
    label: str
    start: int
    stop: int
    first_line: int
    n_lines: int
    order: int = 0


def _decode(data: bytes, label: str, first_line: int) -> list[str]:
    """read_lines' decoding of a run of whole lines that starts at line ``first_line``."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = first_line + data.count(b"\n", 0, exc.start)
        raise InputError(
            f"invalid UTF-8 (byte 0x{data[exc.start]:02x}); the file must be UTF-8 encoded",
            label,
            line,
        ) from None
    nul = text.find("\x00")
    if nul >= 0:
        line = first_line + text.count("\n", 0, nul)
        raise InputError("contains a NUL byte; is this a binary file?", label, line)
    if first_line == 1 and text.startswith(_BOM):
        text = text[1:]
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.rstrip() for line in lines]


def read_range(rng: FileRange) -> list[str]:
    """Read and decode one chunk; any process that can open ``rng.path`` can do it."""
    with _open_binary(rng.path, rng.label) as fh:
        fh.seek(rng.start)
        data = fh.read(rng.stop - rng.start)
    lines = _decode(data, rng.label, rng.first_line)
    if len(lines) != rng.n_lines:
        raise InputError(
            f"file changed while being read (line {rng.first_line}: expected {rng.n_lines} "
            f"lines in this chunk, found {len(lines)})",
            rng.label,
        )
    return lines


def _read_prefix(index: LineIndex, n_lines: int) -> list[str]:
    """The first ``n_lines`` segments, read line by line (the sample for detection)."""
    with _open_binary(index.path, index.label) as fh:
        data = b"".join(islice(fh, n_lines))
    return _decode(data, index.label, 1)


def read_aligned(
    paths: Sequence[str | os.PathLike[str]],
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    *,
    kinds: Sequence[str] | None = None,
) -> Iterator[tuple[int, list[list[str]]]]:
    """Lockstep reader: ``(first line, [lines of each file])`` per chunk of aligned files.

    The first file is the reference the others are counted against; ``kinds`` names each
    other file in the count-mismatch message (``candidate``, ``source``; default ``file``).
    """
    indexes = _aligned_indexes(paths, chunk_size, kinds)
    for c in range(len(indexes[0].starts)):
        ranges = [ix.range(c) for ix in indexes]
        yield ranges[0].first_line, [read_range(r) for r in ranges]


def _aligned_indexes(
    paths: Sequence[str | os.PathLike[str]], chunk_size: int, kinds: Sequence[str] | None
) -> list[LineIndex]:
    if not paths:
        raise ConfigError("at least one file is required")
    indexes = [index_file(p, chunk_size) for p in paths]
    labels = list(kinds) if kinds is not None else ["file"] * (len(paths) - 1)
    first = indexes[0]
    for ix, kind in zip(indexes[1:], labels, strict=True):
        _check_count(ix.given, ix.n_lines, first.given, first.n_lines, kind)
    return indexes


# ----------------------------------------------------------------------------- one chunk


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
    empty: int
    script: tuple[int, int, int, int] | None


@dataclass
class ChunkResult:
    index: int
    n_segments: int
    systems: dict[str, SystemChunk]
    ref_changed: int | None = None
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


_CHAR_KINDS: dict[str, str] = {}
"""Per-process cache of OpenCC's verdict per Han character (like the converter cache)."""


def _script_counts(lines: Sequence[str]) -> tuple[int, int, int, int]:
    """detect_script's counts (simplified, traditional, neutral, other), counted with numpy.

    The counts are sums over characters, so chunks simply add up to the whole file's.
    """
    text = "\n".join(lines)
    try:
        points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        counts = np.bincount(points) if points.size else np.zeros(0, dtype=np.int64)
        items = [(chr(cp), int(counts[cp])) for cp in np.flatnonzero(counts)]
    except UnicodeEncodeError:  # lone surrogates: not from a file, but count them anyway
        items = list(Counter(text).items())
    han: dict[str, int] = {}
    other = 0
    for ch, n in items:
        if is_han(ch):
            han[ch] = n
        elif not ch.isspace():
            other += n
    new = sorted(ch for ch in han if ch not in _CHAR_KINDS)
    if new:
        _CHAR_KINDS.update(_classify(new))
    totals = dict.fromkeys(_KINDS, 0)
    for ch, n in han.items():
        totals[_CHAR_KINDS[ch]] += n
    return (totals["simplified"], totals["traditional"], totals["neutral"], other)


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
    if norm.is_identity:
        refs_n, ref_flags = refs, [False] * task.n_segments
    else:
        applied = [norm.apply(stream) for stream in refs]
        refs_n = [list(a.lines) for a in applied]
        ref_flags = [any(flags) for flags in zip(*(a.changed for a in applied), strict=True)]
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
            empty=sum(1 for h in hyps if not h.strip()),
            script=_script_counts(hyps) if task.lang == "zh" else None,
        )
    result = ChunkResult(task.index, task.n_segments, systems)
    if task.ref_info:
        result.ref_changed = sum(ref_flags)
        result.ref_script = _script_counts(refs[0]) if task.lang == "zh" else None
    return result


# ----------------------------------------------------------------------------- engines


def _ordered_map(fn: Callable[[Any], Any], items: Iterable[Any], jobs: int) -> Iterator[Any]:
    """``map(fn, items)`` in order: here, or in ``jobs`` processes with a few items in flight
    (so memory stays bounded whatever the file size). After a ChunkFailure, nothing more is
    started."""
    todo = iter(items)
    if jobs <= 1:
        yield from map(fn, todo)
        return
    pending: deque[Future[Any]] = deque()
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for item in islice(todo, 2 * jobs):
            pending.append(pool.submit(fn, item))
        while pending:
            result = pending.popleft().result()
            if isinstance(result, ChunkFailure):
                for fut in pending:
                    fut.cancel()
                pending.clear()
            else:
                nxt = next(todo, None)
                if nxt is not None:
                    pending.append(pool.submit(fn, nxt))
            yield result


def _run_local(tasks: Sequence[ChunkTask], jobs: int) -> Iterator[ChunkResult | ChunkFailure]:
    """The chunks in task order, in this process or in ``jobs`` local processes."""
    return _ordered_map(run_chunk, tasks, min(jobs, len(tasks)))


@dataclass
class _Collector:
    """Chunk results, in any order, into per-(system, metric) lists of chunk arrays."""

    n_chunks: int
    systems: tuple[str, ...]
    metrics: tuple[str, ...]
    raw: dict[str, dict[str, list[np.ndarray | None]]] = field(init=False)
    norm: dict[str, dict[str, list[np.ndarray | None]]] = field(init=False)
    changed: Counter[str] = field(default_factory=Counter)
    empty: Counter[str] = field(default_factory=Counter)
    script: dict[str, np.ndarray] = field(default_factory=dict)
    ref_changed: int = 0
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
            self.empty[name] += sc.empty
            if sc.script is not None:
                self.script[name] += sc.script
        if result.ref_changed is not None:
            self.ref_changed += result.ref_changed
        if result.ref_script is not None:
            self.ref_script += result.ref_script
        return result.n_segments * len(result.systems)

    def chunks(self, kind: str, system: str, metric: str) -> list[np.ndarray]:
        table = self.raw if kind == "raw" else self.norm
        parts = table[system][metric]
        if any(p is None for p in parts):  # pragma: no cover - an engine lost a chunk
            raise EvalkitError(f"internal error: missing chunks of {system}/{metric}")
        return [p for p in parts if p is not None]


# ----------------------------------------------------------------------------- scoring


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


def _metric_score(spec: MetricSpec, chunks: Sequence[np.ndarray], n_refs: int) -> MetricScore:
    """What ``spec.corpus_score(stats)`` gives on the concatenated array."""
    sums = _sacrebleu_sums(chunks)
    score = float(spec.sacrebleu_metric._compute_score_from_stats(sums).score)
    return MetricScore(score=score, signature=spec.signature(n_refs))


def _share(counts: np.ndarray) -> ScriptShare:
    return ScriptShare(*(int(x) for x in counts))


def _warnings(empty: int, script: ScriptShare | None, ref: ScriptShare | None) -> tuple[str, ...]:
    """evaluate()'s per-system warnings, from counters instead of the lines."""
    out = []
    clear = ("simplified", "traditional")
    if script and ref and ref.verdict in clear and script.verdict in (*clear, "mixed"):
        if script.verdict != ref.verdict:
            out.append(
                f"wrong script: output is {script.verdict}, the reference is "
                f"{ref.verdict} (normalization hides this in the normalized scores)"
            )
    if empty:
        out.append(f"{empty} empty output segment{'s' if empty != 1 else ''}")
    return tuple(out)


# ----------------------------------------------------------------------------- resampling


def _row_blocks(chunks: Sequence[np.ndarray], rows: int) -> Iterator[np.ndarray]:
    """Consecutive blocks of ``rows`` rows (the last one shorter) across the chunks."""
    buf: list[np.ndarray] = []
    have = 0
    for chunk in chunks:
        start = 0
        while start < chunk.shape[0]:
            take = min(rows - have, chunk.shape[0] - start)
            buf.append(chunk[start : start + take])
            have += take
            start += take
            if have == rows:
                yield np.concatenate(buf)
                buf, have = [], 0
    if have:
        yield np.concatenate(buf)


def _poisson1_table() -> tuple[np.ndarray, np.ndarray]:
    """Inverse-CDF sampling of Poisson(1) from 16 random bits, exact to float64 resolution.

    ``table[v]`` is the variate for every uniform in ``[v, v+1) / 2**16`` when the CDF has no
    step inside that bin; the few bins with a step (10 of 65536) are -1 and resolved with a
    further uniform draw. About 2 ns per weight instead of numpy's 50 ns ``poisson``.
    """
    pmf = [math.exp(-1) / math.factorial(k) for k in range(31)]
    cdf = np.array([math.fsum(pmf[: k + 1]) for k in range(31)])
    cdf[-1] = 1.0  # P(X > 30) ~ 1e-33: below float64 resolution
    edges = np.arange(65537, dtype=np.float64) / 65536
    lo = np.searchsorted(cdf, edges[:-1], side="right")
    hi = np.searchsorted(cdf, edges[1:], side="left")
    table = np.where(lo == hi, lo, -1).astype(np.float64)
    return table, cdf


_P1_TABLE, _P1_CDF = _poisson1_table()


def _poisson1(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    bits = rng.integers(0, 65536, size=shape, dtype=np.uint16)
    out = _P1_TABLE[bits]
    amb = np.flatnonzero(out < 0)
    if amb.size:
        u = (bits.ravel()[amb] + rng.random(amb.size)) / 65536
        out.ravel()[amb] = np.searchsorted(_P1_CDF, u, side="right")
    return out


_GROUP_BLOCKS = 16
"""Resampling blocks per unit of work (sent to a process when ``jobs`` > 1)."""

Draw = Callable[[np.random.Generator, tuple[int, int]], np.ndarray]


def _group_sums(args: tuple[np.ndarray, int, int, int, int, Draw]) -> np.ndarray:
    """``Σ draw(B × rows) @ block`` over one group's blocks; block ``j`` draws from its own
    generator ``default_rng([seed, j])``, so any process can compute any block."""
    x, n_draws, seed, first_block, rows, draw = args
    out = np.zeros((n_draws, x.shape[1]))
    with threadpool_limits(limits=1, user_api="blas"):  # BLAS threads fight over shared cores
        for j, start in enumerate(range(0, x.shape[0], rows), start=first_block):
            block = x[start : start + rows].astype(np.float64)
            out += draw(np.random.default_rng([seed, j]), (n_draws, block.shape[0])) @ block
    return out


def _blocked_sums(
    columns: Sequence[Sequence[np.ndarray]], n_draws: int, seed: int, draw: Draw, jobs: int = 1
) -> np.ndarray:
    """``Σ_blocks draw(B × rows) @ X_block`` for every column set side by side: ``(B, Σd)``.

    Blocks are fixed row ranges (``rows`` depends only on ``n_draws``) and partial sums are
    added in block order, so the result never depends on how the corpus was chunked when it
    was read, nor on ``jobs``.
    """
    rows = max(1, _RESAMPLE_CELLS // n_draws)
    per_group = rows * _GROUP_BLOCKS
    groups = zip(*(_row_blocks(col, per_group) for col in columns), strict=True)
    work = (
        (np.hstack(parts), n_draws, seed, g * _GROUP_BLOCKS, rows, draw)
        for g, parts in enumerate(groups)
    )
    n_rows = sum(c.shape[0] for c in columns[0])
    out = np.zeros((n_draws, sum(col[0].shape[1] for col in columns)))
    for partial in _ordered_map(_group_sums, work, jobs if n_rows > 2 * per_group else 1):
        out += partial
    return out


def _ar_masks(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    return rng.integers(2, size=shape, dtype=bool).astype(np.float64)


def _lower_index(n: int, confidence: float) -> int:
    return math.floor(n * (1 - Fraction(repr(float(confidence)))) / 2)


def _poisson_statistics(
    systems: list[SystemResult],
    norm_chunks: Mapping[tuple[str, str], list[np.ndarray]],
    specs: Sequence[MetricSpec],
    baseline: str,
    opts: StatsOptions,
    jobs: int = 1,
) -> tuple[list[SystemResult], dict[str, dict[str, dict[str, Comparison]]]]:
    """``evaluation._with_statistics`` over row blocks: Poisson(1) bootstrap, blocked AR."""
    names = [s.name for s in systems]
    keys = [(n, s.name) for s in specs for n in names]
    cols: dict[tuple[str, str], slice] = {}
    at = 0
    for key in keys:
        d = norm_chunks[key][0].shape[1]
        cols[key] = slice(at, at + d)
        at += d
    columns = [norm_chunks[k] for k in keys]
    spec_of = {s.name: s for s in specs}
    totals = {k: _float64_totals(norm_chunks[k]) for k in keys}
    real = {k: float(np.asarray(spec_of[k[1]].score_fn(totals[k][None, :]))[0]) for k in keys}

    boot: dict[tuple[str, str], np.ndarray] = {}
    n_boot = opts.bootstrap or (1000 if opts.paired == "bs" else 0)
    if n_boot:
        sums = _blocked_sums(columns, n_boot, opts.seed, _poisson1, jobs)
        boot = {k: np.asarray(spec_of[k[1]].score_fn(sums[:, cols[k]])) for k in keys}
    ar = (
        _blocked_sums(columns, opts.ar_trials, opts.seed, _ar_masks, jobs)
        if opts.paired == "ar"
        else None
    )

    scores = {s.name: dict(s.scores) for s in systems}
    vs: dict[str, dict[str, Comparison]] = {n: {} for n in names}
    pairwise: dict[str, dict[str, dict[str, Comparison]]] = {}
    for spec in specs:
        m = spec.name
        if opts.bootstrap > 0:
            for n in names:
                ordered = np.sort(boot[(n, m)])
                lower = _lower_index(len(ordered), opts.confidence)
                low, high = float(ordered[lower]), float(ordered[len(ordered) - lower - 1])
                old = scores[n][m]
                mean = float(statistics.mean(list(ordered)))
                scores[n][m] = MetricScore(old.score, old.signature, (low, high), mean)
        test = None if opts.paired == "none" else opts.paired
        anchors = names if (opts.pairwise and test) else [baseline]
        for anchor in anchors:
            others = [n for n in names if n != anchor]
            if test == "bs":
                cmps = {o: _poisson_paired(boot, real, anchor, o, m) for o in others}
            elif test == "ar":
                cmps = {o: _blocked_ar(ar, cols, totals, real, spec, anchor, o) for o in others}
            else:
                cmps = {o: Comparison(scores[o][m].score - scores[anchor][m].score) for o in others}
            if anchor == baseline:
                for o, c in cmps.items():
                    vs[o][m] = c
            if opts.pairwise and test:
                pairwise.setdefault(m, {})[anchor] = cmps
    out = [replace(s, scores=scores[s.name], vs_baseline=vs[s.name]) for s in systems]
    return out, pairwise


def _poisson_paired(
    boot: Mapping[tuple[str, str], np.ndarray],
    real: Mapping[tuple[str, str], float],
    anchor: str,
    other: str,
    metric: str,
) -> Comparison:
    """paired_bootstrap's p-value, on resamples that share their Poisson weights."""
    delta = real[(other, metric)] - real[(anchor, metric)]
    diffs = np.abs(boot[(other, metric)] - boot[(anchor, metric)])
    count = np.sum(diffs - diffs.mean() > abs(delta)).item()
    return Comparison(delta, (count + 1) / (len(diffs) + 1), "paired-bs")


def _blocked_ar(
    pos: np.ndarray | None,
    cols: Mapping[tuple[str, str], slice],
    totals: Mapping[tuple[str, str], np.ndarray],
    real: Mapping[tuple[str, str], float],
    spec: MetricSpec,
    anchor: str,
    other: str,
) -> Comparison:
    """paired_approximate_randomization's p-value from ``pos @ stats`` of both systems."""
    assert pos is not None
    m = spec.name
    pos_a, pos_o = pos[:, cols[(anchor, m)]], pos[:, cols[(other, m)]]
    tot_a, tot_o = totals[(anchor, m)], totals[(other, m)]
    shuf_a = pos_a + (tot_o - pos_o)
    shuf_b = (tot_a - pos_a) + pos_o
    if np.array_equal(shuf_a, np.trunc(shuf_a)) and np.array_equal(shuf_b, np.trunc(shuf_b)):
        shuf_a, shuf_b = shuf_a.astype(np.int64), shuf_b.astype(np.int64)  # as evalkit.stats
    diffs = np.abs(np.asarray(spec.score_fn(shuf_a)) - np.asarray(spec.score_fn(shuf_b)))
    delta = real[(other, m)] - real[(anchor, m)]
    count = np.sum(diffs > abs(delta)).item()
    return Comparison(delta, (count + 1) / (len(diffs) + 1), "paired-ar")


# ----------------------------------------------------------------------------- the entry point


def score_files(
    refs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    systems: Mapping[str, str | os.PathLike[str]] | Sequence[str],
    *,
    metrics: str | Sequence[str] = DEFAULT_METRICS,
    normalizer: str | Normalizer | None = "auto",
    punct: bool = False,
    lang: str | None = None,
    tokenize: str | None = None,
    ter_plain: bool = False,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    jobs: int = 1,
    engine: str = "auto",
    stats: StatsOptions | None = None,
    progress: StreamProgress | None = None,
    sources: str | os.PathLike[str] | None = None,
    baseline: str | None = None,
    name: str | None = None,
    scheduler: str | None = None,
    client: Any = None,
    timeout: float = 10.0,
    meta: dict[str, object] | None = None,
) -> Results:
    """Score candidate files against reference files without holding their text; a
    :class:`Results` whose test set has ``segment_data=None``.

    Same arguments and numbers as ``evaluate(load_testset(refs, systems, ...))`` (see the module
    docstring for resampling above :data:`EXACT_RESAMPLING_MAX_SEGMENTS`). ``lang`` and, for
    ``normalizer="auto"``, the reference's script are detected from its first
    :data:`SAMPLE_LINES` lines. ``jobs`` > 1 scores chunks in that many local processes.
    ``engine="dask"`` runs the chunks on a Dask cluster: ``client`` (a ``distributed.Client`` or
    an :func:`evalkit.distributed.connect` session), else the scheduler at ``scheduler``, else a
    new local cluster; ``timeout`` bounds the wait for the scheduler.
    """
    if engine not in STREAM_ENGINES:
        raise ConfigError(f"unknown engine {engine!r}; use one of {', '.join(STREAM_ENGINES)}")
    if chunk_size < 1:
        raise ConfigError(f"chunk size must be at least 1, got {chunk_size}")
    ref_paths = [refs] if isinstance(refs, str | os.PathLike) else list(refs)
    if not ref_paths:
        raise ConfigError("at least one reference file is required")
    pairs = _system_pairs(systems)
    if not pairs:
        raise ConfigError("at least one candidate (system output) file is required")
    metric_names = parse_metric_names(metrics)
    opts = stats or StatsOptions()

    # Index every file in load_testset's order (structure and counts fail before any scoring).
    ref_ix = [index_file(p, chunk_size) for p in ref_paths]
    n, first = ref_ix[0].n_lines, ref_ix[0].given
    for ix in ref_ix[1:]:
        _check_count(ix.given, ix.n_lines, first, n, "reference")
    src_ix = None
    if sources is not None:
        src_ix = index_file(sources, chunk_size)
        _check_count(src_ix.given, src_ix.n_lines, first, n, "source")
    sys_ix: dict[str, LineIndex] = {}
    for sys_name, path in pairs:
        sys_ix[sys_name] = index_file(path, chunk_size)
        _check_count(sys_ix[sys_name].given, sys_ix[sys_name].n_lines, first, n, "candidate")

    sample = _read_prefix(ref_ix[0], min(n, SAMPLE_LINES))
    lang = (lang or detect_lang(sample)).lower()
    if lang not in ("zh", "en"):
        raise ConfigError(f"unsupported target language {lang!r}: use zh or en")
    if baseline is not None and baseline not in sys_ix:
        raise ConfigError(f"baseline {baseline!r} is not one of the systems: {', '.join(sys_ix)}")
    sample_script = ScriptShare(*_script_counts(sample)) if lang == "zh" else None
    norm = resolve_normalizer(
        normalizer,
        lang=lang,
        reference_script=sample_script.verdict if sample_script else None,
        punct=punct,
    )
    specs = [make_metric(m, lang, tokenize=tokenize, ter_plain=ter_plain) for m in metric_names]
    testset = name or Path(ref_ix[0].label).stem
    tasks = _tasks(ref_ix, src_ix, sys_ix, norm, specs, lang, engine, split=engine == "dask")
    collector = _Collector(len(ref_ix[0].starts), tuple(sys_ix), metric_names)
    total = n * len(sys_ix)
    done = 0

    def consume(results: Iterable[ChunkResult | ChunkFailure]) -> None:
        nonlocal done
        for result in results:
            done += collector.add(result)
            if collector.failure is not None and engine != "dask":
                raise collector.failure.error  # local results arrive in reading order
            if progress:
                progress(f"{testset}: scoring", done, total)

    if engine == "dask":
        from ..distributed import run_tasks, session

        with session(client, scheduler, timeout=timeout) as active:
            consume(run_tasks(active, tasks))
        if collector.failure is not None:
            raise collector.failure.error
    else:
        consume(_run_local(tasks, jobs))

    if progress:
        progress(f"{testset}: resampling", total, total)
    plan = _Plan(testset, lang, n, len(ref_paths), specs, norm, normalizer, opts, jobs)
    result = _assemble(plan, collector, baseline or next(iter(sys_ix)))
    info = {"versions": versions(), **(meta or {})}
    return Results(testsets=(result,), evalkit_version=info["versions"]["evalkit"], meta=info)


def _tasks(
    ref_ix: list[LineIndex],
    src_ix: LineIndex | None,
    sys_ix: Mapping[str, LineIndex],
    norm: Normalizer,
    specs: Sequence[MetricSpec],
    lang: str,
    engine: str,
    *,
    split: bool,
) -> list[ChunkTask]:
    """One task per chunk (all systems: the references are normalized once), or with ``split``
    one per (system, chunk) for a cluster, where more, smaller tasks spread better."""
    fields = tuple(_fields(s) for s in specs)
    extract = "auto" if engine == "dask" else engine
    k = len(ref_ix)
    src_order = k
    sys_order = {s: k + (src_ix is not None) + i for i, s in enumerate(sys_ix)}
    out = []
    for c in range(len(ref_ix[0].starts)):
        refs = tuple(ix.range(c, order=i) for i, ix in enumerate(ref_ix))
        extra = () if src_ix is None else (src_ix.range(c, order=src_order),)
        hyps = [(s, ix.range(c, order=sys_order[s])) for s, ix in sys_ix.items()]
        groups = [[h] for h in hyps] if split else [hyps]
        for g, group in enumerate(groups):
            out.append(
                ChunkTask(
                    index=c,
                    refs=refs,
                    hyps=tuple(group),
                    normalizer=norm,
                    metrics=fields,
                    lang=lang,
                    engine=extract,
                    extra=extra if g == 0 else (),
                    ref_info=g == 0,
                )
            )
    return out


@dataclass(frozen=True)
class _Plan:
    """What was decided before scoring, needed again to build the result."""

    testset: str
    lang: str
    n: int
    n_refs: int
    specs: Sequence[MetricSpec]
    norm: Normalizer
    requested: str | Normalizer | None
    opts: StatsOptions
    jobs: int

    @property
    def metric_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.specs)


def _assemble(plan: _Plan, col: _Collector, base: str) -> TestSetResult:
    """The TestSetResult evaluate() builds, from the collected arrays and counters."""
    zh = plan.lang == "zh"
    ref_script = _share(col.ref_script) if zh else None
    systems = []
    for sys_name in col.systems:
        script = _share(col.script[sys_name]) if zh else None
        scores = {}
        for kind in ("norm", "raw"):
            scores[kind] = {
                s.name: _metric_score(s, col.chunks(kind, sys_name, s.name), plan.n_refs)
                for s in plan.specs
            }
        systems.append(
            SystemResult(
                name=sys_name,
                scores=scores["norm"],
                raw_scores=scores["raw"],
                changed_segments=col.changed[sys_name],
                script=script.as_dict() if script else None,
                warnings=_warnings(col.empty[sys_name], script, ref_script),
            )
        )
    opts, names = plan.opts, plan.metric_names
    pairwise: dict[str, dict[str, dict[str, Comparison]]] = {}
    stats_dict: dict[str, object] = {}
    if opts.active and plan.n <= EXACT_RESAMPLING_MAX_SEGMENTS:
        all_stats = {
            s: _SystemStats(
                raw={}, norm={m: np.concatenate(col.chunks("norm", s, m)) for m in names}
            )
            for s in col.systems
        }
        systems, pairwise = _with_statistics(systems, all_stats, plan.specs, base, opts)
        stats_dict = opts.as_dict()
    elif opts.active:
        chunks = {(s, m): col.chunks("norm", s, m) for s in col.systems for m in names}
        systems, pairwise = _poisson_statistics(systems, chunks, plan.specs, base, opts, plan.jobs)
        stats_dict = {**opts.as_dict(), "method": "poisson"}
    else:
        systems = _with_baseline_deltas(systems, base, names)
    normalization: dict[str, object] = {
        **plan.norm.as_dict(),
        "signature": plan.norm.describe(),
        "requested": plan.requested if isinstance(plan.requested, str) else None,
        "ref_changed_segments": col.ref_changed,
    }
    if plan.n > SAMPLE_LINES:
        normalization["detected_from_segments"] = SAMPLE_LINES
    return TestSetResult(
        name=plan.testset,
        lang=plan.lang,
        segments=plan.n,
        metrics=names,
        normalization=normalization,
        baseline=base,
        systems=tuple(systems),
        segment_data=None,
        reference_script=ref_script.as_dict() if ref_script else None,
        pairwise=pairwise,
        stats=stats_dict,
    )
