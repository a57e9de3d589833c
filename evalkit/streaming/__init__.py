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

# ``x as x``: private helpers that tests reach through the package; tunables are patched in
# their own modules (streaming.reading._SCAN_BLOCK, streaming.resampling._RESAMPLE_CELLS, …).
from .assemble import EXACT_RESAMPLING_MAX_SEGMENTS, SAMPLE_LINES
from .assemble import _metric_score as _metric_score
from .chunks import ChunkFailure, ChunkResult, ChunkTask, run_chunk
from .chunks import _compact as _compact
from .chunks import _script_counts as _script_counts
from .collect import _float64_totals as _float64_totals
from .reading import _SCAN_BLOCK as _SCAN_BLOCK
from .reading import (
    DEFAULT_CHUNK_SIZE,
    FileRange,
    LineIndex,
    count_lines,
    index_file,
    read_aligned,
    read_range,
)
from .resampling import _GROUP_BLOCKS as _GROUP_BLOCKS
from .resampling import _P1_TABLE as _P1_TABLE
from .resampling import _RESAMPLE_CELLS as _RESAMPLE_CELLS
from .resampling import _poisson1 as _poisson1
from .score import STREAM_ENGINES, StreamProgress, score_files

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
