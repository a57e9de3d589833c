"""A persistent, content-addressed cache of per-segment statistics.

A CI re-run on unchanged outputs should skip extraction entirely. Each entry is keyed by a
SHA-256 over everything that determines the statistics: the metric signature, the normalization,
the statistics layout, the reference streams and the hypothesis lines (all after
normalization). The extraction engine is left out on purpose: engines give identical arrays
(by contract and by test), so statistics from one serve the other. An entry stores its own key
and a checksum of its array bytes; a corrupt, truncated or mismatched entry is detected,
discarded and recomputed — never trusted.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ._io import write_cache_entry

__all__ = ["LAYOUT", "StatsCache", "stats_key", "stats_keys"]

_FORMAT = "evalkit-stats-cache-1"

LAYOUT = "sacrebleu-layout"
"""The statistics layout every engine produces (sacrebleu's), part of every key."""


def _feed_lines(h: hashlib._Hash, lines: Sequence[str]) -> None:
    """Hash the lines unambiguously: their count, every line's length, then the text."""
    h.update(len(lines).to_bytes(8, "little"))
    h.update(np.fromiter(map(len, lines), dtype=np.int64, count=len(lines)).tobytes())
    h.update("".join(lines).encode("utf-8", "surrogatepass"))


def stats_keys(
    signature: str,
    normalization: str,
    refs: Sequence[Sequence[str]],
    systems: Sequence[Sequence[str]],
    *,
    layout: str = LAYOUT,
) -> list[str]:
    """Hex digests identifying each system's statistics array against the same references.

    Lengths are hashed so no two inputs collide by concatenation. The shared part (signature,
    normalization, layout, references) is hashed once and the hash state copied per system.
    """
    shared = hashlib.sha256()
    for part in (_FORMAT, signature, normalization, layout):
        _feed_lines(shared, [part])
    shared.update(len(refs).to_bytes(8, "little"))
    for stream in refs:
        _feed_lines(shared, stream)
    keys = []
    for hyps in systems:
        h = shared.copy()
        _feed_lines(h, hyps)
        keys.append(h.hexdigest())
    return keys


def stats_key(
    signature: str,
    normalization: str,
    refs: Sequence[Sequence[str]],
    hyps: Sequence[str],
    *,
    layout: str = LAYOUT,
) -> str:
    """Hex digest identifying one statistics array (:func:`stats_keys` for one system)."""
    return stats_keys(signature, normalization, refs, [hyps], layout=layout)[0]


class StatsCache:
    """Statistics arrays stored as ``<dir>/<key[:2]>/<key>.npz``; counts hits and misses."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.hits = 0
        self.misses = 0
        self.repaired = 0
        self.unwritable = False  # after a failed put (warned once): no more tries

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.npz"

    def get(self, key: str) -> np.ndarray | None:
        """The cached array for ``key``, or None when absent or not trustworthy."""
        path = self._path(key)
        if not path.exists():
            return None
        try:
            data = path.read_bytes()  # np.load leaks the handle when the zip is damaged
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                stored_key = str(npz["key"])
                stats = npz["stats"]
                checksum = str(npz["checksum"])
        except Exception:  # noqa: BLE001 - any unreadable entry is simply recomputed
            self.repaired += 1
            return None
        if stored_key != key or checksum != _checksum(stats):
            self.repaired += 1
            return None
        return stats

    def put(self, key: str, stats: np.ndarray) -> None:
        """Store an array; a cache that cannot be written (full disk, read-only) never fails
        scoring: write_cache_entry warns once and this cache stops trying."""
        if self.unwritable:
            return
        buf = io.BytesIO()
        np.savez(buf, key=np.array(key), stats=stats, checksum=np.array(_checksum(stats)))
        path, data = self._path(key), buf.getvalue()
        self.unwritable = not write_cache_entry(path, data, self.directory)

    def get_or_compute(self, key: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
        cached = self.get(key)
        if cached is not None:
            self.hits += 1
            return cached
        self.misses += 1
        stats = compute()
        self.put(key, stats)
        return stats

    def get_or_compute_many(
        self, keys: Sequence[str], compute: Callable[[list[int]], list[np.ndarray]]
    ) -> list[np.ndarray]:
        """Arrays for ``keys``; the missing ones come from one ``compute(missing_indices)`` call,
        so work shared between them (one reference, several systems) is done once."""
        found: list[np.ndarray | None] = [self.get(k) for k in keys]
        missing = [i for i, arr in enumerate(found) if arr is None]
        self.hits += len(keys) - len(missing)
        self.misses += len(missing)
        if missing:
            for i, arr in zip(missing, compute(missing), strict=True):
                self.put(keys[i], arr)
                found[i] = arr
        return [arr for arr in found if arr is not None]


def _checksum(stats: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(str(stats.dtype).encode())
    h.update(repr(stats.shape).encode())
    h.update(np.ascontiguousarray(stats).tobytes())
    return h.hexdigest()
