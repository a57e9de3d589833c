"""Clipped n-gram matches of many systems against the same references, in one pass per block.

:mod:`._count` is tuned for one hypothesis stream. Here the lines of one block are laid out
stream-major with ``n_sys`` system streams first, then the ``n_refs`` reference streams (line
``s * n_seg + i`` is segment ``i`` of stream ``s``), and all of them are counted together, so the
reference side is numbered, keyed and sorted once whatever the number of systems.

1. Ids are renumbered per segment (:func:`_shared_ids`, through a table for characters, else
   one argsort): the tokens that occur both in a system and in a reference of segment ``i`` get
   ``0 .. b_i - 1``; every other token can never be part of a match and becomes a pad (``b_i``
   on the systems' side, ``b_i + 1`` on the references').
   An n-gram of segment ``i`` is then a number of ``n`` digits of ``bits_i = bit_length(b_i + 1)``
   bits, and positions starting with a pad are dropped before anything is sorted.
2. Main path (:func:`_count_sorted_many`): each remaining position gets one int64 key -- its
   segment's offset, its next ``max_order`` tokens as digits, its stream in the low bits -- and
   one ``np.sort`` serves every order: sorted neighbours share their order-``n`` n-gram iff their
   XOR is small. A run of equal n-grams holding keys of a system and of a reference adds
   ``min(count in system, count in reference)`` to that system's matches in that segment
   (:func:`_clip_runs`, or :func:`_clip_repeats` once few n-grams repeat within a line).
   Distinct n-grams get distinct keys by construction: there is no hashing, nothing to verify.
3. Segments whose key range would not fit in 62 bits (thousands of distinct shared tokens) go
   through :func:`_count_compacting_many`: one sort per order, with the keys renumbered to
   dense per-segment ranks whenever the next order would overflow.
"""

from __future__ import annotations

import numpy as np

from . import _count
from ._count import (
    _bit_length,
    _dense_ranks,
    _digit_bits,
    _exclusive_cumsum,
    _light_segments,
    _run_bounds,
    _runs_by_order,
    _sorted_keys,
)

__all__ = ["ngram_matches_many"]

#: With one reference, count the streams of every run (:func:`_clip_runs`) while more than one
#: key in this many repeats its n-gram within its line; from then on, count keys in mixed runs
#: and clip only the repeats (:func:`_clip_repeats`).
_DENSE_REPEATS = 16

#: Per-segment numbering by a (segment, character) table when the table has at most this many
#: entries per position of the block (plus a constant); otherwise by an argsort.
_TABLE_RATIO = 8


# --- shared tokens -----------------------------------------------------------------------------


