"""Resampling above the exact limit, over fixed row blocks: a Poisson(1) bootstrap and blocked
approximate randomization, whose draws depend only on (N, samples, seed)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterator, Mapping, Sequence
from fractions import Fraction

import numpy as np
from threadpoolctl import threadpool_limits

from ..evaluation import StatsOptions, _apply_statistics
from ..metrics import MetricSpec
from ..results import Comparison, SystemResult
from ..stats import _lower_index, _p_value, check_resample_budget
from .collect import _float64_totals
from .pool import _ordered_map

_RESAMPLE_CELLS = 1 << 22  # weights per block of rows: 32 MiB of float64


def _row_blocks(chunks: Sequence[np.ndarray], rows: int) -> Iterator[np.ndarray]:
    """Consecutive blocks of ``rows`` rows (the last one shorter) across the chunks."""
    buf: list[np.ndarray] = []
    have = 0
    for chunk in chunks:
        start = 0
        while start < chunk.shape[0]:
            take = min(rows - have, chunk.shape[0] - start)
            buf.append(chunk[start : start + take])
            have += take
            start += take
            if have == rows:
                yield np.concatenate(buf)
                buf, have = [], 0
    if have:
        yield np.concatenate(buf)


def _poisson1_table() -> tuple[np.ndarray, np.ndarray]:
    """Inverse-CDF sampling of Poisson(1) from 16 random bits, exact to float64 resolution.

    ``table[v]`` is the variate for every uniform in ``[v, v+1) / 2**16`` when the CDF has no
    step inside that bin; the few bins with a step (8 of 65536) are -1 and resolved with a
    further uniform draw. About 4 ns per weight instead of numpy's 30 ns ``poisson``.
    """
    pmf = [math.exp(-1) / math.factorial(k) for k in range(31)]
    cdf = np.array([math.fsum(pmf[: k + 1]) for k in range(31)])
    cdf[-1] = 1.0  # P(X > 30) ~ 1e-33: below float64 resolution
    edges = np.arange(65537, dtype=np.float64) / 65536
    lo = np.searchsorted(cdf, edges[:-1], side="right")
    hi = np.searchsorted(cdf, edges[1:], side="left")
    table = np.where(lo == hi, lo, -1).astype(np.float64)
    return table, cdf


_P1_TABLE, _P1_CDF = _poisson1_table()


def _poisson1(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    bits = rng.integers(0, 65536, size=shape, dtype=np.uint16)
    out = _P1_TABLE[bits]
    amb = np.flatnonzero(out < 0)
    if amb.size:
        u = (bits.ravel()[amb] + rng.random(amb.size)) / 65536
        out.ravel()[amb] = np.searchsorted(_P1_CDF, u, side="right")
    return out


_GROUP_BLOCKS = 16
"""Resampling blocks per unit of work (sent to a process when ``jobs`` > 1)."""

Draw = Callable[[np.random.Generator, tuple[int, int]], np.ndarray]


def _group_sums(args: tuple[np.ndarray, int, int, int, int, Draw]) -> np.ndarray:
    """``Σ draw(B × rows) @ block`` over one group's blocks; block ``j`` draws from its own
    generator ``default_rng([seed, j])``, so any process can compute any block."""
    x, n_draws, seed, first_block, rows, draw = args
    out = np.zeros((n_draws, x.shape[1]))
    with threadpool_limits(limits=1, user_api="blas"):  # BLAS threads fight over shared cores
        for j, start in enumerate(range(0, x.shape[0], rows), start=first_block):
            block = x[start : start + rows].astype(np.float64)
            out += draw(np.random.default_rng([seed, j]), (n_draws, block.shape[0])) @ block
    return out


def _blocked_sums(
    columns: Sequence[Sequence[np.ndarray]], n_draws: int, seed: int, draw: Draw, jobs: int = 1
) -> np.ndarray:
    """``Σ_blocks draw(B × rows) @ X_block`` for every column set side by side: ``(B, Σd)``.

    Blocks are fixed row ranges (``rows`` depends only on ``n_draws``) and partial sums are
    added in block order, so the result never depends on how the corpus was chunked when it
    was read, nor on ``jobs``.
    """
    width = sum(col[0].shape[1] for col in columns)
    # the total and one partial per process (B × Σd), and a draw of at least one row per block
    check_resample_budget(n_draws, 8 * ((2 + jobs) * width + 1), "streamed resampling draws")
    rows = max(1, _RESAMPLE_CELLS // n_draws)
    per_group = rows * _GROUP_BLOCKS
    groups = zip(*(_row_blocks(col, per_group) for col in columns), strict=True)
    work = (
        (np.hstack(parts), n_draws, seed, g * _GROUP_BLOCKS, rows, draw)
        for g, parts in enumerate(groups)
    )
    n_rows = sum(c.shape[0] for c in columns[0])
    out = np.zeros((n_draws, width))
    for partial in _ordered_map(_group_sums, work, jobs if n_rows > 2 * per_group else 1):
        out += partial
    return out


def _ar_masks(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    return rng.integers(2, size=shape, dtype=bool).astype(np.float64)


def _poisson_statistics(
    systems: list[SystemResult],
    norm_chunks: Mapping[tuple[str, str], list[np.ndarray]],
    specs: Sequence[MetricSpec],
    baseline: str,
    opts: StatsOptions,
    jobs: int = 1,
) -> tuple[list[SystemResult], dict[str, dict[str, dict[str, Comparison]]]]:
    """``evaluation._with_statistics`` over row blocks: Poisson(1) bootstrap, blocked AR."""
    names = [s.name for s in systems]
    keys = [(n, s.name) for s in specs for n in names]
    cols: dict[tuple[str, str], slice] = {}
    at = 0
    for key in keys:
        d = norm_chunks[key][0].shape[1]
        cols[key] = slice(at, at + d)
        at += d
    columns = [norm_chunks[k] for k in keys]
    spec_of = {s.name: s for s in specs}
    totals = {k: _float64_totals(norm_chunks[k]) for k in keys}
    real = {k: float(np.asarray(spec_of[k[1]].score_fn(totals[k][None, :]))[0]) for k in keys}

    boot: dict[tuple[str, str], np.ndarray] = {}
    n_boot = opts.bootstrap or (1000 if opts.paired == "bs" else 0)
    if n_boot:
        sums = _blocked_sums(columns, n_boot, opts.seed, _poisson1, jobs)
        boot = {k: np.asarray(spec_of[k[1]].score_fn(sums[:, cols[k]])) for k in keys}
    ar = (
        _blocked_sums(columns, opts.ar_trials, opts.seed, _ar_masks, jobs)
        if opts.paired == "ar"
        else None
    )

    def ci(name: str, spec: MetricSpec) -> tuple[float, float, float]:
        ordered = np.sort(boot[(name, spec.name)])
        lower = _lower_index(len(ordered), Fraction(repr(float(opts.confidence))))
        low, high = float(ordered[lower]), float(ordered[len(ordered) - lower - 1])
        return low, high, float(statistics.mean(list(ordered)))

    def compare(spec: MetricSpec, anchor: str, others: list[str]) -> dict[str, Comparison]:
        if opts.paired == "bs":
            return {o: _poisson_paired(boot, real, anchor, o, spec.name) for o in others}
        return {o: _blocked_ar(ar, cols, totals, real, spec, anchor, o) for o in others}

    return _apply_statistics(systems, specs, baseline, opts, ci, compare)


def _poisson_paired(
    boot: Mapping[tuple[str, str], np.ndarray],
    real: Mapping[tuple[str, str], float],
    anchor: str,
    other: str,
    metric: str,
) -> Comparison:
    """paired_bootstrap's p-value, on resamples that share their Poisson weights."""
    delta = real[(other, metric)] - real[(anchor, metric)]
    diffs = np.abs(boot[(other, metric)] - boot[(anchor, metric)])
    return Comparison(delta, _p_value(diffs - diffs.mean(), abs(delta)), "paired-bs")


