"""Nothing evalkit writes destroys anything (issue 13, "Writing").

Every output goes through one policy (evalkit._io.write_output / append_output): a symlink is
written through to its target, a stream (FIFO, socket, device) is written in place, ``-`` is
standard output, an output that is an input of the run is refused before anything is computed,
temporary files of killed writers are swept, and a cache that cannot be written only warns.
Everything happens inside tmp_path: the fixtures are copied there, FIFOs and sockets are made there.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from evalkit import _io
from evalkit._io import CacheWriteWarning, append_output, write_output
from evalkit.cache import StatsCache
from evalkit.cli import main
from evalkit.corpus import load_testset
from evalkit.evaluation import StatsOptions, evaluate
from evalkit.translators.cache import CachedSegment, TranslationCache

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture
def fx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the bundled fixtures in tmp_path, which is also the working directory."""
    shutil.copytree(FIXTURES, tmp_path / "fx")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    return tmp_path / "fx"


def _cli(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


def _score(fx: Path, *extra: str | Path) -> list[str | Path]:
    return ["score", "--ref", fx / "article.zh", fx / "en-zh" / "strong.zh", "--bootstrap", "0",
            "--metrics", "bleu", *extra]  # fmt: skip


def _results_json(fx: Path) -> Path:
    path = fx / "results.json"
    assert _cli(*_score(fx, "--format", "json", "-o", path)).exit_code == 0
    return path


def _gate(fx: Path, *extra: str | Path) -> list[str | Path]:
    return ["gate", fx / "gate" / "suite.toml", "--candidate", "reworded", "--bootstrap", "50",
            *extra]  # fmt: skip


#: (writer, how to run it writing to the path, what the written file starts with)
WRITERS: dict[str, tuple[Callable[[Path, Path], list[str | Path]], str]] = {
    "score -o": (lambda fx, out: _score(fx, "--format", "csv", "-o", out), "testset,system"),
    "score --report": (lambda fx, out: _score(fx, "--report", out), "<!DOCTYPE html>"),
    "report -o": (lambda fx, out: ["report", _results_json(fx), "-o", out], "<!DOCTYPE html>"),
    "normalize -o": (lambda fx, out: ["normalize", fx / "en-zh/taiwan.zh", "-o", out], ""),
    "gate --junit": (lambda fx, out: _gate(fx, "--junit", out), "<?xml"),
    "gate --summary": (lambda fx, out: _gate(fx, "--summary", out), "### "),
    "baseline --write": (
        lambda fx, out: ["baseline", fx / "gate/suite.toml", "--write", out],
        "{",
    ),
}


def _run_writer(name: str, fx: Path, out: Path) -> Result:
    make_args, _ = WRITERS[name]
    args = make_args(fx, out)
    result = _cli(*args)
    assert result.exit_code in (0, 1), result.output  # 1: a gate that failed is still written
    return result


def _no_temporaries(*folders: Path) -> None:
    for folder in folders:
        assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


# --- 1. symlinks, streams and '-' ------------------------------------------------------------


@pytest.mark.parametrize("writer", list(WRITERS))
def test_every_writer_writes_through_a_symlink_and_the_link_stays(fx: Path, writer: str) -> None:
    real = fx.parent / "real"
    real.mkdir()
    (real / "target").write_text("old\n", encoding="utf-8")
    (fx.parent / "hop").symlink_to("real/target")  # a chain of two relative links
    link = fx.parent / "out.link"
    link.symlink_to("hop")

    _run_writer(writer, fx, link)

    assert link.is_symlink() and os.readlink(link) == "hop"  # not replaced by a regular file
    assert (fx.parent / "hop").is_symlink()
    content = (real / "target").read_text(encoding="utf-8")
    assert content != "old\n" and content.startswith(WRITERS[writer][1])
    _no_temporaries(real, fx.parent)


def test_run_writes_its_files_through_symlinks(fx: Path) -> None:
    out, elsewhere = fx.parent / "out", fx.parent / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (elsewhere / "results.json").write_text("old", encoding="utf-8")
    (out / "results.json").symlink_to(elsewhere / "results.json")

    args = ["run", fx / "gate/suite.toml", "--output-dir", out, "--bootstrap", "0"]
    result = _cli(*args, "--paired", "none", "--format", "json")
    assert result.exit_code == 0, result.output

    assert (out / "results.json").is_symlink()
    stored = json.loads((elsewhere / "results.json").read_text(encoding="utf-8"))
    assert [t["name"] for t in stored["testsets"]] == ["en-zh", "zh-en"]
    assert (out / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


class _FifoReader:
    """Reads a FIFO in a thread until every writer has closed it.

    The test holds a write end of its own (``keeper``) until the command is done, so the reader
    never blocks on a writer that never comes and never stops before the command has written;
    closing it then gives the reader its end of file whatever the command did.
    """

    def __init__(self, path: Path) -> None:
        self.keeper = os.open(path, os.O_RDWR)  # Linux: opens at once, counts as a writer
        self.reader = os.open(path, os.O_RDONLY)
        self.chunks: list[bytes] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while chunk := os.read(self.reader, 65536):
            self.chunks.append(chunk)

    def finish(self) -> bytes:
        os.close(self.keeper)
        self.thread.join()
        os.close(self.reader)
        return b"".join(self.chunks)


@pytest.mark.parametrize("writer", ["score -o", "report -o"])
def test_a_fifo_output_is_written_in_place_for_its_reader(fx: Path, writer: str) -> None:
    fifo = fx.parent / "out.fifo"
    os.mkfifo(fifo)
    if writer == "report -o":
        _results_json(fx)  # made before the reader starts: only the report goes to the FIFO
    reader = _FifoReader(fifo)

    _run_writer(writer, fx, fifo)

    data = reader.finish().decode("utf-8")
    assert data.startswith(WRITERS[writer][1])
    assert len(data) > 1000 if writer == "report -o" else "strong,bleu" in data
    assert fifo.is_fifo()  # still a FIFO, not a regular file renamed over it
    _no_temporaries(fx.parent)


def test_a_socket_output_is_sent_to_its_listener(tmp_path: Path) -> None:
    path = tmp_path / "s.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        server.listen(1)  # the backlog takes the connection; the small text fits its buffer

        write_output(path, "héllo\n")

        server.setblocking(False)  # no connection (the bug) fails here instead of waiting
        conn, _ = server.accept()
        conn.setblocking(True)
        with conn, conn.makefile("rb") as fh:
            assert fh.read() == "héllo\n".encode()
    assert path.is_socket()


@pytest.mark.parametrize("writer", ["score -o", "report -o", "gate --junit"])
def test_dash_is_standard_output(fx: Path, writer: str) -> None:
    result = _run_writer(writer, fx, Path("-"))
    assert result.stdout.startswith(WRITERS[writer][1])
    assert not (fx.parent / "-").exists()


def test_the_step_summary_is_appended_in_place(tmp_path: Path) -> None:
    summary = tmp_path / "step.md"
    summary.write_text("## earlier step", encoding="utf-8")  # no final newline
    inode = summary.stat().st_ino
    link = tmp_path / "link.md"
    link.symlink_to(summary.name)

    append_output(link, "### evalkit\n")

    assert summary.stat().st_ino == inode  # the same file, appended to, not a replacement
    assert summary.read_text(encoding="utf-8") == "## earlier step\n### evalkit\n"
    assert link.is_symlink()


# --- 2. an output is never an input ----------------------------------------------------------


def _hyp_is_output(fx: Path) -> tuple[list[str | Path], Path, str]:
    hyp = Path("fx/en-zh/strong.zh")  # relative spelling of the same file
    args = ["score", "--ref", fx / "article.zh", fx / "en-zh" / "strong.zh", "-o", hyp]
    return args, fx / "en-zh/strong.zh", "output -o fx/en-zh/strong.zh is the hypothesis file"


def _jsonl_hyp_is_output(fx: Path) -> tuple[list[str | Path], Path, str]:
    lines = (fx / "en-zh" / "strong.zh").read_text(encoding="utf-8").splitlines()
    jsonl = fx / "out.jsonl"
    jsonl.write_text("".join(json.dumps({"t": x}) + "\n" for x in lines), encoding="utf-8")
    args = ["score", "--ref", fx / "article.zh", f"{jsonl}#t", "-o", jsonl]
    return args, jsonl, "is the hypothesis file"


def _ref_via_symlink(fx: Path) -> tuple[list[str | Path], Path, str]:
    (fx.parent / "r.html").symlink_to(fx / "article.zh")
    args = _score(fx, "--report", "r.html")
    return args, fx / "article.zh", "output --report r.html is the reference file"


def _source_via_hard_link(fx: Path) -> tuple[list[str | Path], Path, str]:
    os.link(fx / "article.en", fx.parent / "out.txt")
    args = _score(fx, "--src", fx / "article.en", "-o", "out.txt")
    return args, fx / "article.en", "output -o out.txt is the source file"


def _report_onto_results(fx: Path) -> tuple[list[str | Path], Path, str]:
    results = _results_json(fx)
    return ["report", results, "-o", results], results, "is the results file"


def _normalize_in_place(fx: Path) -> tuple[list[str | Path], Path, str]:
    path = fx / "en-zh/taiwan.zh"
    return ["normalize", path, "-o", path], path, "is the input file"


def _baseline_onto_suite(fx: Path) -> tuple[list[str | Path], Path, str]:
    suite = fx / "gate/suite.toml"
    return ["baseline", suite, "--write", suite], suite, "is the suite file"


def _junit_onto_baseline(fx: Path) -> tuple[list[str | Path], Path, str]:
    baseline = fx / "gate/baseline.json"
    return _gate(fx, "--junit", baseline), baseline, "is the baseline file"


def _summary_onto_a_system(fx: Path) -> tuple[list[str | Path], Path, str]:
    system = fx / "gate/zh-en/reworded.en"
    return _gate(fx, "--summary", system), system, "is the output file of system 'reworded'"


def _run_onto_a_reference(fx: Path) -> tuple[list[str | Path], Path, str]:
    out = fx.parent / "out"
    out.mkdir()
    (out / "segments.csv").symlink_to(fx / "article.zh")
    args = ["run", fx / "gate/suite.toml", "--output-dir", out]
    return args, fx / "article.zh", "segments.csv is the reference file"


@pytest.mark.parametrize(
    "case",
    [
        _hyp_is_output,
        _jsonl_hyp_is_output,
        _ref_via_symlink,
        _source_via_hard_link,
        _report_onto_results,
        _normalize_in_place,
        _baseline_onto_suite,
        _junit_onto_baseline,
        _summary_onto_a_system,
        _run_onto_a_reference,
    ],
    ids=lambda f: f.__name__.lstrip("_"),
)
def test_an_output_that_is_an_input_is_refused_and_the_input_kept(fx: Path, case) -> None:
    args, victim, message = case(fx)
    before = victim.read_bytes()

    result = _cli(*args)

    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("evalkit: error: output ")
    assert message in lines[0] and str(victim.name) in lines[0]
    assert victim.read_bytes() == before
    assert result.stdout == ""  # refused before anything was computed or printed


def test_the_step_summary_may_not_be_an_input_either(fx: Path) -> None:
    baseline = fx / "gate/baseline.json"
    before = baseline.read_bytes()
    result = _cli(*_gate(fx), env={"GITHUB_STEP_SUMMARY": str(baseline)})
    assert result.exit_code == 2
    assert "output $GITHUB_STEP_SUMMARY" in result.stderr and "baseline file" in result.stderr
    assert baseline.read_bytes() == before


# --- 3. orphaned temporary files, unwritable caches ------------------------------------------

_WRITER = """
import sys
from evalkit._io import atomic_writer
with atomic_writer(sys.argv[1]) as fh:
    fh.write("x" * 100_000)
    fh.flush()
    print("writing", flush=True)
    sys.stdin.read()  # hold the temporary file open until told (or killed)
"""


def _writer_holding_a_temporary(target: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(target)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(_io.__file__).parent.parent)},
    )
    assert proc.stdout is not None and proc.stdout.readline() == "writing\n"
    return proc


