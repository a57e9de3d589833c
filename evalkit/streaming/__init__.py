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

The package, one module a step: :mod:`.reading` (index and decode files by byte range),
:mod:`.chunks` (one chunk's work), :mod:`.pool` (ordered local processes), :mod:`.collect`
(chunk results into arrays), :mod:`.resampling` (Poisson bootstrap, blocked AR),
:mod:`.assemble` (the TestSetResult) and :mod:`.score` (:func:`score_files`).
"""

from __future__ import annotations

import importlib
from typing import Any

# Loaded on first use (PEP 562): ``evalkit score`` asks whether to stream on every run, and
# importing every step of the streamed path just to count a file's lines cost ~25 ms.
# Private helpers are listed because tests reach them through the package; tunables are
# patched in their own modules (streaming.reading._SCAN_BLOCK, …).
_EXPORTS = {
    "EXACT_RESAMPLING_MAX_SEGMENTS": "reading",
    "SAMPLE_LINES": "assemble",
    "_metric_score": "assemble",
    "ChunkFailure": "chunks",
    "ChunkResult": "chunks",
    "ChunkTask": "chunks",
    "run_chunk": "chunks",
    "_compact": "chunks",
    "_script_counts": "chunks",
    "_float64_totals": "collect",
    "_SCAN_BLOCK": "reading",
    "DEFAULT_CHUNK_SIZE": "reading",
    "FileRange": "reading",
    "LineIndex": "reading",
    "count_lines": "reading",
    "index_file": "reading",
    "read_aligned": "reading",
    "read_range": "reading",
    "_GROUP_BLOCKS": "resampling",
    "_P1_TABLE": "resampling",
    "_RESAMPLE_CELLS": "resampling",
    "_poisson1": "resampling",
    "STREAM_ENGINES": "score",
    "StreamProgress": "score",
    "score_files": "score",
}
_SUBMODULES = ("assemble", "chunks", "collect", "pool", "reading", "resampling", "score")


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS, *_SUBMODULES})


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
