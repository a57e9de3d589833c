"""Public entry points: sacrebleu's per-segment BLEU / chrF statistics, vectorised."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

from ..errors import ConfigError, InputError
from ._count import ngram_matches
from ._count_many import ngram_matches_many
from ._tables import patterns_supported
from ._text import (
    char_ids,
    preprocess_13a,
    remove_punctuation_ids,
    split_ids,
    tokenize_ids,
    whitespace_ids,
)

__all__ = [
    "BLEU_TOKENIZERS",
    "bleu_stats",
    "bleu_stats_many",
    "chrf_stats",
    "chrf_stats_many",
    "extract_parallel",
]

BLEU_TOKENIZERS: tuple[str, ...] = ("13a", "zh", "intl", "char", "none")
"""Tokenizers :func:`bleu_stats` reproduces exactly."""

#: Upper bound on the characters (all streams) tokenized and counted together. Keeps the numpy
#: working set in cache (a few MB) and memory bounded whatever ``chunk_size`` is; measured
#: fastest between 2**16 and 2**17.
_BLOCK_CHARS = 1 << 17

Refs = Sequence[Sequence[str | None]]


def _check_refs(refs: Refs) -> list[list[str | None]]:
    if isinstance(refs, str) or len(refs) == 0 or any(isinstance(r, str) for r in refs):
        raise InputError("references must be a non-empty sequence of reference streams")
    return [list(stream) for stream in refs]


def _check_hyps(hyps: Sequence[str], streams: list[list[str | None]], where: str) -> list[str]:
    """Materialise one hypothesis stream; lengths against ``streams`` and types checked."""
    hyp_list = list(hyps)
    for k, stream in enumerate(streams):
        if len(stream) != len(hyp_list):
            raise InputError(
                f"{where}reference stream {k + 1} has {len(stream)} segments, "
                f"the hypotheses have {len(hyp_list)}"
            )
    if not set(map(type, hyp_list)) <= {str} and not all(isinstance(h, str) for h in hyp_list):
        raise InputError(f"{where}every hypothesis must be a string")
    return hyp_list


def _check_ref_values(streams: list[list[str | None]]) -> None:
    for stream in streams:
        if not set(map(type, stream)) <= {str, type(None)} and not all(
            r is None or isinstance(r, str) for r in stream
        ):
            raise InputError("every reference must be a string (or None for 'no reference')")
    if any(None in stream for stream in streams):
        for i, seg in enumerate(zip(*streams, strict=True)):
            if all(r is None for r in seg):
                raise InputError(f"segment {i + 1} has no reference")


def _validate(hyps: Sequence[str], refs: Refs) -> tuple[list[str], list[list[str | None]]]:
    """Materialise the streams and reject what sacrebleu would mis-handle or crash on."""
    if isinstance(hyps, str):
        raise InputError("hypotheses must be a sequence of strings, not one string")
    streams = _check_refs(refs)
    hyp_list = _check_hyps(hyps, streams, "")
    _check_ref_values(streams)
    return hyp_list, streams


def _validate_many(
    systems: Sequence[Sequence[str]], refs: Refs
) -> tuple[list[list[str]], list[list[str | None]]]:
    """:func:`_validate` for each system; its messages start with ``systems[j]: ``."""
    if isinstance(systems, str):
        raise InputError("systems must be a sequence of hypothesis streams, not one string")
    systems = list(systems)
    for j, hyps in enumerate(systems):
        if isinstance(hyps, str):
            raise InputError(
                f"systems[{j}]: hypotheses must be a sequence of strings, not one string"
            )
    streams = _check_refs(refs)
    sys_lists = [_check_hyps(hyps, streams, f"systems[{j}]: ") for j, hyps in enumerate(systems)]
    if not sys_lists:
        for k, stream in enumerate(streams[1:], start=2):
            if len(stream) != len(streams[0]):
                raise InputError(
                    f"reference stream {k} has {len(stream)} segments, "
                    f"reference stream 1 has {len(streams[0])}"
                )
    _check_ref_values(streams)
    return sys_lists, streams


def _blocks(
    systems: list[list[str]], streams: list[list[str | None]], chunk_size: int
) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` ranges of at most ``chunk_size`` segments and ~``_BLOCK_CHARS``.

    The characters of a segment are counted over every system and reference stream.
    """
    if chunk_size < 1:
        raise ConfigError(f"chunk_size must be at least 1, got {chunk_size}")
    n = len(streams[0])
    chars = np.zeros(n, dtype=np.int64)
    for hyps in systems:
        chars += np.fromiter(map(len, hyps), dtype=np.int64, count=n)
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