def test_a_killed_writers_temporary_file_is_swept_and_a_live_writers_kept(tmp_path: Path) -> None:
    killed = _writer_holding_a_temporary(tmp_path / "a.json")
    killed.kill()  # kill -9: its temporary file is orphaned
    killed.communicate()
    live = _writer_holding_a_temporary(tmp_path / "b.json")
    try:
        temps = sorted(p for p in tmp_path.iterdir() if p.name.endswith(".tmp"))
        assert [p.name.split(".")[1] for p in temps] == ["a", "b"]
        assert f".evalkit-{killed.pid}." in temps[0].name  # the name carries the writer's pid
        old = time.time() - 120  # both were last touched two minutes ago
        for p in temps:
            os.utime(p, (old, old))
        other = tmp_path / ".notes.evalkit-1.abcdefgh.txt"  # not our pattern: never touched
        other.write_text("mine", encoding="utf-8")

        write_output(tmp_path / "report.html", "<!DOCTYPE html>")  # the next write to the folder

        assert not temps[0].exists()  # the dead writer's
        assert temps[1].exists()  # the live writer's, still being written
        assert other.exists()
    finally:
        live.communicate("")
    assert (tmp_path / "b.json").read_text(encoding="utf-8") == "x" * 100_000


def test_an_unwritable_cache_warns_once_and_the_scores_are_right(fx: Path) -> None:
    (fx.parent / "a-file").write_text("x", encoding="utf-8")
    args = _score(fx, "--bootstrap", "20", "--format", "json")
    plain = _cli(*args)
    cached = _cli(*args, "--cache", "a-file/cache")  # the cache's parent is a regular file

    assert cached.exit_code == 0, cached.output
    warnings = [ln for ln in cached.stderr.splitlines() if ln.startswith("evalkit: warning: ")]
    assert len(warnings) == 1 and "cache a-file/cache cannot be written" in warnings[0]
    assert json.loads(cached.stdout) == json.loads(plain.stdout)


def test_a_full_disk_under_the_statistics_cache_warns_once(
    fx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ts = load_testset(fx / "article.zh", [fx / "en-zh/strong.zh", fx / "en-zh/weak.zh"])
    stats = StatsOptions(20, "bs")
    plain = evaluate(ts, stats=stats)

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_io.tempfile, "mkstemp", full)
    cache = StatsCache(fx.parent / "cache")
    with pytest.warns(CacheWriteWarning, match="No space left on device") as caught:
        cached = evaluate(ts, stats=stats, cache=cache)
    assert len(caught) == 1  # two systems' entries, one warning
    assert cached.to_json() == plain.to_json()


def test_an_unwritable_translation_cache_warns_once_and_goes_on(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    cache = TranslationCache(tmp_path / "a-file" / "translations", "f" * 64, "stub")
    with pytest.warns(CacheWriteWarning) as caught:
        cache.append([("k1", CachedSegment("one"))])
        cache.append([("k2", CachedSegment("two"))])
    assert len(caught) == 1
