"""What ``score`` calls its test set and its report: --name, --title and useful defaults."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import html

import evalkit

QUICK = ["--bootstrap", "0", "--paired", "none", "--metrics", "bleu"]


@pytest.fixture
def work(tmp_path: Path, fixtures_dir: Path) -> Path:
    """The en→zh fixtures laid out as WMT lays out a test set: ``en-zh/ref.zh`` beside outputs."""
    folder = tmp_path / "en-zh"
    folder.mkdir()
    shutil.copy(fixtures_dir / "article.zh", folder / "ref.zh")
    shutil.copy(fixtures_dir / "article.zh", tmp_path / "newstest.zh")
    for name in ("strong", "weak"):
        shutil.copy(fixtures_dir / "en-zh" / f"{name}.zh", tmp_path / f"{name}.zh")
    return tmp_path


def _score(
    run_evalkit: Callable, work: Path, *args: str
) -> tuple[evalkit.Results, html.HtmlElement]:
    done = run_evalkit(
        "score", *QUICK, "--format", "json", "--report", "r.html", *args, "strong.zh", "weak.zh",
        cwd=work,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    page = html.fromstring((work / "r.html").read_bytes())
    return evalkit.Results.from_json(done.stdout), page


def test_score_name_and_title_name_the_test_set_and_the_report(
    run_evalkit: Callable, work: Path
) -> None:
    results, page = _score(
        run_evalkit, work, "--ref", "en-zh/ref.zh", "--name", "news", "--title", "My run"
    )
    assert results.testsets[0].name == "news"
    assert page.findtext(".//title") == "My run" == page.findtext(".//h1")
    assert page.xpath("string(//section[contains(@class,'testset')]/h2)") == "news"


@pytest.mark.parametrize(
    ("ref", "name"),
    [
        # why: WMT's en-zh/ref.zh says nothing in its file name; the folder names the test set
        ("en-zh/ref.zh", "en-zh"),
        # why: an informative file name is kept, without its language suffix
        ("newstest.zh", "newstest"),
    ],
)
def test_the_default_name_and_title_describe_the_test_set(
    run_evalkit: Callable, work: Path, ref: str, name: str
) -> None:
    results, page = _score(run_evalkit, work, "--ref", ref)
    assert results.testsets[0].name == name
    assert page.findtext(".//title") == f"{name}: zh target, 12 segments"
    assert "Suite" not in [dt.text for dt in page.xpath("//header//dt")]  # no "Suite —"


def test_a_streamed_test_set_gets_the_same_default_name(run_evalkit: Callable, work: Path) -> None:
    done = run_evalkit(
        "score", *QUICK, "--stream", "--format", "json", "--ref", "en-zh/ref.zh", "strong.zh",
        cwd=work,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert evalkit.Results.from_json(done.stdout).testsets[0].name == "en-zh"


def test_load_testset_names_a_generic_reference_after_its_folder(work: Path) -> None:
    assert evalkit.load_testset(work / "en-zh" / "ref.zh", [str(work / "weak.zh")]).name == "en-zh"
