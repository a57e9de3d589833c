"""Extraction engines and process parallelism change how statistics are computed, never what."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import evalkit
from evalkit import metrics
from evalkit.errors import ConfigError
from evalkit.metrics import make_metric


@pytest.fixture(scope="module")
def both_directions(fixtures_dir: Path) -> list[evalkit.TestSet]:
    suite = evalkit.load_suite(fixtures_dir / "suite.toml")
    return [spec.load() for spec in suite.testsets]


def test_fast_and_sacrebleu_engines_give_byte_identical_results(
    both_directions: list[evalkit.TestSet],
) -> None:
    names = ["bleu", "chrf", "chrf++", "ter"]
    fast = evalkit.evaluate(both_directions, names, engine="fast")
    slow = evalkit.evaluate(both_directions, names, engine="sacrebleu")
    assert fast.to_json() == slow.to_json()


def test_plain_ter_on_chinese_is_identical_across_engines(
    both_directions: list[evalkit.TestSet],
) -> None:
    fast = evalkit.evaluate(both_directions[-1:], ["ter"], engine="fast", ter_plain=True)
    slow = evalkit.evaluate(both_directions[-1:], ["ter"], engine="sacrebleu", ter_plain=True)
    assert fast.to_json() == slow.to_json()


def test_fast_engine_refuses_a_metric_it_does_not_implement() -> None:
    spec = make_metric("bleu", "ja", tokenize="ja-mecab")  # needs MeCab: sacrebleu only
    with pytest.raises(ConfigError, match="fast engine does not support BLEU"):
        spec.extract_stats(["你好"], [["你好"]], engine="fast")


def test_an_unknown_engine_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown engine 'quick'"):
        make_metric("bleu", "en").extract_stats(["a"], [["a"]], engine="quick")


@pytest.mark.parametrize("name", ["ter", "bleu", "chrf++"])
def test_process_parallel_sacrebleu_extraction_equals_single_process(
    monkeypatch: pytest.MonkeyPatch, fixtures_dir: Path, name: str
) -> None:
    monkeypatch.setattr(metrics, "_PARALLEL_MIN_SEGMENTS", 1)  # parallelise even tiny inputs
    ref = (fixtures_dir / "article.zh").read_text("utf-8").splitlines()
    hyp = (fixtures_dir / "en-zh/weak.zh").read_text("utf-8").splitlines()
    spec = make_metric(name, "zh")
    single = spec.extract_stats(hyp, [ref], engine="sacrebleu", jobs=1)
    parallel = spec.extract_stats(hyp, [ref], engine="sacrebleu", jobs=2)
    assert parallel.dtype == single.dtype and np.array_equal(parallel, single)


@pytest.mark.parametrize("name", ["bleu", "chrf", "chrf++", "ter"])
@pytest.mark.parametrize("engine", ["auto", "fast", "sacrebleu"])
def test_extracting_several_systems_at_once_equals_one_by_one(
    both_directions: list[evalkit.TestSet], name: str, engine: str
) -> None:
    # evaluate() extracts all systems of a metric in one call so the references are tokenized
    # once; each array must be the one the system gets alone.
    for ts in both_directions:
        spec = make_metric(name, ts.lang)
        systems = list(ts.systems.values())
        together = spec.extract_stats_many(systems, ts.refs, engine=engine)
        alone = [spec.extract_stats(h, ts.refs, engine=engine) for h in systems]
        assert len(together) == len(alone)
        for a, b in zip(together, alone, strict=True):
            assert a.dtype == b.dtype and np.array_equal(a, b)
