"""`evalkit run` honours the suite's [engine] table: streaming and Dask give the local numbers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from evalkit.errors import ConfigError
from evalkit.suite import load_suite

SUITE = """
[suite]
name = "engine-check"
metrics = ["bleu", "chrf"]
bootstrap = 200
output = "out"
{engine}
[[testsets]]
name = "en-zh"
lang = "zh"
refs = ["article.zh"]
[testsets.systems]
strong = "strong.zh"
taiwan = "taiwan.zh"
"""


def _suite(tmp_path: Path, fixtures_dir: Path, engine: str) -> Path:
    shutil.copy(fixtures_dir / "article.zh", tmp_path / "article.zh")
    for name in ("strong", "taiwan"):
        shutil.copy(fixtures_dir / f"en-zh/{name}.zh", tmp_path / f"{name}.zh")
    path = tmp_path / "suite.toml"
    path.write_text(SUITE.format(engine=engine), encoding="utf-8")
    return path


def _scores(results: Path) -> dict:
    data = json.loads(results.read_text(encoding="utf-8"))
    ts = data["testsets"][0]
    return {
        "segment_data": ts["segment_data"] is not None,
        "systems": [(s["name"], s["scores"], s["vs_baseline"]) for s in ts["systems"]],
    }


@pytest.mark.parametrize(
    "engine",
    [
        # why: stream = true keeps only statistics but must not move a number
        pytest.param("[engine]\nstream = true\n", id="streamed"),
        # why: a Dask cluster (local, two processes) computes the same statistics arrays
        pytest.param('[engine]\nkind = "dask"\njobs = 2\n', id="dask", marks=pytest.mark.slow),
    ],
)
def test_suite_engine_gives_the_local_numbers(
    tmp_path: Path, fixtures_dir: Path, run_evalkit, engine: str
) -> None:
    local_dir, other_dir = tmp_path / "local", tmp_path / "other"
    local_dir.mkdir(), other_dir.mkdir()
    local = run_evalkit("run", _suite(local_dir, fixtures_dir, ""), cwd=local_dir)
    other = run_evalkit("run", _suite(other_dir, fixtures_dir, engine), cwd=other_dir)
    assert local.returncode == 0, local.stderr
    assert other.returncode == 0, other.stderr
    a, b = _scores(local_dir / "out/results.json"), _scores(other_dir / "out/results.json")
    assert a["segment_data"] and not b["segment_data"]
    assert a["systems"] == b["systems"]


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ('kind = "spark"', "[engine].kind must be 'local' or 'dask'"),
        ("stream = 1", "[engine].stream must be true, false or 'auto'"),
        ("chunk_size = 0", "[engine].chunk_size must be >= 1"),
        ('extraction = "slow"', "[engine].extraction must be auto, fast or sacrebleu"),
        ("workers = 3", "unknown key 'workers' in [engine]"),
    ],
)
def test_a_bad_engine_table_is_a_config_error_naming_the_suite(
    tmp_path: Path, fixtures_dir: Path, table: str, words: str
) -> None:
    path = _suite(tmp_path, fixtures_dir, f"[engine]\n{table}\n")
    with pytest.raises(ConfigError) as info:
        load_suite(path)
    assert str(info.value).startswith(str(path)) and words in str(info.value)
