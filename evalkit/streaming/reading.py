"""Read huge line files by byte range: index a file's chunk boundaries in one pass, then decode
any chunk in any process exactly as :func:`evalkit._io.read_lines` decodes the whole file.

Indexing checks the segment length limit as it reads, so an endless line stops it early. A
file that can be read only once (a FIFO, ``<(zcat ref.gz)``, a device) cannot be re-read by byte
range: :func:`spool_input` copies it once, with the same checks, to a regular temporary file —
spooled to disk rather than read into memory, because streaming is for inputs too large for it.
A compressed or record input (``ref.gz``, ``out.jsonl#field``: :mod:`evalkit.formats`) is
spooled the same way, as the plain text of its segments.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import IO

from .._io import (
    DEFAULT_MAX_SEGMENT_CHARS,
    SegmentLimit,
    checked_blocks,
    decode_lines,
    is_stream,
    open_input,
)
from ..corpus import _check_count
from ..errors import ConfigError, InputError
from ..formats import InputSpec, iter_segments, parse_spec

DEFAULT_CHUNK_SIZE = 100_000
"""Segments per chunk: ~10 MB of text per file, large enough for numpy to be efficient."""

_SCAN_BLOCK = 1 << 20
_BOM_BYTES = "\ufeff".encode()


EXACT_RESAMPLING_MAX_SEGMENTS = 100_000
"""Up to here resampling is evalkit.stats' (sacrebleu's draws, identical to evaluate()); its
B × N index matrix is 0.8 GB at the default 1000 resamples. Above: the Poisson bootstrap.
Defined here, with the line counting, because the CLI reads both to decide whether to stream."""


@dataclass(frozen=True)
class Spooled:
    """A read-once input copied to the regular file ``path``; messages name it ``name``."""

    name: str
    path: str

    def __fspath__(self) -> str:
        return self.path

    def __str__(self) -> str:
        return self.name


def spool_input(
    path: str | os.PathLike[str],
    directory: str | os.PathLike[str],
    *,
    max_segment_chars: int = DEFAULT_MAX_SEGMENT_CHARS,
) -> Spooled:
    """Copy a read-once input into ``directory`` in one pass, checking NUL bytes and the
    segment length limit as it goes (``/dev/zero`` stops at its first block)."""
    label = Path(os.fspath(path))
    spec = parse_spec(path)
    fd, copy = tempfile.mkstemp(prefix="spool-", dir=directory)
    with os.fdopen(fd, "wb") as dst:
        if not spec.is_plain:
            _spool_segments(spec, dst, max_segment_chars)
            return Spooled(os.fspath(path), copy)
        limit = SegmentLimit(max_segment_chars, label)
        with open_input(path, label) as src:
            for block, _ in checked_blocks(src, limit):
                dst.write(block)
    limit.finish()
    return Spooled(os.fspath(path), copy)


def _spool_segments(spec: InputSpec, dst: IO[bytes], max_segment_chars: int) -> None:
    """Write a compressed or record input's segments as plain text, one a line, that reads
    back to the same segments (a first segment starting with a BOM gets one more before it,
    which reading drops)."""
    first = True
    for batch in iter_segments(spec, max_segment_chars=max_segment_chars):
        if not batch:
            continue
        if first and batch[0].startswith("\ufeff"):
            dst.write(_BOM_BYTES)
        first = False
        dst.write(("\n".join(batch) + "\n").encode())


def needs_spool(path: str | os.PathLike[str]) -> bool:
    """Whether an input must be spooled before it is indexed: it can be read only once, or it
    is not plain text (compressed, ``out.jsonl#field``, …) and cannot be read by byte range."""
    if isinstance(path, Spooled) or "://" in os.fspath(path):
        return False
    return is_stream(path) or not parse_spec(path).is_plain


def _given(path: str | os.PathLike[str]) -> str:
    """The path as the caller wrote it (a spooled input's original name)."""
    return path.name if isinstance(path, Spooled) else os.fspath(path)


def _where(path: str | os.PathLike[str]) -> str:
    """How a path is named in messages: as ``read_lines`` names it (``Path(path)``)."""
    text = _given(path)
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
    return open_input(path, label)


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


def index_file(
    path: str | os.PathLike[str],
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    *,
    max_segment_chars: int | None = DEFAULT_MAX_SEGMENT_CHARS,
) -> LineIndex:
    """Count the lines of a file and find its chunk boundaries without holding it.

    Raises read_lines' errors for a missing, unreadable or empty file and, as soon as it is
    read, for a line over ``max_segment_chars`` (None: no limit); text is checked later, chunk
    by chunk, by :func:`read_range`. ``path`` may be a :class:`Spooled` read-once input.
    """
    if chunk_size < 1:
        raise ConfigError(f"chunk size must be at least 1, got {chunk_size}")
    label = _where(path)
    limit = SegmentLimit(max_segment_chars or 1 << 62, label)
    starts = [0]
    lines = size = 0
    head = last = b""
    next_cut = chunk_size
    with _open_binary(_location(path), label) as fh:
        while block := fh.read(_SCAN_BLOCK):
            limit.feed(block)
            if not size:
                head = block[:4]
            newlines = block.count(b"\n")
            if lines + newlines >= next_cut:
                import numpy as np  # only past a chunk boundary: counting stays numpy-free

                where = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10)
                while next_cut <= lines + newlines:
                    starts.append(size + int(where[next_cut - lines - 1]) + 1)
                    next_cut += chunk_size
            lines += newlines
            size += len(block)
            last = block[-1:]
    limit.finish()
    if size == 0:
        raise InputError("file is empty (expected one segment per line)", label)
    if head == _BOM_BYTES:
        raise InputError("file has no segments (only a byte-order mark)", label)
    if starts[-1] == size:  # a boundary at the very end starts no chunk
        starts.pop()
    n_lines = lines + (last != b"\n")
    return LineIndex(_location(path), label, _given(path), n_lines, size, chunk_size, tuple(starts))


def count_lines(path: str | os.PathLike[str]) -> int:
    """The number of segments ``read_lines`` would return, counted in blocks (lines of any
    length: the reader that follows applies the limit the run was given)."""
    if "://" not in os.fspath(path) and not (spec := parse_spec(path)).is_plain:
        return sum(map(len, iter_segments(spec, max_segment_chars=1 << 62)))
    return index_file(path, chunk_size=1 << 62, max_segment_chars=None).n_lines


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


def read_range(rng: FileRange) -> list[str]:
    """Read and decode one chunk; any process that can open ``rng.path`` can do it."""
    with _open_binary(rng.path, rng.label) as fh:
        fh.seek(rng.start)
        data = fh.read(rng.stop - rng.start)
    lines = decode_lines(data, rng.label, rng.first_line)
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
    return decode_lines(data, index.label, 1)


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
