"""Settings that make the answer meaningless are said out loud: too few resamples for any
p-value to reach the significance mark, a paired bootstrap that resamples although
``--bootstrap 0``, and a ``--lang`` that does not match the reference's script."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from evalkit import StatsOptions, evaluate, load_testset
from evalkit.corpus import lang_mismatch
from evalkit.evaluation import samples_needed, smallest_p_value

Run = Callable[..., subprocess.CompletedProcess[str]]
WARNING = "evalkit: warning: "


def _warnings(proc: subprocess.CompletedProcess[str]) -> list[str]:
    assert proc.returncode == 0, proc.stderr
    return [ln.removeprefix(WARNING) for ln in proc.stderr.splitlines() if ln.startswith(WARNING)]


# --- the smallest p-value B resamples can give ----------------------------------------------


@pytest.mark.parametrize(("paired", "key"), [("bs", "bootstrap"), ("ar", "ar_trials")])
def test_the_smallest_p_value_is_what_the_paired_test_returns_for_a_clear_regression(
    fixtures_dir: Path, paired: str, key: str
) -> None:
    # a system against a truncated one: every draw keeps the gap, so p is its floor 1/(B+1)
    ts = load_testset(
        fixtures_dir / "article.zh",
        {
            "strong": fixtures_dir / "en-zh/strong.zh",
            "cut": fixtures_dir / "en-zh/truncated.zh",
        },
    )
    opts = StatsOptions(paired=paired, **{key: 10})
    res = evaluate(ts, metrics="bleu", normalizer="none", stats=opts)
    p = res.testsets[0].system("cut").vs_baseline["bleu"].p_value
    assert p == pytest.approx(smallest_p_value(10)) == pytest.approx(1 / 11)


@pytest.mark.parametrize(
    ("alpha", "decimals", "needed"), [(0.05, None, 20), (0.01, None, 100), (0.05, 4, 20)]
)
def test_samples_needed_is_the_fewest_that_can_go_below_alpha(
    alpha: float, decimals: int | None, needed: int
) -> None:
    assert smallest_p_value(needed, decimals) < alpha <= smallest_p_value(needed - 1, decimals)
    assert samples_needed(alpha, decimals) == needed


def test_stats_options_warn_only_when_the_settings_defeat_the_test() -> None:
    assert StatsOptions().warnings(0.05) == ()
    assert StatsOptions(10, "none").warnings(0.05) == ()  # no test: nothing to reach
    (few,) = StatsOptions(10, "bs").warnings(0.05)
    assert "10 paired-bs resamples" in few and "1/(10+1) = 0.0909" in few
    assert "use at least 20" in few
    (silent,) = StatsOptions(0, "bs").warnings(0.05)
    assert "still draws 1,000 resamples" in silent
    (trials,) = StatsOptions(0, "ar", ar_trials=10).warnings(0.05)
    assert "10 paired-ar trials" in trials


def test_score_warns_when_no_p_value_can_reach_the_star(
    run_evalkit: Run, fixtures_dir: Path
) -> None:
    proc = run_evalkit(
        "score", "--ref", fixtures_dir / "article.zh", "--metrics", "bleu",
        "--bootstrap", "10", "--format", "json",
        fixtures_dir / "en-zh/strong.zh", fixtures_dir / "en-zh/truncated.zh",
    )  # fmt: skip
    assert _warnings(proc) == [
        "with 10 paired-bs resamples the smallest possible p-value is 1/(10+1) = 0.0909, "
        "so no difference can be significant at p < 0.05; use at least 20"
    ]
    doc = json.loads(proc.stdout)
    assert doc["testsets"][0]["systems"][1]["vs_baseline"]["bleu"]["p_value"] == 1 / 11


def test_bootstrap_0_with_a_paired_bootstrap_says_it_still_resamples(
    run_evalkit: Run, fixtures_dir: Path
) -> None:
    proc = run_evalkit(
        "score", "--ref", fixtures_dir / "article.zh", "--metrics", "bleu",
        "--paired", "bs", "--bootstrap", "0", "--format", "json",
        fixtures_dir / "en-zh/strong.zh", fixtures_dir / "en-zh/weak.zh",
    )  # fmt: skip
    assert _warnings(proc) == [
        "bootstrap 0 turns confidence intervals off; the paired bootstrap still draws "
        "1,000 resamples"
    ]
    stats = json.loads(proc.stdout)["testsets"][0]["stats"]
    assert stats["bootstrap"] == 0 and stats["paired_resamples"] == 1000


@pytest.mark.parametrize(
    ("flags", "table_note", "markdown_note"),
    [
        (
            ["--paired", "bs", "--bootstrap", "0"],
            "paired bootstrap: 1,000 resamples (CIs off)",
            "paired bootstrap: 1,000 resamples (CIs off).",
        ),
        (
            ["--paired", "ar", "--bootstrap", "200"],
            "paired approximate randomization: 10,000 trials",
            "± half-width of the 95% bootstrap CI (200 resamples).",
        ),
        ([], "± half-width of the 95% bootstrap CI (1,000 resamples)", "1,000 resamples."),
    ],
)
def test_the_tables_say_how_many_resamples_the_ci_and_the_paired_test_drew(
    run_evalkit: Run, fixtures_dir: Path, flags: list[str], table_note: str, markdown_note: str
) -> None:
    args = [
        "score", "--ref", fixtures_dir / "article.zh", "--metrics", "bleu", *flags,
        fixtures_dir / "en-zh/strong.zh", fixtures_dir / "en-zh/weak.zh",
    ]  # fmt: skip
    table = run_evalkit(*args, "--format", "table")
    markdown = run_evalkit(*args, "--format", "markdown")
    assert table.returncode == markdown.returncode == 0, table.stderr
    assert table_note in table.stdout.splitlines()
    assert markdown_note in markdown.stdout


def test_default_settings_print_no_warning(run_evalkit: Run, fixtures_dir: Path) -> None:
    proc = run_evalkit(
        "score", "--ref", fixtures_dir / "article.zh", "--metrics", "bleu", "--lang", "zh",
        "--format", "json", fixtures_dir / "en-zh/strong.zh", fixtures_dir / "en-zh/weak.zh",
    )  # fmt: skip
    assert _warnings(proc) == []
    assert json.loads(proc.stdout)["testsets"][0]["stats"]["paired_resamples"] is None


# --- --lang against the reference's script --------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "hyp", "lang", "share"),
    [
        ("article.zh", "en-zh/strong.zh", "en", "of its non-space characters are Han"),
        ("article.en", "zh-en/strong.en", "zh", "of its non-space characters are Latin letters"),
    ],
)
def test_a_lang_that_contradicts_the_reference_warns_naming_file_and_share(
    run_evalkit: Run, fixtures_dir: Path, ref: str, hyp: str, lang: str, share: str
) -> None:
    proc = run_evalkit(
        "score", "--ref", fixtures_dir / ref, "--lang", lang, "--metrics", "bleu",
        "--format", "json", fixtures_dir / hyp,
    )  # fmt: skip
    (warning,) = _warnings(proc)
    assert warning.startswith(f"{fixtures_dir / ref}: the target language is {lang}, but ")
    assert share in warning and "%" in warning


def test_lang_mismatch_needs_most_of_the_text_in_the_other_script() -> None:
    han = ["白宫发言人表示，会议将于周五举行。"]  # 15 Han of 17 characters
    latin = ["The White House said the meeting will be held on Friday."]
    assert "88% of its non-space characters are Han" in (lang_mismatch(han, "en") or "")
    assert "Latin letters" in (lang_mismatch(latin, "zh") or "")
    assert lang_mismatch(han, "zh") is None and lang_mismatch(latin, "en") is None
    # an English reference quoting a few Chinese names stays English
    assert lang_mismatch(["Beijing (北京) and Shanghai (上海) are large cities."], "en") is None
    assert lang_mismatch([""], "zh") is None  # nothing to judge