def _blocked_ar(
    pos: np.ndarray | None,
    cols: Mapping[tuple[str, str], slice],
    totals: Mapping[tuple[str, str], np.ndarray],
    real: Mapping[tuple[str, str], float],
    spec: MetricSpec,
    anchor: str,
    other: str,
) -> Comparison:
    """paired_approximate_randomization's p-value from ``pos @ stats`` of both systems."""
    assert pos is not None
    m = spec.name
    pos_a, pos_o = pos[:, cols[(anchor, m)]], pos[:, cols[(other, m)]]
    tot_a, tot_o = totals[(anchor, m)], totals[(other, m)]
    shuf_a = pos_a + (tot_o - pos_o)
    shuf_b = (tot_a - pos_a) + pos_o
    if np.array_equal(shuf_a, np.trunc(shuf_a)) and np.array_equal(shuf_b, np.trunc(shuf_b)):
        shuf_a, shuf_b = shuf_a.astype(np.int64), shuf_b.astype(np.int64)  # as evalkit.stats
    diffs = np.abs(np.asarray(spec.score_fn(shuf_a)) - np.asarray(spec.score_fn(shuf_b)))
    delta = real[(other, m)] - real[(anchor, m)]
    return Comparison(delta, _p_value(diffs, abs(delta)), "paired-ar")
