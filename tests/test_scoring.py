"""The vectorised score formulas equal sacrebleu's ``_compute_score_from_stats`` row by row.

Equality is checked with ``==`` (bit for bit), not a tolerance: the resampling code relies on it
to reproduce sacrebleu's printed CIs and p-values. Rows are checked in the three forms sacrebleu
meets them: Python lists (corpus scores), int64 arrays (approximate randomisation) and float32
arrays (bootstrap resamples).
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sacrebleu.metrics import BLEU, CHRF, TER
from sacrebleu.utils import sum_of_lists

from evalkit.errors import ConfigError, EvalkitError, MismatchError
from evalkit.scoring import (
    _python_sum,
    bleu_scores,
    chrf_scores,
    higher_is_better,
    ter_scores,
)

# Hand-written (reference, hypothesis) pairs, Chinese and English, with typical MT slips.
PAIRS = [
    ("今天北京的天气很好，适合出去散步。", "今天北京天气很好，适合出门散步。"),
    ("他昨天晚上十点才下班回家。", "他昨晚十点才下班回家。"),
    ("这座桥是一百多年前修建的。", "这座桥修建于一百多年以前。"),
    ("我们应该尽快解决这个问题。", "我们要尽快处理这个问题。"),
    ("图书馆周末不对外开放。", "周末图书馆不开放。"),
    ("请把窗户关上，外面太吵了。", "请关窗，外面很吵。"),
    ("会议推迟到下周一举行。", "会议将推迟到下个星期一。"),
    ("她是我们班最会唱歌的人。", "她是我们班唱歌最好的。"),
    ("The train leaves at seven in the morning.", "The train departs at 7 a.m."),
    ("I have never been to Shanghai before.", "I have never gone to Shanghai."),
    ("The price of vegetables rose sharply this month.", "Vegetable prices rose a lot this month."),
    ("Please send me the file by email.", "Please email the file to me."),
    ("The museum is closed on Mondays.", "The museum closes every Monday."),
    ("He apologised for being late.", "He said sorry for coming late."),
    ("Our team won the final match.", "Our team won the last game."),
    ("我们的团队赢得了决赛。", "Our team won the final."),  # untranslated: zero overlap
    ("", "An output for an empty reference."),
    ("短句。", ""),
]
REFS = [r for r, _ in PAIRS]
HYPS = [h for _, h in PAIRS]

SMOOTHING = [
    ("none", None),
    ("floor", None),
    ("floor", 0.3),
    ("add-k", None),
    ("add-k", 0.5),
    ("add-k", 2),
    ("exp", None),
]


def _as(row: list, form: str) -> object:
    """A row as sacrebleu meets it: Python list, int64 array or float32 array (copied)."""
    if form == "list":
        return list(row)
    return np.array(row, dtype=np.int64 if form == "int64" else np.float32)


_DTYPES = {"list": np.float64, "int64": np.int64, "float32": np.float32}


def _ours_input(rows: list[list], form: str) -> np.ndarray:
    return np.array(rows, dtype=_DTYPES[form])


@st.composite
def bleu_rows(draw: st.DrawFn, order: int) -> list[int]:
    """Valid summed BLEU statistics: totals shrink with the order, matches never exceed totals."""
    hyp_len = draw(st.one_of(st.just(0), st.integers(0, 400)))
    ref_len = draw(st.one_of(st.just(hyp_len), st.integers(0, 400)))
    totals = [hyp_len]
    for _ in range(order - 1):
        totals.append(draw(st.integers(0, totals[-1])))
    correct = [draw(st.one_of(st.just(0), st.integers(0, t))) for t in totals]
    return [hyp_len, ref_len, *correct, *totals]


FORMS = ["list", "int64", "float32"]


@pytest.mark.parametrize(("method", "value"), SMOOTHING)
@pytest.mark.parametrize("effective_order", [False, True])
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_bleu_scores_equal_sacrebleu_for_every_smoothing_method(
    data: st.DataObject, method: str, value: float | None, effective_order: bool
) -> None:
    form = data.draw(st.sampled_from(FORMS), label="form")
    order = data.draw(st.sampled_from([1, 2, 4, 5]), label="max_ngram_order")
    rows = data.draw(st.lists(bleu_rows(order), min_size=1, max_size=30), label="rows")
    metric = BLEU(
        max_ngram_order=order,
        smooth_method=method,
        smooth_value=value,
        effective_order=effective_order,
    )
    theirs = [metric._compute_score_from_stats(_as(r, form)).score for r in rows]
    ours = bleu_scores(
        _ours_input(rows, form),
        max_ngram_order=order,
        smooth_method=method,
        smooth_value=value,
        effective_order=effective_order,
    )
    assert ours.dtype == np.float64
    assert ours.tolist() == theirs  # bit-identical; measured max |diff| = 0.0


@st.composite
def chrf_rows(draw: st.DrawFn, order: int) -> list[int]:
    """Valid summed chrF statistics: per order [hyp, ref, match] with match <= min(hyp, ref)."""
    row: list[int] = []
    for _ in range(order):
        n_hyp = draw(st.one_of(st.just(0), st.integers(0, 600)))
        n_ref = draw(st.one_of(st.just(0), st.integers(0, 600)))
        row += [n_hyp, n_ref, draw(st.one_of(st.just(0), st.integers(0, min(n_hyp, n_ref))))]
    return row


@pytest.mark.parametrize("eps_smoothing", [False, True])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_chrf_scores_equal_sacrebleu_for_chrf_and_chrfpp_with_and_without_eps_smoothing(
    data: st.DataObject, eps_smoothing: bool
) -> None:
    form = data.draw(st.sampled_from(FORMS), label="form")
    char_order, word_order = data.draw(st.sampled_from([(6, 0), (6, 2), (1, 0), (0, 2)]))
    beta = data.draw(st.sampled_from([2, 1, 3]), label="beta")
    rows = data.draw(st.lists(chrf_rows(char_order + word_order), min_size=1, max_size=30))
    metric = CHRF(
        char_order=char_order, word_order=word_order, beta=beta, eps_smoothing=eps_smoothing
    )
    theirs = np.array([metric._compute_score_from_stats(_as(r, form)).score for r in rows])
    ours = chrf_scores(
        _ours_input(rows, form),
        char_order=char_order,
        word_order=word_order,
        beta=beta,
        eps_smoothing=eps_smoothing,
    )
    # float32 rows are scored in float32 by sacrebleu (NumPy 2 promotion); the dtype must follow.
    assert ours.dtype == theirs.dtype
    assert ours.tolist() == theirs.tolist()


@st.composite
def ter_rows(draw: st.DrawFn) -> list[float]:
    """[edits, average reference length]; the average over k references can be fractional."""
    edits = draw(st.one_of(st.just(0), st.integers(0, 500)))
    n_refs = draw(st.integers(1, 4))
    return [edits, draw(st.one_of(st.just(0), st.integers(0, 800))) / n_refs]


@pytest.mark.parametrize("form", ["list", "float32"])
@settings(max_examples=50, deadline=None)
@given(rows=st.lists(ter_rows(), min_size=1, max_size=30))
def test_ter_scores_equal_sacrebleu_including_empty_references(
    rows: list[list[float]], form: str
) -> None:
    metric = TER()
    theirs = np.array([metric._compute_score_from_stats(_as(r, form)).score for r in rows])
    ours = ter_scores(_ours_input(rows, form))
    assert ours.dtype == theirs.dtype
    assert ours.tolist() == theirs.tolist()


def test_chrf_and_ter_stay_float32_only_while_every_sacrebleu_score_would_be_float32() -> None:
    # sacrebleu returns the Python float 0.0 when nothing can be scored, which turns
    # np.array(scores) into float64; the vectorised result must switch dtype the same way.
    chrf_rows_ = np.array([[5, 6, 4] * 6, [5, 6, 3] * 6], dtype=np.float32)
    assert chrf_scores(chrf_rows_).dtype == np.float32
    with_zero = np.vstack([chrf_rows_, np.zeros((1, 18), dtype=np.float32)])
    assert chrf_scores(with_zero).dtype == np.float64
    ter_rows_ = np.array([[3, 10.5], [1, 4]], dtype=np.float32)
    assert ter_scores(ter_rows_).dtype == np.float32
    assert ter_scores(np.vstack([ter_rows_, [[2, 0]]]).astype(np.float32)).dtype == np.float64


METRICS = {
    "bleu-zh": (BLEU(tokenize="zh"), {"smooth_method": "exp"}),
    "bleu-13a-floor": (BLEU(smooth_method="floor"), {"smooth_method": "floor"}),
    "bleu-sentence": (
        BLEU(tokenize="zh", effective_order=True),
        {"smooth_method": "exp", "effective_order": True},
    ),
    "bleu-addk-3gram": (
        BLEU(tokenize="zh", smooth_method="add-k", max_ngram_order=3),
        {"smooth_method": "add-k", "max_ngram_order": 3},
    ),
    "chrf": (CHRF(), {}),
    "chrf++": (CHRF(word_order=2), {"word_order": 2}),
    "chrf-eps": (CHRF(eps_smoothing=True), {"eps_smoothing": True}),
    "ter": (TER(), {}),
    "ter-asian": (TER(asian_support=True, normalized=True), {}),
}


def _vectorised(name: str, rows: np.ndarray, kwargs: dict) -> np.ndarray:
    if name.startswith("bleu"):
        return bleu_scores(rows, **kwargs)
    if name.startswith("chrf"):
        return chrf_scores(rows, **kwargs)
    return ter_scores(rows)


@pytest.mark.parametrize("name", list(METRICS))
def test_scores_equal_sacrebleu_on_statistics_of_chinese_and_english_text(name: str) -> None:
    metric, kwargs = METRICS[name]
    stats = metric._extract_corpus_statistics(HYPS, [REFS])
    # sentence level: one score per segment row
    sentence = [metric._compute_score_from_stats(list(row)).score for row in stats]
    assert _vectorised(name, np.asarray(stats, dtype=np.float64), kwargs).tolist() == sentence
    # corpus level, and the corpus score of the text itself
    corpus = metric.corpus_score(HYPS, [REFS]).score
    summed = np.asarray(sum_of_lists(stats), dtype=np.float64)
    assert float(_vectorised(name, summed, kwargs)) == corpus
    # a float32 bootstrap-like resample: random rows summed in float32, as sacrebleu does
    rng = np.random.default_rng(3)
    rows32 = np.asarray(stats, dtype=np.float32)[rng.choice(len(stats), (20, len(stats)))]
    sums = np.stack([r.sum(0) for r in rows32])
    expected = np.array([metric._compute_score_from_stats(s.copy()).score for s in sums])
    got = _vectorised(name, sums, kwargs)
    assert got.dtype == expected.dtype
    assert got.tolist() == expected.tolist()


def test_single_row_gives_a_zero_dimensional_result() -> None:
    row = np.array([10, 12, 8, 5, 3, 1, 10, 9, 8, 7])
    out = bleu_scores(row)
    assert out.shape == ()
    assert float(out) == BLEU()._compute_score_from_stats(row.tolist()).score
    assert chrf_scores(np.ones(18)).shape == ()
    assert ter_scores(np.array([2.0, 8.0])).shape == ()
    assert ter_scores(np.ones((3, 4, 2))).shape == (3, 4)


def test_python_sum_emulation_matches_builtin_sum_on_this_interpreter() -> None:
    # BLEU averages log precisions with sum(); Python 3.12 made it compensated (Neumaier).
    rng = random.Random(11)
    terms = np.array([[math.log(rng.uniform(1e-3, 100)) for _ in range(5)] for _ in range(3000)])
    terms[::3, 3:] = 0.0  # effective order: unused orders are zero padding
    expected = [sum(row) for row in terms.tolist()]
    assert _python_sum(terms).tolist() == expected


def test_ter_is_lower_is_better_and_the_others_higher() -> None:
    assert higher_is_better("ter") is False
    assert higher_is_better("TER") is False
    for name in ("bleu", "BLEU", "chrf", "chrF2", "chrf++", "chrF2++"):
        assert higher_is_better(name) is True
    with pytest.raises(ConfigError):
        higher_is_better("meteor")


def test_bad_statistics_and_options_raise_evalkit_errors() -> None:
    with pytest.raises(MismatchError, match="10 values per row"):
        bleu_scores(np.ones((3, 8)))
    with pytest.raises(MismatchError):
        chrf_scores(np.ones((2, 17)))
    with pytest.raises(EvalkitError, match="non-negative"):
        ter_scores(np.array([[-1.0, 3.0]]))
    with pytest.raises(EvalkitError, match="NaN"):
        ter_scores(np.array([[np.nan, 3.0]]))
    with pytest.raises(EvalkitError, match="numeric"):
        ter_scores(np.array([["a", "b"]]))
    with pytest.raises(ConfigError, match="smooth_method"):
        bleu_scores(np.ones(10), smooth_method="laplace")
    with pytest.raises(ConfigError, match="max_ngram_order"):
        bleu_scores(np.ones(10), max_ngram_order=0)
    with pytest.raises(ConfigError, match="beta"):
        chrf_scores(np.ones(18), beta=0)
    with pytest.raises(ConfigError):
        chrf_scores(np.ones(3), char_order=0, word_order=0)
