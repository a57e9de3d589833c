"""The results cache: a re-run with identical code, options and input bytes prints exactly what
a fresh run prints, without rescoring; any change recomputes; a damaged entry is never trusted.

Whether a run was served from the results cache is observed from the outside: a hit needs no
statistics, so statistics entries deleted after the first run stay deleted; a miss rescores
and writes them again.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from evalkit.results_cache import ResultsCache, results_key

SYSTEMS = ("strong", "weak", "traditional")


@pytest.fixture
def work(tmp_path: Path, fixtures_dir: Path) -> Path:
    shutil.copy(fixtures_dir / "article.zh", tmp_path / "ref.zh")
    for name in SYSTEMS:
        shutil.copy(fixtures_dir / "en-zh" / f"{name}.zh", tmp_path / f"{name}.zh")
    return tmp_path


def _score(work: Path, *extra: str, cache: bool = True) -> subprocess.CompletedProcess[str]:
    args = ["--ref", "ref.zh", "--bootstrap", "200", *extra]
    if cache:
        args += ["--cache", "cache"]
    args += [f"{name}={name}.zh" for name in SYSTEMS]
    return subprocess.run(
        [sys.executable, "-m", "evalkit", "score", *args],
        cwd=work,
        capture_output=True,
        text=True,
        check=False,
    )


def _drop_statistics(work: Path) -> None:
    """Delete every statistics entry, keeping the results documents."""
    for entry in (work / "cache").iterdir():
        if entry.name != "results":
            shutil.rmtree(entry)


def _statistics_entries(work: Path) -> int:
    return sum(1 for p in (work / "cache").rglob("*.npz"))


def _results_entries(work: Path) -> list[Path]:
    return sorted((work / "cache" / "results").rglob("*.json"))


@pytest.mark.parametrize("fmt", ["json", "table", "csv", "markdown"])
def test_a_hit_prints_exactly_what_a_fresh_run_prints(work: Path, fmt: str) -> None:
    fresh = _score(work, "--format", fmt, cache=False)
    first = _score(work, "--format", fmt)
    _drop_statistics(work)
    hit = _score(work, "--format", fmt)
    assert fresh.returncode == first.returncode == hit.returncode == 0, hit.stderr
    assert hit.stdout == first.stdout == fresh.stdout
    assert _statistics_entries(work) == 0  # served whole: nothing was rescored
    assert first.stderr == "" and "results from" in hit.stderr  # and the user is told


def test_a_hit_writes_the_output_file_and_the_report(work: Path) -> None:
    _score(work, "--format", "json")
    _drop_statistics(work)
    hit = _score(work, "--format", "csv", "-o", "out.csv", "--report", "r.html")
    assert hit.returncode == 0, hit.stderr
    assert (work / "out.csv").read_text(encoding="utf-8") == _score(
        work, "--format", "csv", cache=False
    ).stdout
    assert "<html" in (work / "r.html").read_text(encoding="utf-8")
    assert _statistics_entries(work) == 0


@pytest.mark.parametrize(
    ("change", "same_document"),
    [
        pytest.param(["--seed", "7"], False, id="seed"),
        pytest.param(["--bootstrap", "100"], False, id="resamples"),
        pytest.param(["--metrics", "bleu"], False, id="metrics"),
        pytest.param(["--normalize", "none"], False, id="normalization"),
        pytest.param(["--paired", "ar"], False, id="paired-test"),
        pytest.param(["--baseline", "weak"], False, id="baseline"),
        # A user cross-checking with sacrebleu's own extraction must get it, not a stored
        # fast-engine document (which it equals, by the engines' contract).
        pytest.param(["--engine", "sacrebleu"], True, id="engine"),
    ],
)
def test_any_changed_option_rescores(work: Path, change: list[str], same_document: bool) -> None:
    base = _score(work, "--format", "json")
    _drop_statistics(work)
    changed = _score(work, "--format", "json", *change)
    assert changed.returncode == 0, changed.stderr
    assert _statistics_entries(work) > 0
    assert (changed.stdout == base.stdout) is same_document
    assert len(_results_entries(work)) == 2


def test_one_changed_byte_in_a_candidate_rescores(work: Path) -> None:
    base = _score(work, "--format", "json")
    path = work / "weak.zh"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[3] = lines[3].replace("。", "！", 1)
    path.write_text("".join(lines), encoding="utf-8")
    _drop_statistics(work)
    changed = _score(work, "--format", "json")
    assert changed.returncode == 0, changed.stderr
    assert _statistics_entries(work) > 0 and changed.stdout != base.stdout


def test_renaming_a_system_rescores(work: Path) -> None:
    _score(work, "--format", "json")
    _drop_statistics(work)
    args = ["--ref", "ref.zh", "--bootstrap", "200", "--cache", "cache", "--format", "csv"]
    args += ["best=strong.zh", "weak=weak.zh", "traditional=traditional.zh"]
    proc = subprocess.run(
        [sys.executable, "-m", "evalkit", "score", *args],
        cwd=work,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "best" in proc.stdout and _statistics_entries(work) > 0


@pytest.mark.parametrize("damage", ["truncate", "edit-body", "other-key", "garbage", "empty"])
def test_a_damaged_entry_is_recomputed_not_trusted(work: Path, damage: str) -> None:
    good = _score(work, "--format", "json")
    (entry,) = _results_entries(work)
    data = entry.read_bytes()
    header, _, body = data.partition(b"\n")
    damaged = {
        "truncate": data[: len(data) // 2],
        "edit-body": header + b"\n" + body.replace(b'"strong"', b'"strung"', 1),
        "other-key": header.replace(header.split(b" ")[1], b"0" * 64) + b"\n" + body,
        "garbage": b"\x00\xff not a cache entry",
        "empty": b"",
    }[damage]
    entry.write_bytes(damaged)
    _drop_statistics(work)
    again = _score(work, "--format", "json")
    assert again.returncode == 0, again.stderr
    assert again.stdout == good.stdout
    assert _statistics_entries(work) > 0  # rescored
    assert entry.read_bytes() == data  # and the entry repaired


def test_a_changed_evalkit_source_file_changes_every_key(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evalkit import results_cache

    files = [work / "ref.zh", work / "strong.zh"]
    before = results_key("score", {"seed": 1}, files)
    results_cache.code_fingerprint.cache_clear()
    monkeypatch.setattr(results_cache, "_PACKAGE", work)  # "the package" is now other files
    try:
        assert results_key("score", {"seed": 1}, files) != before
    finally:
        results_cache.code_fingerprint.cache_clear()


def test_key_parts_cannot_be_shifted_between_files(work: Path) -> None:
    (work / "a").write_text("xy", encoding="utf-8")
    (work / "b").write_text("z", encoding="utf-8")
    (work / "c").write_text("x", encoding="utf-8")
    (work / "d").write_text("yz", encoding="utf-8")
    assert results_key("score", {}, [work / "a", work / "b"]) != results_key(
        "score", {}, [work / "c", work / "d"]
    )


def test_an_unreadable_input_gives_no_key_and_the_usual_error(work: Path) -> None:
    assert results_key("score", {}, [work / "missing.zh"]) is None
    _score(work, "--format", "json")
    (work / "weak.zh").unlink()
    proc = _score(work, "--format", "json")
    assert proc.returncode == 2 and "weak.zh" in proc.stderr and "not found" in proc.stderr


def test_a_hit_imports_neither_numpy_nor_sacrebleu(work: Path) -> None:
    # The point of the results cache: a warm re-run costs an interpreter, not a scorer.
    _score(work, "--format", "json")
    probe = (
        "import sys, io, contextlib\n"
        "from evalkit.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(sys.argv[1:], standalone_mode=False)\n"
        "print(sorted(m for m in ('numpy', 'sacrebleu', 'opencc') if m in sys.modules))\n"
    )
    args = ["score", "--ref", "ref.zh", "--bootstrap", "200", "--format", "json"]
    args += ["--cache", "cache", *(f"{n}={n}.zh" for n in SYSTEMS)]
    proc = subprocess.run(
        [sys.executable, "-c", probe, *args],
        cwd=work,
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout.strip() == "[]"


def test_store_and_load_round_trip_keeps_the_document_byte_for_byte(tmp_path: Path) -> None:
    cache = ResultsCache(tmp_path)
    doc = '{"schema": 1, "text": "中文 \\u2028 \\n"}\n'
    cache.put("ab" * 32, doc)
    assert cache.get("ab" * 32) == doc
    assert cache.get("cd" * 32) is None and cache.repaired == 0


def test_unreadable_evalkit_files_mean_no_key_not_a_crash(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evalkit import results_cache

    def unreadable() -> str:
        raise PermissionError("no access")

    monkeypatch.setattr(results_cache, "code_fingerprint", unreadable)
    assert results_key("score", {}, [work / "ref.zh"]) is None
