"""Clipped n-gram match counts for many segments at once, with sorts instead of Counters.

Input: token ids of every line of one block, laid out stream-major (the hypothesis stream first,
then each reference stream; line ``s * n_seg + i`` is segment ``i`` of stream ``s``).

1. Ids are renumbered densely *within each segment* (``0 .. b_i - 1``); n-grams are only ever
   compared inside one segment, so a segment with ``b_i`` distinct tokens needs only
   ``b_i ** n`` n-gram keys of order ``n``.
2. The key of an n-gram is ``offset_n[i] + sum_j local[j] * b_i ** (n-1-j)``, where the offsets
   lay the segments' key ranges end to end. Distinct (segment, n-gram) pairs get distinct keys,
   so there is no hashing and nothing to verify. If the key space of an order would exceed
   ``2**62``, the keys of the previous order are first compacted to dense per-segment ranks.
3. Each position's key is shifted left and tagged with its stream; one ``np.sort`` per order
   groups equal n-grams of a segment, with the hypothesis copies first. Run lengths per tag are
   the counts; ``min(hyp, ref)`` per n-gram is the clipped match, summed per segment.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ngram_matches"]

_KEY_LIMIT = float(2**62)
_SENTINEL = np.iinfo(np.int64).max


def _exclusive_cumsum(values: np.ndarray) -> np.ndarray:
    out = np.zeros(values.size + 1, dtype=np.int64)
    np.cumsum(values, out=out[1:])
    return out


def _dense_ranks(
    key: np.ndarray, seg: np.ndarray, valid: np.ndarray, n_seg: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rank of each valid key among the distinct valid keys of its segment, and counts.

    ``key`` must increase with the segment (segment-major key ranges).
    """
    key = np.where(valid, key, _SENTINEL)
    order = np.argsort(key)
    sk = key[order]
    new = np.empty(sk.size, dtype=bool)
    if sk.size:
        new[0] = True
        np.not_equal(sk[1:], sk[:-1], out=new[1:])
    new &= valid[order]
    rank = np.cumsum(new) - 1
    sseg = seg[order]
    distinct = np.bincount(sseg[new], minlength=n_seg)
    first = _exclusive_cumsum(distinct)[:-1]
    ranks = np.empty(key.size, dtype=np.int64)
    ranks[order] = rank - first[sseg]
    ranks[~valid] = 0
    return ranks, distinct.astype(np.int64)


def _stream_counts(
    x: np.ndarray, tagbits: int, n_streams: int
) -> tuple[np.ndarray, np.ndarray]:
    """Run keys and per-stream counts of a sorted, tagged key array."""
    k = x >> tagbits
    new = np.empty(k.size, dtype=bool)
    new[0] = True
    np.not_equal(k[1:], k[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    bounds = np.append(starts, k.size)
    tags = x & ((1 << tagbits) - 1)
    counts = np.empty((n_streams, starts.size), dtype=np.int64)
    rest = np.diff(bounds)
    for s in range(n_streams - 1):
        csum = _exclusive_cumsum(tags == s)
        counts[s] = csum[bounds[1:]] - csum[bounds[:-1]]
        rest -= counts[s]
    counts[n_streams - 1] = rest
    return k[starts], counts


def ngram_matches(
    ids: np.ndarray,
    line_len: np.ndarray,
    n_seg: int,
    n_streams: int,
    max_order: int,
    per_reference: bool,
) -> np.ndarray:
    """Clipped matches of hypothesis n-grams, orders ``1..max_order``, per segment.

    ``per_reference=False`` (BLEU): clip by the maximum count over the references, result
    ``(n_seg, max_order)``. ``per_reference=True`` (chrF): clip by each reference separately,
    result ``(n_streams - 1, n_seg, max_order)``.
    """
    n_refs = n_streams - 1
    shape = (n_refs, n_seg, max_order) if per_reference else (n_seg, max_order)
    result = np.zeros(shape, dtype=np.int64)
    total = ids.size
    if total == 0 or max_order == 0:
        return result
    n_lines = n_streams * n_seg
    line_of = np.repeat(np.arange(n_lines, dtype=np.int64), line_len)
    seg = line_of % n_seg
    tag = line_of // n_seg
    line_end = np.cumsum(line_len)
    rem = line_end[line_of] - np.arange(total, dtype=np.int64)
    del line_of

    local, base = _dense_ranks(seg * (int(ids.max()) + 1) + ids, seg, rem > 0, n_seg)
    local_pad = np.concatenate([local, np.zeros(max_order, dtype=np.int64)])
    base_pos = base[seg]
    tagbits = max(1, (n_streams - 1).bit_length())
    scale = float(2**tagbits)

    prefix = local.copy()  # key of the n-gram starting here, relative to its segment
    bound = base.copy()  # per segment: all relative keys are < bound
    for n in range(1, max_order + 1):
        if n > 1:
            if float(np.sum(bound.astype(np.float64) * base)) * scale >= _KEY_LIMIT:
                offsets = _exclusive_cumsum(bound)
                prefix, bound = _dense_ranks(offsets[seg] + prefix, seg, rem >= n - 1, n_seg)
            if float(np.sum(bound.astype(np.float64) * base)) * scale >= _KEY_LIMIT:
                raise OverflowError("n-gram key space exceeds 62 bits; use a smaller block")
            prefix *= base_pos
            prefix += local_pad[n - 1 : n - 1 + total]
            bound = bound * base
        offsets = _exclusive_cumsum(bound)
        x = offsets[seg]
        x += prefix
        x <<= tagbits
        x |= tag
        invalid = rem < n
        n_valid = total - int(np.count_nonzero(invalid))
        if n_valid == 0:
            break
        x[invalid] = _SENTINEL
        x.sort()
        run_keys, counts = _stream_counts(x[:n_valid], tagbits, n_streams)
        seg_bounds = np.searchsorted(run_keys, offsets)
        hyp = counts[0]
        if per_reference:
            for r in range(n_refs):
                csum = _exclusive_cumsum(np.minimum(hyp, counts[r + 1]))
                result[r, :, n - 1] = csum[seg_bounds[1:]] - csum[seg_bounds[:-1]]
        else:
            refmax = counts[1:].max(axis=0)
            csum = _exclusive_cumsum(np.minimum(hyp, refmax))
            result[:, n - 1] = csum[seg_bounds[1:]] - csum[seg_bounds[:-1]]
    return result
