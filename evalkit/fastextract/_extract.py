"""Public entry points: sacrebleu's per-segment BLEU / chrF statistics, vectorised."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

from ..errors import ConfigError, InputError
from ._count import ngram_matches
from ._tables import patterns_supported
from ._text import (
    char_ids,
    preprocess_13a,
    remove_punctuation_ids,
    split_ids,
    tokenize_ids,
    whitespace_ids,
)

__all__ = ["BLEU_TOKENIZERS", "bleu_stats", "chrf_stats", "extract_parallel"]

BLEU_TOKENIZERS: tuple[str, ...] = ("13a", "zh", "intl", "char", "none")
"""Tokenizers :func:`bleu_stats` reproduces exactly."""

#: Upper bound on the characters (all streams) tokenized and counted together. Keeps the numpy
#: working set in cache (a few MB) and memory bounded whatever ``chunk_size`` is; measured
#: fastest between 2**16 and 2**17.
_BLOCK_CHARS = 1 << 17

Refs = Sequence[Sequence[str | None]]


def _validate(hyps: Sequence[str], refs: Refs) -> tuple[list[str], list[list[str | None]]]:
    """Materialise the streams and reject what sacrebleu would mis-handle or crash on."""
    if isinstance(hyps, str):
        raise InputError("hypotheses must be a sequence of strings, not one string")
    if isinstance(refs, str) or len(refs) == 0 or any(isinstance(r, str) for r in refs):
        raise InputError("references must be a non-empty sequence of reference streams")
    hyp_list = list(hyps)
    streams = [list(stream) for stream in refs]
    for k, stream in enumerate(streams):
        if len(stream) != len(hyp_list):
            raise InputError(
                f"reference stream {k + 1} has {len(stream)} segments, "
                f"the hypotheses have {len(hyp_list)}"
            )
    if not set(map(type, hyp_list)) <= {str} and not all(isinstance(h, str) for h in hyp_list):
        raise InputError("every hypothesis must be a string")
    for stream in streams:
        if not set(map(type, stream)) <= {str, type(None)} and not all(
            r is None or isinstance(r, str) for r in stream
        ):
            raise InputError("every reference must be a string (or None for 'no reference')")
    if any(None in stream for stream in streams):
        for i, seg in enumerate(zip(*streams, strict=True)):
            if all(r is None for r in seg):
                raise InputError(f"segment {i + 1} has no reference")
    return hyp_list, streams


def _blocks(
    hyps: list[str], streams: list[list[str | None]], chunk_size: int
) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` ranges of at most ``chunk_size`` segments and ~``_BLOCK_CHARS``."""
    if chunk_size < 1:
        raise ConfigError(f"chunk_size must be at least 1, got {chunk_size}")
    n = len(hyps)
    chars = np.fromiter(map(len, hyps), dtype=np.int64, count=n)
    for stream in streams:
        lengths = map(len, stream) if None not in stream else (len(r or "") for r in stream)
        chars += np.fromiter(lengths, dtype=np.int64, count=n)
    cum = np.cumsum(chars)
    start = 0
    while start < n:
        before = int(cum[start - 1]) if start else 0
        stop = int(np.searchsorted(cum, before + _BLOCK_CHARS, side="right"))
        stop = min(max(stop, start + 1), start + chunk_size, n)
        yield start, stop
        start = stop


def _lines(
    hyps: list[str], streams: list[list[str | None]], start: int, stop: int, lowercase: bool
) -> tuple[list[str], np.ndarray]:
    """Hypotheses then each reference stream of one block (absent references as ``''``)."""
    lines = hyps[start:stop]
    for stream in streams:
        lines += ["" if r is None else r for r in stream[start:stop]]
    present = np.array([[r is not None for r in s[start:stop]] for s in streams], dtype=bool)
    if lowercase:
        lines = [line.lower() for line in lines]
    return lines, present.reshape(len(streams), stop - start)


