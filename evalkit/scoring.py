"""sacrebleu's corpus-score formulas, vectorised over many rows of summed statistics.

Why: resampling needs thousands of scores from summed sufficient statistics, and sacrebleu
computes each one through Python objects. These closed forms score every row at once and give
exactly ``metric._compute_score_from_stats(row).score`` for each row, bit for bit, so resampled
confidence intervals and p-values match the sacrebleu CLI to the last digit. Three details make
that possible and are reproduced on purpose:

* sacrebleu resamples float32 rows; under NumPy 2 promotion rules (NEP 50) its scalar arithmetic
  then runs in float32 (BLEU precisions, chrF and TER scores). A float32 input is therefore
  scored in float32 where sacrebleu is, and chrF/TER return float32 exactly when every
  sacrebleu score would be a NumPy float32 (so ``np.array`` of sacrebleu's scores has our dtype).
  Any other input dtype is scored in float64, like sacrebleu's Python-int corpus statistics.
* ``log``/``exp`` go through :mod:`math` (libm) as in sacrebleu; NumPy's SIMD versions differ in
  the last bit for a noticeable share of inputs.
* BLEU's mean of log precisions uses Python's ``sum`` semantics for the running interpreter
  (plain left-to-right before 3.12, Neumaier-compensated from 3.12 on).
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable, Mapping
from types import MappingProxyType

import numpy as np

from .errors import ConfigError, EvalkitError, MismatchError

__all__ = [
    "BLEU_SMOOTH_DEFAULTS",
    "HIGHER_IS_BETTER",
    "bleu_scores",
    "chrf_scores",
    "higher_is_better",
    "ter_scores",
]

BLEU_SMOOTH_DEFAULTS: Mapping[str, float | None] = MappingProxyType(
    {"none": None, "floor": 0.1, "add-k": 1, "exp": None}
)
"""sacrebleu's ``BLEU.SMOOTH_DEFAULTS``: the value used when ``smooth_value`` is ``None``."""

HIGHER_IS_BETTER: Mapping[str, bool] = MappingProxyType(
    {"bleu": True, "chrf": True, "chrf++": True, "ter": False}
)
"""Score direction per metric: TER counts edits, so lower is better."""

_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)
_MY_LOG_ZERO = -9999999999.0  # sacrebleu.utils.my_log(0.0)
_CHRF_EPS = 1e-16  # sacrebleu CHRF._compute_f_score
_NEUMAIER_SUM = sys.version_info >= (3, 12)
_CHRF_NAME = re.compile(r"chrf\d*(\+\+)?")
_HIGHER = re.compile(r"(?:^|\|)higher:(yes|no)(?:\||$)")

# A value tagged with whether sacrebleu would hold it as a NumPy float32 (True) or as a Python
# float / float64 (False); values are stored in float64, which represents every float32 exactly.
_Tagged = tuple[np.ndarray, np.ndarray]


def higher_is_better(metric: str, signature: str | None = None) -> bool:
    """Whether a larger score is better, so callers never hard-code TER's reversed direction.

    Accepts evalkit names (``bleu``, ``chrf``, ``chrf++``, ``ter``) and sacrebleu score names
    (``BLEU``, ``chrF2``, ``chrF2++``, ``TER``), case-insensitively. An external metric
    (evalkit.plugins) states its direction in its ``signature`` (``|higher:yes`` / ``no``).
    """
    key = metric.strip().lower()
    if _CHRF_NAME.fullmatch(key):
        key = "chrf++" if key.endswith("++") else "chrf"
    stated = _HIGHER.search(signature or "") if key not in HIGHER_IS_BETTER else None
    if stated:
        return stated.group(1) == "yes"
    if key not in HIGHER_IS_BETTER:
        raise ConfigError(f"unknown metric {metric!r}; known: {', '.join(HIGHER_IS_BETTER)}")
    return HIGHER_IS_BETTER[key]


