"""JSONL, TSV and CSV: one record a line (CSV: a record may be quoted over several), one field
of each record a segment. Records are read through :func:`evalkit._io.line_batches`, so NUL
bytes, invalid UTF-8 and over-long lines stop the read at the block that shows them.

A field's value becomes a segment as a line of a text file would: trailing whitespace dropped
(the sacrebleu CLI ``rstrip()``-s every line); a value still holding a line break cannot be one
line of a text file, so it is an error rather than a silent change of the segmentation.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from .._io import SegmentLimit, line_batches
from ..errors import InputError

__all__ = ["RECORD_FACTOR", "RecordLimit", "check_segment", "csv_segments", "jsonl_segments"]

RECORD_FACTOR = 8
"""A record line may hold this many times the segment length limit: it carries other fields
and JSON escapes (``\\u4e2d`` is six characters for one), yet an endless line still stops."""


class RecordLimit(SegmentLimit):
    """The segment length limit applied to whole record lines, with :data:`RECORD_FACTOR`."""

    def __init__(self, max_segment_chars: int, label: str | os.PathLike[str]) -> None:
        super().__init__(max_segment_chars * RECORD_FACTOR, label)
        self.segment_limit = max_segment_chars

    def _fail(self, line: int) -> None:
        raise InputError(
            f"record longer than {self.limit:,} characters ({RECORD_FACTOR} × the segment "
            "length limit; raise it with --max-segment-chars)",
            self.label,
            line,
        )


def check_segment(
    value: object, what: str, label: str | os.PathLike[str], line: int | None, limit: int
) -> str:
    """``value`` as a segment (``rstrip()``-ed), or an InputError naming ``what`` and where."""
    where = (label, line)
    if value is None:
        raise InputError(f"{what} is null, expected a string", *where)
    if not isinstance(value, str):
        raise InputError(f"{what} is a {type(value).__name__}, expected a string", *where)
    text = value.rstrip()
    if "\n" in text:
        raise InputError(
            f"{what} holds a line break; a segment is one line (as in a text file)", *where
        )
    if "\x00" in text:
        raise InputError(f"{what} contains a NUL character", *where)
    if len(text) > limit:
        raise InputError(
            f"{what} is longer than the segment length limit of {limit:,} characters "
            "(raise it with --max-segment-chars)",
            *where,
        )
    return text


def _numbered(fh: BinaryIO, limit: RecordLimit, *, rstrip: bool) -> Iterator[tuple[int, str]]:
    """``(line number, line)`` for every line of ``fh``."""
    number = 0
    for batch in line_batches(fh, limit, rstrip=rstrip):
        for line in batch:
            number += 1
            yield number, line


def jsonl_segments(
    fh: BinaryIO, field: str, label: str | os.PathLike[str], max_segment_chars: int
) -> Iterator[list[str]]:
    """Field ``field`` of every JSON object, one a line (``out.jsonl#translation``)."""
    limit = RecordLimit(max_segment_chars, label)
    batch: list[str] = []
    missing = object()
    for number, line in _numbered(fh, limit, rstrip=True):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            what = "empty line, expected a JSON object" if not line else f"invalid JSON: {exc}"
            raise InputError(what, label, number) from None
        if not isinstance(record, dict):
            raise InputError(
                f"expected a JSON object, got a {type(record).__name__}", label, number
            )
        value = record.get(field, missing)
        if value is missing:
            raise InputError(f'no field "{field}"', label, number)
        batch.append(check_segment(value, f'field "{field}"', label, number, max_segment_chars))
        if len(batch) >= 10_000:
            yield batch
            batch = []
    yield batch


def csv_segments(
    fh: BinaryIO,
    column: str,
    label: str | os.PathLike[str],
    max_segment_chars: int,
    *,
    tsv: bool,
) -> Iterator[list[str]]:
    """Column ``column`` of every row: a number counts from 1 as ``cut -f`` does, over every
    row; a name is looked up in the header row, which is then not a segment.

    TSV splits each line on tabs, as sacrebleu's own TSV reader and ``cut`` do (no quoting);
    CSV follows the ``csv`` module (RFC 4180 quoting)."""
    limit = RecordLimit(max_segment_chars, label)
    rows = _tsv_rows(fh, limit) if tsv else _csv_rows(fh, limit, label)
    index = _column_index(column, rows, label)
    what = f"column {column}" if column.isdigit() else f'column "{column}"'
    batch: list[str] = []
    for number, row in rows:
        if index >= len(row):
            raise InputError(f"no {what} (the row has {len(row)})", label, number)
        batch.append(check_segment(row[index], what, label, number, max_segment_chars))
        if len(batch) >= 10_000:
            yield batch
            batch = []
    yield batch


def _column_index(
    column: str, rows: Iterator[tuple[int, list[str]]], label: str | os.PathLike[str]
) -> int:
    """The 0-based index of ``column``; a name consumes the header row to find it."""
    if column.isdigit():
        if int(column) < 1:
            raise InputError(f"columns count from 1 (as cut -f counts), got #{column}", label)
        return int(column) - 1
    header = next(rows, None)
    if header is None:
        raise InputError("file is empty (expected a header row)", label)
    number, names = header
    if column not in names:
        raise InputError(
            f'no column "{column}" in the header row (columns: {", ".join(names)})', label, number
        )
    return names.index(column)


def _tsv_rows(fh: BinaryIO, limit: RecordLimit) -> Iterator[tuple[int, list[str]]]:
    for number, line in _numbered(fh, limit, rstrip=False):
        yield number, line.split("\t")


def _csv_rows(
    fh: BinaryIO, limit: RecordLimit, label: str | os.PathLike[str]
) -> Iterator[tuple[int, list[str]]]:
    lines = _numbered(fh, limit, rstrip=False)
    reader = csv.reader(_with_newlines(lines))
    start = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(f"CSV error: {exc}", label, reader.line_num) from None
        yield start, row
        start = reader.line_num + 1


def _with_newlines(lines: Iterable[tuple[int, str]]) -> Iterator[str]:
    """Lines as ``csv.reader`` wants them: ended, so a quoted field can span them."""
    for _, line in lines:
        yield line + "\n"
