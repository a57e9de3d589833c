"""The fast extraction path must give sacrebleu's per-segment statistics, bit for bit.

Every comparison is ``np.array_equal`` against ``BLEU(...)/CHRF(...)._extract_corpus_statistics``
run on the same input: generated text mixing CJK, Latin, digits, ASCII and full-width
punctuation, odd whitespace, empty and very long lines, repeated n-grams and 1-3 references;
hand-written edge cases; and the internal paths (blocks, chunks, processes, key compaction,
sacrebleu fallback) that ordinary inputs do not reach.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sacrebleu.metrics import BLEU, CHRF

from evalkit.errors import ConfigError, InputError
from evalkit.fastextract import (
    BLEU_TOKENIZERS,
    _count,
    _extract,
    _tables,
    bleu_stats,
    chrf_stats,
    extract_parallel,
)

Refs = list[list[str | None]]


def sacrebleu_bleu(hyps: list[str], refs: Refs, tokenize: str, lowercase: bool) -> np.ndarray:
    metric = BLEU(tokenize=tokenize, lowercase=lowercase, max_ngram_order=4)
    return np.array(metric._extract_corpus_statistics(hyps, refs), dtype=np.int64)


def sacrebleu_chrf(hyps: list[str], refs: Refs, word_order: int, lowercase: bool) -> np.ndarray:
    metric = CHRF(char_order=6, word_order=word_order, lowercase=lowercase, whitespace=False)
    return np.array(metric._extract_corpus_statistics(hyps, refs), dtype=np.int64)


def assert_bleu_exact(hyps: list[str], refs: Refs, tokenize: str, lowercase: bool) -> None:
    expected = sacrebleu_bleu(hyps, refs, tokenize, lowercase)
    got = bleu_stats(hyps, refs, tokenize=tokenize, lowercase=lowercase)
    assert got.dtype == np.int64
    assert np.array_equal(got, expected), (tokenize, lowercase, hyps, refs, got, expected)


def assert_chrf_exact(hyps: list[str], refs: Refs, word_order: int, lowercase: bool) -> None:
    expected = sacrebleu_chrf(hyps, refs, word_order, lowercase)
    got = chrf_stats(hyps, refs, word_order=word_order, lowercase=lowercase)
    assert got.dtype == np.int64
    assert np.array_equal(got, expected), (word_order, lowercase, hyps, refs, got, expected)


# --- generated corpora --------------------------------------------------------------------------

_ALPHABET = (
    "白宫指示暂停外国的人工智能模型中国开源需求软件芯片權限關於這個發布週期"  # CJK, both scripts
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZÉéİΣσς"  # Latin (+ case quirks)
    "0123456789٣½"  # digits, and other Unicode numbers (intl's \p{N})
    ".,.,-!?;:'\"()[]{}<>/\\%$&#@*+=_`~^|"  # ASCII punctuation and symbols
    "，。！？；：「」“”‘’（）、《》—…€¥"  # full-width / CJK punctuation, symbols
    "ＡＢＣｘｙｚ１２３"  # full-width Latin and digits
    "     \t\u3000\u00a0\u2001\u200b\n"  # whitespace runs (ASCII weighted up), ZWSP, newline
)
#: Pieces that hit tokenizer rules: decimals, dashes after digits, entities, 13a's <skipped>,
#: a hyphenated line break, zh's U+2001..U+2A6D quirk, an astral ideograph, long words.
_FRAGMENTS = [
    "3.14",
    "1,000.5",
    "a.5",
    "5.a",
    "x..,y",
    "2-3",
    "-5",
    "9-",
    "e.g.,",
    "&quot;",
    "&amp;lt;",
    "&gt;",
    "<skipped>",
    "re-\nenter",
    "\u2026\u2001\u2a6d\u2a6e",
    "\U00020000\U0002a6d6",
    "internationalization",
    "the cat sat on the mat ",
    "的的的的",
    "(hi)",
    "'quoted'",
]
_piece = st.one_of(st.text(alphabet=_ALPHABET, max_size=12), st.sampled_from(_FRAGMENTS))


@st.composite
def _line(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["empty", "short", "short", "short", "long"]))
    if kind == "empty":
        return ""
    if kind == "long":  # very long lines with many repeated n-grams and distinct characters
        unit = draw(st.lists(_piece, min_size=1, max_size=4).map("".join))
        return unit * draw(st.integers(20, 120)) + draw(_piece)
    return "".join(draw(st.lists(_piece, max_size=8)))


@st.composite
def _noisy_copy(draw: st.DrawFn, line: str) -> str:
    """A reference close to the hypothesis, so that n-grams of every order match."""
    words = line.split(" ")
    out = [w for w in words if draw(st.integers(0, 5))]  # drop some words
    if out and draw(st.booleans()):
        out.insert(draw(st.integers(0, len(out))), draw(_piece))
    return " ".join(out)


@st.composite
def corpora(draw: st.DrawFn) -> tuple[list[str], Refs]:
    n = draw(st.integers(1, 6))
    k = draw(st.integers(1, 3))
    hyps = [draw(_line()) for _ in range(n)]
    refs: Refs = []
    for r in range(k):
        stream: list[str | None] = []
        for i in range(n):
            pick = draw(st.sampled_from(["copy", "noisy", "noisy", "fresh", "none"]))
            if pick == "none" and r > 0:  # a segment with fewer references
                stream.append(None)
            elif pick == "copy":
                stream.append(hyps[i])
            elif pick == "fresh":
                stream.append(draw(_line()))
            else:
                stream.append(draw(_noisy_copy(hyps[i])))
        refs.append(stream)
    return hyps, refs


_SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("lowercase", [False, True])
@pytest.mark.parametrize("tokenize", BLEU_TOKENIZERS)
@_SETTINGS
@given(corpus=corpora())
def test_bleu_statistics_equal_sacrebleu_on_generated_text(
    tokenize: str, lowercase: bool, corpus: tuple[list[str], Refs]
) -> None:
    assert_bleu_exact(*corpus, tokenize, lowercase)


@pytest.mark.parametrize("lowercase", [False, True])
@pytest.mark.parametrize("word_order", [0, 2])
@_SETTINGS
@given(corpus=corpora())
def test_chrf_statistics_equal_sacrebleu_on_generated_text(
    word_order: int, lowercase: bool, corpus: tuple[list[str], Refs]
) -> None:
    assert_chrf_exact(*corpus, word_order, lowercase)


# --- hand-written cases -------------------------------------------------------------------------

_CASES: dict[str, tuple[list[str], Refs]] = {
    "empty hyp and empty ref": (["", "a b", ""], [["", "", "x"]]),
    "one Chinese character": (["中"], [["中国"]]),
    "zero-width space": (["在\u200b5个工作日内", "a\u200bb c"], [["在 5 个工作日内", "a\u200bb"]]),
    "tabs": (["a\tb\t\tc", "\tx ."], [["a b\tc", "x\t."]]),
    "ideographic and no-break spaces": (["你好\u3000世界", "a\u00a0b"], [["你好 世界", "a b"]]),
    "digits against punctuation": (["3.14, -5 and 2-3.", "1,000.5"], [["3.14 , -5", "1,000 .5"]]),
    "runs of dots and commas": (["x..,y .,. 5..", ",.a"], [["x . . , y", ". , ."]]),
    "entities and skipped": (["&quot;a&quot; <skipped> b&amp;c"], [['"a" b&c']]),
    "zh range quirk": (["\u2001\u2026\u2a6d\u2a6e\U00020000x"], [["\u2026 \u2a6d"]]),
    "final sigma and dotted I": (["ΟΔΟΣ İstanbul"], [["οδος istanbul"]]),
    "lone surrogate": (["a\ud800b c", "\udfff y"], [["a\ud800b", "\udfff"]]),
    "repeated n-grams": (["the the the the the"], [["the the"], ["the the the"]]),
    "several references, one absent": (
        ["a b c d", "x y"],
        [["a b c d e", None], ["a b", "x y"], [None, "x"]],
    ),
    "tie between references": (["a b", "x y z"], [["a c", "x y"], ["a d", "y z"]]),
    "punctuation around words (chrF++)": (["(hi) 'x' a. .b ..", "!"], [["( hi ) x' a .b", "!"]]),
}


@pytest.mark.parametrize("case", sorted(_CASES))
@pytest.mark.parametrize("lowercase", [False, True])
def test_hand_written_cases(case: str, lowercase: bool) -> None:
    hyps, refs = _CASES[case]
    for tokenize in BLEU_TOKENIZERS:
        assert_bleu_exact(hyps, refs, tokenize, lowercase)
    for word_order in (0, 2):
        assert_chrf_exact(hyps, refs, word_order, lowercase)


def test_other_orders_beta_and_whitespace_options() -> None:
    hyps = ["the cat sat on the mat", "猫坐在垫子上 。", ""]
    refs: Refs = [["the cat is on the mat", "猫在垫子上。", "x"], ["a cat", "猫", ""]]
    for order in (1, 2, 6):
        expected = BLEU(tokenize="13a", max_ngram_order=order)._extract_corpus_statistics(
            hyps, refs
        )
        assert np.array_equal(bleu_stats(hyps, refs, max_ngram_order=order), expected)
    for kw in (
        {"char_order": 4, "word_order": 1},
        {"char_order": 0, "word_order": 3},
        {"whitespace": True},
        {"beta": 1},
        {"eps_smoothing": True, "word_order": 2},
    ):
        expected = CHRF(**kw)._extract_corpus_statistics(hyps, refs)
        assert np.array_equal(chrf_stats(hyps, refs, **kw), expected), kw


# --- character classes --------------------------------------------------------------------------


def test_whitespace_table_is_str_isspace_for_every_code_point() -> None:
    table = _tables.whitespace_table()
    expected = [c for c in range(_tables.N_CODEPOINTS) if chr(c).isspace()]
    assert np.flatnonzero(table).tolist() == expected


def test_zh_table_is_sacrebleus_is_chinese_char() -> None:
    from sacrebleu.tokenizers.tokenizer_zh import TokenizerZh

    iso = (_tables.tokenizer_table("zh") & _tables.ISO) != 0
    iso_13a = (_tables.tokenizer_table("13a") & _tables.ISO) != 0
    sample = list(range(0x30000)) + [0x10FFFF]
    got = [bool(iso[c] and not iso_13a[c]) for c in sample]
    expected = [TokenizerZh._is_chinese_char(chr(c)) and not iso_13a[c] for c in sample]
    assert got == expected


def test_installed_sacrebleu_uses_the_reproduced_patterns() -> None:
    assert all(_tables.patterns_supported(t) for t in BLEU_TOKENIZERS)


# --- internal paths -----------------------------------------------------------------------------

_CORPUS_HYPS = [
    "The cat sat on the mat.",
    "",
    "他说：“我们在5个工作日内完成。”",
    "3.14, -5 and 2-3 items (approx.)",
    "重复 重复 重复 the the the",
] * 7
_CORPUS_REFS: Refs = [
    ["A cat sat on a mat .", "x", "他说，我们会在 5 个工作日内完成。", "3.14 , -5", "重复 the"] * 7,
    ["The cat is on the mat.", None, "我们5个工作日完成", "2-3 items", "重复重复"] * 7,
]


def test_blocks_chunks_and_processes_give_the_single_pass_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for tokenize in ("13a", "zh"):
        expected = sacrebleu_bleu(_CORPUS_HYPS, _CORPUS_REFS, tokenize, False)
        for chunk in (1, 4, 50_000):
            got = bleu_stats(_CORPUS_HYPS, _CORPUS_REFS, tokenize=tokenize, chunk_size=chunk)
            assert np.array_equal(got, expected)
        parallel = extract_parallel(
            bleu_stats, _CORPUS_HYPS, _CORPUS_REFS, jobs=2, chunk_size=6, tokenize=tokenize
        )
        assert np.array_equal(parallel, expected)
    expected = sacrebleu_chrf(_CORPUS_HYPS, _CORPUS_REFS, 2, True)
    parallel = extract_parallel(
        chrf_stats, _CORPUS_HYPS, _CORPUS_REFS, jobs=2, chunk_size=5, word_order=2, lowercase=True
    )
    assert np.array_equal(parallel, expected)
    monkeypatch.setattr(_extract, "_BLOCK_CHARS", 40)  # many small blocks inside one chunk
    assert np.array_equal(
        chrf_stats(_CORPUS_HYPS, _CORPUS_REFS, word_order=2),
        sacrebleu_chrf(_CORPUS_HYPS, _CORPUS_REFS, 2, False),
    )


def test_key_compaction_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # A document-length line with thousands of distinct characters does not fit the one-sort
    # layout and goes through the compacting path on its own...
    rng = np.random.default_rng(7)
    doc = "".join(chr(c) for c in rng.integers(0x4E00, 0x4E00 + 3000, 4000))
    hyps = [doc, "短句。", doc[::2]]
    refs: Refs = [[doc[:3000] + doc[:500], "短句", doc[1::2]]]
    assert_chrf_exact(hyps, refs, 2, False)
    assert_bleu_exact(hyps, refs, "zh", False)
    # ... and with a tiny key budget every segment does, compacting at every order.
    monkeypatch.setattr(_count, "_KEY_LIMIT", float(2**20))
    assert_bleu_exact(_CORPUS_HYPS, _CORPUS_REFS, "13a", False)
    assert_chrf_exact(_CORPUS_HYPS, _CORPUS_REFS, 2, False)


def test_long_tokens_by_verified_hash_and_by_exact_ranking(monkeypatch: pytest.MonkeyPatch) -> None:
    # chrF++ words of unsegmented Chinese are whole clauses: far too long to pack, so they are
    # keyed by a verified hash. A constant hash (every pair of equal-length tokens collides)
    # must be caught by the verification and fall back to exact iterative ranking.
    from evalkit.fastextract import _text

    clause = "他说我们在五个工作日内完成了所有的工作而且质量很好"
    hyps = [clause * 4, clause[2:] * 4 + " 好", "短", clause * 4] * 3
    refs: Refs = [[clause[2:] * 4, clause * 4, "短", "x " + clause[::-1] * 4] * 3]
    calls: list[bool] = []
    hashed = _text._hashed_token_ids
    monkeypatch.setattr(
        _text,
        "_hashed_token_ids",
        lambda *a: calls.append(True) or hashed(*a),  # type: ignore[func-returns-value]
    )
    assert_chrf_exact(hyps, refs, 2, False)
    assert calls
    monkeypatch.setattr(_text, "_HASH_BASE", np.uint64(0))
    assert_chrf_exact(hyps, refs, 2, False)
    assert_bleu_exact(hyps, refs, "13a", False)


def test_fallback_to_sacrebleus_tokenizer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_extract, "patterns_supported", lambda tokenize: False)
    for tokenize in BLEU_TOKENIZERS:
        assert_bleu_exact(_CORPUS_HYPS, _CORPUS_REFS, tokenize, True)


# --- input checks -------------------------------------------------------------------------------


def test_empty_corpus_has_zero_rows() -> None:
    assert bleu_stats([], [[]]).shape == (0, 10)
    assert chrf_stats([], [[]], word_order=2).shape == (0, 24)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: bleu_stats(["a", "b"], [["a"]]), InputError),
        (lambda: bleu_stats(["a"], ["a"]), InputError),
        (lambda: bleu_stats("a", [["a"]]), InputError),
        (lambda: bleu_stats(["a"], [[None]]), InputError),
        (lambda: bleu_stats(["a"], [["a"]], tokenize="ja-mecab"), ConfigError),
        (lambda: bleu_stats(["a"], [["a"]], chunk_size=0), ConfigError),
        (lambda: chrf_stats(["a"], [["a"]], char_order=0, word_order=0), ConfigError),
        (lambda: chrf_stats(["a"], [[None], [None]]), InputError),
    ],
)
def test_bad_input_is_an_evalkit_error(call, error: type[Exception]) -> None:
    with pytest.raises(error):
        call()
