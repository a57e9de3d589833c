"""Vectorised tokenization: many lines -> one flat array of integer token keys per block.

The ``13a``, ``zh`` and ``intl`` tokenizers are regex pipelines in sacrebleu, applied one line at
a time. Here they are re-expressed as *token breaks* on the code points of all lines at once (see
:func:`_run_breaks` for why that is exact). Tokens are then keyed without building strings: the
characters of a token are packed into an int64 (long tokens are ranked or hashed-and-verified),
so equal keys mean equal tokens. Keys only need to be consistent within one block.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from ._tables import (
    BLOCK,
    DASH,
    ISO,
    RUN,
    WS,
    chrf_punct_table,
    tokenizer_table,
    whitespace_table,
)

__all__ = [
    "char_ids",
    "encode",
    "preprocess_13a",
    "remove_punctuation_ids",
    "split_ids",
    "tokenize_ids",
    "whitespace_ids",
]


def encode(lines: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Code points of all lines back to back (uint32) and the line offsets (``N + 1``)."""
    text = "".join(lines)
    cp = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    offsets = np.zeros(len(lines) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, lines), dtype=np.int64, count=len(lines)), out=offsets[1:])
    return cp, offsets


def _vocab_ids(tokens: list[str]) -> np.ndarray:
    """Integer id per token (the index of its first occurrence): equal ids iff equal strings."""
    vocab: dict[str, int] = {}
    return np.fromiter(
        map(vocab.setdefault, tokens, itertools.count()), dtype=np.int64, count=len(tokens)
    )


def _bit_length(value: int) -> int:
    return int(value).bit_length()


def _dense_rank(keys: np.ndarray) -> np.ndarray:
    """0-based rank of each key among the distinct keys (equal keys, equal ranks)."""
    order = np.argsort(keys)
    sk = keys[order]
    new = np.empty(sk.size, dtype=bool)
    new[0] = True
    np.not_equal(sk[1:], sk[:-1], out=new[1:])
    ranks = np.empty(sk.size, dtype=np.int64)
    ranks[order] = np.cumsum(new) - 1
    return ranks


