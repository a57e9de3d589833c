"""The public API: a small, sorted ``__all__`` whose names all resolve, loaded lazily."""

from __future__ import annotations

import contextlib
import io
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

import evalkit

HEAVY = ("pandas", "sacrebleu", "opencc")


def test_all_is_sorted_and_free_of_duplicates() -> None:
    assert evalkit.__all__ == sorted(set(evalkit.__all__))


@pytest.mark.parametrize("name", evalkit.__all__)
def test_every_public_name_resolves(name: str) -> None:
    assert getattr(evalkit, name) is not None


def test_the_documented_entry_points_are_public() -> None:
    # the README's API example uses these
    for name in (
        "load_testset",
        "evaluate",
        "Results",
        "Normalizer",
        "EvalkitError",
        "StatsOptions",
    ):
        assert name in evalkit.__all__


def _readme_api_example(repo_root: Path) -> str:
    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    found = re.search(r"^## Python API\n\n```python\n(.*?)^```", readme, re.S | re.M)
    assert found, "README.md has no ```python block right under '## Python API'"
    return found.group(1)


def test_the_readme_api_example_prints_cis_and_p_values_by_default(
    repo_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # why: evaluate() must give the CLI's defaults (CIs, paired bootstrap vs the baseline)
    monkeypatch.chdir(repo_root)  # the example's paths are relative to the checkout (read only)
    namespace: dict[str, object] = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(_readme_api_example(repo_root), namespace)  # noqa: S102 - our own README
    header = out.getvalue().splitlines()[0].split()
    assert {"ci_low", "ci_high", "p_value"} <= set(header)
    frame = namespace["res"].systems  # type: ignore[attr-defined]
    assert not frame[["ci_low", "ci_high"]].isna().any().any()
    assert (frame["ci_low"] <= frame["score"]).all() and (frame["score"] <= frame["ci_high"]).all()
    others = frame[frame["system"] != frame["baseline"]]
    assert len(others) and all(0 < p <= 1 for p in others["p_value"])
    baseline = frame[frame["system"] == frame["baseline"]]
    assert all(math.isnan(p) for p in baseline["p_value"])


def test_evaluate_without_stats_gives_what_evalkit_score_gives_without_flags(
    fixtures_dir: Path,
) -> None:
    from click.testing import CliRunner

    from evalkit.cli import main

    ref, hyps = (
        fixtures_dir / "article.zh",
        [fixtures_dir / "en-zh" / f for f in ("strong.zh", "weak.zh")],
    )
    cli = CliRunner().invoke(
        main, ["score", "--ref", str(ref), "--metrics", "bleu", "--format", "json", *map(str, hyps)]
    )
    assert cli.exit_code == 0, cli.output
    api = evalkit.evaluate(evalkit.load_testset(str(ref), list(map(str, hyps))), metrics="bleu")
    cli_ts, api_ts = json.loads(cli.stdout)["testsets"][0], api.testsets[0].to_dict()
    assert api_ts["stats"] == cli_ts["stats"] and api_ts["stats"]["bootstrap"] == 1000
    assert api_ts["systems"] == cli_ts["systems"]  # same CIs, deltas and p-values


def test_dir_lists_the_public_names_and_unknown_names_raise() -> None:
    assert set(evalkit.__all__) <= set(dir(evalkit))
    with pytest.raises(AttributeError, match="no_such_name"):
        evalkit.no_such_name  # noqa: B018


def test_errors_share_one_base_class() -> None:
    assert issubclass(evalkit.InputError, evalkit.EvalkitError)
    assert issubclass(evalkit.ConfigError, evalkit.EvalkitError)


def _loaded_after(statement: str) -> list[str]:
    code = (
        f"import sys, json; {statement}; "
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return json.loads(out.stdout)


@pytest.mark.parametrize(
    "statement",
    [
        # why: `import evalkit` must stay quick; pandas/sacrebleu/OpenCC load on first use
        "import evalkit",
        # why: the version is read by scripts and `--version` without loading anything heavy
        "import evalkit; evalkit.__version__",
        # why: errors are caught by callers that never score anything
        "import evalkit; evalkit.EvalkitError",
        # why: `evalkit --help` imports the CLI module; heavy imports live inside the commands
        "import evalkit.cli",
    ],
)
def test_importing_evalkit_does_not_load_heavy_dependencies(statement: str) -> None:
    assert _loaded_after(statement) == []


def test_using_the_api_loads_them_on_demand() -> None:
    # the counter-check: the subprocess probe does see a heavy import when one happens
    assert "sacrebleu" in _loaded_after("import evalkit; evalkit.evaluate")
    assert "pandas" not in _loaded_after("import evalkit; evalkit.Results")  # only for DataFrames
    probe = "import evalkit; evalkit.Results((), '0').systems"
    assert "pandas" in _loaded_after(probe)
