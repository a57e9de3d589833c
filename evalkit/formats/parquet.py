"""Parquet: one string column, read a batch of rows at a time through pyarrow (an optional
extra, ``evalkit[parquet]``), so a large file never becomes one table in memory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import BinaryIO

from ..errors import ConfigError, InputError
from .records import check_segment

__all__ = ["parquet_segments"]

_BATCH_ROWS = 10_000


def parquet_segments(
    fh: BinaryIO, column: str, label: str | os.PathLike[str], max_segment_chars: int
) -> Iterator[list[str]]:
    """Column ``column`` of every row, in row order (``data.parquet#target``); messages name
    a row by its number, counted from 1."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ConfigError(
            "reading Parquet needs pyarrow: pip install 'evalkit[parquet]' (or pyarrow)", label
        ) from None
    try:
        table = pq.ParquetFile(fh)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"cannot read as Parquet: {exc}", label) from None
    names = table.schema_arrow.names
    if column not in names:
        raise InputError(f'no column "{column}" (columns: {", ".join(names)})', label)
    kind = table.schema_arrow.field(column).type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        raise InputError(f'column "{column}" holds {kind}, expected strings', label)
    row = 0
    try:
        for batch in table.iter_batches(batch_size=_BATCH_ROWS, columns=[column]):
            values = batch.column(0).to_pylist()
            out = []
            for value in values:
                row += 1
                what = f'row {row}: column "{column}"'
                out.append(check_segment(value, what, label, None, max_segment_chars))
            yield out
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"cannot read as Parquet: {exc}", label) from None