def _bleu_tokens(lines: list[str], tokenize: str) -> tuple[np.ndarray, np.ndarray]:
    """Token ids and counts per line after sacrebleu's ``tokenizer(line.rstrip())``."""
    lines = [line.rstrip() for line in lines]
    if not patterns_supported(tokenize):  # sacrebleu changed its regexes: use its tokenizer
        from sacrebleu.metrics.bleu import _get_tokenizer

        tokenizer = _get_tokenizer(tokenize)()
        return split_ids([tokenizer(line) for line in lines])
    if tokenize == "none":
        return whitespace_ids(lines)
    if tokenize == "char":
        return char_ids(lines)
    if tokenize == "zh":
        lines = [line.strip() for line in lines]
    elif tokenize == "13a":
        lines = preprocess_13a(lines)
    return tokenize_ids(lines, tokenize)


def bleu_stats(
    hyps: Sequence[str],
    refs: Refs,
    *,
    tokenize: str = "13a",
    lowercase: bool = False,
    max_ngram_order: int = 4,
    chunk_size: int = 50_000,
) -> np.ndarray:
    """Per-segment BLEU statistics, equal to ``BLEU(...)._extract_corpus_statistics``.

    ``refs[k][i]`` is reference ``k`` of segment ``i`` (``None``: segment ``i`` has fewer
    references). Row ``i`` is ``[hyp_len, ref_len, correct_1..n, total_1..n]`` (int64), with
    the closest reference length (shorter on ties) and counts clipped by the maximum count of
    each n-gram over the references. At most ``chunk_size`` segments (and ~128k characters)
    are processed together, so memory stays bounded on any corpus size.
    """
    if tokenize not in BLEU_TOKENIZERS:
        raise ConfigError(
            f"tokenizer {tokenize!r} has no fast path; use one of {', '.join(BLEU_TOKENIZERS)}"
        )
    if max_ngram_order < 1:
        raise ConfigError(f"max_ngram_order must be at least 1, got {max_ngram_order}")
    hyp_list, streams = _validate(hyps, refs)
    order = max_ngram_order
    n_refs = len(streams)
    out = np.zeros((len(hyp_list), 2 + 2 * order), dtype=np.int64)
    for start, stop in _blocks(hyp_list, streams, chunk_size):
        n = stop - start
        lines, present = _lines(hyp_list, streams, start, stop, lowercase)
        ids, per_line = _bleu_tokens(lines, tokenize)
        lengths = per_line.reshape(n_refs + 1, n)
        hyp_len, ref_lens = lengths[0], lengths[1:]
        # sacrebleu keeps the closest reference length, the shorter one on ties.
        rank = np.abs(ref_lens - hyp_len) * (int(ref_lens.max()) + 1) + ref_lens
        rank[~present] = np.iinfo(np.int64).max
        ref_len = ref_lens[np.argmin(rank, axis=0), np.arange(n)]
        block = out[start:stop]
        block[:, 0] = hyp_len
        block[:, 1] = ref_len
        block[:, 2 : 2 + order] = ngram_matches(
            ids, per_line, n, n_refs + 1, order, per_reference=False
        )
        block[:, 2 + order :] = np.maximum(hyp_len[:, None] - np.arange(order), 0)
    return out


def _chrf_f_scores(stats: np.ndarray, beta: int, eps_smoothing: bool) -> np.ndarray:
    """``CHRF._compute_f_score`` over the last axis, with the same float operations in order.

    Bit-identical scores matter: the best reference is the first one with the highest score.
    """
    eps = 1e-16
    factor = beta**2
    shape = stats.shape[:-1]
    order = stats.shape[-1] // 3
    score = np.zeros(shape)
    avg_prec = np.zeros(shape)
    avg_rec = np.zeros(shape)
    effective = np.zeros(shape, dtype=np.int64)
    for i in range(order):
        n_hyp, n_ref, n_match = (stats[..., 3 * i + j] for j in range(3))
        prec = np.divide(n_match, n_hyp, out=np.full(shape, eps), where=n_hyp > 0)
        rec = np.divide(n_match, n_ref, out=np.full(shape, eps), where=n_ref > 0)
        denom = factor * prec + rec
        part = np.divide((1 + factor) * prec * rec, denom, out=np.full(shape, eps), where=denom > 0)
        score += part
        both = (n_hyp > 0) & (n_ref > 0)
        avg_prec = np.where(both, avg_prec + prec, avg_prec)
        avg_rec = np.where(both, avg_rec + rec, avg_rec)
        effective += both
    if eps_smoothing:
        return 100 * score / order
    has = effective > 0
    avg_prec = np.divide(avg_prec, effective, out=np.zeros(shape), where=has)
    avg_rec = np.divide(avg_rec, effective, out=np.zeros(shape), where=has)
    num = (1 + factor) * avg_prec * avg_rec
    den = factor * avg_prec + avg_rec
    nonzero = (avg_prec + avg_rec) != 0
    return np.where(nonzero, 100 * np.divide(num, den, out=np.zeros(shape), where=nonzero), 0.0)