class _Blocks:
    """The blocks of a corpus: every system's lines of a block, then each reference stream's.

    Absent references are ``''`` in the lines and ``False`` in ``present`` (``n_refs × n``).
    """

    def __init__(
        self,
        systems: list[list[str]],
        streams: list[list[str | None]],
        chunk_size: int,
        lowercase: bool,
    ) -> None:
        self.systems = systems
        self.streams = streams
        self.gaps = [None in stream for stream in streams]
        self.ranges = list(_blocks(systems, streams, chunk_size))
        self.lowercase = lowercase

    def __iter__(self) -> Iterator[tuple[int, int, list[str], np.ndarray | None]]:
        """``(start, stop, lines, present)``; ``present`` is ``None`` if no reference is absent."""
        for start, stop in self.ranges:
            lines: list[str] = []
            for hyps in self.systems:
                lines += hyps[start:stop]
            for stream, gaps in zip(self.streams, self.gaps, strict=True):
                if gaps:
                    lines += ["" if r is None else r for r in stream[start:stop]]
                else:
                    lines += stream[start:stop]
            present = None
            if any(self.gaps):
                present = np.array(
                    [[r is not None for r in s[start:stop]] for s in self.streams], dtype=bool
                ).reshape(len(self.streams), stop - start)
            if self.lowercase:
                lines = list(map(str.lower, lines))
            yield start, stop, lines, present


