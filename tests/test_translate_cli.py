"""`evalkit run` / `evalkit translate` with translator systems, end to end through the real CLI.

A command translator (tests/translator_stub.py) and an endpoint translator (the fake
OpenAI-compatible server on 127.0.0.1) produce outputs that are then scored like files; a second
run takes every segment from the cache; the API key never reaches a written file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import evalkit_command
from tests.fake_openai_server import FakeOpenAI

SECRET = "sk-test-never-write-me-0123456789"
STUB = Path(__file__).with_name("translator_stub.py")


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as srv:
        yield srv


@pytest.fixture
def suite(tmp_path: Path, fixtures_dir: Path, server: FakeOpenAI) -> Path:
    for name in ("article.zh", "article.en"):
        shutil.copy(fixtures_dir / name, tmp_path / name)
    shutil.copy(fixtures_dir / "zh-en/strong.en", tmp_path / "strong.en")
    text = f"""
[suite]
name = "translators"
metrics = ["bleu", "chrf"]
bootstrap = 100
output = "out"

[[testsets]]
name = "zh-en"
lang = "en"
source = "article.zh"
refs = ["article.en"]

[testsets.systems]
strong = "strong.en"

[testsets.systems.stub]
command = "{Path(sys.executable).as_posix()} {STUB.as_posix()}"
batch_size = 5

[testsets.systems.llm]
endpoint = "{server.url}"
model = "fake-model"
api_key_env = "EVALKIT_TEST_KEY"
"""
    path = tmp_path / "suite.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env["EVALKIT_TEST_KEY"] = SECRET
    return subprocess.run(
        [*evalkit_command(), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=180,
        check=False,
    )


def _systems(results: Path) -> dict[str, dict]:
    data = json.loads(results.read_text(encoding="utf-8"))
    return {s["name"]: s for s in data["testsets"][0]["systems"]}


def test_run_translates_scores_and_second_run_is_all_cache_hits(
    suite: Path, server: FakeOpenAI
) -> None:
    first = _run("run", str(suite), cwd=suite.parent)
    assert first.returncode == 0, first.stderr
    results = suite.parent / "out" / "results.json"
    systems = _systems(results)
    assert set(systems) == {"strong", "stub", "llm"}
    llm = systems["llm"]["translation"]
    assert (llm["segments"], llm["translated"], llm["from_cache"]) == (12, 12, 0)
    assert llm["prompt_tokens"] > 0 and llm["segments_per_s"] > 0
    assert systems["stub"]["translation"]["translated"] == 12
    assert "translators:" in first.stderr
    requests_after_first = len(server.requests)
    assert requests_after_first == 12
    first_scores = {name: s["scores"] for name, s in systems.items()}

    second = _run("run", str(suite), cwd=suite.parent)
    assert second.returncode == 0, second.stderr
    systems = _systems(results)
    for name in ("stub", "llm"):
        t = systems[name]["translation"]
        assert (t["translated"], t["from_cache"]) == (0, 12)
    assert len(server.requests) == requests_after_first  # nothing sent again
    # the cached translations are the same outputs, so they score the same
    assert {name: s["scores"] for name, s in systems.items()} == first_scores


def test_the_api_key_reaches_the_server_but_no_written_file(
    suite: Path, server: FakeOpenAI
) -> None:
    assert _run("run", str(suite), cwd=suite.parent).returncode == 0
    assert all(r["headers"].get("Authorization") == f"Bearer {SECRET}" for r in server.requests)
    for path in suite.parent.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_translate_command_reports_speed_and_refresh_retranslates(
    suite: Path, server: FakeOpenAI
) -> None:
    first = _run("translate", str(suite), "--system", "llm", cwd=suite.parent)
    assert first.returncode == 0, first.stderr
    assert "llm" in first.stdout and "stub" not in first.stdout
    again = _run("translate", str(suite), "--system", "llm", "--refresh", cwd=suite.parent)
    assert again.returncode == 0, again.stderr
    assert len(server.requests) == 24


def test_an_unknown_translator_system_is_exit_2(suite: Path) -> None:
    result = _run("translate", str(suite), "--system", "nobody", cwd=suite.parent)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "nobody" in result.stderr


def test_scoring_before_translating_names_the_missing_outputs(suite: Path) -> None:
    result = _run("score", "--ref", "article.en", "out/outputs/zh-en/llm.en", cwd=suite.parent)
    assert result.returncode == 2 and "file not found" in result.stderr
    assert "out/outputs/zh-en/llm.en" in result.stderr
