"""Clipped n-gram match counts for many segments at once: sorts of integer keys, no Counters.

Input: token ids of every line of one block, laid out stream-major (the hypothesis stream first,
then each reference stream; line ``s * n_seg + i`` is segment ``i`` of stream ``s``).

1. Ids are renumbered densely within each segment (``0 .. b_i - 1``), or over the whole block
   when its alphabet is small. N-grams are only ever compared inside one segment, so an n-gram
   of segment ``i`` is a number of ``n`` digits of ``bits_i = bit_length(b_i + 1)`` bits.
2. Main path (:func:`_count_sorted`): each position gets one int64 key -- its segment's offset,
   its next ``max_order`` tokens as digits, its stream in the low bits -- and one ``np.sort``
   serves every order: sorted neighbours share their order-``n`` n-gram iff their XOR is small.
   Per-stream counts of each run of equal n-grams come from prefix sums; ``min(hyp, ref)`` per
   n-gram is the clipped match, summed per segment. Distinct n-grams get distinct keys by
   construction: there is no hashing and nothing to verify.
3. Segments whose key range would not fit in 62 bits (thousands of distinct tokens) go through
   :func:`_count_compacting` instead: one sort per order, with the keys renumbered to dense
   per-segment ranks whenever the next order would overflow.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

__all__ = ["ngram_matches"]

_KEY_LIMIT = float(2**62)
_SENTINEL = np.iinfo(np.int64).max


def _exclusive_cumsum(values: np.ndarray, dtype: type = np.int64) -> np.ndarray:
    out = np.zeros(values.size + 1, dtype=dtype)
    np.cumsum(values, out=out[1:])
    return out


def _local_ids(
    ids: np.ndarray, seg: np.ndarray, per_seg: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Renumber ids ``0 .. b_i - 1`` within each segment; return them and ``b``.

    One argsort of ``seg * V + id``; the sorted order is segment-major, and ``per_seg`` (the
    positions of each segment) tells where each segment's stretch starts.
    """
    key = seg * (int(ids.max()) + 1) + ids
    order = np.argsort(key)
    sk = key[order]
    new = np.empty(sk.size, dtype=bool)
    new[0] = True
    np.not_equal(sk[1:], sk[:-1], out=new[1:])
    rank = np.cumsum(new, dtype=np.int64)
    starts = _exclusive_cumsum(per_seg)
    has = per_seg > 0
    first = np.zeros(per_seg.size, dtype=np.int64)
    first[has] = rank[starts[:-1][has]]
    base = np.zeros(per_seg.size, dtype=np.int64)
    base[has] = rank[starts[1:][has] - 1] - first[has] + 1
    rank -= np.repeat(first, per_seg)
    local = np.empty_like(rank)
    local[order] = rank
    return local, base