def chrf_stats(
    hyps: Sequence[str],
    refs: Refs,
    *,
    char_order: int = 6,
    word_order: int = 0,
    lowercase: bool = False,
    whitespace: bool = False,
    beta: int = 2,
    eps_smoothing: bool = False,
    chunk_size: int = 50_000,
) -> np.ndarray:
    """Per-segment chrF / chrF++ statistics, equal to ``CHRF(...)._extract_corpus_statistics``.

    Row ``i`` holds ``[hyp, ref, match]`` per character order then per word order, taken from
    the reference with the best sentence chrF (the first one on ties) — which is why ``beta``
    and ``eps_smoothing`` matter here although they do not enter the counts.
    """
    if char_order < 0 or word_order < 0 or char_order + word_order < 1:
        raise ConfigError(f"invalid chrF orders: char_order={char_order}, word_order={word_order}")
    hyp_list, streams = _validate(hyps, refs)
    n_refs = len(streams)
    order = char_order + word_order
    out = np.zeros((len(hyp_list), 3 * order), dtype=np.int64)
    for start, stop in _blocks(hyp_list, streams, chunk_size):
        n = stop - start
        lines, present = _lines(hyp_list, streams, start, stop, lowercase)
        stats = np.zeros((n_refs, n, 3 * order), dtype=np.int64)
        col = 0
        for kind, n_orders in (("char", char_order), ("word", word_order)):
            if n_orders == 0:
                continue
            if kind == "char":
                ids, per_line = char_ids(lines, keep_whitespace=whitespace)
            else:
                ids, per_line = remove_punctuation_ids(lines)
            matches = ngram_matches(ids, per_line, n, n_refs + 1, n_orders, per_reference=True)
            lengths = per_line.reshape(n_refs + 1, n)
            for k in range(n_orders):
                hyp_total = np.maximum(lengths[0] - k, 0)
                ref_total = np.maximum(lengths[1:] - k, 0)
                stats[:, :, col] = np.where(ref_total > 0, hyp_total, 0)
                stats[:, :, col + 1] = ref_total
                stats[:, :, col + 2] = matches[:, :, k]
                col += 3
        if n_refs == 1:
            out[start:stop] = stats[0]
            continue
        scores = _chrf_f_scores(stats, beta, eps_smoothing)
        scores[~present] = -np.inf
        out[start:stop] = stats[np.argmax(scores, axis=0), np.arange(n)]
    return out


def extract_parallel(
    fn: Callable[..., np.ndarray],
    hyps: Sequence[str],
    refs: Refs,
    jobs: int,
    chunk_size: int = 50_000,
    **kw: Any,
) -> np.ndarray:
    """Run ``fn`` (:func:`bleu_stats` or :func:`chrf_stats`) on chunks in ``jobs`` processes.

    Segments are independent, so the chunk results simply stack; the result equals
    ``fn(hyps, refs, **kw)``. With ``jobs <= 1`` or a single chunk nothing is spawned.
    """
    hyp_list, streams = _validate(hyps, refs)
    n = len(hyp_list)
    if chunk_size < 1:
        raise ConfigError(f"chunk_size must be at least 1, got {chunk_size}")
    if jobs <= 1 or n <= chunk_size:
        return fn(hyp_list, streams, chunk_size=chunk_size, **kw)
    # Build the lookup tables here first: forked workers inherit them instead of each
    # spending ~0.3 s on them.
    fn(hyp_list[:1], [s[:1] for s in streams], chunk_size=chunk_size, **kw)
    starts = range(0, n, chunk_size)
    with ProcessPoolExecutor(max_workers=min(jobs, len(starts))) as pool:
        futures = [
            pool.submit(
                fn,
                hyp_list[a : a + chunk_size],
                [s[a : a + chunk_size] for s in streams],
                chunk_size=chunk_size,
                **kw,
            )
            for a in starts
        ]
        return np.concatenate([f.result() for f in futures])
