"""Failing cleanly: whatever goes wrong is one stderr line and exit 2 (exit 1 means only "the gate
failed"), with the traceback under ``--debug``, which works before or after the command."""

from __future__ import annotations

import errno
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO_ROOT, evalkit_command
from test_cli import assert_one_line_error

from evalkit.cli import main
from evalkit.errors import ConfigError, InputError
from evalkit.gate.baseline import read_baseline
from evalkit.metrics import make_metric
from evalkit.results import Results
from evalkit.stats import RESAMPLE_BUDGET_BYTES


@pytest.fixture
def work(tmp_path: Path, fixtures_dir: Path) -> Path:
    """A scratch folder with a reference and two systems under short names."""
    shutil.copy(fixtures_dir / "article.en", tmp_path / "ref.en")
    shutil.copy(fixtures_dir / "zh-en" / "strong.en", tmp_path / "strong.en")
    shutil.copy(fixtures_dir / "zh-en" / "weak.en", tmp_path / "weak.en")
    return tmp_path


def run_in_process(
    args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str]:
    """The real click group in this process (so imports and streams can be patched)."""
    monkeypatch.setattr(sys, "argv", ["evalkit", *args])
    with pytest.raises(SystemExit) as stop:
        main(args, prog_name="evalkit")
    return stop.value.code, capsys.readouterr().err


# --- resampling too big for memory --------------------------------------------------------------


def test_a_bootstrap_over_the_memory_budget_is_refused_before_allocating(
    work: Path, run_evalkit
) -> None:
    # why: a 1,000,000,000 × N index matrix died in NumPy's allocator with a 61-line traceback
    args = ["score", "--ref=ref.en", "strong.en", "weak.en", "--bootstrap=1000000000"]
    proc = run_evalkit(*args, cwd=work)
    line = assert_one_line_error(proc, "1,000,000,000", "GiB", "resampling budget", "at most")
    assert proc.stdout == ""
    assert f"{RESAMPLE_BUDGET_BYTES / 2**30:g} GiB" in line


