"""Bootstrap confidence intervals and paired significance tests on sufficient statistics.

Why: sacrebleu rescores one resample at a time from Python lists. Here every resample's summed
statistics come from one product of a count (or 0/1 mask) matrix with the N × d statistics, and
all resamples are scored in one vectorised call. The random draws, the float32 sums, and the
CI and p-value arithmetic follow sacrebleu 2.x ``significance.py`` step by step, so with the same
seed the numbers are the ones ``sacrebleu --confidence`` / ``--paired-bs`` / ``--paired-ar``
print, normally bit for bit. The seed is a parameter (default 12345, sacrebleu's default); the
``SACREBLEU_SEED`` environment variable is never read.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import numpy as np
from threadpoolctl import threadpool_limits

from .errors import ConfigError, EvalkitError, MismatchError

__all__ = [
    "DEFAULT_SEED",
    "RESAMPLE_BUDGET_BYTES",
    "BootstrapScores",
    "ConfidenceInterval",
    "PairedResult",
    "ScoreFn",
    "bootstrap_ci",
    "bootstrap_counts",
    "bootstrap_scores",
    "paired_approximate_randomization",
    "paired_bootstrap",
]

ScoreFn = Callable[[np.ndarray], np.ndarray]
"""Maps summed statistics ``(B, d)`` to scores ``(B,)``, e.g. ``partial(bleu_scores, ...)``."""

DEFAULT_SEED = 12345
"""sacrebleu's default seed (its ``SACREBLEU_SEED``), so default results match its CLI."""

_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)
_F32_EXACT = 2.0**24  # every integer up to here is a float32
_F64_EXACT = 2.0**53
_CHUNK_CELLS = 1 << 22  # count/mask rows per matrix product: at most 4 Mi cells (32 MiB)

RESAMPLE_BUDGET_BYTES = 4 << 30
"""The most memory one resampling step may ask for (4 GiB): sacrebleu's draw is a B × N index
matrix, so ``--bootstrap 1000000000`` would otherwise die in NumPy's allocator. Checked before
anything is allocated; the default 1,000 resamples stay far below it up to the 100,000 segments
scored exactly (0.8 GB)."""


@dataclass(frozen=True)
class ConfidenceInterval:
    """A bootstrap estimate as sacrebleu reports it: ``mean ± half_width`` around the resamples.

    ``score`` is the real corpus score. ``low``/``high`` are the resample scores at the
    percentile positions; ``half_width`` is half their distance (sacrebleu prints mean ± that,
    which is not the interval ``[low, high]`` unless the resamples are symmetric).
    """

    score: float
    mean: float
    half_width: float
    low: float
    high: float
    confidence: float
    n_samples: int
    seed: int


@dataclass(frozen=True)
class PairedResult:
    """One system against the baseline; ``delta`` is system score minus baseline score.

    ``p_value`` is sacrebleu's two-sided p-value, so it does not depend on the direction;
    ``improved`` uses ``higher_is_better`` to say whether the delta goes the good way (for TER a
    negative delta is an improvement). ``mean ± half_width`` is the system's 95% bootstrap
    estimate (``None`` when approximate randomisation ran without one). ``n`` counts bootstrap
    resamples (``paired-bs``) or randomisation trials (``paired-ar``).
    """

    test: str
    score: float
    baseline_score: float
    p_value: float
    mean: float | None
    half_width: float | None
    n: int
    n_confidence: int
    seed: int
    higher_is_better: bool

    @property
    def delta(self) -> float:
        """System score minus baseline score."""
        return self.score - self.baseline_score

    @property
    def improved(self) -> bool:
        """Whether the system beats the baseline in the metric's own direction."""
        return self.delta > 0 if self.higher_is_better else self.delta < 0