def _block_ids(
    ids: np.ndarray, per_seg: np.ndarray, max_order: int, tagbits: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """Ids renumbered densely over the whole block, if that alphabet is small enough.

    For characters of one script (a few hundred distinct code points) a block-wide numbering
    keeps every segment's key range within budget and saves the argsort of
    :func:`_local_ids`; otherwise (``None``) the caller numbers per segment.
    """
    top = int(ids.max()) + 1
    if top > 1 << 22:
        return None
    present = np.zeros(top, dtype=bool)
    present[ids] = True
    alphabet = np.flatnonzero(present)
    width = max_order * (alphabet.size + 1).bit_length() + tagbits
    if np.count_nonzero(per_seg) * 2.0**width >= _KEY_LIMIT:
        return None
    lut = np.empty(top, dtype=np.int64)
    lut[alphabet] = np.arange(alphabet.size)
    return lut[ids], np.where(per_seg > 0, alphabet.size, 0)


def _dense_ranks(
    key: np.ndarray, seg: np.ndarray, valid: np.ndarray, n_seg: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rank of each valid key among the distinct valid keys of its segment, and their number.

    ``key`` ranges must be segment-major. Invalid positions get rank 0.
    """
    key = np.where(valid, key, _SENTINEL)
    order = np.argsort(key)
    sk = key[order]
    new = np.empty(sk.size, dtype=bool)
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


def _add_matches(
    x: np.ndarray,
    tagbits: int,
    n_streams: int,
    seg_keys: np.ndarray,
    per_reference: bool,
    out: np.ndarray,
) -> None:
    """Add the clipped matches of one order, from its sorted tagged keys, to ``out``.

    Equal tagged keys form a group. A hypothesis group (tag 0) followed by a group whose key
    differs only in the tag bits is an n-gram found in both; group sizes are the counts.
    ``seg_keys`` are the segments' first tagged keys (plus the end); ``out`` is ``(n_seg,)``
    for BLEU or ``(n_refs, n_seg)`` for chrF.
    """
    size_x = x.size
    if size_x < 2:
        return
    change = np.empty(size_x, dtype=bool)
    change[0] = True
    np.not_equal(x[1:], x[:-1], out=change[1:])
    starts = np.flatnonzero(change)
    size = np.diff(starts, append=size_x)
    gx = x[starts]
    span = 1 << tagbits
    pair = (gx[1:] - gx[:-1]) < span
    pair &= (gx[:-1] & (span - 1)) == 0
    hyp = np.flatnonzero(pair)
    if hyp.size == 0:
        return
    hyp_x = gx[hyp]
    hyp_count = size[hyp]
    bounds = np.searchsorted(hyp_x, seg_keys)
    n_refs = n_streams - 1
    if n_refs == 1:
        ref_count = size[hyp + 1][None, :]
    else:
        n_hyp = hyp.size
        ref_count = np.zeros((n_refs, n_hyp), dtype=np.int64)
        flat = ref_count.reshape(-1)
        for j in range(1, n_streams):
            cols = np.flatnonzero(hyp + j < gx.size) if j > 1 else np.arange(n_hyp)
            group = hyp[cols] + j
            same = gx[group] - hyp_x[cols] < span
            cols, group = cols[same], group[same]
            if cols.size == 0:
                break
            flat[((gx[group] & (span - 1)) - 1) * n_hyp + cols] = size[group]
    if per_reference:
        for r in range(n_refs):
            csum = _exclusive_cumsum(np.minimum(hyp_count, ref_count[r]))
            out[r] += csum[bounds[1:]] - csum[bounds[:-1]]
    else:
        refmax = ref_count[0] if n_refs == 1 else ref_count.max(axis=0)
        csum = _exclusive_cumsum(np.minimum(hyp_count, refmax))
        out += csum[bounds[1:]] - csum[bounds[:-1]]


def _bit_length(values: np.ndarray) -> np.ndarray:
    """``int.bit_length`` of small non-negative int64 values (exact below ``2**53``)."""
    return np.frexp(values.astype(np.float64))[1].astype(np.int64)


def _light_segments(width: np.ndarray, per_seg: np.ndarray) -> np.ndarray:
    """Segments whose key ranges (``2**width`` each) fit together below ``2**62``.

    Narrow segments are taken first, so only segments with very many distinct tokens (long
    documents) are left for the slower, compacting path.
    """
    size = np.where(per_seg > 0, np.exp2(width.astype(np.float64)), 0.0)
    order = np.argsort(width, kind="stable")
    fits = np.cumsum(size[order]) < _KEY_LIMIT
    light = np.zeros(width.size, dtype=bool)
    light[order[fits]] = True
    return light


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
    shape = (max_order, n_refs, n_seg) if per_reference else (max_order, n_seg)
    result = np.zeros(shape, dtype=np.int64)
    if ids.size and max_order:
        seg_line = np.tile(np.arange(n_seg, dtype=np.int64), n_streams)
        seg = np.repeat(seg_line, line_len)
        per_seg = line_len.reshape(n_streams, n_seg).sum(axis=0)
        tagbits = max(1, n_refs.bit_length())
        dense = _block_ids(ids, per_seg, max_order, tagbits)
        local, base = dense if dense is not None else _local_ids(ids, seg, per_seg)
        width = max_order * _bit_length(base + 1) + tagbits
        light = _light_segments(width, per_seg)
        args = (base, n_seg, n_streams, tagbits, per_reference, result)
        if light.all():
            _count_sorted(local, line_len, *args)
        else:
            heavy_line = ~light[seg_line]
            heavy_pos = np.repeat(heavy_line, line_len)
            _count_sorted(local[~heavy_pos], np.where(heavy_line, 0, line_len), *args)
            _count_compacting(local[heavy_pos], np.where(heavy_line, line_len, 0), *args)
    if per_reference:
        return result.transpose(1, 2, 0)
    return result.T


def _count_sorted(
    local: np.ndarray,
    line_len: np.ndarray,
    base: np.ndarray,
    n_seg: int,
    n_streams: int,
    tagbits: int,
    per_reference: bool,
    result: np.ndarray,
) -> None:
    """All orders from one sort of the longest n-grams (:func:`_sorted_keys`).

    Per run of equal n-grams (:func:`_runs_by_order`), prefix sums of the stream tags give each
    stream's count; ``min(hyp, ref)`` is the clipped match, summed per segment.
    """
    max_order = result.shape[0]
    if not np.any(line_len):
        return
    per_seg = line_len.reshape(n_streams, n_seg).sum(axis=0)
    bits = _digit_bits(base, per_seg, tagbits, max_order)
    x, layout, seg_start = _sorted_keys(local, line_len, base, bits, per_seg, 1, tagbits, max_order)
    csum_type = np.int32 if x.size < 2**31 else np.int64
    xor = x[1:] ^ x[:-1]
    tags = x & ((1 << tagbits) - 1)
    del x
    tag_csum = [_exclusive_cumsum(tags == t, csum_type) for t in range(n_streams - 1)]
    del tags
    n_refs = n_streams - 1
    for n, starts, ends in _runs_by_order(xor, bits, layout, seg_start, tagbits, max_order):
        if starts.size == 0:
            continue
        counts = [csum[ends] - csum[starts] for csum in tag_csum]
        counts.append((ends - starts) - sum(counts))
        bounds = np.searchsorted(starts, seg_start)
        hyp = counts[0]
        if per_reference:
            for r in range(n_refs):
                csum = _exclusive_cumsum(np.minimum(hyp, counts[r + 1]))
                result[n - 1, r, layout] += csum[bounds[1:]] - csum[bounds[:-1]]
        else:
            refmax = counts[1] if n_refs == 1 else np.max(counts[1:], axis=0)
            csum = _exclusive_cumsum(np.minimum(hyp, refmax))
            result[n - 1, layout] += csum[bounds[1:]] - csum[bounds[:-1]]


def _digit_bits(base: np.ndarray, per_seg: np.ndarray, tagbits: int, max_order: int) -> np.ndarray:
    """Bits per token digit of each segment: ``bit_length(b_i + 1)``, or the widest of them for
    every segment when all keys still fit in 62 bits (simpler keys, one stretch)."""
    bits = _bit_length(base + 1)
    used = per_seg > 0
    widest = max_order * int(bits[used].max()) + tagbits
    if widest < 62 and np.count_nonzero(used) * 2.0**widest < _KEY_LIMIT:
        bits[:] = bits[used].max()
    return bits


def _sorted_keys(
    local: np.ndarray,
    line_len: np.ndarray,
    base: np.ndarray,
    bits: np.ndarray,
    per_seg: np.ndarray,
    n_sys: int,
    tagbits: int,
    max_order: int,
    kept_at: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The sorted keys of every position (or of ``kept_at``, ``per_seg`` of them per segment).

    A key is its segment's offset, then the next ``max_order`` tokens as ``bits_i``-bit digits,
    then the stream tag. Beyond the line end the digits are a pad: ``b_i`` on the hypothesis
    side (the first ``n_sys`` streams), ``b_i + 1`` on the references', so padded n-grams never
    match across the two sides. Segment ranges are powers of two laid out widest first. Returns
    the keys, the segment at each place of the key space, and where each place's keys start.
    """
    n_seg = base.size
    n_streams = line_len.size // n_seg
    seg_line = np.tile(np.arange(n_seg, dtype=np.int64), n_streams)
    tag_line = np.repeat(np.arange(n_streams, dtype=np.int64), n_seg)
    width = max_order * bits + tagbits
    layout = np.argsort(-width, kind="stable")  # segment at each place of the key space
    size = np.where(per_seg > 0, np.left_shift(1, width), 0)
    offset = np.empty(n_seg, dtype=np.int64)
    offset[layout] = _exclusive_cumsum(size[layout])[:-1]

    # Digits: lines padded with max_order - 1 pad tokens, so digit j is a plain slice.
    ext_len = line_len + (max_order - 1)
    total_ext = int(ext_len.sum())
    digits = np.repeat(base[seg_line] + (tag_line >= n_sys), ext_len)
    shift = (_exclusive_cumsum(ext_len) - _exclusive_cumsum(line_len))[:-1]
    real = np.arange(local.size, dtype=np.int64)
    real += np.repeat(shift, line_len)
    digits[real] = local
    digits = np.concatenate([digits, np.zeros(max_order - 1, dtype=np.int64)])
    uniform = bool(bits.min() == bits.max())
    step = int(bits[0]) if uniform else np.repeat(bits[seg_line], ext_len)
    key = digits[:total_ext]
    for j in range(1, max_order):
        key = np.left_shift(key, step, out=None if j == 1 else key)
        key |= digits[j : j + total_ext]
    del digits
    key <<= tagbits
    key += np.repeat(offset[seg_line] | tag_line, ext_len)
    x = key[real if kept_at is None else real[kept_at]]
    del key, real
    x.sort()
    return x, layout, _exclusive_cumsum(per_seg[layout])


def _run_bounds(boundary: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and ends of the runs of two or more keys; ``boundary`` is ``total + 1`` flags.

    ``boundary[i]``: a run starts at ``i`` (or ``i == total``). A run of two or more keys starts
    at a boundary not followed by one and ends at a boundary not preceded by one.
    """
    inner = ~boundary[1:]
    starts = np.flatnonzero(boundary[:-1] & inner)
    ends = np.flatnonzero(inner[:-1] & boundary[2:]) + 2
    return starts, ends


def _runs_by_order(
    xor: np.ndarray,
    bits: np.ndarray,
    layout: np.ndarray,
    place_start: np.ndarray,
    tagbits: int,
    max_order: int,
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """``(n, starts, ends)`` of the runs of equal order-``n`` n-grams, for ``n = 1..max_order``.

    ``xor`` is that of neighbouring keys from :func:`_sorted_keys`. The keys are lexicographic
    in the digits, hence sorted by every n-gram prefix too: two neighbours share their order-``n``
    n-gram iff their XOR is below ``2**(tagbits + bits_i * (D - n))``; a segment change always
    shows up as a larger XOR, segment ranges being aligned.
    """
    total = xor.size + 1
    n_seg = layout.size
    # Stretches of the sorted keys whose segments share the digit width.
    place_bits = bits[layout]
    edges = np.flatnonzero(np.diff(place_bits)) + 1
    stretches = [
        (int(place_start[a]), int(place_start[b]), int(place_bits[a]))
        for a, b in zip(np.r_[0, edges], np.r_[edges, n_seg], strict=True)
    ]
    boundary = np.ones(total + 1, dtype=bool)  # boundary[i]: a run starts at i (or i == total)
    for n in range(1, max_order + 1):
        for lo, hi, b in stretches:
            hi = min(hi, total - 1)
            if lo < hi:
                threshold = 1 << (tagbits + b * (max_order - n))
                np.greater_equal(xor[lo:hi], threshold, out=boundary[lo + 1 : hi + 1])
        yield (n, *_run_bounds(boundary))


def _count_compacting(
    local: np.ndarray,
    line_len: np.ndarray,
    base: np.ndarray,
    n_seg: int,
    n_streams: int,
    tagbits: int,
    per_reference: bool,
    result: np.ndarray,
) -> None:
    """Order by order, for segments with so many distinct tokens that keys would overflow.

    Before extending to order ``n``, if ``sum_i bound_i * base_i`` would pass ``2**62``, the
    order ``n - 1`` keys are replaced by their dense rank within the segment (an exact
    renumbering, at the price of an argsort).
    """
    if not np.any(line_len):
        return
    seg = np.repeat(np.tile(np.arange(n_seg, dtype=np.int64), n_streams), line_len)
    tag = np.repeat(np.repeat(np.arange(n_streams, dtype=np.int64), n_seg), line_len)
    rem = np.repeat(np.cumsum(line_len), line_len) - np.arange(local.size, dtype=np.int64)
    max_order = result.shape[0]
    total = local.size
    scale = float(2**tagbits)
    local_pad = np.concatenate([local, np.zeros(max_order, dtype=np.int64)])
    base_pos = base[seg]
    prefix = local.copy()  # relative key of the n-gram starting here; garbage where none does
    bound = base.copy()  # per segment, every relative key is < bound
    for n in range(1, max_order + 1):
        if n > 1:
            if float(np.sum(bound.astype(np.float64) * base)) * scale >= _KEY_LIMIT:
                offsets = _exclusive_cumsum(bound)
                prefix, bound = _dense_ranks(offsets[seg] + prefix, seg, rem >= n - 1, len(base))
            if float(np.sum(bound.astype(np.float64) * base)) * scale >= _KEY_LIMIT:
                raise OverflowError("n-gram key space exceeds 62 bits; use smaller chunks")
            prefix *= base_pos
            prefix += local_pad[n - 1 : n - 1 + total]
            bound = bound * base
        valid = rem >= n
        if not valid.any():
            break
        seg_keys = _exclusive_cumsum(bound) << tagbits
        x = seg_keys[seg]
        x += prefix << tagbits
        x |= tag
        x = x[valid]
        x.sort()
        _add_matches(x, tagbits, n_streams, seg_keys, per_reference, result[n - 1])