def test_a_bootstrap_within_the_budget_still_runs(work: Path, run_evalkit) -> None:
    args = ["score", "--ref=ref.en", "strong.en", "--bootstrap=2000", "--format=json"]
    proc = run_evalkit(*args, cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["testsets"][0]["systems"][0]["scores"]["bleu"]["ci"]


# --- optional tokenizer packages ----------------------------------------------------------------

TOKENIZER_PACKAGES = [
    ("spm", "sentencepiece", "pip install sentencepiece"),
    ("flores200", "sentencepiece", "pip install sentencepiece"),
    ("ja-mecab", "MeCab", "sacrebleu[ja]"),
    ("ko-mecab", "mecab_ko", "sacrebleu[ko]"),
]


@pytest.mark.parametrize(("tokenize", "module", "install"), TOKENIZER_PACKAGES)
def test_a_tokenizer_without_its_package_names_what_to_install(
    work: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tokenize: str,
    module: str,
    install: str,
) -> None:
    # why: sacrebleu's ImportError/RuntimeError came out as a 75-line traceback
    monkeypatch.setitem(sys.modules, module, None)  # "import module" now fails: not installed
    with pytest.raises(ConfigError, match=rf"{tokenize!r} needs .*{module!r}"):
        make_metric("bleu", "en", tokenize=tokenize).sacrebleu_metric  # noqa: B018
    monkeypatch.chdir(work)
    args = ["score", "--ref=ref.en", "strong.en", "--metrics=bleu", f"--tokenize={tokenize}"]
    code, err = run_in_process(args, capsys, monkeypatch)
    assert code == 2 and len(err.splitlines()) == 1, err
    assert install in err and "Traceback" not in err


# --- damaged inputs: a baseline nested too deeply, a damaged results.json ----------------------


def test_a_deeply_nested_baseline_is_a_assert_one_line_error(
    tmp_path: Path, fixtures_dir: Path
) -> None:
    # why: json.loads raised RecursionError, which nothing caught
    nested = tmp_path / "baseline.json"
    nested.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(InputError, match="nested too deeply") as err:
        read_baseline(nested)
    assert str(err.value).startswith(str(nested))


def test_gate_with_a_deeply_nested_baseline_exits_2(
    tmp_path: Path, fixtures_dir: Path, run_evalkit
) -> None:
    nested = tmp_path / "baseline.json"
    nested.write_text("{" + '"a":{' * 50_000 + "}" * 50_001, encoding="utf-8")
    proc = run_evalkit("gate", fixtures_dir / "gate" / "suite.toml", "--baseline", nested)
    assert_one_line_error(proc, str(nested), "nested too deeply")


@pytest.fixture(scope="module")
def results_text(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A real results.json of two systems with CIs and paired tests, made by the CLI."""
    out = tmp_path_factory.mktemp("results") / "results.json"
    fixtures_dir = REPO_ROOT / "fixtures"
    subprocess.run(
        [*evalkit_command(), "score", f"--ref={fixtures_dir / 'article.en'}",
         f"{fixtures_dir / 'zh-en' / 'strong.en'}", f"{fixtures_dir / 'zh-en' / 'weak.en'}",
         "--bootstrap=100", "--paired=all", "--format=json", f"--output={out}"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return out.read_text(encoding="utf-8")


def _set(doc: dict, path: str, value: object) -> None:
    """``_set(doc, "testsets.0.segments", 3)``: replace one value, keys and list indices."""
    *parents, last = path.split(".")
    for key in parents:
        doc = doc[int(key)] if isinstance(doc, list) else doc[key]
    if isinstance(doc, list):
        doc[int(last)] = value
    elif value is _DELETE:
        del doc[last]
    else:
        doc[last] = value


_DELETE = object()
_SYS = "testsets.0.systems.1"
_SD = "testsets.0.segment_data"
DAMAGE = [
    # why: each of these was a traceback (exit 1) in `evalkit report`
    pytest.param(f"{_SYS}.scores.bleu.ci", [30.0, 20.0], "systems[1].scores.bleu.ci: low", id="ci"),
    pytest.param(f"{_SYS}.scores.bleu.ci", [20.0], "bleu.ci: expected [low, high]", id="ci-len"),
    pytest.param(f"{_SYS}.scores.chrf.score", "Infinity", "scores.chrf.score: inf", id="inf"),
    pytest.param(f"{_SYS}.scores.chrf.score", "NaN", "scores.chrf.score: nan", id="nan"),
    pytest.param(f"{_SYS}.scores.ter.score", "12.5", "expected a number, got a string", id="str"),
    pytest.param("testsets.0.metrics.0", "blue", "metrics[0]: unknown metric 'blue'", id="metric"),
    pytest.param(f"{_SYS}.scores.bleu", _DELETE, "systems[1].scores: no score for bleu", id="key"),
    pytest.param("testsets.0.segments", 13, "refs[0]: 12 values for 13 segments", id="segments"),
    pytest.param(f"{_SD}.scores.weak.bleu.3", None, "weak.bleu[3]: expected", id="seg-null"),
    pytest.param(f"{_SYS}.vs_baseline.bleu.p_value", 7, "7 is not a probability", id="p"),
    pytest.param("testsets.0.pairwise.bleu.strong", {"nobody": {"delta": 1}}, "nobody", id="pair"),
    pytest.param("testsets.0.systems", "strong", "systems: expected a list", id="type"),
    pytest.param(f"{_SD}.changed.weak.0", 1, "changed.weak[0]: expected", id="bool"),
]


@pytest.mark.parametrize(("key", "value", "words"), DAMAGE)
def test_a_damaged_results_file_names_the_file_and_the_key(
    tmp_path: Path, results_text: str, key: str, value: object, words: str
) -> None:
    doc = json.loads(results_text)
    _set(doc, key, value)
    text = json.dumps(doc).replace('"Infinity"', "Infinity").replace('"NaN"', "NaN")
    path = tmp_path / "results.json"
    with pytest.raises(InputError) as err:
        Results.from_json(text, str(path))
    message = str(err.value)
    assert message.startswith(f"{path}: malformed evalkit results file: "), message
    assert words in message, message


def test_an_undamaged_results_file_still_reads(results_text: str) -> None:
    results = Results.from_json(results_text)
    assert json.loads(results.to_json()) == json.loads(results_text)


def test_report_on_a_damaged_results_file_exits_2(
    tmp_path: Path, results_text: str, run_evalkit
) -> None:
    doc = json.loads(results_text)
    _set(doc, f"{_SYS}.scores.bleu.ci", [30.0, 20.0])
    path = tmp_path / "results.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    proc = run_evalkit("report", path, "-o", tmp_path / "report.html")
    assert_one_line_error(
        proc, str(path), "testsets[0].systems[1].scores.bleu.ci: low 30 > high 20"
    )
    assert not (tmp_path / "report.html").exists()


# --- standard output that cannot be written -----------------------------------------------------


class _FullDevice(io.RawIOBase):
    """A stream on a full disk: every write fails with ENOSPC."""

    def writable(self) -> bool:
        return True

    def write(self, data: object) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_stdout_on_a_full_device_is_a_assert_one_line_error(
    work: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # why: the OSError from the final write was a traceback and exit 1
    full = io.TextIOWrapper(io.BufferedWriter(_FullDevice()), encoding="utf-8")
    monkeypatch.setattr(sys, "stdout", full)
    code, err = run_in_process(["detect", str(work / "ref.en")], capsys, monkeypatch)
    assert code == 2, err
    assert err.splitlines() == [
        "evalkit: error: standard output: cannot write: " + os.strerror(errno.ENOSPC)
    ]


def test_a_closed_pipe_on_stdout_ends_quietly(work: Path, fixtures_dir: Path) -> None:
    # why: `evalkit score … | head -1` must not print a BrokenPipeError traceback
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before evalkit writes a byte
    try:
        proc = subprocess.run(
            [*evalkit_command(), "score", "--ref=ref.en", "strong.en", "weak.en"],
            cwd=work,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)
    assert proc.stderr == ""
    assert proc.returncode == 141  # 128 + SIGPIPE, as a Unix tool killed by the signal


# --- --debug ------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_shows_the_traceback_and_keeps_exit_2(work: Path, run_evalkit, where: str) -> None:
    # why: --debug re-raised (exit 1, "the gate failed") and after the command was "No such option"
    args = ["score", "--ref=ref.en", "missing.en"]
    proc = run_evalkit(*(["--debug", *args] if where == "before" else [*args, "--debug"]), cwd=work)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" in proc.stderr and "InputError" in proc.stderr
    assert proc.stderr.splitlines()[-1] == "evalkit: error: missing.en: file not found"