# ----------------------------------------------------------------------------- validation


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_confidence(confidence: object) -> Fraction:
    """The level as an exact decimal fraction, so 0.95 gives sacrebleu's ``n // 40`` exactly."""
    if isinstance(confidence, bool) or not isinstance(confidence, int | float | np.floating):
        raise ConfigError(f"confidence must be a number in (0, 1), got {confidence!r}")
    if not (math.isfinite(confidence) and 0 < confidence < 1):
        raise ConfigError(f"confidence must be strictly between 0 and 1, got {confidence!r}")
    return Fraction(repr(float(confidence)))


def _segment_stats(stats: object, name: str) -> np.ndarray:
    """A validated float64 ``(N, d)`` copy of per-segment statistics."""
    arr = np.asarray(stats)
    if arr.dtype.kind not in "biuf":
        raise EvalkitError(f"{name} must be numeric statistics, got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise MismatchError(f"{name} must be an N x d array with N >= 1, got shape {arr.shape}")
    out = np.array(arr, dtype=_F64, order="C")
    if not np.all(np.isfinite(out)):
        raise EvalkitError(f"{name} contains NaN or infinity")
    return out


def _system_stats(
    baseline: np.ndarray, systems: Sequence[object], offset: int = 0, first: str = "baseline"
) -> list[np.ndarray]:
    """Validated copies of ``systems`` (named ``systems[offset + i]``), shaped like ``first``."""
    if isinstance(systems, np.ndarray) and systems.ndim == 2:
        raise ConfigError("systems must be a sequence of N x d arrays, not one array")
    out = []
    for i, s in enumerate(systems, start=offset):
        arr = _segment_stats(s, f"systems[{i}]")
        if arr.shape != baseline.shape:
            raise MismatchError(
                f"systems[{i}] statistics have shape {arr.shape}, {first} has {baseline.shape}"
            )
        out.append(arr)
    return out


def _score(score_fn: ScoreFn, rows: np.ndarray) -> np.ndarray:
    """Call ``score_fn`` and insist on one score per row (its dtype is kept: it matters)."""
    out = np.asarray(score_fn(rows))
    if out.shape != (rows.shape[0],):
        raise ConfigError(
            f"score_fn must map ({rows.shape[0]}, d) statistics to ({rows.shape[0]},) scores, "
            f"got shape {out.shape}"
        )
    return out


def _corpus_score(score_fn: ScoreFn, stats: np.ndarray) -> float:
    """The real score: rows summed in order in float64, like sacrebleu's ``sum_of_lists``."""
    return float(_score(score_fn, stats.sum(axis=0)[None, :])[0])


def check_resample_budget(n_draws: int, bytes_per_draw: int, what: str) -> None:
    """Refuse, before allocating, a resampling that needs more than the memory budget.

    ``bytes_per_draw`` is what one resample (or trial) holds at once, so the message can say how
    many would fit.
    """
    need = n_draws * bytes_per_draw
    if need > RESAMPLE_BUDGET_BYTES:
        fits = max(1, RESAMPLE_BUDGET_BYTES // max(1, bytes_per_draw))
        raise ConfigError(
            f"{what}: {n_draws:,} would need {need / 2**30:,.1f} GiB of memory, over evalkit's "
            f"{RESAMPLE_BUDGET_BYTES / 2**30:g} GiB resampling budget; at most {fits:,} fit here"
        )


# ----------------------------------------------------------------------------- resampling


@contextmanager
def _one_blas_thread() -> Iterator[None]:
    """BLAS threads fight over the shared cores: on the 2-core machine, a WMT22-sized product
    took a median 16 ms with OpenBLAS's 2 threads and 9 ms with one."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@lru_cache(maxsize=4)
def _bootstrap_indices(n_segments: int, n_samples: int, seed: int) -> np.ndarray:
    """Exactly the draw of sacrebleu's ``_bootstrap_resample`` / ``_paired_bs_test``.

    Every system and metric of a test set resamples with the same (N, B, seed), so the draw is
    made once and shared (read-only) instead of once per system × metric.
    """
    rng = np.random.default_rng(seed)
    idxs = rng.choice(n_segments, size=(n_samples, n_segments), replace=True)
    idxs.flags.writeable = False
    return idxs


@lru_cache(maxsize=8)
def _draw_counts(
    n_segments: int, n_samples: int, seed: int, start: int, stop: int, dtype: np.dtype = _F64
) -> np.ndarray:
    """Count matrix of resamples ``start:stop`` of the shared draw (read-only, memoised)."""
    idxs = _bootstrap_indices(n_segments, n_samples, seed)[start:stop]
    counts = _counts(idxs, n_segments, dtype)
    counts.flags.writeable = False
    return counts


def _chunk_rows(n_cols: int) -> int:
    return max(1, _CHUNK_CELLS // max(1, n_cols))


def _counts(idxs: np.ndarray, n_segments: int, dtype: np.dtype = _F64) -> np.ndarray:
    """Row ``r`` counts the draws of resample ``r``. One small ``bincount`` per row, written
    straight into the result: about 2x faster on WMT22-sized draws (1,000 × 2,037) than one
    flat bincount, which needs two more B × N temporaries (offset indices, int64 counts)."""
    counts = np.empty((idxs.shape[0], n_segments), dtype=dtype)
    for r, row in enumerate(idxs):
        counts[r] = np.bincount(row, minlength=n_segments)
    return counts


def bootstrap_counts(n_segments: int, n_samples: int, seed: int = DEFAULT_SEED) -> np.ndarray:
    """How often each segment is drawn in each resample, ``(n_samples, n_segments)`` float64.

    The draws are sacrebleu's (``default_rng(seed).choice(N, (B, N))``), so ``counts @ stats``
    gives every resample's summed statistics in one product.
    """
    n = _check_int("n_segments", n_segments, 1)
    b = _check_int("n_samples", n_samples, 1)
    s = _check_int("seed", seed, 0)
    return _counts(_bootstrap_indices(n, b, s), n)


def _float32_resample_sums(
    stats: np.ndarray, idxs: np.ndarray, draw: tuple[int, int, int] | None = None
) -> np.ndarray:
    """Each resample's column sums exactly as sacrebleu gets them: float32 rows summed in order.

    When the statistics are non-negative integers and no resample sum exceeds 2**24, every
    float32 partial sum is exact, so an exact count-matrix product rounded to float32 is the
    same number. The product itself runs in float32 when even the largest possible sum (N times
    the largest statistic) stays under 2**24 — then every product and partial sum is an exact
    float32 integer in any summation order — else in float64. Otherwise (huge corpora,
    fractional TER lengths) float32 rounding depends on the order, and the sum is replayed
    segment by segment in float32 as NumPy does it. ``draw`` = (N, B, seed) names the shared
    draw ``idxs`` came from, so its count matrix is built once per test set.
    """
    s32 = stats.astype(_F32)
    n_samples, n_segments = idxs.shape
    if np.all(s32 >= 0) and np.array_equal(s32, np.trunc(s32)):
        bound = float(s32.max(initial=0.0)) * n_segments
        dtype = _F32 if bound <= _F32_EXACT else _F64
        lhs = s32 if dtype == _F32 else s32.astype(_F64)
        sums = np.empty((n_samples, s32.shape[1]), dtype=dtype)
        step = _chunk_rows(n_segments)
        for start in range(0, n_samples, step):
            block = slice(start, start + step)
            counts = (
                _draw_counts(n_segments, n_samples, draw[2], block.start, block.stop, dtype)
                if draw is not None
                else _counts(idxs[block], n_segments, dtype)
            )
            sums[block] = counts @ lhs
        if sums.size == 0 or sums.max() <= _F32_EXACT:
            return sums.astype(_F32)
    acc = s32[idxs[:, 0]]
    for j in range(1, n_segments):
        acc += s32[idxs[:, j]]
    return acc


def _ar_shuffled_sums(
    baseline: np.ndarray, systems: list[np.ndarray], pos: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per system, sacrebleu's ``pos @ bl + neg @ sys`` and ``neg @ bl + pos @ sys``.

    Integer statistics (all but multi-reference TER) are summed exactly, so one product of the
    mask with every system's statistics side by side gives them all: with D = bl - sys,
    shuffled A = sys_total + pos @ D and B = bl_total - pos @ D. Fractional statistics repeat
    sacrebleu's own products so the float64 rounding is the same.
    """
    stacked = np.hstack([baseline, *systems])
    d = baseline.shape[1]
    exact = np.array_equal(stacked, np.trunc(stacked)) and np.abs(stacked).sum() < _F64_EXACT
    out = []
    if exact:
        n_trials, n_segments = pos.shape
        prod = np.empty((n_trials, stacked.shape[1]), dtype=_F64)
        step = _chunk_rows(n_segments)
        for start in range(0, n_trials, step):
            block = slice(start, start + step)
            prod[block] = pos[block].astype(_F64) @ stacked
        totals = stacked.sum(axis=0)
        pos_bl, bl_total = prod[:, :d], totals[:d]
        for i in range(len(systems)):
            cols = slice(d * (i + 1), d * (i + 2))
            pos_sys, sys_total = prod[:, cols], totals[cols]
            shuf_a = pos_bl + (sys_total - pos_sys)
            shuf_b = (bl_total - pos_bl) + pos_sys
            # sacrebleu's rows here are int64 (bool @ int lists); the dtype reaches the scorer.
            out.append((shuf_a.astype(np.int64), shuf_b.astype(np.int64)))
        return out
    neg = ~pos
    pos_bl, neg_bl = pos @ baseline, neg @ baseline
    for sys_stats in systems:
        out.append((pos_bl + neg @ sys_stats, neg_bl + pos @ sys_stats))
    return out


# ----------------------------------------------------------------------------- estimates


def _lower_index(n: int, confidence: Fraction) -> int:
    """sacrebleu's ``n // 40`` for 95%, generalised as ``floor(n * (1 - confidence) / 2)``."""
    return math.floor(n * (1 - confidence) / 2)


def _paired_ci(scores: np.ndarray) -> tuple[float, float]:
    """``significance.estimate_ci``: NumPy mean of the sorted scores, 95% by ``n // 40``."""
    ordered = np.sort(scores)
    n = len(ordered)
    lower = n // 40
    half = 0.5 * (ordered[n - lower - 1] - ordered[lower])
    return float(ordered.mean()), float(half)


def _p_value(sample_stats: np.ndarray, real_difference: float) -> float:
    """``significance._compute_p_value``: strict ``>`` and the +1 correction."""
    count = np.sum(sample_stats > real_difference).item()
    return (count + 1) / (len(sample_stats) + 1)


@dataclass(frozen=True)
class BootstrapScores:
    """Every system's corpus score under the same B resamples of the segments.

    sacrebleu's ``--confidence`` and ``--paired-bs`` draw the same resamples for every system
    (one fresh generator, same seed), so one draw and one product of its count matrix with all
    systems' statistics side by side serve every CI and every paired test of a metric.
    ``scores[:, j]`` are system ``j``'s resample scores; ``real[j]`` its corpus score.
    """

    scores: np.ndarray
    real: tuple[float, ...]
    n_samples: int
    seed: int

    def ci(self, j: int, confidence: float = 0.95) -> ConfidenceInterval:
        """System ``j``'s interval as ``sacrebleu --confidence`` computes it.

        The mean is ``statistics.mean`` of the resample scores and the half-width half the
        spread between the sorted scores at ``floor(n * (1 - confidence) / 2)`` from each end,
        exactly as sacrebleu's ``Score.estimate_ci`` (which hard-codes ``n // 40`` for 95%).
        """
        level = _check_confidence(confidence)
        b = self.n_samples
        ordered = np.sort(self.scores[:, j])
        lower = _lower_index(b, level)
        low, high = ordered[lower], ordered[b - lower - 1]
        # statistics.mean over NumPy scalars, as sacrebleu: exact, then rounded to their type.
        mean = statistics.mean(list(ordered))
        return ConfidenceInterval(
            score=self.real[j],
            mean=float(mean),
            half_width=float(0.5 * (high - low)),
            low=float(low),
            high=float(high),
            confidence=float(confidence),
            n_samples=b,
            seed=self.seed,
        )

    def paired(
        self, anchor: int, others: Sequence[int], *, higher_is_better: bool
    ) -> list[PairedResult]:
        """Paired bootstrap test (``--paired-bs``) of each of ``others`` against ``anchor``.

        p = (1 + #{|Δ*| - mean|Δ*| > |Δ|}) / (B + 1), with Δ* the resampled score differences.
        """
        bl_scores, bl_score = self.scores[:, anchor], self.real[anchor]
        results = []
        for j in others:
            sys_scores, sys_score = self.scores[:, j], self.real[j]
            mean, half = _paired_ci(sys_scores)
            sample_diffs = np.abs(sys_scores - bl_scores)
            p = _p_value(sample_diffs - sample_diffs.mean(), abs(bl_score - sys_score))
            results.append(
                PairedResult(
                    test="paired-bs",
                    score=sys_score,
                    baseline_score=bl_score,
                    p_value=p,
                    mean=mean,
                    half_width=half,
                    n=self.n_samples,
                    n_confidence=self.n_samples,
                    seed=self.seed,
                    higher_is_better=bool(higher_is_better),
                )
            )
        return results


def bootstrap_scores(
    systems: Sequence[np.ndarray],
    score_fn: ScoreFn,
    *,
    n_samples: int = 1000,
    seed: int = DEFAULT_SEED,
) -> BootstrapScores:
    """Resample all systems' ``N × d`` statistics at once with sacrebleu's draw and score them."""
    b = _check_int("n_samples", n_samples, 1)
    s = _check_int("seed", seed, 0)
    if isinstance(systems, np.ndarray):
        raise ConfigError("systems must be a sequence of N x d arrays, not one array")
    if not systems:
        raise ConfigError("bootstrap_scores needs at least one system")
    first = _segment_stats(systems[0], "systems[0]")
    syss = [first, *_system_stats(first, systems[1:], 1, "systems[0]")]
    return _resample_scores(syss, score_fn, b, s)


def _resample_scores(syss: list[np.ndarray], score_fn: ScoreFn, b: int, s: int) -> BootstrapScores:
    """:func:`bootstrap_scores` on statistics and arguments its callers already validated."""
    n, d = syss[0].shape
    # the B × N draw (int64), then B × (systems × d) sums and scores
    check_resample_budget(b, 8 * (n + 2 * d * len(syss)), f"{n:,} segments: bootstrap resamples")
    idxs = _bootstrap_indices(n, b, s)
    with _one_blas_thread():
        sums = _float32_resample_sums(np.hstack(syss), idxs, (n, b, s))
    # Stacked, not copied into float64: the scores' dtype reaches sacrebleu's mean (it matters).
    scores = np.stack([_score(score_fn, sums[:, d * j : d * (j + 1)]) for j in range(len(syss))], 1)
    real = tuple(_corpus_score(score_fn, x) for x in syss)
    return BootstrapScores(scores=scores, real=real, n_samples=b, seed=s)


def bootstrap_ci(
    stats: np.ndarray,
    score_fn: ScoreFn,
    *,
    n_samples: int = 1000,
    seed: int = DEFAULT_SEED,
    confidence: float = 0.95,
) -> ConfidenceInterval:
    """Bootstrap CI of one system's corpus score, as ``sacrebleu --confidence`` computes it."""
    _check_confidence(confidence)
    seg = _segment_stats(stats, "stats")
    b = _check_int("n_samples", n_samples, 1)
    s = _check_int("seed", seed, 0)
    return _resample_scores([seg], score_fn, b, s).ci(0, confidence)


def paired_bootstrap(
    baseline: np.ndarray,
    systems: Sequence[np.ndarray],
    score_fn: ScoreFn,
    *,
    higher_is_better: bool,
    n_samples: int = 1000,
    seed: int = DEFAULT_SEED,
) -> list[PairedResult]:
    """Paired bootstrap resampling test of each system against the baseline (``--paired-bs``).

    sacrebleu seeds a fresh generator with the same seed for every system, so all systems see
    the same resamples; here they are drawn once and the baseline's resample scores are shared.
    """
    b = _check_int("n_samples", n_samples, 1)
    s = _check_int("seed", seed, 0)
    bl = _segment_stats(baseline, "baseline")
    syss = _system_stats(bl, systems)
    if not syss:
        return []
    boot = _resample_scores([bl, *syss], score_fn, b, s)
    return boot.paired(0, range(1, len(syss) + 1), higher_is_better=higher_is_better)


def paired_approximate_randomization(
    baseline: np.ndarray,
    systems: Sequence[np.ndarray],
    score_fn: ScoreFn,
    *,
    higher_is_better: bool,
    n_trials: int = 10000,
    seed: int = DEFAULT_SEED,
    n_confidence: int = 1000,
) -> list[PairedResult]:
    """Paired approximate randomisation test of each system against the baseline (``--paired-ar``).

    Each trial swaps every segment's baseline/system statistics with probability 1/2;
    p = (1 + #{|score(A*) - score(B*)| > |Δ|}) / (trials + 1). As in sacrebleu, every system
    gets a fresh generator with the same seed (so the same swap masks), and the system's
    bootstrap mean ± 95% half-width uses ``n_confidence`` resamples drawn from that generator
    *after* the masks (sacrebleu's ``n_ar_confidence``; 0 skips it, as the sacrebleu CLI does).
    """
    t = _check_int("n_trials", n_trials, 1)
    nc = _check_int("n_confidence", n_confidence, 0)
    s = _check_int("seed", seed, 0)
    bl = _segment_stats(baseline, "baseline")
    syss = _system_stats(bl, systems)
    if not syss:
        return []
    d, n = bl.shape[1], bl.shape[0]
    # the T × N swap mask (bool), T × (systems × d) products and shuffled sums; the CI draw
    check_resample_budget(t, n + 24 * d * (len(syss) + 1), f"{n:,} segments: randomization trials")
    check_resample_budget(nc, 8 * (n + d * len(syss)), f"{n:,} segments: bootstrap resamples")
    rng = np.random.default_rng(s)
    pos = rng.integers(2, size=(t, n), dtype=bool)
    with _one_blas_thread():
        shuffled = _ar_shuffled_sums(bl, syss, pos)
        ci_sums = None
        if nc > 0:
            bs_idxs = rng.choice(n, size=(nc, n), replace=True)
            ci_sums = _float32_resample_sums(np.hstack(syss), bs_idxs)
    bl_score = _corpus_score(score_fn, bl)
    results = []
    for i, (sys_stats, (shuf_a, shuf_b)) in enumerate(zip(syss, shuffled, strict=True)):
        sys_score = _corpus_score(score_fn, sys_stats)
        trial_diffs = np.abs(_score(score_fn, shuf_a) - _score(score_fn, shuf_b))
        p = _p_value(trial_diffs, abs(bl_score - sys_score))
        mean = half = None
        if ci_sums is not None:
            mean, half = _paired_ci(_score(score_fn, ci_sums[:, d * i : d * (i + 1)]))
        results.append(
            PairedResult(
                test="paired-ar",
                score=sys_score,
                baseline_score=bl_score,
                p_value=p,
                mean=mean,
                half_width=half,
                n=t,
                n_confidence=nc,
                seed=s,
                higher_is_better=bool(higher_is_better),
            )
        )
    return results