def _bleu_tokens(
    lines: list[str], tokenize: str, small_ids: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Token ids and counts per line after sacrebleu's ``tokenizer(line.rstrip())``.

    ``small_ids``: prefer small ids where that is cheap (see ``_text._ids_from_breaks``).
    """
    if not patterns_supported(tokenize):  # sacrebleu changed its regexes: use its tokenizer
        from sacrebleu.metrics.bleu import _get_tokenizer

        tokenizer = _get_tokenizer(tokenize)()
        return split_ids([tokenizer(line.rstrip()) for line in lines])
    if tokenize == "zh":  # the tokenizer strips what sacrebleu has rstripped
        return tokenize_ids(list(map(str.strip, lines)), tokenize, small_ids)
    lines = list(map(str.rstrip, lines))
    if tokenize == "none":
        return whitespace_ids(lines)
    if tokenize == "char":
        return char_ids(lines)
    if tokenize == "13a":
        lines = preprocess_13a(lines)
    return tokenize_ids(lines, tokenize, small_ids)


def _check_bleu_options(tokenize: str, max_ngram_order: int) -> None:
    if tokenize not in BLEU_TOKENIZERS:
        raise ConfigError(
            f"tokenizer {tokenize!r} has no fast path; use one of {', '.join(BLEU_TOKENIZERS)}"
        )
    if max_ngram_order < 1:
        raise ConfigError(f"max_ngram_order must be at least 1, got {max_ngram_order}")


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
    _check_bleu_options(tokenize, max_ngram_order)
    hyp_list, streams = _validate(hyps, refs)
    blocks = _Blocks([hyp_list], streams, chunk_size, lowercase)
    return _bleu_blocks(blocks, len(hyp_list), tokenize, max_ngram_order)[0]


def bleu_stats_many(
    systems: Sequence[Sequence[str]],
    refs: Refs,
    *,
    tokenize: str = "13a",
    lowercase: bool = False,
    max_ngram_order: int = 4,
    chunk_size: int = 50_000,
) -> list[np.ndarray]:
    """:func:`bleu_stats` of each system against the same ``refs``, the references read once.

    Equal to ``[bleu_stats(hyps, refs, ...) for hyps in systems]`` (an empty list for no
    systems), but the reference side (tokenization, n-gram keys, lengths) is done once per
    block of segments for all systems, and all streams of a block are counted in one sort.
    Errors are those of :func:`bleu_stats`, prefixed with ``systems[j]: `` when about system
    ``j``.
    """
    _check_bleu_options(tokenize, max_ngram_order)
    sys_lists, streams = _validate_many(systems, refs)
    blocks = _Blocks(sys_lists, streams, chunk_size, lowercase)
    return _bleu_blocks(blocks, len(streams[0]), tokenize, max_ngram_order)


def _matches(
    ids: np.ndarray,
    per_line: np.ndarray,
    n: int,
    n_sys: int,
    n_refs: int,
    order: int,
    per_reference: bool,
) -> np.ndarray:
    """Clipped matches ``(n_sys, [n_refs,] n, order)`` of one block.

    One system goes through :mod:`._count`, tuned for a single hypothesis stream; several go
    through :mod:`._count_many`, which counts the references once for all of them.
    """
    if n_sys == 1:
        return ngram_matches(ids, per_line, n, n_refs + 1, order, per_reference)[None]
    return ngram_matches_many(ids, per_line, n, n_sys, n_refs, order, per_reference)


def _bleu_blocks(blocks: _Blocks, n_total: int, tokenize: str, order: int) -> list[np.ndarray]:
    n_sys, n_refs = len(blocks.systems), len(blocks.streams)
    outs = [np.zeros((n_total, 2 + 2 * order), dtype=np.int64) for _ in range(n_sys)]
    if n_sys == 0:
        return outs
    for start, stop, lines, present in blocks:
        n = stop - start
        ids, per_line = _bleu_tokens(lines, tokenize, small_ids=n_sys > 1)
        lengths = per_line.reshape(n_sys + n_refs, n)
        hyp_len, ref_lens = lengths[:n_sys], lengths[n_sys:]
        if n_refs == 1:
            ref_len = np.broadcast_to(ref_lens, (n_sys, n))
        else:
            # sacrebleu keeps the closest reference length, the shorter one on ties.
            rank = np.abs(ref_lens - hyp_len[:, None]) * (int(ref_lens.max()) + 1) + ref_lens
            if present is not None:
                rank[:, ~present] = np.iinfo(np.int64).max
            ref_len = np.take_along_axis(ref_lens, np.argmin(rank, axis=1), axis=0)
        matches = _matches(ids, per_line, n, n_sys, n_refs, order, per_reference=False)
        totals = np.maximum(hyp_len[:, :, None] - np.arange(order), 0)
        for j, out in enumerate(outs):
            block = out[start:stop]
            block[:, 0] = hyp_len[j]
            block[:, 1] = ref_len[j]
            block[:, 2 : 2 + order] = matches[j]
            block[:, 2 + order :] = totals[j]
    return outs


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


def _check_chrf_options(char_order: int, word_order: int) -> None:
    if char_order < 0 or word_order < 0 or char_order + word_order < 1:
        raise ConfigError(f"invalid chrF orders: char_order={char_order}, word_order={word_order}")


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
    _check_chrf_options(char_order, word_order)
    hyp_list, streams = _validate(hyps, refs)
    blocks = _Blocks([hyp_list], streams, chunk_size, lowercase)
    orders = (char_order, word_order)
    return _chrf_blocks(blocks, len(hyp_list), orders, whitespace, beta, eps_smoothing)[0]


def chrf_stats_many(
    systems: Sequence[Sequence[str]],
    refs: Refs,
    *,
    char_order: int = 6,
    word_order: int = 0,
    lowercase: bool = False,
    whitespace: bool = False,
    beta: int = 2,
    eps_smoothing: bool = False,
    chunk_size: int = 50_000,
) -> list[np.ndarray]:
    """:func:`chrf_stats` of each system against the same ``refs``, the references read once.

    Equal to ``[chrf_stats(hyps, refs, ...) for hyps in systems]``; see :func:`bleu_stats_many`.
    """
    _check_chrf_options(char_order, word_order)
    sys_lists, streams = _validate_many(systems, refs)
    blocks = _Blocks(sys_lists, streams, chunk_size, lowercase)
    orders = (char_order, word_order)
    return _chrf_blocks(blocks, len(streams[0]), orders, whitespace, beta, eps_smoothing)


def _chrf_blocks(
    blocks: _Blocks,
    n_total: int,
    orders: tuple[int, int],
    whitespace: bool,
    beta: int,
    eps_smoothing: bool,
) -> list[np.ndarray]:
    n_sys, n_refs = len(blocks.systems), len(blocks.streams)
    char_order, word_order = orders
    order = char_order + word_order
    outs = [np.zeros((n_total, 3 * order), dtype=np.int64) for _ in range(n_sys)]
    if n_sys == 0:
        return outs
    for start, stop, lines, present in blocks:
        n = stop - start
        stats = np.zeros((n_sys, n_refs, n, 3 * order), dtype=np.int64)
        col = 0
        for kind, n_orders in (("char", char_order), ("word", word_order)):
            if n_orders == 0:
                continue
            if kind == "char":
                ids, per_line = char_ids(lines, keep_whitespace=whitespace)
            else:
                ids, per_line = remove_punctuation_ids(lines)
            matches = _matches(ids, per_line, n, n_sys, n_refs, n_orders, per_reference=True)
            lengths = per_line.reshape(n_sys + n_refs, n)
            for k in range(n_orders):
                hyp_total = np.maximum(lengths[:n_sys, None] - k, 0)
                ref_total = np.maximum(lengths[n_sys:] - k, 0)
                stats[..., col] = np.where(ref_total > 0, hyp_total, 0)
                stats[..., col + 1] = ref_total
                stats[..., col + 2] = matches[..., k]
                col += 3
        if n_refs == 1:
            best = stats[:, 0]
        else:
            scores = _chrf_f_scores(stats, beta, eps_smoothing)
            if present is not None:
                scores[:, ~present] = -np.inf
            pick = np.argmax(scores, axis=1)[:, None, :, None]
            best = np.take_along_axis(stats, pick, axis=1)[:, 0]
        for j, out in enumerate(outs):
            out[start:stop] = best[j]
    return outs


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
    # spending ~0.1 s on them.
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
