"""``bleu_stats_many`` / ``chrf_stats_many``: each system's statistics, bit for bit.

Scoring several systems against the same references in one call must give, for every system,
exactly what ``bleu_stats`` / ``chrf_stats`` (and so sacrebleu) give for it alone: same values,
dtype and shape, same errors. The corpora are generated like those of ``test_fastextract.py``
(whose strategies are reused), with systems that copy the references, each other and
themselves, so n-grams are shared across systems and repeated within lines; small blocks and
forced internal paths (dense or repeat-only clipping, table or sort numbering, key compaction)
cover what ordinary inputs do not reach.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_fastextract import (
    _CASES,
    _CORPUS_HYPS,
    _CORPUS_REFS,
    _line,
    _noisy_copy,
    sacrebleu_bleu,
    sacrebleu_chrf,
)

from evalkit.errors import ConfigError, InputError
from evalkit.fastextract import (
    BLEU_TOKENIZERS,
    _count,
    _count_many,
    _extract,
    _text,
    bleu_stats,
    bleu_stats_many,
    chrf_stats,
    chrf_stats_many,
)

Refs = list[list[str | None]]
Systems = list[list[str]]

WMT22 = Path(__file__).resolve().parents[2] / "shared" / "data" / "wmt22"


# --- generated corpora of several systems ------------------------------------------------------


@st.composite
def _system_line(draw: st.DrawFn, ref: str, others: list[str]) -> str:
    """A hypothesis for one segment: near the reference, like another system, or unrelated."""
    pick = draw(st.sampled_from(["copy", "noisy", "noisy", "other", "fresh", "repeat"]))
    if pick == "copy":
        return ref
    if pick == "other" and others:
        return draw(st.sampled_from(others))
    if pick == "fresh":
        return draw(_line())
    if pick == "repeat":  # n-grams repeated within the line: clipped against the reference
        return " ".join([draw(_noisy_copy(ref))] * draw(st.integers(2, 4)))
    return draw(_noisy_copy(ref))


@st.composite
def many_corpora(draw: st.DrawFn) -> tuple[Systems, Refs]:
    n = draw(st.integers(1, 6))
    k = draw(st.integers(1, 3))
    refs: Refs = [[draw(_line()) for _ in range(n)]]
    for _ in range(k - 1):
        refs.append([draw(st.one_of(st.none(), _noisy_copy(r), _line())) for r in refs[0]])
    n_sys = draw(st.integers(1, 4))
    systems: Systems = [[] for _ in range(n_sys)]
    for i in range(n):
        for hyps in systems:
            ref = refs[draw(st.integers(0, k - 1))][i] or refs[0][i]
            hyps.append(draw(_system_line(ref or "", [h[i] for h in systems if len(h) > i])))
    return systems, refs


_SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_bleu_many_exact(systems: Systems, refs: Refs, chunk_size: int = 50_000, **kw) -> None:
    got = bleu_stats_many(systems, refs, chunk_size=chunk_size, **kw)
    assert isinstance(got, list) and len(got) == len(systems)
    for j, hyps in enumerate(systems):
        expected = bleu_stats(hyps, refs, **kw)
        assert got[j].dtype == expected.dtype == np.int64
        assert np.array_equal(got[j], expected), (j, kw, systems, refs, got[j], expected)


def assert_chrf_many_exact(systems: Systems, refs: Refs, chunk_size: int = 50_000, **kw) -> None:
    got = chrf_stats_many(systems, refs, chunk_size=chunk_size, **kw)
    assert isinstance(got, list) and len(got) == len(systems)
    for j, hyps in enumerate(systems):
        expected = chrf_stats(hyps, refs, **kw)
        assert got[j].dtype == expected.dtype == np.int64
        assert np.array_equal(got[j], expected), (j, kw, systems, refs, got[j], expected)


# --- identity with the single-system functions and with sacrebleu ------------------------------


@pytest.mark.parametrize("lowercase", [False, True])
@pytest.mark.parametrize("tokenize", BLEU_TOKENIZERS)
@_SETTINGS
@given(corpus=many_corpora(), chunk_size=st.sampled_from([1, 2, 3, 50_000]))
def test_bleu_many_gives_each_system_its_single_call_and_sacrebleu_statistics(
    tokenize: str, lowercase: bool, corpus: tuple[Systems, Refs], chunk_size: int
) -> None:
    systems, refs = corpus
    got = bleu_stats_many(
        systems, refs, tokenize=tokenize, lowercase=lowercase, chunk_size=chunk_size
    )
    for j, hyps in enumerate(systems):
        assert np.array_equal(got[j], sacrebleu_bleu(hyps, refs, tokenize, lowercase)), j
        assert np.array_equal(
            got[j], bleu_stats(hyps, refs, tokenize=tokenize, lowercase=lowercase)
        )


@pytest.mark.parametrize("lowercase", [False, True])
@pytest.mark.parametrize("word_order", [0, 2])
@_SETTINGS
@given(corpus=many_corpora(), chunk_size=st.sampled_from([1, 2, 3, 50_000]))
def test_chrf_many_gives_each_system_its_single_call_and_sacrebleu_statistics(
    word_order: int, lowercase: bool, corpus: tuple[Systems, Refs], chunk_size: int
) -> None:
    systems, refs = corpus
    got = chrf_stats_many(
        systems, refs, word_order=word_order, lowercase=lowercase, chunk_size=chunk_size
    )
    for j, hyps in enumerate(systems):
        assert np.array_equal(got[j], sacrebleu_chrf(hyps, refs, word_order, lowercase)), j
        single = chrf_stats(hyps, refs, word_order=word_order, lowercase=lowercase)
        assert np.array_equal(got[j], single)


@pytest.mark.parametrize("case", sorted(_CASES))
def test_hand_written_cases_with_several_systems(case: str) -> None:
    hyps, refs = _CASES[case]
    systems = [hyps, [" ".join(h.split()[::-1]) for h in hyps], [r or "" for r in refs[0]], hyps]
    for lowercase in (False, True):
        for tokenize in BLEU_TOKENIZERS:
            assert_bleu_many_exact(systems, refs, tokenize=tokenize, lowercase=lowercase)
        for word_order in (0, 2):
            assert_chrf_many_exact(systems, refs, word_order=word_order, lowercase=lowercase)


def test_other_orders_beta_and_whitespace_options_with_several_systems() -> None:
    systems = [
        ["the cat sat on the mat", "猫坐在垫子上 。", ""],
        ["the the the cat", "猫猫猫在垫子上。", "x"],
        ["a cat is on a mat mat", "垫子", ""],
    ]
    refs: Refs = [["the cat is on the mat", "猫在垫子上。", "x"], ["a cat", "猫", ""]]
    for order in (1, 2, 3, 6):
        assert_bleu_many_exact(systems, refs, max_ngram_order=order)
        assert_bleu_many_exact(systems, refs[:1], max_ngram_order=order)
    for kw in (
        {"char_order": 4, "word_order": 1},
        {"char_order": 0, "word_order": 3},
        {"char_order": 1},
        {"whitespace": True},
        {"beta": 1},
        {"eps_smoothing": True, "word_order": 2},
    ):
        assert_chrf_many_exact(systems, refs, **kw)
        assert_chrf_many_exact(systems, refs[:1], **kw)


# --- blocks and internal paths -----------------------------------------------------------------

_SYSTEMS = [
    _CORPUS_HYPS,
    [r or "" for r in _CORPUS_REFS[1]],
    [h + " " + h for h in _CORPUS_HYPS],  # every n-gram repeated within its line
    list(reversed(_CORPUS_HYPS)),
]


def _assert_corpus_exact() -> None:
    for refs in (_CORPUS_REFS, _CORPUS_REFS[:1]):
        for tokenize in ("13a", "zh", "char"):
            assert_bleu_many_exact(_SYSTEMS, refs, tokenize=tokenize)
        for word_order in (0, 2):
            assert_chrf_many_exact(_SYSTEMS, refs, word_order=word_order, lowercase=True)


def test_blocks_of_few_characters_and_chunks_give_the_single_call_results(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for chunk in (1, 4, 50_000):
        assert_bleu_many_exact(_SYSTEMS, _CORPUS_REFS, chunk, tokenize="zh")
        assert_chrf_many_exact(_SYSTEMS, _CORPUS_REFS, chunk, word_order=2)
    monkeypatch.setattr(_extract, "_BLOCK_CHARS", 40)  # many small blocks inside one chunk
    _assert_corpus_exact()


@pytest.mark.parametrize("dense_repeats", [0, 10**9])
def test_clipping_by_counting_every_run_or_only_the_repeats(
    monkeypatch: pytest.MonkeyPatch, dense_repeats: int
) -> None:
    # 0: from order 2 on only keys whose n-gram repeats in its line are grouped; 10**9: every
    # stream of every run is counted at every order (unless no n-gram repeats at all).
    monkeypatch.setattr(_count_many, "_DENSE_REPEATS", dense_repeats)
    calls: list[int] = []
    clip_repeats = _count_many._clip_repeats
    monkeypatch.setattr(
        _count_many,
        "_clip_repeats",
        lambda *a: calls.append(a[0].size) or clip_repeats(*a),  # type: ignore[func-returns-value]
    )
    _assert_corpus_exact()
    assert_chrf_many_exact(_SYSTEMS, _CORPUS_REFS[:1], char_order=6, word_order=2)
    assert bool(calls) == (dense_repeats == 0)


def test_token_numbering_by_sort_instead_of_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_count_many, "_TABLE_RATIO", -(10**9))
    monkeypatch.setattr(_count_many, "_shared_by_table", None)  # must not be reached
    _assert_corpus_exact()


def test_key_compaction_path_with_several_systems(monkeypatch: pytest.MonkeyPatch) -> None:
    # A document-length line with thousands of distinct characters does not fit the one-sort
    # layout and goes through the compacting path on its own...
    rng = np.random.default_rng(7)
    doc = "".join(chr(c) for c in rng.integers(0x4E00, 0x4E00 + 3000, 4000))
    systems = [[doc, "短句。", doc[::2]], [doc[::-1], "短句", doc[1::2]], [doc, "", doc]]
    refs: Refs = [[doc[:3000] + doc[:500], "短句", doc[1::2]]]
    assert_chrf_many_exact(systems, refs, word_order=2)
    assert_bleu_many_exact(systems, refs, tokenize="zh")
    # ... and with a tiny key budget every segment does, compacting at every order.
    monkeypatch.setattr(_count, "_KEY_LIMIT", float(2**20))
    _assert_corpus_exact()


def test_small_token_ids_fall_back_on_a_hash_collision(monkeypatch: pytest.MonkeyPatch) -> None:
    # Chinese text numbers its (mostly one-character) tokens by character; the few longer
    # tokens by a verified hash. A constant hash must be caught and fall back to packed keys.
    systems = [["他说3.14和2-3，AI与GPU的的", "abc abd 中文"], ["他说 3.14 AI GPU", "abd abc"]]
    refs: Refs = [["他说3.14，GPU和AI", "abc 中文 abd"]]
    assert_bleu_many_exact(systems, refs, tokenize="zh")
    monkeypatch.setattr(_text, "_HASH_BASE", np.uint64(0))
    assert_bleu_many_exact(systems, refs, tokenize="zh")


def test_fallback_to_sacrebleus_tokenizer_with_several_systems(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_extract, "patterns_supported", lambda tokenize: False)
    for tokenize in BLEU_TOKENIZERS:
        assert_bleu_many_exact(_SYSTEMS, _CORPUS_REFS, tokenize=tokenize, lowercase=True)


@pytest.mark.shared_data
@pytest.mark.skipif(not WMT22.is_dir(), reason="needs ../shared/data/wmt22")
@pytest.mark.parametrize(
    ("pair", "lang", "tokenize"), [("en-zh", "zh", "zh"), ("zh-en", "en", "13a")]
)
def test_wmt22_systems_equal_their_single_calls(pair: str, lang: str, tokenize: str) -> None:
    from evalkit._io import read_lines

    ref = list(read_lines(WMT22 / pair / f"ref.{lang}"))[:400]
    paths = sorted((WMT22 / pair / "systems").glob(f"*.{lang}"))
    systems = [list(read_lines(p))[:400] for p in paths]
    assert_bleu_many_exact(systems, [ref], tokenize=tokenize)
    assert_chrf_many_exact(systems, [ref])
    assert_chrf_many_exact(systems, [ref], word_order=2)


# --- results and input checks ------------------------------------------------------------------


def test_no_systems_give_an_empty_list() -> None:
    assert bleu_stats_many([], [["a", "b"]]) == []
    assert chrf_stats_many([], [["a", "b"]], word_order=2) == []


def test_each_system_gets_its_own_array_of_the_single_call_shape() -> None:
    systems = [["a b", "c"], ["a", "c d"], ["", ""]]
    out = bleu_stats_many(systems, [["a b", "c d"]], max_ngram_order=3)
    assert [a.shape for a in out] == [(2, 8)] * 3
    out[0][:] = -1  # no array is a view of another
    assert (out[1] >= 0).all() and (out[2] >= 0).all()
    empty = chrf_stats_many([[], []], [[]], word_order=2)
    assert [a.shape for a in empty] == [(0, 24)] * 2


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda f: f("ab", [["a"]]), InputError, "not one string"),
        (lambda f: f([["a"], "b"], [["a"]]), InputError, r"systems\[1\]: hypotheses must be"),
        (
            lambda f: f([["a"], ["a", "b"]], [["a"]]),
            InputError,
            r"systems\[1\]: reference stream 1",
        ),
        (lambda f: f([["a"], [3]], [["a"]]), InputError, r"systems\[1\]: every hypothesis"),
        (lambda f: f([["a"]], ["a"]), InputError, "references must be"),
        (lambda f: f([["a"]], [[3]]), InputError, "every reference must be"),
        (lambda f: f([["a"]], [[None]]), InputError, "segment 1 has no reference"),
        (lambda f: f([], [["a"], ["a", "b"]]), InputError, "reference stream 2 has 2 segments"),
        (lambda f: f([["a"]], [["a"]], chunk_size=0), ConfigError, "chunk_size"),
        (lambda f: f([], [["a"]], chunk_size=0), ConfigError, "chunk_size"),
    ],
)
@pytest.mark.parametrize("fn", [bleu_stats_many, chrf_stats_many])
def test_bad_input_raises_the_single_call_error_naming_the_system(
    fn, call, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        call(fn)


def test_errors_are_the_single_call_errors_with_the_system_prefixed() -> None:
    refs: Refs = [["a", "b"], ["a", None]]
    bad = [["x", "y", "z"], [None, "y"]]
    for hyps in bad:
        with pytest.raises(InputError) as single:
            bleu_stats(hyps, refs)  # type: ignore[arg-type]
        with pytest.raises(InputError) as many:
            bleu_stats_many([["x", "y"], hyps], refs)  # type: ignore[list-item]
        assert str(many.value) == f"systems[1]: {single.value}"


def test_bad_options_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="no fast path"):
        bleu_stats_many([["a"]], [["a"]], tokenize="ja-mecab")
    with pytest.raises(ConfigError, match="max_ngram_order"):
        bleu_stats_many([["a"]], [["a"]], max_ngram_order=0)
    with pytest.raises(ConfigError, match="chrF orders"):
        chrf_stats_many([["a"]], [["a"]], char_order=0, word_order=0)
