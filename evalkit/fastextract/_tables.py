"""Per-code-point character classes for the vectorised tokenizers.

Every class is derived at run time from sacrebleu's own compiled patterns and range tables (or
from Python's own ``str.isspace``), never retyped by hand, so the fast path classifies each code
point exactly as sacrebleu does. Tables are built lazily, once per process (0.05-0.1 s each).
"""

from __future__ import annotations

import bisect
import re
from functools import cache

import numpy as np

__all__ = [
    "BLOCK",
    "DASH",
    "ISO",
    "N_CODEPOINTS",
    "RUN",
    "WS",
    "chrf_punct_table",
    "patterns_supported",
    "tokenizer_table",
    "whitespace_table",
]

N_CODEPOINTS = 0x110000

# Flag bits of a tokenizer table (uint8 per code point).
WS = 1  # str.split() whitespace
ISO = 2  # always a token of its own (13a's first regex, zh's CJK ranges, intl's \p{S})
RUN = 4  # split off by the "unless preceded/followed by a digit" pair of regexes
BLOCK = 8  # the "digit" that blocks those regexes ([0-9] for 13a/zh, \p{N} for intl)
DASH = 16  # '-' split off after a digit (13a/zh only)

# The regexes the vectorised 13a/zh/intl tokenizers are derived from. If sacrebleu ever changes
# them, the fast tokenizers are no longer proven equal and the caller falls back to sacrebleu.
_RE_13A = [
    (r"([\{-\~\[-\` -\&\(-\+\:-\@\/])", r" \1 "),
    (r"([^0-9])([\.,])", r"\1 \2 "),
    (r"([\.,])([^0-9])", r" \1 \2"),
    (r"([0-9])(-)", r"\1 \2 "),
]
_RE_INTL = [
    (r"(\P{N})(\p{P})", r"\1 \2 "),
    (r"(\p{P})(\P{N})", r" \1 \2"),
    (r"(\p{S})", r" \1 "),
]


@cache
def _all_chars() -> str:
    """Every code point once, in order (decoded in one go: no million 1-char objects)."""
    codes = np.arange(N_CODEPOINTS, dtype="<u4")
    return codes.tobytes().decode("utf-32-le", "surrogatepass")


def _mask_from_pattern(pattern: re.Pattern[str] | object) -> np.ndarray:
    """Code points a compiled single-character pattern matches (``re`` or ``regex``)."""
    mask = np.zeros(N_CODEPOINTS, dtype=bool)
    hits = [m.start() for m in pattern.finditer(_all_chars())]  # type: ignore[attr-defined]
    mask[np.asarray(hits, dtype=np.int64)] = True
    return mask


@cache
def whitespace_table() -> np.ndarray:
    """Code points ``str.split()`` splits on (``re``'s ``\\s`` is the same predicate)."""
    mask = _mask_from_pattern(re.compile(r"\s"))
    mask.setflags(write=False)
    return mask


def _regexp_patterns() -> list[tuple[str, str]]:
    from sacrebleu.tokenizers.tokenizer_re import TokenizerRegexp

    return [(rx.pattern, repl) for rx, repl in TokenizerRegexp()._re]


def _intl_patterns() -> list[tuple[str, str]]:
    from sacrebleu.tokenizers.tokenizer_intl import TokenizerV14International

    return [(rx.pattern, repl) for rx, repl in TokenizerV14International()._re]


@cache
def patterns_supported(tokenize: str) -> bool:
    """Whether the installed sacrebleu still uses the regexes the fast tokenizer reproduces."""
    if tokenize in ("13a", "zh"):
        return _regexp_patterns() == _RE_13A
    if tokenize == "intl":
        return _intl_patterns() == _RE_INTL
    return tokenize in ("none", "char")


def _zh_mask() -> np.ndarray:
    """sacrebleu's ``_is_chinese_char``: ``start <= ch <= end`` compared *as strings*.

    Several bounds are written as 5-hex-digit ``\\u`` escapes (``'\\u20000'`` is U+2000 followed
    by ``'0'``), so e.g. U+2001..U+2A6D counts as Chinese while U+20000 does not. Bisecting on the
    very same string comparison reproduces that quirk exactly.
    """
    from sacrebleu.tokenizers.tokenizer_zh import _UCODE_RANGES

    mask = np.zeros(N_CODEPOINTS, dtype=bool)
    codepoints = range(N_CODEPOINTS)
    for start, end in _UCODE_RANGES:
        lo = bisect.bisect_left(codepoints, start, key=chr)
        hi = bisect.bisect_right(codepoints, end, key=chr)
        if lo < hi:
            mask[lo:hi] = True
    return mask


@cache
def tokenizer_table(tokenize: str) -> np.ndarray:
    """uint8 flags per code point for the ``13a``, ``zh`` or ``intl`` tokenizer."""
    table = np.zeros(N_CODEPOINTS, dtype=np.uint8)
    table[whitespace_table()] |= WS
    if tokenize in ("13a", "zh"):
        iso = _mask_from_pattern(re.compile(_RE_13A[0][0]))
        if tokenize == "zh":
            iso |= _zh_mask()
        table[iso] |= ISO
        table[[ord("."), ord(",")]] |= RUN
        table[ord("0") : ord("9") + 1] |= BLOCK
        table[ord("-")] |= DASH
    elif tokenize == "intl":
        import regex

        table[_mask_from_pattern(regex.compile(r"\p{S}"))] |= ISO
        table[_mask_from_pattern(regex.compile(r"\p{P}"))] |= RUN
        table[_mask_from_pattern(regex.compile(r"\p{N}"))] |= BLOCK
    else:
        raise ValueError(f"no character table for tokenizer {tokenize!r}")
    table.setflags(write=False)
    return table


@cache
def chrf_punct_table() -> np.ndarray:
    """chrF++'s ``_PUNCTS`` (the characters ``_remove_punctuation`` splits off a word)."""
    from sacrebleu.metrics.chrf import CHRF

    mask = np.zeros(N_CODEPOINTS, dtype=bool)
    mask[[ord(c) for c in CHRF._PUNCTS]] = True
    mask.setflags(write=False)
    return mask
