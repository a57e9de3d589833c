"""Documentation and test markers that must agree with behaviour (issue #18, item 7)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from click.testing import CliRunner

from evalkit.cli import main
from evalkit.translators import DEFAULT_PROMPT
from evalkit.translators.prompt import render_prompt

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

TESTS = Path(__file__).resolve().parent


def _needs_shared_data(source: str) -> bool:
    return "skipif" in source and "shared/data" in source


def _unmarked_shared_data_tests(path: Path) -> list[str]:
    """Tests of ``path`` that skip without ../shared/data but lack ``pytest.mark.shared_data``."""
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text)
    aliases, module_marks = set(), ""
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, source = node.targets[0], ast.get_source_segment(text, node.value) or ""
            if isinstance(target, ast.Name) and target.id == "pytestmark":
                module_marks = source
            elif isinstance(target, ast.Name) and _needs_shared_data(source):
                aliases.add(target.id)  # needs_wmt22 = pytest.mark.skipif(...)
    missing = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        marks = [ast.get_source_segment(text, d) or "" for d in node.decorator_list]
        needs = _needs_shared_data(module_marks) or any(
            _needs_shared_data(m) or m in aliases for m in marks
        )
        marked = "mark.shared_data" in module_marks or any("mark.shared_data" in m for m in marks)
        if needs and not marked:
            missing.append(f"{path.name}::{node.name}")
    return missing


def test_every_test_that_needs_shared_data_is_marked_shared_data() -> None:
    # why: `pytest -m shared_data` must select every test that uses ../shared/data
    missing = [
        name for p in sorted(TESTS.glob("test_*.py")) for name in _unmarked_shared_data_tests(p)
    ]
    assert missing == []


def test_the_marker_check_sees_an_unmarked_test(tmp_path: Path) -> None:
    # why: a check that cannot fail is a defect
    path = tmp_path / "test_x.py"
    path.write_text(
        "import pytest\n"
        "needs = pytest.mark.skipif(True, reason='needs ../shared/data/x')\n"
        "@needs\ndef test_a(): ...\n"
        "@pytest.mark.shared_data\n@needs\ndef test_b(): ...\n",
        encoding="utf-8",
    )
    assert _unmarked_shared_data_tests(path) == ["test_x.py::test_a"]


def test_run_help_describes_only_what_run_does() -> None:
    run_help = CliRunner().invoke(main, ["run", "--help"]).output
    score_help = CliRunner().invoke(main, ["score", "--help"]).output
    assert "--cache" in run_help and "`score`" not in run_help
    assert "whole results of an identical run" in " ".join(score_help.split())


def _readme() -> str:
    return (TESTS.parent / "README.md").read_text(encoding="utf-8")


def test_the_readme_quotes_the_default_prompt_as_the_model_reads_it() -> None:
    first_line = render_prompt(DEFAULT_PROMPT, source="", source_lang="en", target_lang="zh")
    first_line = first_line.splitlines()[0]
    assert "English" in first_line and "Chinese" in first_line  # names, not codes
    assert first_line in " ".join(_readme().split())


def test_the_readme_prompt_example_shows_no_bare_language_codes() -> None:
    # why: the example once read "Translate this en text into zh" while the default names them
    block = re.search(r"### Translators as systems.*?```toml\n(.*?)```", _readme(), re.S)
    assert block
    prompts = [
        s["prompt"]
        for s in tomllib.loads(block.group(1))["testsets"]["systems"].values()
        if "prompt" in s
    ]
    assert prompts
    for prompt in prompts:
        shown = render_prompt(prompt, source="S", source_lang="en", target_lang="zh")
        assert not re.search(r"\b(en|zh)\b", shown), shown


def test_fixtures_readme_names_the_seed_article_relative_to_the_repository() -> None:
    text = (TESTS.parent / "fixtures" / "README.md").read_text(encoding="utf-8")
    assert "`../shared/seed/article.txt`" in text
    assert "/work/" not in text