def _shared_ids(
    ids: np.ndarray, seg: np.ndarray, n_seg: int, n_hyp: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-segment ids of the tokens found on both sides, and their number ``b`` per segment.

    The first ``n_hyp`` positions are the systems' (the hypothesis side). A token of segment
    ``i`` that both sides have gets its rank among those tokens (``0 .. b_i - 1``); any other
    token gets ``b_i`` on the hypothesis side and ``b_i + 1`` on the reference side.
    """
    top = int(ids.max()) + 1
    if top <= 1 << 22:  # characters (or small token ids): a table instead of a sort
        # Only ids found on both sides somewhere in the block get a column; the others share
        # one column that is never shared.
        in_hyp = np.zeros(top, dtype=bool)
        in_hyp[ids[:n_hyp]] = True
        both = np.zeros(top, dtype=bool)
        both[ids[n_hyp:]] = True
        both &= in_hyp
        alphabet = np.flatnonzero(both)
        cols = alphabet.size + 1
        if n_seg * cols <= _TABLE_RATIO * ids.size + (1 << 16):
            lut = np.full(top, alphabet.size, dtype=np.int64)
            lut[alphabet] = np.arange(alphabet.size)
            key = seg * cols
            key += lut[ids]
            return _shared_by_table(key, cols, seg, n_seg, n_hyp)
    return _shared_by_sort(seg, ids, top, n_seg, n_hyp)


def _shared_by_table(
    key: np.ndarray, cols: int, seg: np.ndarray, n_seg: int, n_hyp: int
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_shared_ids` for keys ``segment * cols + column``; the last column is one-sided."""
    n_keys = n_seg * cols
    in_hyp = np.zeros(n_keys, dtype=bool)
    in_hyp[key[:n_hyp]] = True
    shared = np.zeros(n_keys, dtype=bool)
    shared[key[n_hyp:]] = True
    shared &= in_hyp
    shared[cols - 1 :: cols] = False
    distinct = np.flatnonzero(shared)
    distinct_seg = distinct // cols
    base = np.bincount(distinct_seg, minlength=n_seg)
    rank = np.empty(n_keys, dtype=np.int64)
    rank[distinct] = np.arange(distinct.size) - _exclusive_cumsum(base)[distinct_seg]
    local = rank[key]
    pad = np.flatnonzero(~shared[key])
    local[pad] = base[seg[pad]] + (pad >= n_hyp)
    return local, base


def _shared_by_sort(
    seg: np.ndarray, ids: np.ndarray, top: int, n_seg: int, n_hyp: int
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_shared_ids` for any ids below ``top`` (one argsort).

    The key ``(segment, token, side)`` sorts the hypothesis side of each (segment, token) group
    before its reference side, so a group is shared iff it starts on the hypothesis side and
    ends on the reference side.
    """
    key = seg * top + ids
    key <<= 1
    key[n_hyp:] |= 1
    order = np.argsort(key)
    sk = key[order]
    new = np.empty(sk.size + 1, dtype=bool)
    new[0] = new[-1] = True
    np.greater_equal(sk[1:] ^ sk[:-1], 2, out=new[1:-1])
    edges = np.flatnonzero(new)  # groups of one token of one segment, and the end
    first_side = sk[edges[:-1]] & 1
    last_side = sk[edges[1:] - 1] & 1
    shared = first_side < last_side
    group_seg = (sk[edges[:-1]] >> 1) // top
    seg_edges = np.searchsorted(group_seg, np.arange(n_seg + 1))
    shared_before = _exclusive_cumsum(shared)
    base = np.diff(shared_before[seg_edges])
    # Shared groups are ranked in order within their segment; the others, one-sided, are pads.
    group_local = shared_before[:-1] - shared_before[seg_edges[group_seg]]
    np.copyto(group_local, base[group_seg] + first_side, where=~shared)
    local = np.empty(sk.size, dtype=np.int64)
    local[order] = np.repeat(group_local, np.diff(edges))
    return local, base


# --- the entry point ---------------------------------------------------------------------------


def ngram_matches_many(
    ids: np.ndarray,
    line_len: np.ndarray,
    n_seg: int,
    n_sys: int,
    n_refs: int,
    max_order: int,
    per_reference: bool,
) -> np.ndarray:
    """Clipped matches of each system's n-grams, orders ``1..max_order``, per segment.

    ``per_reference=False`` (BLEU): clip by the maximum count over the references, result
    ``(n_sys, n_seg, max_order)``. ``per_reference=True`` (chrF): clip by each reference
    separately, result ``(n_sys, n_refs, n_seg, max_order)``.
    """
    n_streams = n_sys + n_refs
    if per_reference:
        shape: tuple[int, ...] = (max_order, n_sys, n_refs, n_seg)
    else:
        shape = (max_order, n_sys, n_seg)
    result = np.zeros(shape, dtype=np.int64)
    if ids.size and max_order and n_sys:
        seg_line = np.tile(np.arange(n_seg, dtype=np.int64), n_streams)
        seg = np.repeat(seg_line, line_len)
        n_hyp = int(line_len[: n_sys * n_seg].sum())
        local, base = _shared_ids(ids, seg, n_seg, n_hyp)
        kept = local < base[seg]  # positions that start with a shared token
        per_seg = line_len.reshape(n_streams, n_seg).sum(axis=0)
        per_seg -= np.bincount(seg[~kept], minlength=n_seg)
        tagbits = max(1, (n_streams - 1).bit_length())
        width = max_order * _bit_length(base + 1) + tagbits
        light = _light_segments(width, per_seg)
        args = (base, n_seg, n_sys, n_refs, tagbits, result)
        if light.all():
            _count_sorted_many(local, line_len, kept, per_seg, *args)
        else:
            heavy_line = ~light[seg_line]
            heavy = np.repeat(heavy_line, line_len)
            light_pos = ~heavy
            light_len = np.where(heavy_line, 0, line_len)
            light_kept = np.where(light, per_seg, 0)
            light_args = (light_len, kept[light_pos], light_kept)
            _count_sorted_many(local[light_pos], *light_args, *args)
            _count_compacting_many(local[heavy], np.where(heavy_line, line_len, 0), *args)
    return np.moveaxis(result, 0, -1)


# --- clipping runs of equal n-grams ------------------------------------------------------------


def _stream_tags(x: np.ndarray, tagbits: int, n_sys: int) -> tuple[np.ndarray, np.ndarray]:
    """Each key's stream (small ints), and how many reference keys precede each position."""
    tags = (x & ((1 << tagbits) - 1)).astype(np.min_scalar_type((1 << tagbits) - 1))
    on_ref = tags >= n_sys
    ref_csum = np.zeros(x.size + 1, dtype=np.int32 if x.size < 2**31 else np.int64)
    np.cumsum(on_ref.view(np.uint8), dtype=ref_csum.dtype, out=ref_csum[1:])
    return tags, ref_csum


def _clip_runs(
    starts: np.ndarray,
    ends: np.ndarray,
    tags: np.ndarray,
    ref_csum: np.ndarray,
    n_sys: int,
    n_refs: int,
    place_start: np.ndarray,
    layout: np.ndarray,
    out: np.ndarray,
    want_repeats: bool = False,
) -> tuple[bool, np.ndarray | None]:
    """Add one order's clipped matches to ``out``; ``False`` first if no n-gram of it matched.

    The runs ``starts[j]:ends[j]`` of the sorted keys hold one n-gram each; ``tags`` are the
    keys' streams (systems first), ``ref_csum`` from :func:`_stream_tags`. A run contributes when
    it is *mixed*, holding keys of a system and of a reference: ``min(count in system, count in
    reference)``, the reference count being the maximum over the references (``out`` is
    ``(n_sys, n_seg)``, BLEU) or each one's own (``out`` is ``(n_sys, n_refs, n_seg)``, chrF).
    Place ``p`` (segment ``layout[p]``) owns the keys from position ``place_start[p]`` on.

    With ``want_repeats``, also returns the positions of the systems' keys in mixed runs whose
    n-gram occurs more than once in their own line (the only ones that can be clipped at the
    next order, see :func:`_clip_repeats`), sorted, if at most one key in ``_DENSE_REPEATS``
    is one; else ``None``.
    """
    ref_n = ref_csum[ends] - ref_csum[starts]
    sizes = ends - starts
    mixed = np.flatnonzero((ref_n > 0) & (ref_n < sizes))
    n_mixed = mixed.size
    if n_mixed == 0:
        return False, None
    run_start, lens = starts[mixed], sizes[mixed]
    # Count each stream in each mixed run: ``counts[j, s]``.
    n_streams = n_sys + n_refs
    inside = _run_mask(tags.size, run_start, run_start + lens)
    key_tags = tags[inside]
    size = n_mixed * n_streams
    flat = np.repeat(np.arange(0, size, n_streams), lens)
    flat += key_tags
    counts = np.bincount(flat, minlength=size)
    repeated = None
    if want_repeats:  # only worth listing when they are few
        sys_counts = counts.reshape(n_mixed, n_streams)[:, :n_sys]
        n_repeated = int(lens.sum() - ref_n[mixed].sum()) - np.count_nonzero(sys_counts == 1)
        if n_repeated * _DENSE_REPEATS <= tags.size:
            repeated = np.flatnonzero(inside)[(counts[flat] > 1) & (key_tags < n_sys)]
    counts = counts.reshape(n_mixed, n_streams)
    sys_count, ref_count = counts[:, :n_sys], counts[:, n_sys:]
    bounds = np.searchsorted(run_start, place_start)
    nonempty = np.flatnonzero(bounds[:-1] < bounds[1:])
    cuts, places = bounds[nonempty], layout[nonempty]
    if out.ndim == 2:
        ref_max = ref_count if n_refs == 1 else ref_count.max(axis=1, keepdims=True)
        out[:, places] += np.add.reduceat(np.minimum(sys_count, ref_max), cuts, axis=0).T
    else:
        for r in range(n_refs):
            matched = np.minimum(sys_count, ref_count[:, r : r + 1])
            out[:, r, places] += np.add.reduceat(matched, cuts, axis=0).T
    return True, repeated


def _run_mask(total: int, run_start: np.ndarray, run_end: np.ndarray) -> np.ndarray:
    """``total`` flags, set inside the sorted, disjoint runs ``run_start[j]:run_end[j]``."""
    counts = np.empty(2 * run_start.size + 1, dtype=np.int64)
    counts[0:-1:2] = run_start
    counts[2:-1:2] -= run_end[:-1]
    counts[1::2] = run_end - run_start
    counts[-1] = total - run_end[-1]
    pattern = np.zeros(counts.size, dtype=bool)
    pattern[1::2] = True
    return np.repeat(pattern, counts)


def _clip_repeats(
    repeated: np.ndarray,
    run_start: np.ndarray,
    run_end: np.ndarray,
    run_ref: np.ndarray,
    tags: np.ndarray,
    n_sys: int,
    place_start: np.ndarray,
    layout: np.ndarray,
    out: np.ndarray,
) -> np.ndarray:
    """Subtract the clipping of one order (one reference) from ``out``; return the new repeats.

    Keys of mixed runs are counted as matches in full (see :func:`_count_sorted_many`); where a
    system has an n-gram ``c > r`` times, ``c - r`` of them must come off. That needs ``c >= 2``,
    an n-gram repeated within its line, so only the ``repeated`` keys of the order before (whose
    shorter n-gram repeated) are grouped here, by run and system: a group of two or more holds
    every key of its system in that run.
    """
    run = np.searchsorted(run_start, repeated, side="right") - 1
    inside = (run >= 0) & (repeated < run_end[run])
    repeated, run = repeated[inside], run[inside]
    if repeated.size == 0:
        return repeated
    key = run * n_sys + tags[repeated]
    order = np.argsort(key, kind="stable")
    sk = key[order]
    new = np.empty(sk.size, dtype=bool)
    new[0] = True
    np.not_equal(sk[1:], sk[:-1], out=new[1:])
    first = np.flatnonzero(new)
    count = np.diff(first, append=sk.size)
    multi = count > 1
    group_key = sk[first[multi]]
    group_run = group_key // n_sys
    excess = count[multi] - run_ref[group_run]
    clipped = excess > 0
    place = np.searchsorted(place_start, run_start[group_run[clipped]], side="right") - 1
    np.subtract.at(out, (group_key[clipped] % n_sys, layout[place]), excess[clipped])
    return np.sort(repeated[order[np.repeat(multi, count)]])


# --- the two counting paths --------------------------------------------------------------------


def _count_sorted_many(
    local: np.ndarray,
    line_len: np.ndarray,
    kept: np.ndarray,
    per_seg: np.ndarray,
    base: np.ndarray,
    n_seg: int,
    n_sys: int,
    n_refs: int,
    tagbits: int,
    result: np.ndarray,
) -> None:
    """All orders from one sort of the longest n-grams (:func:`._count._sorted_keys`).

    ``kept``: the positions that start with a shared token, ``per_seg`` of them per segment;
    only they are keyed (the digits of tokens of one side only are pads, see
    :func:`_shared_ids`). Orders stop once nothing matched: no longer n-gram can match then.
    """
    max_order = result.shape[0]
    kept_at = np.flatnonzero(kept)
    if kept_at.size == 0:
        return
    bits = _digit_bits(base, per_seg, tagbits, max_order)
    x, layout, place_start = _sorted_keys(
        local, line_len, base, bits, per_seg, n_sys, tagbits, max_order, kept_at
    )
    total = x.size
    xor = x[1:] ^ x[:-1]
    tags, ref_csum = _stream_tags(x, tagbits, n_sys)
    del x
    args = (tags, ref_csum, n_sys, n_refs, place_start, layout)
    # Orders are first clipped by counting every stream of every mixed run (_clip_runs). With
    # one reference, once few keys repeat their n-gram within their line (as with Chinese
    # characters from order 2 or 3 on), the next orders are counted through ``level`` instead:
    # how many of them put the key in a mixed run (nested: a longer n-gram can only match if
    # its prefix does). Every system key of a mixed run then counts as a match, and
    # _clip_repeats takes off the clipped ones, which only repeated n-grams can be. Repeats are
    # looked for at orders 1 and 2 only: where they are still many at order 2 (Latin letters),
    # they stay many.
    one_ref = n_refs == 1 and max_order > 1
    level = np.zeros(total, dtype=np.min_scalar_type(max_order)) if one_ref else None
    first_marked = 0  # the first order counted through ``level``
    repeated = None  # keys whose n-gram repeats in their line, once they are few enough
    for n, starts, ends in _runs_by_order(xor, bits, layout, place_start, tagbits, max_order):
        if repeated is None:
            want = level is not None and n < min(max_order, 3)
            found, repeated = _clip_runs(starts, ends, *args, result[n - 1], want)
            if not found:
                break
            continue
        ref_n = ref_csum[ends] - ref_csum[starts]
        mixed = np.flatnonzero((ref_n > 0) & (ref_n < ends - starts))
        if mixed.size == 0:
            break
        run_start, run_end = starts[mixed], ends[mixed]
        level += _run_mask(total, run_start, run_end)
        first_marked = first_marked or n
        if repeated.size:
            out = result[n - 1].reshape(n_sys, n_seg)
            repeated = _clip_repeats(
                repeated, run_start, run_end, ref_n[mixed], tags, n_sys, place_start, layout, out
            )
    if first_marked:
        # A key is in mixed runs of orders first_marked .. first_marked + level - 1: count the
        # keys at each level per place and system.
        place = np.repeat(np.arange(n_seg, dtype=np.int64), np.diff(place_start))
        code = place * (n_sys + 1)
        code += tags
        code *= max_order
        code += level
        hist = np.bincount(code, minlength=n_seg * (n_sys + 1) * max_order)
        hist = hist.reshape(n_seg, n_sys + 1, max_order)[:, :n_sys]
        at_least = np.cumsum(hist[:, :, ::-1], axis=2)[:, :, ::-1]
        flat_result = result.reshape(max_order, n_sys, n_seg)
        for n in range(first_marked, max_order + 1):
            flat_result[n - 1][:, layout] += at_least[:, :, n - first_marked + 1].T


def _count_compacting_many(
    local: np.ndarray,
    line_len: np.ndarray,
    base: np.ndarray,
    n_seg: int,
    n_sys: int,
    n_refs: int,
    tagbits: int,
    result: np.ndarray,
) -> None:
    """Order by order, for segments with so many distinct tokens that keys would overflow.

    Only n-grams of shared tokens (digits below ``base``) are keyed. Before extending to order
    ``n``, if ``sum_i bound_i * base_i`` would pass ``2**62``, the order ``n - 1`` keys are
    replaced by their dense rank within the segment (an exact renumbering, at the price of an
    argsort).
    """
    if not np.any(line_len):
        return
    n_streams = n_sys + n_refs
    seg = np.repeat(np.tile(np.arange(n_seg, dtype=np.int64), n_streams), line_len)
    tag = np.repeat(np.repeat(np.arange(n_streams, dtype=np.int64), n_seg), line_len)
    rem = np.repeat(np.cumsum(line_len), line_len) - np.arange(local.size, dtype=np.int64)
    max_order = result.shape[0]
    total = local.size
    scale = float(2**tagbits)
    local_pad = np.concatenate([local, np.zeros(max_order, dtype=np.int64)])
    shared_pad = np.concatenate([local < base[seg], np.zeros(max_order, dtype=bool)])
    base_pos = base[seg]
    identity = np.arange(n_seg, dtype=np.int64)
    prefix = local.copy()  # relative key of the n-gram starting here; garbage where none does
    bound = base.copy()  # per segment, every relative key is < bound
    valid = shared_pad[:total]  # an n-gram of shared tokens, within the line, starts here
    for n in range(1, max_order + 1):
        if n > 1:
            if float(np.sum(bound.astype(np.float64) * base)) * scale >= _count._KEY_LIMIT:
                offsets = _exclusive_cumsum(bound)
                prefix, bound = _dense_ranks(offsets[seg] + prefix, seg, valid, n_seg)
            if float(np.sum(bound.astype(np.float64) * base)) * scale >= _count._KEY_LIMIT:
                raise OverflowError("n-gram key space exceeds 62 bits; use smaller chunks")
            prefix *= base_pos
            prefix += local_pad[n - 1 : n - 1 + total]
            bound = bound * base
            valid = valid & (rem >= n) & shared_pad[n - 1 : n - 1 + total]
        if np.count_nonzero(valid) < 2:
            return
        seg_keys = _exclusive_cumsum(bound) << tagbits
        x = seg_keys[seg]
        x += prefix << tagbits
        x |= tag
        x = x[valid]
        x.sort()
        boundary = np.ones(x.size + 1, dtype=bool)
        np.greater_equal(x[1:] ^ x[:-1], 1 << tagbits, out=boundary[1:-1])
        tags, ref_csum = _stream_tags(x, tagbits, n_sys)
        place_start = np.searchsorted(x, seg_keys)
        args = (tags, ref_csum, n_sys, n_refs, place_start, identity, result[n - 1])
        if not _clip_runs(*_run_bounds(boundary), *args)[0]:
            return
