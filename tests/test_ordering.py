"""Leaderboard order: baseline first, then best first; ``--sort`` and ``[suite] sort`` change it."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import html

import evalkit
from evalkit.errors import ConfigError
from evalkit.render import render_markdown
from evalkit.report import render_report

SYSTEMS = ["weak", "literal", "strong", "truncated"]  # the baseline (strong) mid-list
QUICK = ["--bootstrap", "0", "--paired", "none"]


def _markdown_rows(text: str) -> list[str]:
    """System names of the first Markdown leaderboard, without the baseline marker."""
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("| system |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(line.split("|")[1].strip().removesuffix(" (baseline)"))
    return rows


def _score(run_evalkit: Callable, fixtures_dir: Path, *args: str) -> tuple[str, evalkit.Results]:
    """``score`` on the en→zh fixtures, as Markdown and as JSON (input order)."""
    common = [
        "--ref",
        "article.zh",
        "--baseline",
        "strong",
        *QUICK,
        *[f"{n}=en-zh/{n}.zh" for n in SYSTEMS],
        *args,
    ]
    md = run_evalkit("score", "--format", "markdown", *common, cwd=fixtures_dir)
    assert md.returncode == 0, md.stderr
    js = run_evalkit("score", "--format", "json", *common, cwd=fixtures_dir)
    assert js.returncode == 0, js.stderr
    return md.stdout, evalkit.Results.from_json(js.stdout)


def test_the_default_order_puts_the_baseline_first_then_best_bleu_first(
    run_evalkit: Callable, fixtures_dir: Path
) -> None:
    md, results = _score(run_evalkit, fixtures_dir)
    ts = results.testsets[0]
    assert [s.name for s in ts.systems] == SYSTEMS  # the document keeps the input order
    bleu = {s.name: s.scores["bleu"].score for s in ts.systems}
    others = sorted((n for n in SYSTEMS if n != "strong"), key=lambda n: -bleu[n])
    assert _markdown_rows(md) == ["strong", *others]


def test_sort_input_keeps_the_order_the_systems_were_given_in(
    run_evalkit: Callable, fixtures_dir: Path
) -> None:
    md, _ = _score(run_evalkit, fixtures_dir, "--sort", "input")
    assert _markdown_rows(md) == SYSTEMS


def test_sort_by_ter_ranks_lowest_first_after_the_baseline(
    run_evalkit: Callable, fixtures_dir: Path
) -> None:
    md, results = _score(run_evalkit, fixtures_dir, "--sort", "ter")
    ter = {s.name: s.scores["ter"].score for s in results.testsets[0].systems}
    others = sorted((n for n in SYSTEMS if n != "strong"), key=lambda n: ter[n])
    assert _markdown_rows(md) == ["strong", *others]


def test_an_unknown_sort_is_a_one_line_error_naming_the_choices(
    run_evalkit: Callable, fixtures_dir: Path
) -> None:
    done = run_evalkit(
        "score", "--ref", "article.zh", *QUICK, "--sort", "comet", "en-zh/weak.zh",
        cwd=fixtures_dir,
    )  # fmt: skip
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert "'comet'" in done.stderr and "input, score" in done.stderr


def test_the_report_and_markdown_share_the_order_and_the_pairwise_matrix_follows(
    fixtures_dir: Path,
) -> None:
    ts = evalkit.load_testset(
        fixtures_dir / "article.zh",
        {n: fixtures_dir / "en-zh" / f"{n}.zh" for n in SYSTEMS},
        baseline="strong",
    )
    opts = evalkit.StatsOptions(0, "bs", pairwise=True)
    results = evalkit.evaluate(ts, "chrf", "none", stats=opts)
    chrf = {s.name: s.scores["chrf"].score for s in results.testsets[0].systems}
    expected = ["strong", *sorted((n for n in SYSTEMS if n != "strong"), key=lambda n: -chrf[n])]
    md = render_markdown(results)
    assert _markdown_rows(md) == expected
    matrix = md[md.index("**Pairwise") :]
    header = next(ln for ln in matrix.splitlines() if ln.startswith("| row − column |"))
    assert [c.strip() for c in header.split("|")[2:-1]] == expected
    root = html.fromstring(render_report(results))
    board = root.xpath('//table[contains(@class, "board")]')[0]
    assert [th.xpath('.//span[@class="sys"]')[0].text for th in board.xpath("./tbody/tr/th")] == (
        expected
    )
    pairwise = root.xpath('//table[contains(@class, "pairwise")]')[0]
    assert [" ".join(th.itertext()).strip() for th in pairwise.xpath("./tbody/tr/th")] == expected


def _suite_with_sort(tmp_path: Path, fixtures_dir: Path, sort: str) -> Path:
    shutil.copytree(fixtures_dir, tmp_path / "fx")
    suite = tmp_path / "fx" / "suite.toml"
    text = suite.read_text(encoding="utf-8")
    suite.write_text(text.replace("[suite]\n", f'[suite]\nsort = "{sort}"\n', 1), "utf-8")
    return suite


def test_suite_sort_orders_what_run_prints(
    tmp_path: Path, fixtures_dir: Path, run_evalkit: Callable
) -> None:
    suite = _suite_with_sort(tmp_path, fixtures_dir, "input")
    done = run_evalkit("run", suite.name, "--format", "markdown", *QUICK, cwd=suite.parent)
    assert done.returncode == 0, done.stderr
    declared = [s.name for s in evalkit.load_suite(suite).testsets[0].systems]
    assert _markdown_rows(done.stdout) == declared


def test_an_unknown_suite_sort_is_a_config_error_naming_the_file(
    tmp_path: Path, fixtures_dir: Path
) -> None:
    suite = _suite_with_sort(tmp_path, fixtures_dir, "meteor")
    with pytest.raises(ConfigError, match="sort 'meteor'") as info:
        evalkit.load_suite(suite)
    assert str(suite) in str(info.value)
