"""Bootstrap CIs and paired tests on statistics equal sacrebleu's own, seed for seed.

sacrebleu is called directly on the same hypotheses and references; ``SACREBLEU_SEED`` is set
(with monkeypatch) only to drive sacrebleu, evalkit always gets its seed as an argument. Equality
is exact (``==``) unless a test says otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import numpy as np
import pytest
from sacrebleu.metrics import BLEU, CHRF, TER
from sacrebleu.metrics.base import Metric
from sacrebleu.significance import PairedTest, _bootstrap_resample
from sacrebleu.utils import sum_of_lists

from evalkit.errors import ConfigError, EvalkitError, MismatchError
from evalkit.scoring import bleu_scores, chrf_scores, ter_scores
from evalkit.stats import (
    ConfidenceInterval,
    bootstrap_ci,
    bootstrap_counts,
    bootstrap_scores,
    paired_approximate_randomization,
    paired_bootstrap,
)

ZH_REFS = [
    "今天上午北京下了一场大雨，很多航班被迫推迟。",
    "这家公司去年的营业收入增长了百分之十二。",
    "我们需要在周五之前完成这份报告。",
    "研究人员发现，每天步行三十分钟有助于降低血压。",
    "他把钥匙忘在了办公室，只好给同事打电话。",
    "新的地铁线路预计明年年底开通。",
    "这本书讲述了一个普通家庭三代人的故事。",
    "请在进入实验室之前穿好防护服。",
    "由于网络故障，系统暂时无法登录。",
    "孩子们在公园里放风筝，玩得非常开心。",
    "市政府决定在老城区增加更多的自行车道。",
    "这种新材料既轻便又耐高温。",
    "会议将在下午三点准时开始，请不要迟到。",
    "她用了整整一个夏天学习游泳。",
    "专家提醒，冬季要注意预防流感。",
]
EN_REFS = [
    "Heavy rain fell in Beijing this morning, and many flights were delayed.",
    "The company's revenue grew by twelve percent last year.",
    "We need to finish this report before Friday.",
    "Researchers found that walking for thirty minutes a day helps lower blood pressure.",
    "He left his keys at the office and had to call a colleague.",
    "The new subway line is expected to open at the end of next year.",
    "This book tells the story of three generations of an ordinary family.",
    "Please put on protective clothing before entering the laboratory.",
    "Because of a network failure, the system is temporarily unavailable.",
    "The children were flying kites in the park and having a great time.",
    "The city government decided to add more bike lanes in the old town.",
    "This new material is both light and resistant to high temperatures.",
    "The meeting will start at three o'clock sharp; please do not be late.",
    "She spent the whole summer learning to swim.",
    "Experts remind people to guard against the flu in winter.",
]
REFS = ZH_REFS + EN_REFS


def _is_zh(s: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" for c in s)


def _tokens(s: str) -> list[str]:
    return list(s) if _is_zh(s) else s.split()


def _join(tokens: list[str], zh: bool) -> str:
    return "".join(tokens) if zh else " ".join(tokens)


def _drop_every(s: str, k: int, offset: int) -> str:
    """A deterministic 'translation' that loses every k-th character (zh) or word (en)."""
    kept = [t for i, t in enumerate(_tokens(s)) if (i + offset) % k != k - 1]
    return _join(kept, _is_zh(s))


def _swap_pair(s: str, at: int) -> str:
    t = _tokens(s)
    if len(t) > at + 1:
        t[at], t[at + 1] = t[at + 1], t[at]
    return _join(t, _is_zh(s))


BASE = [_drop_every(r, 5, i) for i, r in enumerate(REFS)]
CLOSE = [
    _drop_every(r, 6, i) if i % 7 == 0 else b
    for i, (r, b) in enumerate(zip(REFS, BASE, strict=True))
]
WORSE = [_swap_pair(b, 2) if i % 6 == 0 else b for i, b in enumerate(BASE)]
ALT_REFS = [_drop_every(r, 7, 1) for r in REFS]  # a 2nd reference: TER lengths become x.5
SYSTEMS = {"base": BASE, "close": CLOSE, "worse": WORSE}

ScoreFn = Callable[[np.ndarray], np.ndarray]
# sacrebleu score name -> (fresh sacrebleu metric, evalkit score function, higher is better)
METRICS: dict[str, tuple[Callable[[], Metric], ScoreFn, bool]] = {
    "BLEU": (lambda: BLEU(tokenize="zh"), bleu_scores, True),
    "chrF2": (CHRF, chrf_scores, True),
    "chrF2++": (lambda: CHRF(word_order=2), partial(chrf_scores, word_order=2), True),
    "TER": (lambda: TER(asian_support=True, normalized=True), ter_scores, False),
}


def _stats(metric: Metric, hyps: list[str], refs: list[list[str]]) -> np.ndarray:
    return np.asarray(metric._extract_corpus_statistics(hyps, refs))


@pytest.fixture
def sacrebleu_seed(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """Seed sacrebleu (only sacrebleu reads SACREBLEU_SEED); 12345 unless a test changes it."""

    def set_seed(seed: int) -> None:
        monkeypatch.setenv("SACREBLEU_SEED", str(seed))

    set_seed(12345)
    return set_seed


@pytest.mark.parametrize("seed", [12345, 2024])
@pytest.mark.parametrize("name", list(METRICS))
def test_bootstrap_ci_equals_sacrebleu_confidence_output(
    name: str, seed: int, sacrebleu_seed: Callable[[int], None]
) -> None:
    sacrebleu_seed(seed)
    make, score_fn, _ = METRICS[name]
    theirs = make().corpus_score(BASE, [REFS], n_bootstrap=1000)  # what --confidence prints
    ours = bootstrap_ci(_stats(make(), BASE, [REFS]), score_fn, seed=seed)
    assert ours.score == theirs.score
    assert ours.mean == float(theirs._mean)
    assert ours.half_width == float(theirs._ci)
    assert (ours.n_samples, ours.seed, ours.confidence) == (1000, seed, 0.95)
    assert ours.low <= ours.mean <= ours.high


@pytest.mark.parametrize(
    ("confidence", "n", "lower"),
    [(0.95, 1000, 25), (0.95, 999, 24), (0.9, 999, 49), (0.99, 1000, 5)],
)
def test_confidence_level_uses_sacrebleu_index_style(
    confidence: float, n: int, lower: int, sacrebleu_seed: Callable[[int], None]
) -> None:
    metric = BLEU(tokenize="zh")
    stats = _stats(metric, BASE, [REFS])
    _, resampled = _bootstrap_resample(stats.tolist(), metric, n)
    ordered = sorted(s.score for s in resampled)
    ci = bootstrap_ci(stats, bleu_scores, n_samples=n, confidence=confidence)
    if confidence == 0.95:
        assert lower == n // 40  # sacrebleu's hard-coded 95% index
    assert (ci.low, ci.high) == (ordered[lower], ordered[n - lower - 1])
    assert ci.half_width == 0.5 * (ordered[n - lower - 1] - ordered[lower])


def test_bootstrap_counts_reproduce_sacrebleu_draws_and_sum_statistics_in_one_product() -> None:
    stats = _stats(CHRF(), BASE, [REFS])
    n = len(stats)
    counts = bootstrap_counts(n, 200, 12345)
    idxs = np.random.default_rng(12345).choice(n, size=(200, n), replace=True)  # sacrebleu's draw
    assert counts.shape == (200, n)
    assert counts.dtype == np.float64
    assert np.array_equal(counts, np.stack([np.bincount(row, minlength=n) for row in idxs]))
    assert np.array_equal(counts @ stats, stats[idxs].sum(axis=1))
    assert np.array_equal(counts.sum(axis=1), np.full(200, n))


def test_seeded_results_are_deterministic() -> None:
    stats = _stats(BLEU(tokenize="zh"), BASE, [REFS])
    other = _stats(BLEU(tokenize="zh"), CLOSE, [REFS])
    assert np.array_equal(bootstrap_counts(30, 50, 7), bootstrap_counts(30, 50, 7))
    assert not np.array_equal(bootstrap_counts(30, 50, 7), bootstrap_counts(30, 50, 8))
    assert bootstrap_ci(stats, bleu_scores, seed=7) == bootstrap_ci(stats, bleu_scores, seed=7)
    assert bootstrap_ci(stats, bleu_scores, seed=7) != bootstrap_ci(stats, bleu_scores, seed=8)
    kw = {"higher_is_better": True, "seed": 7}
    assert paired_bootstrap(stats, [other], bleu_scores, **kw) == paired_bootstrap(
        stats, [other], bleu_scores, **kw
    )
    assert paired_approximate_randomization(
        stats, [other], bleu_scores, n_trials=500, **kw
    ) == paired_approximate_randomization(stats, [other], bleu_scores, n_trials=500, **kw)


def test_evalkit_never_reads_sacrebleu_seed_from_the_environment(
    sacrebleu_seed: Callable[[int], None],
) -> None:
    stats = _stats(BLEU(tokenize="zh"), BASE, [REFS])
    sacrebleu_seed(999)
    assert bootstrap_ci(stats, bleu_scores) == bootstrap_ci(stats, bleu_scores, seed=12345)


def _big_ter_rows() -> list[list[float]]:
    rng = np.random.default_rng(5)
    return [
        [int(rng.integers(0, 2_000_000)), int(rng.integers(3_000_000, 9_000_000)) / 3]
        for _ in range(40)
    ]


def _big_bleu_rows() -> list[list[int]]:
    rng = np.random.default_rng(6)
    rows = []
    for _ in range(40):
        totals = sorted(rng.integers(500_000, 1_000_000, size=4).tolist(), reverse=True)
        correct = [int(rng.integers(0, t)) for t in totals]
        rows.append([totals[0], int(rng.integers(500_000, 1_000_000)), *correct, *totals])
    return rows


@pytest.mark.parametrize(
    ("metric", "score_fn", "rows"),
    [(TER(), ter_scores, _big_ter_rows()), (BLEU(), bleu_scores, _big_bleu_rows())],
    ids=["fractional-ter", "bleu-sums-above-2**24"],
)
def test_float32_resample_sums_match_sacrebleu_where_float32_rounds(
    metric: Metric, score_fn: ScoreFn, rows: list, sacrebleu_seed: Callable[[int], None]
) -> None:
    # sacrebleu sums float32 rows; past 2**24 (or with fractional TER lengths) those sums differ
    # from the exact ones, and evalkit must reproduce the rounded sums, not the exact ones.
    n = 300
    idxs = np.random.default_rng(12345).choice(len(rows), size=(n, len(rows)), replace=True)
    float32_sums = np.stack([s.sum(0) for s in np.array(rows, dtype=np.float32)[idxs]])
    exact_sums = bootstrap_counts(len(rows), n, 12345) @ np.array(rows, dtype=np.float64)
    assert not np.array_equal(float32_sums, exact_sums.astype(np.float32))  # the case is real

    _, resampled = _bootstrap_resample(rows, metric, n)
    theirs = metric._compute_score_from_stats(sum_of_lists(rows))
    theirs.estimate_ci(resampled)
    ours = bootstrap_ci(np.array(rows), score_fn, n_samples=n)
    assert (ours.score, ours.mean, ours.half_width) == (
        theirs.score,
        float(theirs._mean),
        float(theirs._ci),
    )


def _sacrebleu_paired(test_type: str, refs: list[list[str]], n: int, n_ci: int) -> dict:
    named = list(SYSTEMS.items())
    metrics = {name: make() for name, (make, _, _) in METRICS.items()}
    _, scores = PairedTest(
        named, metrics, refs, test_type=test_type, n_samples=n, n_ar_confidence=n_ci
    )()
    return scores


def _evalkit_paired(test_type: str, refs: list[list[str]], n: int, n_ci: int, seed: int) -> dict:
    out = {}
    for name, (make, score_fn, better) in METRICS.items():
        base, *others = (_stats(make(), hyps, refs) for hyps in SYSTEMS.values())
        if test_type == "bs":
            out[name] = paired_bootstrap(
                base, others, score_fn, higher_is_better=better, n_samples=n, seed=seed
            )
        else:
            out[name] = paired_approximate_randomization(
                base,
                others,
                score_fn,
                higher_is_better=better,
                n_trials=n,
                seed=seed,
                n_confidence=n_ci,
            )
    return out


# AR runs 2000 trials (not the 10000 default) to stay quick; exactness does not depend on it.
@pytest.mark.parametrize("seed", [12345, 7])
@pytest.mark.parametrize(("test_type", "n", "n_ci"), [("bs", 1000, -1), ("ar", 2000, 1000)])
@pytest.mark.parametrize("n_refs", [1, 2], ids=["one-ref", "two-refs"])
def test_paired_tests_equal_sacrebleu_paired_bs_and_paired_ar(
    test_type: str,
    n: int,
    n_ci: int,
    n_refs: int,
    seed: int,
    sacrebleu_seed: Callable[[int], None],
) -> None:
    # two references make TER's averaged reference lengths fractional (the non-integer path)
    sacrebleu_seed(seed)
    refs = [REFS, ALT_REFS][:n_refs]
    if n_refs == 2:
        ter_lengths = _stats(METRICS["TER"][0](), BASE, refs)[:, 1]
        assert np.any(ter_lengths % 1)  # the fractional case is really exercised
    theirs = _sacrebleu_paired(test_type, refs, n, n_ci)
    ours = _evalkit_paired(test_type, refs, n, max(n_ci, 0), seed)
    for name, results in ours.items():
        baseline, *systems = theirs[name]
        assert len(results) == len(systems) == 2
        for mine, their in zip(results, systems, strict=True):
            assert mine.test == f"paired-{test_type}"
            assert (mine.score, mine.baseline_score) == (their.score, baseline.score)
            assert mine.delta == their.score - baseline.score
            assert mine.p_value == their.p_value
            assert (mine.mean, mine.half_width) == (float(their.mean), float(their.ci))
            assert (mine.n, mine.seed) == (n, seed)


def test_paired_ar_without_confidence_resamples_reports_no_interval() -> None:
    base, other = (_stats(CHRF(), h, [REFS]) for h in (BASE, CLOSE))
    (res,) = paired_approximate_randomization(
        base, [other], chrf_scores, higher_is_better=True, n_trials=300, n_confidence=0
    )
    assert res.mean is None and res.half_width is None and res.n_confidence == 0


@pytest.mark.parametrize("n_refs", [1, 2])
@pytest.mark.parametrize("name", list(METRICS))
def test_paired_p_values_are_symmetric_in_baseline_and_system(name: str, n_refs: int) -> None:
    make, score_fn, better = METRICS[name]
    a, b = (_stats(make(), h, [REFS, ALT_REFS][:n_refs]) for h in (BASE, WORSE))
    kw = {"higher_is_better": better}
    (ab,) = paired_approximate_randomization(a, [b], score_fn, n_trials=1000, **kw)
    (ba,) = paired_approximate_randomization(b, [a], score_fn, n_trials=1000, **kw)
    assert ab.p_value == ba.p_value
    assert ab.delta == -ba.delta
    (ab,) = paired_bootstrap(a, [b], score_fn, n_samples=300, **kw)
    (ba,) = paired_bootstrap(b, [a], score_fn, n_samples=300, **kw)
    assert ab.p_value == ba.p_value


def test_ter_direction_lower_is_better_while_p_values_stay_two_sided() -> None:
    make, _, _ = METRICS["TER"]
    base, close, worse = (_stats(make(), h, [REFS]) for h in (BASE, CLOSE, WORSE))
    lower_better = paired_bootstrap(base, [close, worse], ter_scores, higher_is_better=False)
    assert lower_better[0].delta < 0 and lower_better[0].improved  # fewer edits: better
    assert lower_better[1].delta > 0 and not lower_better[1].improved
    # sacrebleu's tests use |differences|: the direction must not change any p-value or CI
    wrong_way = paired_bootstrap(base, [close, worse], ter_scores, higher_is_better=True)
    for right, wrong in zip(lower_better, wrong_way, strict=True):
        assert (right.p_value, right.mean, right.half_width) == (
            wrong.p_value,
            wrong.mean,
            wrong.half_width,
        )
        assert right.improved != wrong.improved
    bleu = [_stats(BLEU(tokenize="zh"), h, [REFS]) for h in (BASE, CLOSE)]
    (res,) = paired_bootstrap(bleu[0], [bleu[1]], bleu_scores, higher_is_better=True)
    assert res.delta > 0 and res.improved


def _one_large_segment_rows() -> list[list[int]]:
    # 400 ordinary segments and one of 60,000 tokens: N x max (2.4e7) passes 2**24, so the
    # float32 product is not provably exact, yet every resample sum stays below 2**24.
    rng = np.random.default_rng(8)
    rows = []
    for i in range(400):
        total = 60_000 if i == 7 else int(rng.integers(5, 40))
        correct = [int(rng.integers(0, max(1, total - k))) for k in range(4)]
        rows.append([total, total + 3, *correct, *[max(total - k, 0) for k in range(4)]])
    return rows


def test_exact_resample_sums_take_the_float64_product_when_float32_could_round(
    sacrebleu_seed: Callable[[int], None],
) -> None:
    rows = _one_large_segment_rows()
    n = 200
    _, resampled = _bootstrap_resample(rows, BLEU(), n)
    theirs = BLEU()._compute_score_from_stats(sum_of_lists(rows))
    theirs.estimate_ci(resampled)
    ours = bootstrap_ci(np.array(rows), bleu_scores, n_samples=n)
    assert (ours.score, ours.mean, ours.half_width) == (
        theirs.score,
        float(theirs._mean),
        float(theirs._ci),
    )


def test_one_shared_resampling_gives_each_system_its_own_ci_and_paired_result() -> None:
    # evaluate() resamples all systems of a metric together; nothing may leak between columns.
    base, close, worse = (_stats(BLEU(tokenize="zh"), h, [REFS]) for h in (BASE, CLOSE, WORSE))
    boot = bootstrap_scores([base, close, worse], bleu_scores, n_samples=300, seed=3)
    for j, stats in enumerate((base, close, worse)):
        assert boot.ci(j, 0.9) == bootstrap_ci(
            stats, bleu_scores, n_samples=300, seed=3, confidence=0.9
        )
    assert boot.paired(0, [1, 2], higher_is_better=True) == paired_bootstrap(
        base, [close, worse], bleu_scores, higher_is_better=True, n_samples=300, seed=3
    )
    (reverse,) = boot.paired(2, [0], higher_is_better=True)
    assert (
        reverse
        == paired_bootstrap(
            worse, [base], bleu_scores, higher_is_better=True, n_samples=300, seed=3
        )[0]
    )


def test_each_system_gets_the_result_it_would_get_alone() -> None:
    # sacrebleu re-seeds per system, so comparing systems together or one by one is the same.
    base, close, worse = (_stats(CHRF(), h, [REFS]) for h in (BASE, CLOSE, WORSE))
    kw = {"higher_is_better": True}
    together = paired_bootstrap(base, [close, worse], chrf_scores, **kw)
    alone = [paired_bootstrap(base, [s], chrf_scores, **kw)[0] for s in (close, worse)]
    assert together == alone
    together = paired_approximate_randomization(
        base, [close, worse], chrf_scores, **kw, n_trials=500
    )
    alone = [
        paired_approximate_randomization(base, [s], chrf_scores, **kw, n_trials=500)[0]
        for s in (close, worse)
    ]
    assert together == alone


def test_other_seeds_agree_with_sacrebleu_seed_12345_within_sampling_noise(
    sacrebleu_seed: Callable[[int], None],
) -> None:
    # Different seeds give independent resamples, so results differ only by Monte Carlo noise.
    # With B resamples of spread sd, a bootstrap mean has standard error sd/sqrt(B), and the
    # difference of two independent ones sqrt(2)*sd/sqrt(B); a 2.5% quantile has standard error
    # ~0.085*sd at B=1000 (normal approximation), so a half-width differs by ~0.085*sd. A p-value
    # from B draws has standard error sqrt(p(1-p)/B). Tolerances are 5 such standard errors
    # (plus 2/B for the discreteness of p), so a false failure has probability < 1e-5.
    b = 1000
    make, score_fn, better = METRICS["BLEU"]
    base, close = (_stats(make(), h, [REFS]) for h in (BASE, CLOSE))
    theirs_ci = make().corpus_score(BASE, [REFS], n_bootstrap=b)
    _, resampled = _bootstrap_resample(base.tolist(), make(), b)
    sd = float(np.std([s.score for s in resampled]))
    (theirs_bs,) = _sacrebleu_paired("bs", [REFS], b, -1)["BLEU"][1:2]
    for seed in (1, 2, 3):
        ours = bootstrap_ci(base, score_fn, n_samples=b, seed=seed)
        assert abs(ours.mean - theirs_ci._mean) <= 5 * math.sqrt(2) * sd / math.sqrt(b)
        assert abs(ours.half_width - theirs_ci._ci) <= 5 * 0.085 * sd
        (mine,) = paired_bootstrap(base, [close], score_fn, higher_is_better=better, seed=seed)
        p = theirs_bs.p_value
        assert abs(mine.p_value - p) <= 5 * math.sqrt(2 * p * (1 - p) / b) + 2 / b


def test_invalid_arguments_raise_one_line_evalkit_errors() -> None:
    stats = _stats(BLEU(tokenize="zh"), BASE, [REFS])
    bad: list[tuple[type[EvalkitError], Callable[[], object]]] = [
        (ConfigError, lambda: bootstrap_ci(stats, bleu_scores, n_samples=0)),
        (ConfigError, lambda: bootstrap_ci(stats, bleu_scores, n_samples=True)),
        (ConfigError, lambda: bootstrap_ci(stats, bleu_scores, confidence=1.0)),
        (ConfigError, lambda: bootstrap_ci(stats, bleu_scores, confidence=0)),
        (ConfigError, lambda: bootstrap_ci(stats, bleu_scores, confidence=float("nan"))),
        (ConfigError, lambda: bootstrap_ci(stats, bleu_scores, seed=-1)),
        (ConfigError, lambda: bootstrap_ci(stats, lambda x: x, n_samples=10)),
        (MismatchError, lambda: bootstrap_ci(stats[0], bleu_scores)),
        (MismatchError, lambda: bootstrap_ci(stats[:0], bleu_scores)),
        (MismatchError, lambda: bootstrap_ci(stats[:, :9], bleu_scores, n_samples=5)),
        (EvalkitError, lambda: bootstrap_ci(stats * np.nan, bleu_scores)),
        (ConfigError, lambda: bootstrap_counts(0, 10, 1)),
        (
            MismatchError,
            lambda: paired_bootstrap(stats, [stats[1:]], bleu_scores, higher_is_better=True),
        ),
        (ConfigError, lambda: paired_bootstrap(stats, stats, bleu_scores, higher_is_better=True)),
        (
            ConfigError,
            lambda: paired_approximate_randomization(
                stats, [stats], bleu_scores, higher_is_better=True, n_trials=0
            ),
        ),
        (
            ConfigError,
            lambda: paired_approximate_randomization(
                stats, [stats], bleu_scores, higher_is_better=True, n_confidence=-1
            ),
        ),
    ]
    for error, call in bad:
        with pytest.raises(error) as info:
            call()
        assert "\n" not in str(info.value)


def test_confidence_interval_is_a_frozen_record() -> None:
    ci = bootstrap_ci(_stats(TER(), BASE, [REFS]), ter_scores, n_samples=50)
    assert isinstance(ci, ConfidenceInterval)
    with pytest.raises(AttributeError):
        ci.mean = 0.0  # type: ignore[misc]
    assert (
        paired_bootstrap(_stats(TER(), BASE, [REFS]), [], ter_scores, higher_is_better=False) == []
    )
