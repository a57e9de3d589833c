"""The statistics cache: hits on unchanged inputs, misses on any change, never trusts damage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import evalkit
from evalkit.cache import StatsCache, stats_key, stats_keys
from evalkit.evaluation import StatsOptions

REFS = [["我们明天去北京。", "The cat sat on the mat.", ""]]
HYPS = ["我们明天去北京", "A cat sat on a mat.", "x"]


def _key(**change: object) -> str:
    args = {
        "signature": "nrefs:1|tok:zh",
        "normalization": "opencc:t2s|punct:no|width:no",
        "refs": REFS,
        "hyps": HYPS,
        "layout": "sacrebleu-layout",
    }
    args.update(change)
    return stats_key(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "change",
    [
        {"signature": "nrefs:1|tok:13a"},  # another tokenizer gives other statistics
        {"normalization": "opencc:none|punct:no|width:no"},  # other normalization
        {"layout": "other-layout"},  # statistics laid out otherwise
        {"refs": [["我们明天去北京。", "The cat sat on the mat.", " "]]},  # one reference char
        {"hyps": ["我们明天去北京", "A cat sat on a mat.", "y"]},  # one hypothesis char
        {"hyps": ["我们明天去北京A cat sat on a mat.", "", "x"]},  # same text, other segmentation
        {"refs": REFS * 2},  # a second reference stream
    ],
)
def test_any_change_to_the_inputs_changes_the_key(change: dict[str, object]) -> None:
    assert _key(**change) != _key()


def test_key_is_stable_for_identical_inputs() -> None:
    assert _key() == _key(refs=[list(REFS[0])], hyps=list(HYPS))


def test_a_stored_array_comes_back_identical(tmp_path: Path) -> None:
    cache = StatsCache(tmp_path)
    stats = np.arange(30, dtype=np.int64).reshape(3, 10)
    cache.put("ab" * 32, stats)
    got = cache.get("ab" * 32)
    assert got is not None and got.dtype == stats.dtype and np.array_equal(got, stats)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "swap"])
def test_a_damaged_entry_is_recomputed_not_trusted(tmp_path: Path, damage: str) -> None:
    cache = StatsCache(tmp_path)
    key, other = "cd" * 32, "ce" * 32
    good = np.ones((4, 2), dtype=np.float64)
    cache.put(key, good)
    cache.put(other, np.zeros((4, 2)))
    path = next(tmp_path.rglob(f"{key}.npz"))
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:40])
    elif damage == "garbage":
        path.write_bytes(b"not an npz file at all")
    else:  # a valid entry stored under the wrong name (stale or copied file)
        path.write_bytes(next(tmp_path.rglob(f"{other}.npz")).read_bytes())
    assert cache.get(key) is None
    assert cache.repaired == 1
    assert np.array_equal(cache.get_or_compute(key, lambda: good), good)
    assert cache.get(key) is not None  # rewritten


def test_an_entry_whose_array_was_altered_fails_its_checksum(tmp_path: Path) -> None:
    cache = StatsCache(tmp_path)
    key = "ef" * 32
    cache.put(key, np.arange(6, dtype=np.int64).reshape(3, 2))
    path = next(tmp_path.rglob(f"{key}.npz"))
    with np.load(path) as npz:
        parts = {k: npz[k] for k in npz.files}
    parts["stats"] = parts["stats"] + 1
    np.savez(path.with_suffix(""), **parts)  # np.savez appends .npz
    assert cache.get(key) is None


def test_second_evaluation_hits_the_cache_and_gives_identical_results(
    tmp_path: Path, fixtures_dir: Path
) -> None:
    ts = evalkit.load_testset(
        fixtures_dir / "article.zh",
        {"strong": fixtures_dir / "en-zh/strong.zh", "taiwan": fixtures_dir / "en-zh/taiwan.zh"},
    )
    opts = StatsOptions(bootstrap=200, paired="bs")
    cold_cache = StatsCache(tmp_path)
    cold = evalkit.evaluate(ts, ["bleu", "chrf"], stats=opts, cache=cold_cache)
    assert cold_cache.hits == 0 and cold_cache.misses > 0
    warm_cache = StatsCache(tmp_path)
    warm = evalkit.evaluate(ts, ["bleu", "chrf"], stats=opts, cache=warm_cache)
    assert warm_cache.misses == 0 and warm_cache.hits == cold_cache.misses
    assert warm.to_json() == cold.to_json()
    uncached = evalkit.evaluate(ts, ["bleu", "chrf"], stats=opts)
    assert uncached.to_json() == cold.to_json()


def test_several_keys_compute_only_the_missing_ones_in_one_call(tmp_path: Path) -> None:
    cache = StatsCache(tmp_path)
    arrays = [np.full((2, 3), i, dtype=np.int64) for i in range(4)]
    keys = [f"{i:02d}" * 32 for i in range(4)]
    cache.put(keys[1], arrays[1])
    cache.put(keys[3], arrays[3])
    calls: list[list[int]] = []

    def compute(missing: list[int]) -> list[np.ndarray]:
        calls.append(missing)
        return [arrays[i] for i in missing]

    got = cache.get_or_compute_many(keys, compute)
    assert calls == [[0, 2]]
    assert all(np.array_equal(g, a) for g, a in zip(got, arrays, strict=True))
    assert (cache.hits, cache.misses) == (2, 2)
    assert cache.get_or_compute_many(keys, compute) and calls == [[0, 2]]  # all stored now


def test_keys_of_several_systems_are_each_systems_own_key() -> None:
    # evaluate() hashes the references once per metric and copies the state per system
    other = ["我们明天去北京", "A cat sat on a mat.", "y"]
    args = ("nrefs:1|tok:zh", "opencc:t2s|punct:no|width:no", REFS)
    keys = stats_keys(*args, [HYPS, other])
    assert keys == [stats_key(*args, HYPS), stats_key(*args, other)] == [_key(), _key(hyps=other)]
    assert keys[0] != keys[1]
