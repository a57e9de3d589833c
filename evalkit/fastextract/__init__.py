"""Fast, exact extraction of sacrebleu's per-segment BLEU and chrF(++) statistics.

sacrebleu extracts sufficient statistics one segment at a time in pure Python. This package
computes the *identical* ``N × d`` int64 arrays for whole blocks of segments with numpy:
tokenization as vectorised token breaks (derived from sacrebleu's own regexes and tables),
n-grams as collision-free integer keys, clipped counts by sorting. Supported: BLEU with the
``13a``, ``zh``, ``intl``, ``char`` and ``none`` tokenizers, chrF and chrF++.
``bleu_stats_many`` / ``chrf_stats_many`` score several systems against the same references,
doing the reference side once.
"""

from ._extract import (
    BLEU_TOKENIZERS,
    bleu_stats,
    bleu_stats_many,
    chrf_stats,
    chrf_stats_many,
    extract_parallel,
)

__all__ = [
    "BLEU_TOKENIZERS",
    "bleu_stats",
    "bleu_stats_many",
    "chrf_stats",
    "chrf_stats_many",
    "extract_parallel",
]
