"""The public API: a small, sorted ``__all__`` whose names all resolve, loaded lazily."""

from __future__ import annotations

import json
import subprocess
import sys

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
    for name in ("load_testset", "evaluate", "Results", "Normalizer", "EvalkitError"):
        assert name in evalkit.__all__


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
