"""The command line, always through the real console entry point in a subprocess."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import opencc
import pytest
from sacrebleu.metrics import BLEU, CHRF

import evalkit
from evalkit.detect import detect_script


@pytest.fixture
def work(tmp_path: Path, fixtures_dir: Path) -> Path:
    """A scratch folder holding copies of two fixture files under short names."""
    shutil.copy(fixtures_dir / "article.zh", tmp_path / "ref.zh")
    shutil.copy(fixtures_dir / "en-zh" / "strong.zh", tmp_path / "strong.zh")
    return tmp_path


def assert_one_line_error(proc, *words: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


# --- bad input to `score` ---------------------------------------------------------------------


def _bad_files(d: Path) -> None:
    (d / "empty.zh").write_bytes(b"")
    (d / "short.zh").write_text("一\n二\n", encoding="utf-8")
    (d / "gbk.zh").write_bytes("一\n二\n".encode() + "三".encode("gbk") + b"\n")
    (d / "nul.zh").write_bytes(b"ok\nb\x00d\n")
    (d / "adir").mkdir()


SCORE_ERRORS = [
    # (extra arguments, words the one stderr line must contain)
    # why: a typo in a candidate path
    pytest.param(["nope.zh"], ["nope.zh", "not found"], id="missing-candidate"),
    # why: a typo in the reference path
    pytest.param(["--ref=nope.zh", "strong.zh"], ["nope.zh", "not found"], id="missing-ref"),
    # why: a folder where a file belongs
    pytest.param(["adir"], ["adir", "directory"], id="directory"),
    # why: a failed export
    pytest.param(["empty.zh"], ["empty.zh", "empty"], id="empty-file"),
    # why: misaligned files; the message states both counts
    pytest.param(["short.zh"], ["short.zh", "2 lines", "ref.zh has 12"], id="line-counts"),
    # why: a GBK file; the message says the line
    pytest.param(["gbk.zh"], ["gbk.zh:3", "UTF-8"], id="invalid-utf8"),
    # why: a binary file
    pytest.param(["nul.zh"], ["nul.zh:2", "NUL"], id="nul-byte"),
    # why: a metric evalkit does not have
    pytest.param(["--metrics=bleu,meteor", "strong.zh"], ["meteor", "chrf++"], id="metric"),
    # why: a tokenizer sacrebleu does not have
    pytest.param(["--tokenize=13b", "strong.zh"], ["13b", "13a"], id="tokenizer"),
    # why: an OpenCC config that does not exist; the message lists the valid ones
    pytest.param(["--normalize=t2x", "strong.zh"], ["t2x", "tw2sp"], id="opencc-config"),
    # why: two systems would collide in every table
    pytest.param(["strong.zh", "strong.zh"], ["duplicate", "strong"], id="duplicate-names"),
    # why: NAME=PATH with an empty name
    pytest.param(["=strong.zh"], ["=strong.zh", "NAME=PATH"], id="malformed-name-path"),
]


@pytest.mark.parametrize(("args", "words"), SCORE_ERRORS)
def test_bad_input_to_score_is_one_stderr_line_exit_2_and_no_output_file(
    work: Path, run_evalkit, args: list[str], words: list[str]
) -> None:
    _bad_files(work)
    refs = [] if any(a.startswith("--ref") for a in args) else ["--ref=ref.zh"]
    proc = run_evalkit("score", *refs, "--output=out.json", "--format=json", *args, cwd=work)
    assert_one_line_error(proc, *words)
    assert proc.stdout == ""
    assert not (work / "out.json").exists()


def test_an_output_path_that_is_a_directory_is_a_one_line_error(work: Path, run_evalkit) -> None:
    (work / "out").mkdir()
    proc = run_evalkit("score", "--ref=ref.zh", "--output=out", "strong.zh", cwd=work)
    assert_one_line_error(proc, "out", "directory")
    assert list((work / "out").iterdir()) == []


def test_a_usage_error_is_one_stderr_line_too(work: Path, run_evalkit) -> None:
    assert_one_line_error(run_evalkit("score", "--ref=ref.zh", cwd=work), "HYP")


def test_debug_shows_the_traceback_instead(work: Path, run_evalkit) -> None:
    proc = run_evalkit("--debug", "score", "--ref=ref.zh", "nope.zh", cwd=work)
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr and "InputError" in proc.stderr


# --- bad suites for `run` ---------------------------------------------------------------------

RUN_ERRORS = [
    # why: TOML syntax error on line 3: the message names file, line and column
    pytest.param('[suite]\nname = "x"\nmetrics = [bleu]\n', ["suite.toml:3:12", "TOML"], id="toml"),
    # why: a suite naming files that do not exist
    pytest.param(
        '[suite]\nname = "x"\n[[testsets]]\nname = "t"\nrefs = ["ref.zh"]\n'
        '[testsets.systems]\na = "missing.zh"\n',
        ["suite.toml", "missing.zh", "does not exist"],
        id="missing-files",
    ),
    # why: a suite whose files do not line up
    pytest.param(
        '[suite]\nname = "x"\n[[testsets]]\nname = "t"\nrefs = ["ref.zh"]\n'
        '[testsets.systems]\na = "short.zh"\n',
        ["short.zh", "2 lines"],
        id="line-counts",
    ),
]


@pytest.mark.parametrize(("toml", "words"), RUN_ERRORS)
def test_a_bad_suite_is_one_stderr_line_exit_2_and_writes_nothing(
    work: Path, run_evalkit, toml: str, words: list[str]
) -> None:
    _bad_files(work)
    (work / "suite.toml").write_text(toml, encoding="utf-8")
    proc = run_evalkit("run", "suite.toml", "--output-dir=out", cwd=work)
    assert_one_line_error(proc, *words)
    assert not (work / "out").exists()


def test_a_missing_suite_file_is_one_stderr_line(work: Path, run_evalkit) -> None:
    proc = run_evalkit("run", "nope.toml", "--output-dir=out", cwd=work)
    assert_one_line_error(proc, "nope.toml", "not found")
    assert not (work / "out").exists()


# --- `run` on the bundled suite ---------------------------------------------------------------


@pytest.mark.slow
def test_run_on_the_bundled_suite_prints_tables_and_writes_results_and_segments(
    tmp_path: Path, fixtures_dir: Path, run_evalkit
) -> None:
    shutil.copytree(fixtures_dir, tmp_path / "fixtures")
    proc = run_evalkit("run", cwd=tmp_path)  # the README's main job: default suite and folder
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr

    suite = evalkit.load_suite(tmp_path / "fixtures" / "suite.toml")
    out = tmp_path / "reports" / suite.name
    for spec in suite.testsets:  # a table per test set, naming every system
        assert re.search(rf"^\s*{re.escape(spec.name)}\b", proc.stdout, re.M), spec.name
        for system in spec.systems:
            assert system.name in proc.stdout

    text = (out / "results.json").read_text(encoding="utf-8")
    results = evalkit.Results.from_json(text, path=str(out / "results.json"))
    assert evalkit.Results.from_json(results.to_json()) == results
    assert [t.name for t in results.testsets] == [s.name for s in suite.testsets]

    # the numbers are sacrebleu's (BLEU and chrF checked here; test_metrics covers the rest)
    for spec in suite.testsets:
        ts = spec.load()
        tr = results.testset(spec.name)
        tok = "zh" if ts.lang == "zh" else "13a"
        refs = [list(r) for r in ts.refs]
        for name, hyps in ts.systems.items():
            raw = tr.system(name).raw_scores
            assert raw["bleu"].score == BLEU(tokenize=tok).corpus_score(list(hyps), refs).score
            assert raw["chrf"].score == CHRF().corpus_score(list(hyps), refs).score

    with (out / "segments.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    expected_rows = sum(len(s.systems) * s.load().n_segments for s in suite.testsets)
    assert len(rows) == expected_rows == len(results.segments)


# --- score options through the CLI ------------------------------------------------------------


def test_punct_flag_folds_quotes_and_commas_for_both_sides(work: Path, run_evalkit) -> None:
    ref = (work / "ref.zh").read_text(encoding="utf-8").splitlines()
    table = str.maketrans({"「": "“", "」": "”", ",": "，", ":": "：", ";": "；"})
    hyp = [line.translate(table) for line in ref]
    (work / "hyp.zh").write_text("\n".join(hyp) + "\n", encoding="utf-8")
    proc = run_evalkit(
        "score", "--ref=ref.zh", "--metrics=bleu", "--format=json", "--punct", "hyp.zh", cwd=work
    )
    assert proc.returncode == 0, proc.stderr
    system = evalkit.Results.from_json(proc.stdout).testsets[0].system("hyp")
    bleu = BLEU(tokenize="zh")
    assert system.scores["bleu"].score == bleu.corpus_score(ref, [ref]).score  # folded: identical
    assert system.raw_scores["bleu"].score == bleu.corpus_score(hyp, [ref]).score  # as written


# --- detect and normalize ---------------------------------------------------------------------


def test_detect_prints_the_verdict_and_counts(fixtures_dir: Path, run_evalkit) -> None:
    path, verdict = fixtures_dir / "en-zh" / "traditional.zh", "traditional"
    proc = run_evalkit("detect", path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == f"{path}: {verdict}"
    as_json = run_evalkit("detect", "--json", path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert json.loads(as_json.stdout) == {"file": str(path), **detect_script(lines).as_dict()}


def test_detect_on_a_bad_file_is_a_one_line_error(work: Path, run_evalkit) -> None:
    _bad_files(work)
    assert_one_line_error(run_evalkit("detect", "gbk.zh", cwd=work), "gbk.zh:3")


def test_normalize_diff_shows_only_changed_lines_before_and_after(
    fixtures_dir: Path, run_evalkit
) -> None:
    path = fixtures_dir / "en-zh" / "traditional.zh"
    lines = path.read_text(encoding="utf-8").splitlines()
    t2s = opencc.OpenCC("t2s")
    proc = run_evalkit("normalize", "--diff", path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.splitlines()
    expected = []
    for i, line in enumerate(lines, 1):
        if t2s.convert(line) != line:
            expected += [f"{path}:{i}", f"- {line}", f"+ {t2s.convert(line)}"]
    assert out[:-1] == expected
    assert out[-1].startswith(f"{len(expected) // 3} of {len(lines)} lines changed")


def test_normalize_diff_on_already_normalized_text_reports_no_change(
    fixtures_dir: Path, run_evalkit
) -> None:
    proc = run_evalkit("normalize", "--diff", fixtures_dir / "en-zh" / "strong.zh")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].startswith("0 of 12 lines changed")


def test_normalize_writes_the_converted_text(fixtures_dir: Path, tmp_path: Path, run_evalkit):
    path = fixtures_dir / "en-zh" / "strong.zh"
    proc = run_evalkit("normalize", "--config=s2twp", path, f"--output={tmp_path / 'o.zh'}")
    assert proc.returncode == 0, proc.stderr
    s2twp = opencc.OpenCC("s2twp")
    expected = [s2twp.convert(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert (tmp_path / "o.zh").read_text(encoding="utf-8") == "\n".join(expected) + "\n"


def test_normalize_with_an_unknown_config_is_a_one_line_error(fixtures_dir, run_evalkit) -> None:
    proc = run_evalkit("normalize", "--config=tw2x", fixtures_dir / "article.zh")
    assert_one_line_error(proc, "tw2x", "tw2sp")
