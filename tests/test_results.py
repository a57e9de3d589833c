"""Results: a value that round-trips through versioned JSON and exposes tidy pandas tables."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
from pathlib import Path

import pytest

import evalkit
from evalkit.errors import InputError
from evalkit.results import SCHEMA_VERSION

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
METRICS = ["bleu", "chrf"]  # the shape does not depend on which metrics; these two are quick

SYSTEM_COLUMNS = [
    "testset",
    "system",
    "metric",
    "score",
    "raw_score",
    "ci_low",
    "ci_high",
    "delta",
    "p_value",
    "identical",
    "baseline",
    "changed_segments",
    "signature",
    "normalization",
]


@pytest.fixture(scope="module")
def results() -> evalkit.Results:
    suite = evalkit.load_suite(FIXTURES / "suite.toml")
    return evalkit.evaluate([spec.load() for spec in suite.testsets], METRICS, normalizer="auto")


@pytest.fixture(scope="module")
def shape() -> list[tuple[str, int, int]]:
    """(test set, number of systems, number of segments) as declared by the bundled suite."""
    suite = evalkit.load_suite(FIXTURES / "suite.toml")
    return [
        (t.name, len(t.systems), len(t.refs[0].read_text("utf-8").splitlines()))
        for t in suite.testsets
    ]


def test_json_round_trip_gives_an_equal_results(results: evalkit.Results) -> None:
    text = results.to_json()
    back = evalkit.Results.from_json(text)
    assert back == results
    assert back.to_json() == text  # and it is stable: serialising again gives the same bytes


def test_json_is_deterministic(results: evalkit.Results) -> None:
    suite = evalkit.load_suite(FIXTURES / "suite.toml")
    again = evalkit.evaluate([spec.load() for spec in suite.testsets], METRICS, normalizer="auto")
    assert again.to_json() == results.to_json()


def test_json_has_the_documented_top_level_shape(results: evalkit.Results) -> None:
    d = json.loads(results.to_json())
    assert d["schema"] == SCHEMA_VERSION == 3
    assert d["evalkit_version"] == evalkit.__version__
    ts = d["testsets"][0]
    assert {"name", "lang", "segments", "normalization", "systems"} <= set(ts)
    assert {"config", "punct"} <= set(ts["normalization"])
    sysd = ts["systems"][0]
    assert {"name", "scores", "raw_scores", "vs_baseline"} <= set(sysd)
    assert {"score", "signature"} <= set(sysd["scores"]["bleu"])


@pytest.mark.parametrize(
    ("mutate", "words"),
    [
        # why: a file from a future evalkit must be refused, not half-read
        pytest.param(lambda d: d.update(schema=4), "schema 4", id="newer-schema"),
        # why: an old, unversioned file
        pytest.param(lambda d: d.pop("schema"), "no 'schema'", id="no-schema"),
        # why: a schema written as a string is not schema 2
        pytest.param(lambda d: d.update(schema="2"), "schema '2'", id="string-schema"),
        # why: JSON true is not the schema number 1 (Python's True == 1 lets it through)
        pytest.param(
            lambda d: d.update(schema=True),
            "schema True",
            id="boolean-schema",
        ),
        # why: a damaged file with the right schema is still an InputError, not a KeyError
        pytest.param(lambda d: d.pop("testsets"), "malformed", id="missing-testsets"),
    ],
)
def test_a_wrong_or_damaged_results_file_is_an_input_error(
    results: evalkit.Results, mutate, words: str
) -> None:
    d = json.loads(results.to_json())
    mutate(d)
    with pytest.raises(InputError, match=words) as info:
        evalkit.Results.from_json(json.dumps(d), path="reports/x/results.json")
    assert str(info.value).startswith("reports/x/results.json")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('{\n "schema": 1,\n oops\n}', 3),  # why: a hand-edited file: the line is reported
        ("[1, 2]", None),  # why: valid JSON but not an object
    ],
)
def test_invalid_json_is_an_input_error_with_its_line(text: str, line: int | None) -> None:
    with pytest.raises(InputError) as info:
        evalkit.Results.from_json(text, path="r.json")
    assert info.value.path == "r.json"
    assert info.value.line == line


def test_systems_table_has_one_row_per_testset_system_and_metric(
    results: evalkit.Results, shape
) -> None:
    df = results.systems
    assert list(df.columns) == SYSTEM_COLUMNS
    assert len(df) == sum(n_sys for _, n_sys, _ in shape) * len(METRICS)
    assert list(df["testset"].unique()) == [name for name, _, _ in shape]
    # the baseline has no delta; every other system's delta is its score minus the baseline's
    for (testset, metric), group in df.groupby(["testset", "metric"], sort=False):
        base = group[group["system"] == group["baseline"]]
        assert len(base) == 1 and math.isnan(base["delta"].iloc[0])
        others = group[group["system"] != group["baseline"]]
        expected = others["score"] - base["score"].iloc[0]
        assert (others["delta"] == expected).all(), (testset, metric)


def test_segments_table_has_one_row_per_testset_segment_and_system(
    results: evalkit.Results, shape
) -> None:
    df = results.segments
    assert len(df) == sum(n_sys * n_seg for _, n_sys, n_seg in shape)
    required = {"testset", "segment", "system", "hypothesis", "reference"}
    assert required | set(METRICS) | {f"raw_{m}" for m in METRICS} <= set(df.columns)
    for name, n_sys, n_seg in shape:
        part = df[df["testset"] == name]
        assert part["system"].nunique() == n_sys
        assert sorted(part["segment"].unique()) == list(range(1, n_seg + 1))  # 1-based
    # the segment scores are the ones kept in the Results value
    tr = results.testset("en-zh")
    row = df[(df["testset"] == "en-zh") & (df["system"] == "traditional")]
    assert tuple(row["bleu"]) == tr.segment_data.scores["traditional"]["bleu"]
    assert tuple(row["raw_bleu"]) == tr.segment_data.raw_scores["traditional"]["bleu"]


def test_segments_csv_holds_the_source_and_every_reference(results: evalkit.Results) -> None:
    from evalkit.render import render_segments_csv

    rows = list(csv.DictReader(io.StringIO(render_segments_csv(results))))
    suite = evalkit.load_suite(FIXTURES / "suite.toml")
    n_refs = max(len(t.refs) for t in suite.testsets)
    assert n_refs == 2  # the bundled suite has a two-reference test set
    for spec in suite.testsets:
        source = spec.source.read_text("utf-8").splitlines()
        refs = [r.read_text("utf-8").splitlines() for r in spec.refs]
        refs += [[""] * len(source)] * (n_refs - len(refs))  # padded: one table, same columns
        for system in spec.systems:
            mine = [r for r in rows if r["testset"] == spec.name and r["system"] == system.name]
            assert len(mine) == len(source)
            assert [r["source"] for r in mine] == source
            assert [r["reference"] for r in mine] == refs[0]  # the column's name is kept
            assert [r["reference_2"] for r in mine] == refs[1]


def test_segments_source_is_empty_when_the_test_set_has_none() -> None:
    ts = evalkit.load_testset(FIXTURES / "article.en", {"strong": FIXTURES / "zh-en/strong.en"})
    df = evalkit.evaluate(ts, "bleu", "none", stats=evalkit.StatsOptions(0, "none")).segments
    assert list(df.columns[:6]) == [
        "testset",
        "segment",
        "system",
        "source",
        "hypothesis",
        "reference",
    ]
    assert set(df["source"]) == {""}


def test_raw_and_normalized_scores_are_both_kept(results: evalkit.Results) -> None:
    tr = results.testset("en-zh")
    assert tr.normalization["config"] == "t2s"
    trad = tr.system("traditional")
    assert trad.changed_segments == 12
    assert trad.scores["bleu"].score > trad.raw_scores["bleu"].score
    strong = tr.system("strong")
    # nothing to convert in a Simplified candidate (only normalized scores carry CIs)
    assert {m: s.score for m, s in strong.scores.items()} == {
        m: s.score for m, s in strong.raw_scores.items()
    }


def test_json_round_trip_with_a_streamed_test_set_before_a_full_one(fixtures_dir: Path) -> None:
    """Compact per-segment blocks are spliced into the indented summary by test set index."""
    suite = evalkit.load_suite(fixtures_dir / "suite.toml")
    res = evalkit.evaluate([t.load() for t in suite.testsets][:2], ["bleu"])
    streamed = dataclasses.replace(res.testsets[0], segment_data=None)
    mixed = dataclasses.replace(res, testsets=(streamed, res.testsets[1]))
    text = mixed.to_json()
    assert evalkit.Results.from_json(text) == mixed
    assert "\\u0000" not in text and "segment_data:" not in text
