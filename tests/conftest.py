"""Shared, generic test plumbing. Keep it small: module-specific helpers live in their modules."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

#: Environment variables that change what sacrebleu or a terminal renderer prints.
_LEAKY_ENV = ("SACREBLEU_SEED", "SACREBLEU_FORMAT", "SACREBLEU", "NO_COLOR")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's shell settings must not change any number or output a test sees."""
    for name in _LEAKY_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy may reroute requests meant for a local fake server."""
    for name in list(os.environ):
        if name.lower() in {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}:
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """The bundled ``fixtures/`` folder (reference pairs, candidate systems, suite.toml)."""
    return REPO_ROOT / "fixtures"


def evalkit_command() -> list[str]:
    """The installed ``evalkit`` console script, else the module run by this interpreter."""
    exe = shutil.which("evalkit")
    return [exe] if exe else [sys.executable, "-m", "evalkit.cli"]


@pytest.fixture
def run_evalkit() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the real console entry point: ``run_evalkit("score", "--ref", ..., cwd=tmp_path)``.

    Output is captured as text; the environment is the test's (so the autouse clean-up applies).
    """

    def run(
        *args: str | Path, cwd: str | Path | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*evalkit_command(), *map(str, args)],
            cwd=cwd,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=timeout,
            check=False,
        )

    return run
