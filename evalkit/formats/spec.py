"""Parse an input string — ``out.jsonl#translation``, ``ref.zh.gz``, ``test.xml#ref:B`` — into
what to open, how to decode it and which field to take. The one place that reads the ``#``.

The rule for ``#``: a path that exists as given is a file, whatever it contains (``a#b.txt``
stays a file name); only when it does not exist and the part before its last ``#`` does is the
rest a selector. The format comes from the file name, a compression suffix first.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError

__all__ = ["COMPRESSIONS", "FORMATS", "InputSpec", "parse_spec"]

COMPRESSIONS = {".gz": "gzip", ".bz2": "bzip2", ".xz": "xz", ".zst": "zstd"}
"""File suffix → compression, decompressed transparently in blocks."""

FORMATS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".tsv": "tsv",
    ".csv": "csv",
    ".parquet": "parquet",
    ".xml": "wmtxml",
}
"""File suffix (after any compression suffix) → record format; anything else is plain text."""

_NEEDS = {
    "jsonl": "a field, e.g. {file}#translation",
    "tsv": "a column, e.g. {file}#2 (the second, counted from 1) or {file}#NAME (header row)",
    "csv": "a column, e.g. {file}#2 (the second, counted from 1) or {file}#NAME (header row)",
    "parquet": "a column, e.g. {file}#target",
    "wmtxml": "what to read: {file}#src, {file}#ref, {file}#ref:B or {file}#sys:NAME",
}


@dataclass(frozen=True)
class InputSpec:
    """An input string taken apart: ``file`` to open, its ``compression`` (None: none), its
    record ``format`` (``text`` for one segment a line) and the ``selector`` after ``#``."""

    given: str
    file: str
    format: str = "text"
    compression: str | None = None
    selector: str | None = None

    @property
    def is_plain(self) -> bool:
        """Plain uncompressed text: read (and indexed by byte range) as it is."""
        return self.format == "text" and self.compression is None

    @property
    def stem(self) -> str:
        """A name for what it holds: the file name without its compression suffix and one
        more (``sysA.zh.gz``, ``sysA.jsonl`` → ``sysA``); for ``#sys:NAME``, the system's."""
        if self.format == "wmtxml" and self.selector and self.selector.startswith("sys:"):
            return self.selector[4:]
        name = Path(self.file).name
        if self.compression:
            name = name.rsplit(".", 1)[0]
        return name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name


def _suffix_of(name: str, table: dict[str, str]) -> str | None:
    suffix = Path(name).suffix.lower()
    return suffix if suffix in table else None


def _exists(path: str) -> bool:
    return os.path.lexists(path)


def parse_spec(path: str | os.PathLike[str]) -> InputSpec:
    """Take an input string apart (see the module docstring for the ``#`` rule).

    A path-like object that is not a string (a spooled copy) is plain text by construction;
    ``scheme://`` URLs are plain text too (streaming reads them through fsspec)."""
    if not isinstance(path, str | Path):
        return InputSpec(os.fspath(path), os.fspath(path))
    given = os.fspath(path)
    if "://" in given:
        return InputSpec(given, given)
    file, selector = given, None
    head, sep, tail = given.rpartition("#")
    if sep and head and not _exists(given) and _exists(head):
        file, selector = head, tail
    name = Path(file).name
    compression = _suffix_of(name, COMPRESSIONS)
    inner = name[: -len(compression)] if compression else name
    fmt_suffix = _suffix_of(inner, FORMATS)
    fmt = FORMATS[fmt_suffix] if fmt_suffix else "text"
    spec = InputSpec(given, file, fmt, COMPRESSIONS.get(compression or ""), selector)
    if fmt == "text" and selector is not None:
        raise ConfigError(
            f"{given}: '#{selector}' selects a field, but {file} is read as plain text (one "
            "segment a line); selectors apply to .jsonl, .tsv, .csv, .parquet and .xml files"
        )
    if fmt != "text" and not selector:
        raise ConfigError(f"{given}: a {fmt_name(fmt)} file needs {_NEEDS[fmt].format(file=file)}")
    if fmt == "parquet" and compression:
        raise ConfigError(f"{given}: Parquet compresses inside the file; give the .parquet itself")
    return spec


def fmt_name(fmt: str) -> str:
    """How messages name a format."""
    return {"jsonl": "JSONL", "tsv": "TSV", "csv": "CSV", "parquet": "Parquet"}.get(
        fmt, "WMT XML" if fmt == "wmtxml" else "text"
    )
