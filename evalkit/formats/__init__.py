"""Inputs in the formats test sets ship in, turned into the segments sacrebleu would read.

One input string names everything (:mod:`.spec` parses it): ``ref.zh.gz`` (gzip, bzip2, xz or
zstd, decompressed in blocks), ``out.jsonl#translation``, ``data.tsv#2`` (the second column,
counted from 1 as ``cut -f`` counts), ``data.csv#target`` (a header column),
``data.parquet#target``, ``wmttest2022.en-zh.xml#ref`` (``#ref:B``, ``#src``, ``#sys:NAME``).
:func:`evalkit._io.read_input` hands every input that is not plain text here, so ``--ref``,
``--src``, candidates, suite entries, ``normalize`` and ``detect`` accept the same strings;
:func:`.testsets.local_testset` resolves ``--testset wmt22:en-zh`` to such strings.

Every reader is a generator of segment batches, checked as it reads (NUL, invalid UTF-8, the
segment length limit), so the streaming path can spool a huge input to plain text without
holding it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from .._io import DEFAULT_MAX_SEGMENT_CHARS, InputFile, SegmentLimit, line_batches, open_input
from ..errors import InputError
from .spec import InputSpec, parse_spec
from .testsets import LocalTestset, local_testset

__all__ = [
    "InputSpec",
    "LocalTestset",
    "iter_segments",
    "local_testset",
    "parse_spec",
    "read_formatted",
]

_Reader = Callable[[BinaryIO, str, "str | os.PathLike[str]", int], Iterator[list[str]]]


def _reader(fmt: str) -> _Reader:
    """The segment reader of a record format (imported on use: lxml, pyarrow are heavy)."""
    if fmt == "jsonl":
        from .records import jsonl_segments

        return jsonl_segments
    if fmt in ("tsv", "csv"):
        from .records import csv_segments

        def columns(fh: BinaryIO, sel: str, label: str | os.PathLike[str], n: int):  # noqa: ANN202
            return csv_segments(fh, sel, label, n, tsv=fmt == "tsv")

        return columns
    if fmt == "parquet":
        from .parquet import parquet_segments

        return parquet_segments
    from .wmtxml import wmtxml_segments

    return wmtxml_segments


def iter_segments(
    spec: InputSpec,
    *,
    max_segment_chars: int = DEFAULT_MAX_SEGMENT_CHARS,
    label: str | os.PathLike[str] | None = None,
) -> Iterator[list[str]]:
    """The segments of ``spec``, a batch at a time, read once in bounded blocks; messages name
    ``label`` (default: the file). Raises what :func:`evalkit._io.read_input` raises for a
    missing, empty or malformed input, naming the record."""
    where = Path(os.fspath(label if label is not None else spec.file))
    count = 0
    with open_input(spec.file, where) as raw:
        fh: BinaryIO = raw
        if spec.compression is not None:
            from .compression import decompressed

            fh = decompressed(raw, spec.compression, where)
        if spec.format == "text":
            size = 0

            def seen(block: bytes) -> None:
                nonlocal size
                size += len(block)

            batches = line_batches(fh, SegmentLimit(max_segment_chars, where), seen=seen)
        else:
            assert spec.selector is not None  # parse_spec requires one
            batches = _reader(spec.format)(fh, spec.selector, where, max_segment_chars)
        for batch in batches:
            count += len(batch)
            yield batch
    if spec.format == "text" and not size:
        raise InputError("file is empty (expected one segment per line)", where)
    if not count:
        bom = " (only a byte-order mark)" if spec.format == "text" else ""
        raise InputError(f"file has no segments{bom}", where)


def read_formatted(
    spec: InputSpec,
    *,
    max_segment_chars: int = DEFAULT_MAX_SEGMENT_CHARS,
    name: str | os.PathLike[str] | None = None,
) -> InputFile:
    """Read ``spec`` whole into an :class:`~evalkit._io.InputFile` named ``name`` (default:
    the input string as given). Its digest is the SHA-256 of the segments read (a line each),
    so two encodings of the same segments share a results-cache entry."""
    given = os.fspath(name if name is not None else spec.given)
    digest = hashlib.sha256()
    lines: list[str] = []
    for batch in iter_segments(spec, max_segment_chars=max_segment_chars, label=spec.file):
        for line in batch:
            digest.update(line.encode() + b"\n")
        lines += batch
    return InputFile(given, tuple(lines), digest.hexdigest())
