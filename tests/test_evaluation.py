"""evaluate(): confidence intervals and paired tests wired end to end, checked against sacrebleu."""

from __future__ import annotations

from pathlib import Path

import pytest
from sacrebleu.metrics import BLEU, CHRF, TER
from sacrebleu.significance import PairedTest

import evalkit
from evalkit.evaluation import StatsOptions

SYSTEMS = ("strong", "literal", "truncated", "weak")

# The sacrebleu objects that define evalkit's metrics for a Chinese target.
SACREBLEU_ZH = {
    "bleu": lambda: BLEU(tokenize="zh"),
    "chrf": lambda: CHRF(),
    "ter": lambda: TER(asian_support=True, normalized=True),
}


@pytest.fixture(scope="module")
def en_zh(fixtures_dir: Path) -> evalkit.TestSet:
    return evalkit.load_testset(
        fixtures_dir / "article.zh", {s: fixtures_dir / f"en-zh/{s}.zh" for s in SYSTEMS}
    )


def test_confidence_intervals_equal_sacrebleu_confidence(en_zh: evalkit.TestSet) -> None:
    res = evalkit.evaluate(
        en_zh, list(SACREBLEU_ZH), "none", stats=StatsOptions(bootstrap=1000, paired="none")
    )
    refs = [list(r) for r in en_zh.refs]
    for system in res.testsets[0].systems:
        for metric, make in SACREBLEU_ZH.items():
            theirs = make().corpus_score(list(en_zh.systems[system.name]), refs, n_bootstrap=1000)
            ours = system.scores[metric]
            assert ours.score == theirs.score
            assert ours.ci_mean == pytest.approx(float(theirs._mean), abs=1e-9)
            low, high = ours.ci
            assert (high - low) / 2 == pytest.approx(float(theirs._ci), abs=1e-9)


@pytest.mark.parametrize("test_type", ["bs", "ar"])
def test_paired_p_values_equal_sacrebleu_paired_test(
    en_zh: evalkit.TestSet, test_type: str
) -> None:
    opts = StatsOptions(bootstrap=1000, paired=test_type, ar_trials=2000)
    res = evalkit.evaluate(en_zh, list(SACREBLEU_ZH), "none", stats=opts)
    metrics = {name: make() for name, make in SACREBLEU_ZH.items()}
    kwargs = {"n_samples": 1000 if test_type == "bs" else 2000, "n_ar_confidence": 0}
    _, theirs = PairedTest(
        [(s, list(en_zh.systems[s])) for s in SYSTEMS],
        metrics,
        [list(r) for r in en_zh.refs],
        test_type=test_type,
        **kwargs,
    )()
    ts = res.testsets[0]
    labels = {"bleu": "BLEU", "chrf": "chrF2", "ter": "TER"}  # sacrebleu keys results by name
    for metric, label in labels.items():
        for i, name in enumerate(SYSTEMS[1:], start=1):
            cmp_ = ts.system(name).vs_baseline[metric]
            assert cmp_.p_value == theirs[label][i].p_value
            assert cmp_.test == f"paired-{test_type}"
            assert cmp_.delta == pytest.approx(
                theirs[label][i].score - theirs[label][0].score, abs=1e-9
            )


@pytest.mark.parametrize("test_type", ["bs", "ar"])
def test_pairwise_matrix_is_symmetric_in_p_and_antisymmetric_in_delta(
    en_zh: evalkit.TestSet, test_type: str
) -> None:
    opts = StatsOptions(bootstrap=300, paired=test_type, pairwise=True, ar_trials=1000)
    ts = evalkit.evaluate(en_zh, ["bleu", "chrf"], "none", stats=opts).testsets[0]
    for metric in ("bleu", "chrf"):
        matrix = ts.pairwise[metric]
        assert set(matrix) == set(SYSTEMS)
        for a in SYSTEMS:
            for b in SYSTEMS:
                if a == b:
                    continue
                assert matrix[a][b].p_value == matrix[b][a].p_value
                assert matrix[a][b].delta == pytest.approx(-matrix[b][a].delta, abs=1e-12)


def test_same_seed_gives_byte_identical_json_and_another_seed_moves_the_ci(
    en_zh: evalkit.TestSet,
) -> None:
    def run(seed: int) -> evalkit.Results:
        return evalkit.evaluate(
            en_zh, ["bleu"], "none", stats=StatsOptions(bootstrap=200, paired="bs", seed=seed)
        )

    assert run(7).to_json() == run(7).to_json()
    a, b = run(7).testsets[0], run(8).testsets[0]
    assert a.stats["seed"] == 7
    assert a.system("strong").scores["bleu"].ci != b.system("strong").scores["bleu"].ci
    assert a.system("strong").scores["bleu"].score == b.system("strong").scores["bleu"].score


def test_ter_regression_shows_as_positive_delta(en_zh: evalkit.TestSet) -> None:
    ts = evalkit.evaluate(en_zh, ["ter"], "none").testsets[0]
    assert ts.system("weak").vs_baseline["ter"].delta > 0  # more edits than the strong baseline


def test_no_statistics_requested_records_none(en_zh: evalkit.TestSet) -> None:
    ts = evalkit.evaluate(en_zh, ["bleu"], "none", stats=StatsOptions(0, "none")).testsets[0]
    assert ts.stats == {}
    assert ts.system("strong").scores["bleu"].ci is None
    assert ts.system("weak").vs_baseline["bleu"].p_value is None


def test_empty_and_blank_outputs_are_counted_in_a_warning() -> None:
    ts = evalkit.TestSet(
        name="t",
        lang="en",
        refs=(("a b", "c d", "e f"),),
        systems={"full": ("a b", "c d", "e f"), "gaps": ("", "c d", "  ")},
    )
    res = evalkit.evaluate(ts, ["bleu"], "none").testsets[0]
    assert res.system("full").warnings == ()
    assert res.system("gaps").warnings == ("2 empty output segments",)