def _ids_from_breaks(
    cp: np.ndarray, offsets: np.ndarray, ws: np.ndarray, brk: np.ndarray, small: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Tokens = maximal non-whitespace stretches, additionally cut before each ``brk`` position.

    ``brk`` has one entry per code point plus one; line starts are always cuts. Returns one
    integer key per token, equal iff the tokens are equal strings, and the tokens per line.
    Keys stay below ``2 ** (62 - bit_length(lines))`` so that the caller can prefix them
    with a segment number. With ``small``, when most tokens are single characters (Chinese),
    keys are small instead: the character's number, or past those the dense rank of a longer
    token, so that the caller can number tokens through a table rather than a sort.

    No strings are built: code points are renumbered densely (``bits`` bits each) and the first
    ``L`` characters of a token are packed into its key. Tokens longer than ``L`` are keyed by
    their dense rank instead, refined ``L'`` characters at a time, in a separate key range.
    """
    n = cp.size
    n_lines = offsets.size - 1
    per_line = np.zeros(n_lines, dtype=np.int64)
    start = np.empty(n, dtype=bool)
    if n:
        start[0] = True
        np.copyto(start[1:], ws[:-1])
    start |= brk[:n]
    start[offsets[:-1][offsets[:-1] < n]] = True
    start &= ~ws
    chars_at = np.flatnonzero(~ws)  # text position of each non-whitespace character
    if chars_at.size == 0:
        return np.zeros(0, dtype=np.int64), per_line
    first = np.flatnonzero(start[chars_at])  # token starts, in non-whitespace coordinates
    length = np.diff(first, append=chars_at.size)
    per_line = np.diff(np.searchsorted(chars_at[first], offsets))

    chars = cp[chars_at]
    top = int(chars.max()) + 1
    present = np.zeros(top, dtype=bool)
    present[chars] = True
    alphabet = np.flatnonzero(present)
    lut = np.empty(top, dtype=np.int64)
    lut[alphabet] = np.arange(1, alphabet.size + 1)
    code = lut[chars]  # 1..V; 0 means "no character"
    if small:
        multi = np.flatnonzero(length > 1)
        if 4 * multi.size < length.size:
            multi_ids = _hashed_token_ids(first[multi], length[multi], code) if multi.size else 0
            if multi_ids is not None:
                keys = code[first]
                keys[multi] = alphabet.size + 1 + multi_ids
                return keys, per_line
    bits = _bit_length(alphabet.size)
    key_bits = 62 - _bit_length(n_lines)
    short = (key_bits - 1) // bits
    within = np.arange(chars.size, dtype=np.int64)  # index of each character in its token
    within -= np.repeat(first, length)
    np.minimum(within, short, out=within)
    shifts = bits * (short - 1 - np.arange(short + 1, dtype=np.int64))
    shifts[short] = 64  # numpy defines x << 64 == 0: characters past ``short`` drop out
    keys = np.add.reduceat(code << shifts[within], first)
    long = np.flatnonzero(length > short)
    if long.size:
        start_l, length_l = first[long], length[long]
        # Re-ranking costs an argsort per round of ~``step`` more characters; for many rounds
        # (long words in a wide alphabet, e.g. unsegmented Chinese for chrF++) hashing wins.
        step = max(1, (key_bits - 1 - _bit_length(long.size)) // bits)
        ids = None
        if float(np.mean(length_l - short)) > 2 * step:
            ids = _hashed_token_ids(start_l, length_l, code)
        if ids is None:  # short overhangs, or a hash collision (never seen)
            ids = _long_token_ids(keys[long], start_l, length_l, code, short, bits, key_bits - 1)
        keys[long] = (1 << (key_bits - 1)) | ids
    return keys, per_line


_HASH_BASE = np.uint64(0x9E3779B97F4A7C15)


def _hashed_token_ids(start: np.ndarray, length: np.ndarray, code: np.ndarray) -> np.ndarray | None:
    """Dense ids of tokens by a 64-bit polynomial hash, *verified*; ``None`` on a collision.

    Tokens sharing a hash are compared character by character with the first of their group,
    so equal ids mean equal strings; a unique hash needs no check.
    """
    total = int(length.sum())
    within = np.arange(total, dtype=np.int64)
    within -= np.repeat(np.cumsum(length) - length, length)
    index = np.repeat(start, length) + within
    powers = np.cumprod(np.full(int(length.max()), _HASH_BASE, dtype=np.uint64))
    with np.errstate(over="ignore"):
        terms = code[index].astype(np.uint64) * powers[within]
        hashes = np.add.reduceat(terms, np.cumsum(length) - length)
        hashes += length.astype(np.uint64) * np.uint64(0xC2B2AE3D27D4EB4F)
    order = np.argsort(hashes)
    sh = hashes[order]
    new = np.empty(sh.size, dtype=bool)
    new[0] = True
    np.not_equal(sh[1:], sh[:-1], out=new[1:])
    rank_sorted = np.cumsum(new) - 1
    ids = np.empty(sh.size, dtype=np.int64)
    ids[order] = rank_sorted
    shared = ~new
    shared[:-1] |= ~new[1:]  # members of groups with two or more tokens
    if shared.any():
        members = order[shared]
        leader = order[np.flatnonzero(new)[rank_sorted[shared]]]
        if np.any(length[members] != length[leader]):
            return None
        lens = length[members]
        offs = np.arange(int(lens.sum()), dtype=np.int64)
        offs -= np.repeat(np.cumsum(lens) - lens, lens)
        a = code[np.repeat(start[members], lens) + offs]
        b = code[np.repeat(start[leader], lens) + offs]
        if not np.array_equal(a, b):
            return None
    return ids


def _long_token_ids(
    prefix_key: np.ndarray,
    start: np.ndarray,
    length: np.ndarray,
    code: np.ndarray,
    done: int,
    bits: int,
    key_bits: int,
) -> np.ndarray:
    """Ids for tokens too long to pack: equal iff equal strings, below ``2 ** key_bits``.

    The still-unfinished tokens are repeatedly re-ranked on (rank so far, next characters);
    a token gets its id when its characters run out, as ``(offset of that round) + rank``.
    Equal strings have equal lengths, so they finish in the same round with the same rank.
    """
    ids = np.empty(prefix_key.size, dtype=np.int64)
    active = np.arange(prefix_key.size)
    rank = _dense_rank(prefix_key)
    offset = 0
    while True:
        finished = length[active] <= done
        if finished.any():
            ids[active[finished]] = offset + rank[finished]
            offset += int(rank.max()) + 1
            active, rank = active[~finished], rank[~finished]
            if active.size == 0:
                return ids
        step = max(1, (key_bits - _bit_length(int(rank.max()))) // bits)
        key = rank.copy()
        act_start, act_len = start[active], length[active]
        for j in range(done, done + step):
            key <<= bits
            has = act_len > j
            key[has] |= code[act_start[has] + j]
        rank = _dense_rank(key)
        done += step


def _line_start_mask(offsets: np.ndarray, n: int) -> np.ndarray:
    """``n + 1`` flags: True where a line starts (and at the end of the text)."""
    mask = np.zeros(n + 1, dtype=bool)
    mask[offsets] = True
    return mask


def _run_breaks(flags: np.ndarray, line_start: np.ndarray, brk: np.ndarray, padded: bool) -> None:
    """Mark the RUN characters that the two "unless next to a digit" regexes split off.

    The regex pair ``(X)(Y) -> '\\1 \\2 '`` then ``(Y)(X) -> ' \\1 \\2'`` (Y the run class, e.g.
    ``[.,]``; X its complement among non-blockers, e.g. ``[^0-9]``) is applied by left-to-right,
    non-overlapping substitution. Within a maximal run ``a..b`` of Y characters the first pass
    splits every other character, starting at ``a`` if ``a`` has a non-blocking predecessor,
    else at ``a + 1``; it thereby surrounds those characters with spaces, which leaves every Y
    character isolated, so the second pass splits each one that has a non-blocking successor.
    Net effect: every Y character is split off except ``b`` when ``b`` was skipped by the first
    pass and is followed by a blocker or by nothing. ``padded`` (13a) puts a space before and
    after each line, i.e. a non-blocking neighbour; zh and intl see nothing there.
    """
    idx = np.flatnonzero(flags & RUN)
    if not idx.size:
        return
    m = idx.size
    new = np.empty(m, dtype=bool)
    new[0] = True
    np.not_equal(idx[1:], idx[:-1] + 1, out=new[1:])
    new[1:] |= line_start[idx[1:]]
    run_of = np.cumsum(new) - 1
    first = idx[new]
    run_end_pos = idx[np.flatnonzero(np.append(new[1:], True))]
    fl = np.append(flags, np.uint8(0))
    has_prev = ~line_start[first]
    prev_block = has_prev & ((fl[first - 1] & BLOCK) != 0)
    first_in_a = ~prev_block if padded else has_prev & ~prev_block
    nxt = run_end_pos + 1
    has_next = ~line_start[nxt]
    next_block = has_next & ((fl[nxt] & BLOCK) != 0)
    keep_last = next_block if padded else ~has_next | next_block
    k = idx - first[run_of]
    in_a = (k % 2 == 0) == first_in_a[run_of]
    glued = (idx == run_end_pos[run_of]) & ~in_a & keep_last[run_of]
    split = idx[~glued]
    brk[split] = True
    brk[split + 1] = True


def _dash_breaks(flags: np.ndarray, line_start: np.ndarray, brk: np.ndarray) -> None:
    """``([0-9])(-) -> '\\1 \\2 '``: a dash right after a digit is split off on both sides."""
    idx = np.flatnonzero(flags & DASH)
    if not idx.size:
        return
    fl = np.append(flags, np.uint8(0))
    hit = idx[~line_start[idx] & ((fl[idx - 1] & BLOCK) != 0)]
    brk[hit] = True
    brk[hit + 1] = True


def tokenize_ids(
    lines: Sequence[str], tokenize: str, small_ids: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Token ids and tokens per line for sacrebleu's ``13a``, ``zh`` or ``intl`` tokenizer.

    ``lines`` must already be what sacrebleu hands the tokenizer's regexes: lowercased,
    ``rstrip``-ed, and additionally ``strip``-ped for zh and through :func:`preprocess_13a` for 13a.
    ``small_ids``: see :func:`_ids_from_breaks`.
    """
    cp, offsets = encode(lines)
    n = cp.size
    flags = tokenizer_table(tokenize)[cp]
    ws = (flags & WS) != 0
    line_start = _line_start_mask(offsets, n)
    brk = np.zeros(n + 1, dtype=bool)
    iso = (flags & ISO) != 0
    brk[:n] |= iso
    brk[1:] |= iso
    _run_breaks(flags, line_start, brk, padded=tokenize == "13a")
    if tokenize != "intl":
        _dash_breaks(flags, line_start, brk)
    return _ids_from_breaks(cp, offsets, ws, brk, small_ids)


def preprocess_13a(lines: list[str]) -> list[str]:
    """13a's language-independent part (skipped tags, hyphenated line breaks, entities).

    The same ``str.replace`` calls in sacrebleu's order, skipped for lines they cannot change.
    """
    joined = "".join(lines)
    if "<skipped>" in joined:
        lines = [line.replace("<skipped>", "") for line in lines]
    if "\n" in joined:
        lines = [
            line.replace("-\n", "").replace("\n", " ") if "\n" in line else line for line in lines
        ]
    if "&" in joined:
        lines = [
            line.replace("&quot;", '"')
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            if "&" in line
            else line
            for line in lines
        ]
    return lines


def whitespace_ids(lines: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Token keys and tokens per line of ``line.split()`` (the ``none`` tokenizer)."""
    cp, offsets = encode(lines)
    ws = whitespace_table()[cp]
    return _ids_from_breaks(cp, offsets, ws, np.zeros(cp.size + 1, dtype=bool))


def split_ids(lines: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Ids and tokens per line of ``line.split()``, through a dict (for already-tokenized text)."""
    split = [line.split() for line in lines]
    per_line = np.fromiter(map(len, split), dtype=np.int64, count=len(split))
    return _vocab_ids(list(itertools.chain.from_iterable(split))), per_line


def char_ids(lines: Sequence[str], keep_whitespace: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Code points as ids (uint32; the ``char`` tokenizer, chrF's characters) and counts per line.

    Whitespace is dropped unless ``keep_whitespace`` (chrF's ``whitespace=True``).
    """
    cp, offsets = encode(lines)
    if keep_whitespace:
        return cp, np.diff(offsets)
    keep = np.flatnonzero(~whitespace_table()[cp])
    return cp[keep], np.diff(np.searchsorted(keep, offsets))


def remove_punctuation_ids(lines: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """chrF++ word tokens: ``CHRF._remove_punctuation`` of each line, as ids and counts.

    Each whitespace word longer than one character loses a trailing punctuation mark to a token
    of its own, or else a leading one.
    """
    cp, offsets = encode(lines)
    n = cp.size
    ws = whitespace_table()[cp]
    line_start = _line_start_mask(offsets, n)
    inword = ~ws
    starts_mask = inword.copy()
    if n:
        starts_mask[1:] &= ws[:-1] | line_start[1:n]
    ends_mask = inword.copy()
    if n:
        ends_mask[:-1] &= ws[1:] | line_start[1:n]
    starts = np.flatnonzero(starts_mask)
    ends = np.flatnonzero(ends_mask)
    brk = np.zeros(n + 1, dtype=bool)
    if starts.size:
        punct = chrf_punct_table()
        long = ends > starts
        tail = long & punct[cp[ends]]
        head = long & ~tail & punct[cp[starts]]
        brk[ends[tail]] = True
        brk[starts[head] + 1] = True
    return _ids_from_breaks(cp, offsets, ws, brk)
