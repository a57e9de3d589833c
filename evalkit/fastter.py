"""Fast, exact per-segment TER statistics (sacrebleu's ``[num_edits, ref_length]`` rows).

sacrebleu's TER (``metrics/lib_ter.py``) is a greedy shift search: each round computes a
beam-restricted edit distance with an op trace, derives an alignment from the trace, evaluates
every admissible block shift by another beam edit distance, and applies the best one. All of it
runs cell by cell in Python. This module keeps the search *identical* (same candidate order,
filters, de-duplication, candidate cap, ranking tuple and backtrace tie preference) and changes
only how the numbers are obtained:

* the edit-distance rows are numpy vectors restricted to sacrebleu's beam window, stored as
  ``D[i][j] - i - j`` so that insertion within a row is a plain prefix-minimum scan
  (``np.minimum.accumulate``);
* all shift candidates of a round are evaluated together as one ``(candidates, window)`` array,
  each starting from the current hypothesis' row where it first differs (sacrebleu's prefix
  cache, without the trie);
* the op trace is recovered from the value matrix with sacrebleu's preference (sub/no-op, then
  deletion, then insertion: a later op only replaces a strictly larger cost);
* after a shift only the matrix rows from the first moved word on are recomputed;
* the round that hits the 1000-candidate cap is discarded by sacrebleu, so its candidates are only
  counted, never scored.

Segments are independent, so ``jobs > 1`` splits them over processes.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from sacrebleu.metrics import lib_ter
from sacrebleu.tokenizers.tokenizer_ter import TercomTokenizer

from .errors import InputError

__all__ = ["TER_MAX_WORDS", "check_ter_lengths", "ter_stats"]

# sacrebleu's constants, read from its module so a change there cannot silently diverge here.
_MAX_SHIFT_SIZE: int = lib_ter._MAX_SHIFT_SIZE
_MAX_SHIFT_DIST: int = lib_ter._MAX_SHIFT_DIST
_BEAM_WIDTH: int = lib_ter._BEAM_WIDTH
_MAX_SHIFT_CANDIDATES: int = lib_ter._MAX_SHIFT_CANDIDATES
if (lib_ter._COST_INS, lib_ter._COST_DEL, lib_ter._COST_SUB) != (1, 1, 1):
    raise ImportError("evalkit.fastter assumes sacrebleu's unit TER edit costs")

#: "Outside the beam". Finite costs stay far below it and infinite ones far below int32 overflow,
#: so no clipping is needed: any value >= _INF is infinite, as sacrebleu's 1e16 is.
_INF = 1 << 29
_DTYPE = np.int32
#: Cells of substitution costs gathered at once in a candidate batch (int32: 16 MB).
_GATHER_CELLS = 1 << 22

TER_MAX_WORDS = 4_000
"""Words (after TER's tokenization) a hypothesis or reference may hold for TER. Both engines'
edit-distance tables grow with hypothesis × reference words: measured peak RSS for one segment
pair of 4,000 words is ~0.76 GB here and ~0.5 GB in sacrebleu, and at 100,000 characters
(~17,000 English words, 100,000 Chinese tokens) it would be tens of GB — a longer segment is an
InputError, never the out-of-memory killer."""


def _beam_windows(n_hyp: int, n_ref: int) -> list[tuple[int, int]]:
    """``[lo, hi)`` column window of each matrix row, with sacrebleu's exact float arithmetic."""
    length_ratio = n_ref / n_hyp if n_hyp else 1
    if _BEAM_WIDTH < length_ratio / 2:
        beam_width = math.ceil(length_ratio / 2 + _BEAM_WIDTH)
    else:
        beam_width = _BEAM_WIDTH
    windows = [(0, n_ref + 1)]
    for i in range(1, n_hyp + 1):
        pseudo_diag = math.floor(i * length_ratio)
        lo = max(0, pseudo_diag - beam_width)
        hi = n_ref + 1 if i == n_hyp else min(n_ref + 1, pseudo_diag + beam_width)
        windows.append((lo, hi))
    return windows


class _Segment:
    """One hypothesis/reference pair as integer ids plus the tables every round reuses.

    Matrices hold ``F[i][j] = D[i][j] - i - j`` (``D`` = sacrebleu's cell cost) in columns shifted
    by one behind an INF sentinel column. In that form deletion and insertion cost nothing and a
    substitution ``c - 2``, so a row is one add, one minimum and one prefix-minimum scan.
    """

    def __init__(self, hyp: list[int], ref: list[int], vocab: int) -> None:
        self.ref = ref
        self.n_ref = len(ref)
        self.windows = _beam_windows(len(hyp), self.n_ref)
        # sub[w, j] = substitution cost - 2 of hyp word w at ref column j (column 0 has no
        # substitution: it pairs with the INF sentinel, so its value is irrelevant).
        ref_arr = np.asarray(ref, dtype=np.int64)
        sub = np.full((vocab, self.n_ref + 1), -1, dtype=_DTYPE)
        sub[:, 1:] -= ref_arr[None, :] == np.arange(vocab)[:, None]
        self.sub = sub
        positions: dict[int, list[int]] = {}
        for r, w in enumerate(ref):
            positions.setdefault(w, []).append(r)
        self.ref_positions = positions

    def matrix(self, hyp: np.ndarray, dist: np.ndarray | None = None, start: int = 0) -> np.ndarray:
        """The ``F`` matrix of ``hyp``; with ``dist``, rows up to ``start`` are kept (in place)."""
        n = len(hyp)
        if dist is None:
            dist = np.full((n + 1, self.n_ref + 2), _INF, dtype=_DTYPE)
            dist[0, 1:] = 0  # D[0][j] = j
            start = 0
        sub = self.sub
        for i in range(start + 1, n + 1):
            lo, hi = self.windows[i]
            prev = dist[i - 1]
            row = prev[lo:hi] + sub[hyp[i - 1], lo:hi]
            np.minimum(row, prev[lo + 1 : hi + 1], out=row)
            np.minimum.accumulate(row, out=row)
            dist[i, lo + 1 : hi + 1] = row
        return dist

    def final(self, dist: np.ndarray) -> int:
        """``D[n][n_ref]`` of an ``F`` matrix."""
        return int(dist[-1, -1]) + len(dist) - 1 + self.n_ref

    def batch_distances(
        self, shifted: np.ndarray, start: np.ndarray, dist: np.ndarray
    ) -> np.ndarray:
        """Final edit distance of each row of ``shifted`` (sorted by ``start`` ascending).

        Row ``c`` equals the current hypothesis before ``start[c]``, so its matrix rows up to
        ``start[c]`` are ``dist``'s; only the rest is computed, for all candidates at once.
        """
        n_cand, n = shifted.shape
        out = np.empty(n_cand, dtype=np.int64)
        done = int(np.searchsorted(start, n, side="left"))
        out[done:] = self.final(dist)
        if done == 0:
            return out
        first = int(start[0])
        rows = np.empty((done, self.n_ref + 2), dtype=_DTYPE)
        words = shifted[:done].T
        # Substitution rows are gathered for blocks of matrix rows at once (one fancy-index call
        # instead of one per row), in blocks of at most _GATHER_CELLS cells.
        block = max(1, _GATHER_CELLS // (done * (self.n_ref + 1)))
        # active[i] = number of candidates whose row i must be computed (start < i)
        active = np.searchsorted(start[:done], np.arange(n + 1), side="left").tolist()
        windows = self.windows
        k_prev = 0
        prev_lo = windows[first][0]
        for i in range(first + 1, n + 1):
            if (i - first - 1) % block == 0:
                gathered = self.sub[words[i - 1 : i - 1 + block]]
            k = active[i]
            if k > k_prev:
                rows[k_prev:k] = dist[i - 1]
                k_prev = k
            lo, hi = windows[i]
            cur = rows[:k]
            new = cur[:, lo:hi] + gathered[(i - first - 1) % block, :k, lo:hi]
            np.minimum(new, cur[:, lo + 1 : hi + 1], out=new)
            np.minimum.accumulate(new, axis=1, out=new)
            if lo > prev_lo:
                cur[:, prev_lo + 1 : lo + 1] = _INF
                prev_lo = lo
            cur[:, lo + 1 : hi + 1] = new
        out[:done] = rows[:, -1]
        out[:done] += n + self.n_ref
        return out


def _alignment(dist: np.ndarray, hyp: list[int], ref: list[int]) -> tuple[list, list, list]:
    """sacrebleu's ``trace_to_alignment(_flip_trace(trace))`` from the ``F`` matrix.

    sacrebleu stores the first of (sub/no-op, deletion, insertion) reaching a cell's minimum;
    the backtrace follows the same choice. Returns ``(align, ref_err, hyp_err)`` with
    ``align`` a list indexed by reference position.
    """
    d = dist.tolist()
    i, j = len(hyp), len(ref)
    ops: list[int] = []  # 0 = match/sub, 1 = hyp word consumed alone, 2 = ref word alone
    while i > 0 or j > 0:
        if i == 0:
            ops.append(2)
            j -= 1
            continue
        if j == 0:
            ops.append(1)
            i -= 1
            continue
        v = d[i][j + 1]  # F = D - i - j, so sub costs c - 2 and deletion/insertion 0
        if v + i + j >= _INF:
            raise _UnreachableError
        if d[i - 1][j] + (hyp[i - 1] != ref[j - 1]) - 2 == v:
            ops.append(0)
            i -= 1
            j -= 1
        elif d[i - 1][j + 1] == v:
            ops.append(1)
            i -= 1
        else:
            ops.append(2)
            j -= 1
    ops.reverse()
    pos_hyp = -1
    align: list[int] = []
    hyp_err: list[int] = []
    ref_err: list[int] = []
    for op in ops:
        if op == 0:
            pos_hyp += 1
            align.append(pos_hyp)
            err = int(hyp[pos_hyp] != ref[len(align) - 1])
            hyp_err.append(err)
            ref_err.append(err)
        elif op == 1:
            pos_hyp += 1
            hyp_err.append(1)
        else:
            align.append(pos_hyp)
            ref_err.append(1)
    return align, ref_err, hyp_err


class _UnreachableError(Exception):
    """A cell sacrebleu would leave undefined; the caller falls back to sacrebleu."""


def _prefix(values: list[int]) -> list[int]:
    out = [0]
    total = 0
    for v in values:
        total += v
        out.append(total)
    return out


def _candidates(
    seg: _Segment, hyp: list[int], dist: np.ndarray, budget: int
) -> list[tuple[int, int, int]] | None:
    """sacrebleu's admissible shifts ``(start_h, length, idx)`` in its order.

    ``None`` when the round reaches the candidate cap (``budget`` left): sacrebleu then discards
    the round, so nothing needs scoring.
    """
    align, ref_err, hyp_err = _alignment(dist, hyp, seg.ref)
    hyp_cum = _prefix(hyp_err)
    ref_cum = _prefix(ref_err)
    ref = seg.ref
    n_h, n_r = len(hyp), seg.n_ref
    positions = seg.ref_positions
    out: list[tuple[int, int, int]] = []
    for start_h in range(n_h):
        for start_r in positions.get(hyp[start_h], ()):
            if abs(start_r - start_h) > _MAX_SHIFT_DIST:
                if start_r > start_h:
                    break
                continue
            max_len = min(_MAX_SHIFT_SIZE, n_h - start_h, n_r - start_r)
            run = 1
            while run < max_len and hyp[start_h + run] == ref[start_r + run]:
                run += 1
            a_r = align[start_r]
            for length in range(1, run + 1):
                if hyp_cum[start_h + length] == hyp_cum[start_h]:
                    continue
                if ref_cum[start_r + length] == ref_cum[start_r]:
                    continue
                if start_h <= a_r < start_h + length:
                    continue
                prev_idx = -1
                for offset in range(-1, length):
                    idx = 0 if start_r + offset == -1 else align[start_r + offset] + 1
                    if idx == prev_idx:
                        continue
                    prev_idx = idx
                    out.append((start_h, length, idx))
                if len(out) >= budget:
                    return None
    return out


def _edits(hyp: list[int], ref: list[int], vocab: int) -> int:
    """sacrebleu's ``translation_edit_rate(hyp, ref)[0]`` on integer word ids."""
    if not ref:
        return len(hyp)
    if hyp == ref:
        return 0
    seg = _Segment(hyp, ref, vocab)
    words = np.asarray(hyp, dtype=np.int64)
    n = len(hyp)
    shifts = 0
    checked = 0
    dist = seg.matrix(words)
    while True:
        cands = _candidates(seg, hyp, dist, _MAX_SHIFT_CANDIDATES - checked)
        if cands is None or not cands:
            break
        checked += len(cands)
        arr = np.asarray(cands, dtype=np.int64)
        # sacrebleu's own _perform_shift: exact by construction, and cheap next to the DP
        shifted = np.array([lib_ter._perform_shift(hyp, s, ln, t) for s, ln, t in cands])
        differs = shifted != words[None, :]
        start = np.where(differs.any(axis=1), differs.argmax(axis=1), n)
        order = np.argsort(start, kind="stable")
        scores = np.empty(len(cands), dtype=np.int64)
        scores[order] = seg.batch_distances(shifted[order], start[order], dist)
        delta = seg.final(dist) - scores
        # sacrebleu keeps the max of (delta, length, -start_h, -idx); equal keys are equal shifts
        best = int(np.lexsort((-arr[:, 2], -arr[:, 0], arr[:, 1], delta))[-1])
        if delta[best] <= 0:
            break
        shifts += 1
        words = shifted[best]
        hyp = words.tolist()
        # rows before the first changed word are unchanged: recompute only the rest
        dist = seg.matrix(words, dist, int(start[best]))
    final = seg.final(dist)
    if final >= _INF:
        raise _UnreachableError
    return shifts + final


def _segment_row(hyp_words: list[str], refs_words: list[list[str]]) -> tuple[int, float]:
    """``[best edits, average reference length]`` exactly as sacrebleu's TER segment stats."""
    vocab: dict[str, int] = {}
    hyp = [vocab.setdefault(w, len(vocab)) for w in hyp_words]
    n_hyp_vocab = len(vocab)
    best = int(1e16)
    total_len = 0
    for words_ref in refs_words:
        # words absent from the hypothesis never match; one shared id keeps the table small
        ref = [vocab.get(w, n_hyp_vocab) for w in words_ref]
        try:
            edits = _edits(hyp, ref, n_hyp_vocab + 1)
        except _UnreachableError:
            edits = lib_ter.translation_edit_rate(hyp_words, words_ref)[0]
        total_len += len(words_ref)
        if edits < best:
            best = edits
    return best, total_len / len(refs_words)


def _check_words(hyp: str, words: int) -> None:
    if words > TER_MAX_WORDS:
        raise InputError(
            f"TER cannot score a segment of {words:,} words (at most {TER_MAX_WORDS:,} per "
            f"hypothesis or reference: its memory grows with their product); the segment "
            f"whose hypothesis starts {hyp[:40]!r}: leave ter out of --metrics or split it"
        )


def check_ter_lengths(
    hyps: Sequence[str],
    refs: Sequence[Sequence[str | None]],
    flags: tuple[bool, bool, bool, bool],
) -> None:
    """:func:`ter_stats`'s length check, for sacrebleu's TER (same tokenizer, same flags).

    Only texts longer than :data:`TER_MAX_WORDS` characters are tokenized: a token is at least
    one character, so shorter ones cannot break it.
    """
    tok = _tokenizer(flags)
    for i, hyp in enumerate(hyps):
        for text in (hyp, *(r[i] for r in refs)):
            if text is not None and len(text) > TER_MAX_WORDS:
                _check_words(hyp, len(tok(text.rstrip()).split()))


@functools.cache
def _tokenizer(flags: tuple[bool, bool, bool, bool]) -> TercomTokenizer:
    """One tokenizer per flag set: its LRU cache then spares re-tokenizing the same references
    for every system scored in this process."""
    return TercomTokenizer(*flags)


def _chunk_stats(
    hyps: list[str], refs: list[list[str | None]], flags: tuple[bool, bool, bool, bool]
) -> np.ndarray:
    """Rows for one chunk of segments (``refs`` is per segment here, not per stream)."""
    tok = _tokenizer(flags)
    out = np.empty((len(hyps), 2), dtype=np.float64)
    for i, (hyp, seg_refs) in enumerate(zip(hyps, refs, strict=True)):
        hyp_words = tok(hyp.rstrip()).split()
        # sacrebleu preprocesses references twice (_cache_references, then
        # _extract_reference_info); the tokenizer is not idempotent, so neither are we.
        refs_words = [tok(tok(r.rstrip()).rstrip()).split() for r in seg_refs if r is not None]
        _check_words(hyp, max(len(hyp_words), *map(len, refs_words)))
        out[i] = _segment_row(hyp_words, refs_words)
    return out


def ter_stats(
    hyps: Sequence[str],
    refs: Sequence[Sequence[str | None]],
    *,
    normalized: bool = False,
    no_punct: bool = False,
    asian_support: bool = False,
    case_sensitive: bool = False,
    jobs: int = 1,
) -> np.ndarray:
    """Per-segment ``[num_edits, ref_length]`` rows, identical to sacrebleu's.

    Equals ``TER(normalized=..., no_punct=..., asian_support=..., case_sensitive=...)
    ._extract_corpus_statistics(hyps, refs)`` as an ``(N, 2)`` float64 array: ``refs[k][i]`` is
    reference stream ``k`` of segment ``i`` (``None`` = no such reference); the edits are the best
    over the references, the length their average. ``jobs > 1`` splits segments over processes.
    """
    if isinstance(hyps, str) or isinstance(refs, str):
        raise InputError("hyps and refs must be sequences of strings, not one string")
    hyp_list = list(hyps)
    streams = [list(s) for s in refs]
    if not streams or any(isinstance(s, str) for s in refs):
        raise InputError("references must be a non-empty sequence of reference streams")
    for k, stream in enumerate(streams):
        if len(stream) != len(hyp_list):
            raise InputError(
                f"reference stream {k + 1} has {len(stream)} segments, "
                f"the hypotheses have {len(hyp_list)}"
            )
    if not all(isinstance(h, str) for h in hyp_list):
        raise InputError("every hypothesis must be a string")
    per_seg = [list(seg) for seg in zip(*streams, strict=True)]
    for i, seg in enumerate(per_seg):
        if not all(r is None or isinstance(r, str) for r in seg):
            raise InputError("every reference must be a string (or None for 'no reference')")
        if all(r is None for r in seg):
            raise InputError(f"segment {i + 1} has no reference")
    flags = (normalized, no_punct, asian_support, case_sensitive)
    n = len(hyp_list)
    if jobs <= 1 or n < 2:
        return _chunk_stats(hyp_list, per_seg, flags)
    # Many small chunks balance uneven segment costs (long or shift-heavy lines dominate).
    n_chunks = min(n, jobs * 8)
    bounds = [n * c // n_chunks for c in range(n_chunks + 1)]
    with ProcessPoolExecutor(max_workers=min(jobs, n_chunks)) as pool:
        futures = [
            pool.submit(_chunk_stats, hyp_list[a:b], per_seg[a:b], flags)
            for a, b in zip(bounds, bounds[1:], strict=False)
        ]
        return np.concatenate([f.result() for f in futures])