def _rows(stats: object, width: int, metric: str) -> tuple[np.ndarray, tuple[int, ...]]:
    """Validate ``(..., width)`` statistics; return a private 2-D working copy and the lead shape.

    float32 stays float32 (sacrebleu's resampling dtype); everything else becomes float64.
    """
    arr = np.asarray(stats)
    if arr.dtype.kind not in "biuf":
        raise EvalkitError(f"{metric} statistics must be numeric, got dtype {arr.dtype}")
    if arr.ndim == 0 or arr.shape[-1] != width:
        raise MismatchError(
            f"{metric} statistics need {width} values per row, got shape {arr.shape}"
        )
    work = arr.astype(_F32 if arr.dtype == _F32 else _F64).reshape(-1, width)
    if not np.all(np.isfinite(work)):
        raise EvalkitError(f"{metric} statistics contain NaN or infinity")
    if np.any(work < 0):
        raise EvalkitError(f"{metric} statistics must be non-negative")
    return work, arr.shape[:-1]


def _check_order(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _libm(fn: Callable[[float], float], values: np.ndarray) -> np.ndarray:
    """Apply a :mod:`math` function elementwise, because NumPy's log/exp round differently."""
    flat = values.astype(_F64).ravel().tolist()
    return np.fromiter(map(fn, flat), dtype=_F64, count=len(flat)).reshape(values.shape)


def _python_sum(terms: np.ndarray) -> np.ndarray:
    """Row sums of float64 ``terms`` exactly as ``sum(list_of_floats)`` computes them."""
    if not _NEUMAIER_SUM:
        acc = terms[:, 0] + 0.0
        for j in range(1, terms.shape[1]):
            acc = acc + terms[:, j]
        return acc
    hi = terms[:, 0] + 0.0
    lo = np.zeros_like(hi)
    for j in range(1, terms.shape[1]):
        x = terms[:, j]
        t = hi + x
        lo = lo + np.where(np.abs(hi) >= np.abs(x), (hi - t) + x, (x - t) + hi)
        hi = t
    return np.where((lo != 0) & np.isfinite(lo), hi + lo, hi)


def bleu_scores(
    stats: np.ndarray,
    *,
    max_ngram_order: int = 4,
    smooth_method: str = "exp",
    smooth_value: float | None = None,
    effective_order: bool = False,
) -> np.ndarray:
    """BLEU for each row ``[hyp_len, ref_len, correct_1..n, total_1..n]`` (sacrebleu layout).

    Follows ``BLEU.compute_bleu`` step by step, including its early exit when nothing matches,
    the order at which a zero total stops the precisions, and ``my_log(0) = -9999999999``.
    Returns float64 (sacrebleu's BLEU is always a Python float); a single row gives a 0-d array.
    The row dtype matters as it does to sacrebleu: float32 rows get float32 precisions, and
    integer NumPy rows truncate ``correct + smooth_value`` for a fractional add-k value (sacrebleu
    writes the sum back into the row), unlike float64 rows, which behave like Python lists.
    """
    order = _check_order("max_ngram_order", max_ngram_order, 1)
    if smooth_method not in BLEU_SMOOTH_DEFAULTS:
        raise ConfigError(
            f"unknown BLEU smooth_method {smooth_method!r}; "
            f"choose from {', '.join(BLEU_SMOOTH_DEFAULTS)}"
        )
    value = BLEU_SMOOTH_DEFAULTS[smooth_method] if smooth_value is None else smooth_value
    if value is not None:
        if isinstance(value, bool) or not isinstance(value, int | float | np.number):
            raise ConfigError(f"BLEU smooth_value must be a number, got {smooth_value!r}")
        # A Python scalar, so NumPy treats it as sacrebleu's Python arithmetic does (weakly).
        value = int(value) if isinstance(value, int | np.integer) else float(value)
        if not math.isfinite(value) or value < 0:
            raise ConfigError(f"BLEU smooth_value must be finite and >= 0, got {smooth_value!r}")

    integer_rows = np.asarray(stats).dtype.kind in "biu"
    work, lead = _rows(stats, 2 + 2 * order, "BLEU")
    m = work.shape[0]
    dt = work.dtype
    sys_len = np.trunc(work[:, 0].astype(_F64))  # int(stats[0])
    ref_len = np.trunc(work[:, 1].astype(_F64))
    correct = work[:, 2 : 2 + order]  # views of the private copy: add-k mutates them in place
    total = work[:, 2 + order :]
    no_match = ~np.any(correct != 0, axis=1)  # `if not any(correct)`, checked before add-k

    precisions = np.zeros((m, order), dtype=dt)
    alive = np.ones(m, dtype=bool)  # no zero total met yet (sacrebleu's `break`)
    eff_order = np.full(m, order)
    smooth_mteval = np.ones(m, dtype=dt)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for k in range(order):
            if smooth_method == "add-k" and k > 0:
                correct[:, k] += value
                total[:, k] += value
                if integer_rows:  # sacrebleu stores c + k back into the integer row: truncated
                    correct[:, k] = np.trunc(correct[:, k])
                    total[:, k] = np.trunc(total[:, k])
            c, t = correct[:, k], total[:, k]
            alive &= t != 0
            if effective_order:
                eff_order = np.where(alive, k + 1, eff_order)
            zero = alive & (c == 0)
            if smooth_method == "exp":
                smooth_mteval = np.where(zero, smooth_mteval * 2, smooth_mteval)
                p_zero = 100.0 / (smooth_mteval * t)
            elif smooth_method == "floor":
                p_zero = (100.0 * value) / t
            else:
                p_zero = np.zeros(m, dtype=dt)
            p_match = 100.0 * c / t
            precisions[:, k] = np.where(alive, np.where(c == 0, p_zero, p_match), 0)

    used = np.arange(order) < eff_order[:, None]  # precisions[:eff_order]
    positive = used & (precisions > 0)
    logs = np.zeros((m, order), dtype=_F64)
    logs[used] = _MY_LOG_ZERO
    logs[positive] = _libm(math.log, precisions[positive])
    mean_log = _python_sum(logs) / eff_order
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = 1 - ref_len / sys_len
    bp = np.ones(m, dtype=_F64)
    short = sys_len < ref_len
    bp[short & (sys_len <= 0)] = 0.0
    shrink = short & (sys_len > 0)
    bp[shrink] = _libm(math.exp, ratio[shrink])
    scores = bp * _libm(math.exp, mean_log)
    scores[no_match] = 0.0
    return scores.reshape(lead)


def _tag(values: np.ndarray | float, m: int) -> _Tagged:
    """A Python number (or per-row Python numbers): never float32 by itself."""
    return np.broadcast_to(np.asarray(values, dtype=_F64), (m,)), np.zeros(m, dtype=bool)


def _op(a: _Tagged, b: _Tagged, ufunc: np.ufunc) -> _Tagged:
    """``a <op> b`` with NumPy 2 scalar promotion: float32 if either side is float32."""
    wide = ufunc(a[0], b[0])
    narrow_rows = a[1] | b[1]
    if narrow_rows.any():
        narrow = ufunc(a[0].astype(_F32), b[0].astype(_F32)).astype(_F64)
        wide = np.where(narrow_rows, narrow, wide)
    return wide, narrow_rows


def _pick(cond: np.ndarray, a: _Tagged, b: _Tagged) -> _Tagged:
    return np.where(cond, a[0], b[0]), np.where(cond, a[1], b[1])


def _finish(result: _Tagged, in32: bool, lead: tuple[int, ...]) -> np.ndarray:
    """float32 iff sacrebleu would return a NumPy float32 for every row, else float64."""
    values, narrow = result
    out = values.astype(_F32) if in32 and bool(narrow.all()) else values.astype(_F64)
    return out.reshape(lead)


def chrf_scores(
    stats: np.ndarray,
    *,
    char_order: int = 6,
    word_order: int = 0,
    beta: int = 2,
    eps_smoothing: bool = False,
) -> np.ndarray:
    """chrF / chrF++ for each row of ``[hyp, ref, match]`` triples (char orders, then word orders).

    Follows ``CHRF._compute_f_score``: the default averages precision and recall over the orders
    both sides have (sacreBLEU's "effective order"); ``eps_smoothing`` averages per-order F
    scores with chrF++.py's epsilon instead.
    """
    chars = _check_order("char_order", char_order, 0)
    words = _check_order("word_order", word_order, 0)
    order = chars + words
    if order < 1:
        raise ConfigError("chrF needs char_order + word_order >= 1")
    if isinstance(beta, bool) or not isinstance(beta, int | float | np.number) or beta <= 0:
        raise ConfigError(f"chrF beta must be a positive number, got {beta!r}")
    factor = beta**2
    work, lead = _rows(stats, 3 * order, "chrF")
    m = work.shape[0]
    in32 = work.dtype == _F32
    vals = work.astype(_F64)
    flag = np.full(m, in32)
    eps = _tag(_CHRF_EPS, m)
    mul, add, div = np.multiply, np.add, np.true_divide

    score = _tag(0.0, m)
    avg_prec, avg_rec = _tag(0.0, m), _tag(0.0, m)
    eff = np.zeros(m, dtype=np.int64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        for i in range(order):
            n_hyp, n_ref, n_match = vals[:, 3 * i], vals[:, 3 * i + 1], vals[:, 3 * i + 2]
            hyp_pos, ref_pos = n_hyp > 0, n_ref > 0
            prec = _pick(hyp_pos, _op((n_match, flag), (n_hyp, flag), div), eps)
            rec = _pick(ref_pos, _op((n_match, flag), (n_ref, flag), div), eps)
            if eps_smoothing:
                denom = _op(_op(_tag(factor, m), prec, mul), rec, add)
                term = _op(_op(_op(_tag(1 + factor, m), prec, mul), rec, mul), denom, div)
                score = _op(score, _pick(denom[0] > 0, term, eps), add)
            else:
                both = hyp_pos & ref_pos
                avg_prec = _pick(both, _op(avg_prec, prec, add), avg_prec)
                avg_rec = _pick(both, _op(avg_rec, rec, add), avg_rec)
                eff += both

        if eps_smoothing:
            result = _op(_op(_tag(100, m), score, mul), _tag(order, m), div)
            return _finish(result, in32, lead)

        some = eff > 0
        divisor = _tag(np.maximum(eff, 1), m)
        avg_prec = _pick(some, _op(avg_prec, divisor, div), avg_prec)
        avg_rec = _pick(some, _op(avg_rec, divisor, div), avg_rec)
        nonzero = _op(avg_prec, avg_rec, add)[0] != 0
        f = _op(_op(_tag(1 + factor, m), avg_prec, mul), avg_rec, mul)
        f = _op(f, _op(_op(_tag(factor, m), avg_prec, mul), avg_rec, add), div)
        result = _pick(nonzero, _op(_tag(100, m), f, mul), _tag(0.0, m))
    return _finish(result, in32, lead)


def ter_scores(stats: np.ndarray) -> np.ndarray:
    """TER (in percent, lower is better) for each row ``[num_edits, ref_length]``.

    An empty reference scores 100 if the hypothesis needs edits and 0 otherwise, as in sacrebleu.
    """
    work, lead = _rows(stats, 2, "TER")
    edits, ref_len = work[:, 0], work[:, 1]
    has_ref = ref_len > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = 100 * (edits / ref_len)  # in the row dtype, as sacrebleu's scalar arithmetic
    fallback = np.where(edits > 0, 100.0, 0.0)
    result = (np.where(has_ref, rate.astype(_F64), fallback), np.full(len(work), True) & has_ref)
    return _finish(result, work.dtype == _F32, lead)
