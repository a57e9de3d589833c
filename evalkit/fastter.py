"""Fast, exact per-segment TER statistics (sacrebleu's ``[num_edits, ref_length]`` rows).

sacrebleu's TER (``metrics/lib_ter.py``) is a greedy shift search: each round computes a
beam-restricted edit distance with an op trace, derives an alignment from the trace, evaluates
every admissible block shift by another beam edit distance, and applies the best one. All of it
runs cell by cell in Python. This module keeps the search *identical* (same candidate order,
filters, de-duplication, candidate cap, ranking tuple and backtrace tie preference) and changes
only how the numbers are obtained, in one compiled (numba) function per segment, cached on disk
next to this module:

* a candidate shift changes only ``words[lo:hi]``, and every path of the edit-distance grid
  crosses row ``hi``, so its distance is ``min_j(D[hi, j] + back[hi, j])``, where ``back`` (the
  cheapest in-beam path from a cell to the end, computed once per round for the current
  hypothesis) replaces every row after ``hi``; rows before the first changed word are the current
  hypothesis' own, and consecutive candidates with the same first changed word share the rows
  where they spell the same words. The work per candidate is its shifted span at most;
* the op trace is recovered from the value matrix with sacrebleu's preference (sub/no-op, then
  deletion, then insertion: a later op only replaces a strictly larger cost);
* after a shift only the rows from the first moved word on are recomputed;
* the round that hits the 1000-candidate cap is discarded by sacrebleu, so its candidates are
  only counted, never scored;
* the tokenizer is sacrebleu's ``TercomTokenizer`` with its one-character regular expressions
  replaced by translation tables (string for string the same).

Segments are independent, so ``jobs > 1`` splits them over processes.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np
from numba import njit
from sacrebleu.metrics import lib_ter

from .errors import InputError

__all__ = ["TER_MAX_WORDS", "check_ter_lengths", "ter_stats", "ter_stats_many"]

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

TER_MAX_WORDS = 4_000
"""Words (after TER's tokenization) a hypothesis or reference may hold for TER. Both engines'
edit-distance tables grow with hypothesis × reference words: measured peak RSS for one segment
pair of 4,000 words is ~0.76 GB here and ~0.5 GB in sacrebleu, and at 100,000 characters
(~17,000 English words, 100,000 Chinese tokens) it would be tens of GB — a longer segment is an
InputError, never the out-of-memory killer."""


@njit(cache=True, nogil=True)
def _jit_windows(n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """``[lo, hi)`` column window of each matrix row, with sacrebleu's exact float arithmetic."""
    lo = np.empty(n + 1, np.int64)
    hi = np.empty(n + 1, np.int64)
    ratio = m / n if n else 1.0
    if _BEAM_WIDTH < ratio / 2:
        beam = math.ceil(ratio / 2 + _BEAM_WIDTH)
    else:
        beam = _BEAM_WIDTH
    lo[0] = 0
    hi[0] = m + 1
    for i in range(1, n + 1):
        diag = math.floor(i * ratio)
        lo[i] = max(0, diag - beam)
        hi[i] = m + 1 if i == n else min(m + 1, diag + beam)
    return lo, hi


@njit(cache=True, nogil=True)
def _jit_rows(
    words: np.ndarray,
    ref: np.ndarray,
    mat: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    start: int,
    stop: int,
) -> None:
    """Rows ``start+1..stop`` of the edit-distance matrix ``mat`` of ``words`` (row ``start``
    given). Only cells inside the beam are written, so the others keep ``_INF``."""
    for i in range(start + 1, stop + 1):
        w = words[i - 1]
        row = mat[i]
        above = mat[i - 1]
        j0 = lo[i]
        left = _INF
        if j0 == 0:  # column 0: deletions only
            left = above[0] + 1
            row[0] = left
            j0 = 1
        for j in range(j0, hi[i]):
            v = above[j - 1] + (1 if w != ref[j - 1] else 0)
            up = above[j] + 1
            if up < v:
                v = up
            if left + 1 < v:
                v = left + 1
            if v > _INF:
                v = _INF
            row[j] = v
            left = v


@njit(cache=True, nogil=True)
def _jit_suffix(
    words: np.ndarray, ref: np.ndarray, back: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> None:
    """``back[i, j]``: cheapest in-beam path from cell ``(i, j)`` to ``(n, m)`` for ``words``.

    A candidate shift changes only ``words[lo_c:hi_c]``; every path crosses row ``hi_c``, so the
    candidate's distance is ``min_j(D[hi_c, j] + back[hi_c, j])`` and its rows after ``hi_c``
    never need computing.
    """
    n = words.shape[0]
    m = ref.shape[0]
    for i in range(n, -1, -1):
        for j in range(hi[i] - 1, lo[i] - 1, -1):
            if i == n and j == m:
                back[i, j] = 0
                continue
            v = _INF
            if j < m:
                v = back[i, j + 1] + 1
            if i < n:
                down = back[i + 1, j] + 1
                if down < v:
                    v = down
                if j < m:
                    diag = back[i + 1, j + 1] + (1 if words[i] != ref[j] else 0)
                    if diag < v:
                        v = diag
            back[i, j] = v if v < _INF else _INF


@njit(cache=True, nogil=True)
def _jit_final(
    words: np.ndarray,
    ref: np.ndarray,
    dist: np.ndarray,
    back: np.ndarray,
    work: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    start: int,
    ready: int,
    stop: int,
) -> int:
    """``D[n][m]`` of ``words``, which equals the hypothesis of ``dist`` and ``back`` outside
    ``[start, stop)``: rows ``start+1..stop`` in ``work``, then the join with ``back``. Rows up to
    ``ready`` (> ``start``) are already in ``work`` (the previous candidate's, same words)."""
    n = words.shape[0]
    if start >= n:
        return dist[n, ref.shape[0]]
    if ready <= start:
        ready = start
        work[start, lo[start] : hi[start]] = dist[start, lo[start] : hi[start]]
    _jit_rows(words, ref, work, lo, hi, ready, stop)
    best = _INF
    for j in range(lo[stop], hi[stop]):
        v = work[stop, j] + back[stop, j]
        if v < best:
            best = v
    return best


@njit(cache=True, nogil=True)
def _jit_shift(words: np.ndarray, s: int, ln: int, t: int, out: np.ndarray) -> tuple[int, int]:
    """sacrebleu's ``_perform_shift(words, s, ln, t)`` written into ``out`` (equal to ``words``
    beforehand); returns the ``[lo, hi)`` range that changed."""
    n = words.shape[0]
    if t < s:
        lo, hi, a0, a1, b0, b1 = t, s + ln, s, s + ln, t, s
    elif t > s + ln:
        lo, hi, a0, a1, b0, b1 = s, t, s + ln, t, s, s + ln
    else:  # within the block: Python's slices stop at the end of the list
        hi = min(n, ln + t)
        lo, a0, a1, b0, b1 = s, s + ln, hi, s, s + ln
    p = lo
    for q in range(a0, a1):
        out[p] = words[q]
        p += 1
    for q in range(b0, b1):
        out[p] = words[q]
        p += 1
    return lo, hi


@njit(cache=True, nogil=True)
def _jit_alignment(
    words: np.ndarray,
    ref: np.ndarray,
    dist: np.ndarray,
    ops: np.ndarray,
    align: np.ndarray,
    hyp_cum: np.ndarray,
    ref_cum: np.ndarray,
) -> bool:
    """sacrebleu's ``trace_to_alignment(_flip_trace(trace))`` from the matrix ``dist``.

    sacrebleu stores the first of (sub/no-op, deletion, insertion) reaching a cell's minimum; the
    backtrace makes the same choice. Fills ``align`` (hypothesis position per reference word) and
    the prefix sums of the error flags; False where sacrebleu would meet an undefined cell.
    """
    n = words.shape[0]
    m = ref.shape[0]
    i = n
    j = m
    k = 0  # ops: 0 = match/sub, 1 = hypothesis word alone, 2 = reference word alone
    while i > 0 or j > 0:
        if i == 0:
            ops[k] = 2
            j -= 1
        elif j == 0:
            if dist[i, 0] >= _INF:
                return False
            ops[k] = 1
            i -= 1
        else:
            v = dist[i, j]
            if v >= _INF:
                return False
            if dist[i - 1, j - 1] + (1 if words[i - 1] != ref[j - 1] else 0) == v:
                ops[k] = 0
                i -= 1
                j -= 1
            elif dist[i - 1, j] + 1 == v:
                ops[k] = 1
                i -= 1
            else:
                ops[k] = 2
                j -= 1
        k += 1
    pos_h = -1
    pos_r = -1
    for t in range(k - 1, -1, -1):
        op = ops[t]
        if op == 0:
            pos_h += 1
            pos_r += 1
            align[pos_r] = pos_h
            err = 1 if words[pos_h] != ref[pos_r] else 0
            hyp_cum[pos_h + 1] = hyp_cum[pos_h] + err
            ref_cum[pos_r + 1] = ref_cum[pos_r] + err
        elif op == 1:
            pos_h += 1
            hyp_cum[pos_h + 1] = hyp_cum[pos_h] + 1
        else:
            pos_r += 1
            align[pos_r] = pos_h
            ref_cum[pos_r + 1] = ref_cum[pos_r] + 1
    return True


@njit(cache=True, nogil=True)
def _jit_candidates(
    words: np.ndarray,
    ref: np.ndarray,
    align: np.ndarray,
    hyp_cum: np.ndarray,
    ref_cum: np.ndarray,
    budget: int,
    cand: np.ndarray,
) -> int:
    """sacrebleu's admissible shifts ``(start_h, length, idx)`` into ``cand``, in its order.

    Returns their number, or -1 when the round reaches the candidate cap (``budget`` left):
    sacrebleu then discards the round, so nothing needs scoring.
    """
    n = words.shape[0]
    m = ref.shape[0]
    n_cand = 0
    for start_h in range(n):
        word = words[start_h]
        for start_r in range(
            max(0, start_h - _MAX_SHIFT_DIST), min(m, start_h + _MAX_SHIFT_DIST + 1)
        ):
            if ref[start_r] != word:
                continue
            max_len = min(_MAX_SHIFT_SIZE, n - start_h, m - start_r)
            run = 1
            while run < max_len and words[start_h + run] == ref[start_r + run]:
                run += 1
            a_r = align[start_r]
            for length in range(1, run + 1):
                if hyp_cum[start_h + length] == hyp_cum[start_h]:
                    continue  # the hypothesis words were right
                if ref_cum[start_r + length] == ref_cum[start_r]:
                    continue  # the reference words were matched
                if start_h <= a_r < start_h + length:
                    continue  # a shift within the block itself
                prev_idx = -1
                for offset in range(-1, length):
                    idx = 0 if start_r + offset == -1 else align[start_r + offset] + 1
                    if idx == prev_idx:
                        continue
                    prev_idx = idx
                    cand[n_cand, 0] = start_h
                    cand[n_cand, 1] = length
                    cand[n_cand, 2] = idx
                    n_cand += 1
                if n_cand >= budget:
                    return -1
    return n_cand


@njit(cache=True, nogil=True)
def _jit_edits(hyp: np.ndarray, ref: np.ndarray) -> int:
    """sacrebleu's ``translation_edit_rate(hyp, ref)[0]`` on word ids; -1 where sacrebleu would
    meet an undefined cell (the caller then runs sacrebleu itself)."""
    n = hyp.shape[0]
    m = ref.shape[0]
    lo, hi = _jit_windows(n, m)
    dist = np.full((n + 1, m + 1), _INF, np.int32)
    for j in range(m + 1):
        dist[0, j] = j
    _jit_rows(hyp, ref, dist, lo, hi, 0, n)
    back = np.full((n + 1, m + 1), _INF, np.int32)
    work = np.full((n + 1, m + 1), _INF, np.int32)  # candidates' rows (same beam cells)
    words = hyp.copy()
    shifted = hyp.copy()  # kept equal to words outside the candidate being scored
    earlier = hyp.copy()  # the previous candidate's words over [its first, its stop)
    ops = np.empty(n + m, np.int8)
    align = np.empty(m, np.int64)
    hyp_cum = np.zeros(n + 1, np.int64)
    ref_cum = np.zeros(m + 1, np.int64)
    # a (start_h, start_r, length) triple adds up to _MAX_SHIFT_SIZE + 1 before the cap check
    cand = np.empty((_MAX_SHIFT_CANDIDATES + _MAX_SHIFT_SIZE + 1, 3), np.int64)
    shifts = 0
    checked = 0
    while True:
        if not _jit_alignment(words, ref, dist, ops, align, hyp_cum, ref_cum):
            return -1
        n_cand = _jit_candidates(
            words, ref, align, hyp_cum, ref_cum, _MAX_SHIFT_CANDIDATES - checked, cand
        )
        if n_cand <= 0:
            break
        checked += n_cand
        pre = dist[n, m]
        _jit_suffix(words, ref, back, lo, hi)
        best = -1
        best_delta = 0
        best_len = 0
        best_sh = 0
        best_idx = 0
        best_first = 0
        prev_first = -1  # the previous scored candidate's rows first..prev_stop are in work
        prev_stop = -1
        for c in range(n_cand):
            s = cand[c, 0]
            ln = cand[c, 1]
            t = cand[c, 2]
            lo_c, hi_c = _jit_shift(words, s, ln, t, shifted)
            first = lo_c
            while first < hi_c and shifted[first] == words[first]:
                first += 1
            if first == hi_c:
                first = n
            ready = -1
            if first < n:
                if first == prev_first:  # consecutive targets of one block share rows
                    ready = first
                    while ready < min(prev_stop, hi_c) and shifted[ready] == earlier[ready]:
                        ready += 1
                earlier[first:hi_c] = shifted[first:hi_c]
                prev_first = first
                prev_stop = hi_c
            final = _jit_final(shifted, ref, dist, back, work, lo, hi, first, ready, hi_c)
            delta = pre - final
            shifted[lo_c:hi_c] = words[lo_c:hi_c]  # back to the current hypothesis
            # sacrebleu keeps the first maximum of (delta, length, -start_h, -idx); equal keys
            # are equal shifts
            if (
                best < 0
                or delta > best_delta
                or (
                    delta == best_delta
                    and (
                        ln > best_len
                        or (ln == best_len and (s < best_sh or (s == best_sh and t < best_idx)))
                    )
                )
            ):
                best = c
                best_delta = delta
                best_len = ln
                best_sh = s
                best_idx = t
                best_first = first
        if best_delta <= 0:
            break
        shifts += 1
        lo_c, hi_c = _jit_shift(words, best_sh, best_len, best_idx, shifted)
        words[lo_c:hi_c] = shifted[lo_c:hi_c]
        # rows before the first changed word are unchanged: recompute only the rest
        _jit_rows(words, ref, dist, lo, hi, best_first, n)
    final = dist[n, m]
    if final >= _INF:
        return -1
    return shifts + np.int64(final)


class _UnreachableError(Exception):
    """A cell sacrebleu would leave undefined; the caller falls back to sacrebleu."""


def _edits(hyp: list[int], ref: list[int]) -> int:
    """sacrebleu's ``translation_edit_rate(hyp, ref)[0]`` on integer word ids."""
    if not ref:
        return len(hyp)
    if hyp == ref:
        return 0
    edits = int(_jit_edits(np.array(hyp, dtype=np.int32), np.array(ref, dtype=np.int32)))
    if edits < 0:
        raise _UnreachableError
    return edits


def _segment_row(hyp_words: list[str], refs_words: list[list[str]]) -> tuple[int, float]:
    """``[best edits, average reference length]`` exactly as sacrebleu's TER segment stats."""
    vocab: dict[str, int] = {}
    hyp = [vocab.setdefault(w, len(vocab)) for w in hyp_words]
    n_hyp_vocab = len(vocab)
    best = int(1e16)
    total_len = 0
    for words_ref in refs_words:
        # words absent from the hypothesis never match: one shared id for them all
        ref = [vocab.get(w, n_hyp_vocab) for w in words_ref]
        try:
            edits = _edits(hyp, ref)
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


#: Characters each of sacrebleu's single-character ``re.sub(r"([...])", r" \1 ", sent)`` steps
#: pads with spaces, as code-point ranges, in its order (``tokenizer_ter.py``; a test checks every
#: code point against sacrebleu's own patterns). Such a step is a ``str.translate``, and
#: consecutive ones compose into one table.
_WESTERN_PUNCT = (
    (0x20, 0x26),
    (0x28, 0x2B),
    (0x2F, 0x2F),
    (0x3A, 0x40),
    (0x5B, 0x60),
    (0x7B, 0x7E),
)
_ASIAN_STEPS = (
    ((0x4E00, 0x9FFF), (0x3400, 0x4DBF)),  # CJK unified ideographs (+ extension A)
    ((0x31C0, 0x31EF), (0x2E80, 0x2EFF)),  # strokes, radicals
    ((0x3300, 0x33FF), (0xF900, 0xFAFF), (0xFE30, 0xFE4F)),  # compatibility
    ((0x3200, 0x3F22),),  # "enclosed CJK letters and months" (overlaps extension A)
    # (sacrebleu's three kana steps sit here: they are anchored at the line start, which is a
    # space after normalization, so they never match)
    ((0x3001, 0x3002), (0x3008, 0x3011), (0x3014, 0x301F), (0xFF61, 0xFF65), (0x30FB, 0x30FB)),
    ((0xFF0E, 0xFF0E), (0xFF0C, 0xFF0C), (0xFF1F, 0xFF1F), (0xFF1A, 0xFF1B), (0xFF01, 0xFF02)),
    ((0xFF08, 0xFF09),),
)
_PUNCT = '.,?:;!"()'  # no_punct's removed characters
_ASIAN_PUNCT_STEPS = _ASIAN_STEPS[4:]  # no_punct + asian_support removes these


def _codes(ranges: tuple[tuple[int, int], ...]) -> list[int]:
    return [c for lo, hi in ranges for c in range(lo, hi + 1)]


def _padding_table(steps: tuple[tuple[tuple[int, int], ...], ...]) -> dict[int, str]:
    """One ``str.translate`` table doing the padding steps in order (a translation of a
    concatenation is the concatenation of translations, so steps compose per character)."""
    table: dict[int, str] = {}
    for step in steps:
        for c in _codes(step):
            table[c] = f" {table.get(c, chr(c))} "
    return table


class _TercomTokenizer:
    """sacrebleu's ``TercomTokenizer``, string for string, ~5x faster on Chinese.

    sacrebleu pads every CJK character through ``re.sub`` with a ``\\1`` template (a Python-level
    expansion per character); here the single-character steps are translation tables and the
    literal ones ``str.replace``. The context-dependent steps (possessives, period and comma next
    to digits, dash after a digit) are sacrebleu's own regular expressions, in its order.
    """

    def __init__(self, flags: tuple[bool, bool, bool, bool]) -> None:
        self.normalized, self.no_punct, self.asian, self.case_sensitive = flags
        self.western = _padding_table((_WESTERN_PUNCT,))
        self.asian_pad = _padding_table(_ASIAN_STEPS) if self.asian else {}
        removed = [ord(c) for c in _PUNCT]
        if self.asian:
            removed += [c for step in _ASIAN_PUNCT_STEPS for c in _codes(step)]
        self.removed = dict.fromkeys(removed)
        self.regexes = [
            (re.compile(r"'s$"), r" 's"),
            (re.compile(r"([^0-9])([\.,])"), r"\1 \2 "),
            (re.compile(r"([\.,])([^0-9])"), r" \1 \2"),
            (re.compile(r"([0-9])(-)"), r"\1 \2 "),
        ]

    def tokenize(self, sent: str) -> str:
        if not sent:
            return ""
        if not self.case_sensitive:
            sent = sent.lower()
        if self.normalized:
            sent = sent.replace("\n-", "").replace("\n", " ")
            sent = sent.replace("&quot;", '"').replace("&amp;", "&")
            sent = sent.replace("&lt;", "<").replace("&gt;", ">")
            sent = f" {sent} ".translate(self.western).replace("'s ", " 's ")
            for pattern, template in self.regexes:
                sent = pattern.sub(template, sent)
            if self.asian:
                sent = sent.translate(self.asian_pad)
        if self.no_punct:
            sent = sent.translate(self.removed)
        return " ".join(sent.split())


@functools.cache
def _tokenizer(flags: tuple[bool, bool, bool, bool]) -> Callable[[str], str]:
    """One tokenizer per flag set, with sacrebleu's cache size: it spares re-tokenizing the same
    references for every system scored in this process."""
    return functools.lru_cache(maxsize=2**16)(_TercomTokenizer(flags).tokenize)


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


def _reference_segments(refs: Sequence[Sequence[str | None]]) -> list[list[str | None]]:
    """The references per segment (``refs`` is per stream), validated."""
    if isinstance(refs, str):
        raise InputError("hyps and refs must be sequences of strings, not one string")
    streams = [list(s) for s in refs]
    if not streams or any(isinstance(s, str) for s in refs):
        raise InputError("references must be a non-empty sequence of reference streams")
    for k, stream in enumerate(streams[1:], start=2):
        if len(stream) != len(streams[0]):
            raise InputError(
                f"reference stream {k} has {len(stream)} segments, "
                f"reference stream 1 has {len(streams[0])}"
            )
    per_seg = [list(seg) for seg in zip(*streams, strict=True)]
    for i, seg in enumerate(per_seg):
        if not all(r is None or isinstance(r, str) for r in seg):
            raise InputError("every reference must be a string (or None for 'no reference')")
        if all(r is None for r in seg):
            raise InputError(f"segment {i + 1} has no reference")
    return per_seg


def _hypotheses(hyps: Sequence[str], n_segments: int) -> list[str]:
    if isinstance(hyps, str):
        raise InputError("hyps and refs must be sequences of strings, not one string")
    hyp_list = list(hyps)
    if len(hyp_list) != n_segments:
        raise InputError(
            f"reference stream 1 has {n_segments} segments, the hypotheses have {len(hyp_list)}"
        )
    if not all(isinstance(h, str) for h in hyp_list):
        raise InputError("every hypothesis must be a string")
    return hyp_list


#: Below this many segments in a call, starting or feeding processes costs more than it saves.
_PARALLEL_MIN_SEGMENTS = 2_000
_pool: tuple[int, ProcessPoolExecutor] | None = None


def _shared_pool(jobs: int) -> ProcessPoolExecutor:
    """One process pool for the whole run (every system, metric pass and test set), not one per
    call. The kernel is compiled or loaded first, so forked workers inherit it ready to run."""
    global _pool
    if _pool is None or _pool[0] != jobs:
        if _pool is not None:
            _pool[1].shutdown(wait=False, cancel_futures=True)
        _jit_edits(np.zeros(1, dtype=np.int32), np.ones(1, dtype=np.int32))
        _pool = (jobs, ProcessPoolExecutor(max_workers=jobs))
    return _pool[1]


def ter_stats_many(
    systems: Sequence[Sequence[str]],
    refs: Sequence[Sequence[str | None]],
    *,
    normalized: bool = False,
    no_punct: bool = False,
    asian_support: bool = False,
    case_sensitive: bool = False,
    jobs: int = 1,
) -> list[np.ndarray]:
    """:func:`ter_stats` of several systems against the same references.

    With ``jobs > 1`` and enough segments, chunks of every system go to one shared pool of
    ``jobs`` processes, so the work of all systems (not just one system's segments) is spread;
    the arrays are identical either way.
    """
    per_seg = _reference_segments(refs)
    hyp_lists = [_hypotheses(h, len(per_seg)) for h in systems]
    flags = (normalized, no_punct, asian_support, case_sensitive)
    n = len(per_seg)
    if jobs <= 1 or n * len(hyp_lists) < _PARALLEL_MIN_SEGMENTS:
        return [_chunk_stats(h, per_seg, flags) for h in hyp_lists]
    # Many chunks balance uneven segment costs (long or shift-heavy lines dominate).
    size = min(1_024, max(32, -(-n * len(hyp_lists) // (jobs * 16))))
    bounds = [(a, min(n, a + size)) for a in range(0, n, size)]
    pool = _shared_pool(jobs)
    try:
        futures = [
            [pool.submit(_chunk_stats, h[a:b], per_seg[a:b], flags) for a, b in bounds]
            for h in hyp_lists
        ]
        return [np.concatenate([f.result() for f in parts]) for parts in futures]
    except BrokenProcessPool:
        global _pool
        _pool = None  # a worker died (killed, out of memory): the next call starts a new pool
        raise


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
    if isinstance(hyps, str):
        raise InputError("hyps and refs must be sequences of strings, not one string")
    (out,) = ter_stats_many(
        [hyps],
        refs,
        normalized=normalized,
        no_punct=no_punct,
        asian_support=asian_support,
        case_sensitive=case_sensitive,
        jobs=jobs,
    )
    return out
