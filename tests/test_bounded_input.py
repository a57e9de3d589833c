"""Inputs are read once and bounded: FIFOs score like files, and a bad stream stops the read early.

Every stream here is a FIFO made in tmp_path and fed by a writer thread; no test opens /dev/*.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from evalkit import _io
from evalkit._io import read_input, read_lines
from evalkit.errors import InputError
from evalkit.streaming import index_file

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")

_PIECE = 1 << 16


class _Writer(threading.Thread):
    """Writes ``pieces`` into a FIFO and counts what the reader took; stops when it goes away."""

    def __init__(self, fifo: Path, pieces: Iterable[bytes]) -> None:
        super().__init__(daemon=True)
        self.fifo, self.pieces, self.written, self.broken = fifo, pieces, 0, False

    def run(self) -> None:
        try:
            with open(self.fifo, "wb", buffering=0) as fh:
                for piece in self.pieces:
                    self.written += fh.write(piece)
        except BrokenPipeError:
            self.broken = True


@contextlib.contextmanager
def _fifos(feeds: dict[Path, Iterable[bytes]]) -> Iterator[list[_Writer]]:
    """FIFOs fed by writer threads; afterwards any writer still waiting for a reader is
    released (a non-blocking open on our side), so no thread outlives its test blocked."""
    writers = []
    for path, pieces in feeds.items():
        os.mkfifo(path)
        writers.append(_Writer(path, pieces))
    for w in writers:
        w.start()
    try:
        yield writers
    finally:
        for w in writers:
            while w.is_alive():
                with contextlib.suppress(OSError):
                    os.close(os.open(w.fifo, os.O_RDONLY | os.O_NONBLOCK))
                w.join(0.05)


def _endless(head: bytes, filler: bytes, total: int) -> Iterator[bytes]:
    """``head``, then ``filler`` pieces up to ``total`` bytes in all: an endless stream, bounded."""
    yield head
    sent = len(head)
    while sent < total:
        yield filler
        sent += len(filler)


@pytest.fixture
def work(tmp_path: Path, fixtures_dir: Path) -> Path:
    shutil.copy(fixtures_dir / "article.zh", tmp_path / "ref.zh")
    shutil.copy(fixtures_dir / "en-zh" / "strong.zh", tmp_path / "strong.zh")
    return tmp_path


def _scores(stdout: str) -> dict:
    doc = json.loads(stdout)
    return {s["name"]: s["scores"] for s in doc["testsets"][0]["systems"]}


# --- item 4: each input is read once ----------------------------------------------------------

MODES = [
    pytest.param([], id="in-memory"),
    pytest.param(["--cache", "cache"], id="cache"),
    pytest.param(["--stream"], id="stream"),
]


@pytest.mark.parametrize("mode", MODES)
def test_fifo_reference_and_hypothesis_score_exactly_like_the_regular_files(
    work: Path, run_evalkit, mode: list[str]
) -> None:
    common = ["--format", "json", "--bootstrap", "100", *mode]
    regular = run_evalkit("score", "--ref", "ref.zh", "strong=strong.zh", *common, cwd=work)
    assert regular.returncode == 0, regular.stderr
    (work / "fifo").mkdir()
    feeds = {
        work / "fifo" / "ref.zh": [(work / "ref.zh").read_bytes()],
        work / "fifo" / "hyp.zh": [(work / "strong.zh").read_bytes()],
    }
    with _fifos(feeds):
        args = ["--ref", "fifo/ref.zh", "strong=fifo/hyp.zh", *common]
        streamed = run_evalkit("score", *args, cwd=work, timeout=60)
    assert streamed.returncode == 0, streamed.stderr
    assert _scores(streamed.stdout) == _scores(regular.stdout)


def test_the_same_fifo_given_twice_is_read_once(work: Path, run_evalkit) -> None:
    # why: opening a FIFO a second time waits for a second writer that never comes
    with _fifos({work / "hyp.zh": [(work / "strong.zh").read_bytes()]}):
        proc = run_evalkit(
            "score", "--ref", "ref.zh", "a=hyp.zh", "b=hyp.zh", "--format", "json", cwd=work
        )
    assert proc.returncode == 0, proc.stderr
    scores = _scores(proc.stdout)
    assert scores["a"] == scores["b"]


def test_the_results_cache_key_uses_the_bytes_the_scores_were_computed_from(work: Path) -> None:
    from evalkit.results_cache import results_key

    before = read_input(work / "strong.zh")
    (work / "strong.zh").write_text("改\n" * 12, encoding="utf-8")  # changed after the read
    assert results_key("score", {}, [before]) != results_key("score", {}, [work / "strong.zh"])
    assert results_key("score", {}, [before]) == results_key("score", {}, [before])


# --- item 5: bounded -------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_an_endless_line_stops_the_read_early_naming_file_line_and_limit(
    work: Path, run_evalkit, mode: list[str]
) -> None:
    total = 32 << 20  # what the writer would send if nobody stopped reading
    lines = (work / "strong.zh").read_bytes().splitlines(keepends=True)
    head = b"".join(lines[:2]) + b"x" * 2000
    with _fifos({work / "hyp.zh": _endless(head, b"x" * _PIECE, total)}) as (writer,):
        proc = run_evalkit(
            "score",
            "--ref",
            "ref.zh",
            "hyp.zh",
            "--metrics",
            "bleu",
            "--max-segment-chars",
            "1000",
            *mode,
            cwd=work,
            timeout=60,
        )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.splitlines()) == 1
    assert "hyp.zh:3:" in proc.stderr and "1,000 characters" in proc.stderr
    assert writer.broken and writer.written < total // 4  # stopped, not read to the end


def test_a_stream_of_nul_bytes_stops_at_the_first_block(work: Path, run_evalkit) -> None:
    total = 32 << 20  # what /dev/zero would give without end
    with _fifos({work / "zero": _endless(b"", b"\0" * _PIECE, total)}) as (writer,):
        proc = run_evalkit("score", "--ref", "ref.zh", "zero", cwd=work, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "zero:1:" in proc.stderr and "NUL" in proc.stderr
    assert writer.broken and writer.written < total // 4


@pytest.mark.parametrize("mode", [pytest.param([], id="in-memory"), *MODES[2:]])
@pytest.mark.parametrize(
    ("length", "option", "accepted"),
    [
        pytest.param(100, ["--max-segment-chars", "100"], True, id="exactly-at-the-limit"),
        pytest.param(101, ["--max-segment-chars", "100"], False, id="one-over-the-limit"),
        pytest.param(150, [], True, id="default-limit-is-generous"),
        pytest.param(100_001, [], False, id="default-limit-is-100000"),
        pytest.param(100_001, ["--max-segment-chars", "200000"], True, id="option-raises-it"),
    ],
)
def test_the_segment_length_limit_is_the_option_value(
    work: Path, run_evalkit, mode: list[str], length: int, option: list[str], accepted: bool
) -> None:
    lines = (work / "strong.zh").read_text(encoding="utf-8").splitlines()
    lines[4] = "好" * length  # characters, not bytes: 3 bytes each in UTF-8
    (work / "long.zh").write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")  # CRLF too
    proc = run_evalkit(
        "score", "--ref", "ref.zh", "long.zh", "--metrics", "bleu", *option, *mode, cwd=work
    )
    if accepted:
        assert proc.returncode == 0, proc.stderr
    else:
        assert proc.returncode == 2, proc.stderr
        assert "long.zh:5:" in proc.stderr and "segment length limit" in proc.stderr


def test_read_lines_stops_at_the_first_line_over_the_limit_across_any_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # why: the limit must hold however the file is cut into blocks (BOM, CRLF, multibyte)
    path = tmp_path / "f.zh"
    path.write_bytes("\ufeff好好好\r\nab\nabcd\n好好好好\n".encode())
    for block in (1, 2, 3, 5, 64):
        monkeypatch.setattr(_io, "READ_BLOCK", block)
        assert read_lines(path, max_segment_chars=4) == ("好好好", "ab", "abcd", "好好好好")
        with pytest.raises(InputError) as info:
            read_lines(path, max_segment_chars=3)
        assert info.value.line == 3


@pytest.mark.parametrize(
    "read",
    [
        pytest.param(read_lines, id="read_lines"),
        pytest.param(index_file, id="streaming-index"),
    ],
)
def test_a_symlink_loop_says_symlink_loop_not_file_not_found(tmp_path: Path, read) -> None:
    (tmp_path / "a.zh").symlink_to(tmp_path / "b.zh")
    (tmp_path / "b.zh").symlink_to(tmp_path / "a.zh")
    with pytest.raises(InputError, match="symlink loop") as info:
        read(tmp_path / "a.zh")
    assert info.value.path == str(tmp_path / "a.zh")


def test_a_symlink_loop_on_the_command_line_is_a_one_line_error(work: Path, run_evalkit) -> None:
    (work / "loop.zh").symlink_to(work / "loop.zh")
    proc = run_evalkit("score", "--ref", "ref.zh", "loop.zh", cwd=work)
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1
    assert "loop.zh" in proc.stderr and "symlink loop" in proc.stderr


@pytest.mark.parametrize("engine", ["fast", "sacrebleu"])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_ter_refuses_a_segment_over_its_word_cap_instead_of_exhausting_memory(
    monkeypatch: pytest.MonkeyPatch, engine: str, lang: str
) -> None:
    # why: TER's tables grow with hypothesis × reference words (0.76 GB at 4,000 words each;
    # tens of GB at 100,000 characters); the cap is lowered here so the test stays small.
    from evalkit import fastter
    from evalkit.metrics import make_metric

    monkeypatch.setattr(fastter, "TER_MAX_WORDS", 5)
    ter = make_metric("ter", lang)
    word = "好" if lang == "zh" else "w "  # asian support: one token per Han character
    ok = ter.extract_stats([word * 5, "x"], [["y", word * 5]], engine=engine)
    assert ok.shape == (2, 2)
    with pytest.raises(InputError, match="TER cannot score a segment of 6 words"):
        ter.extract_stats(["x", word * 6], [["y", "z"]], engine=engine)
    with pytest.raises(InputError, match="at most 5 per hypothesis or reference"):
        ter.extract_stats(["x"], [[word * 6]], engine=engine)


def test_a_suite_sets_the_segment_length_limit(work: Path) -> None:
    from evalkit.errors import ConfigError
    from evalkit.suite import load_suite

    def suite(setting: str) -> Path:
        path = work / "suite.toml"
        path.write_text(
            f'[suite]\nname = "s"\n{setting}\n'
            '[[testsets]]\nname = "t"\nrefs = ["ref.zh"]\nsystems = { strong = "strong.zh" }\n',
            encoding="utf-8",
        )
        return path

    texts = [(work / f).read_text(encoding="utf-8") for f in ("ref.zh", "strong.zh")]
    longest = max(len(line) for text in texts for line in text.splitlines())
    load_suite(suite("")).testsets[0].load()  # the default holds every fixture line
    with pytest.raises(InputError, match="segment length limit of 5 characters") as info:
        load_suite(suite("max_segment_chars = 5")).testsets[0].load()
    assert info.value.path == str(work / "ref.zh") and info.value.line == 1
    load_suite(suite(f"max_segment_chars = {longest}")).testsets[0].load()
    with pytest.raises(ConfigError, match="max_segment_chars must be >= 1"):
        load_suite(suite("max_segment_chars = 0"))


@pytest.mark.parametrize("stream", ["false", "true"])
def test_run_applies_the_suites_segment_limit_in_memory_and_streamed(
    work: Path, run_evalkit, stream: str
) -> None:
    (work / "suite.toml").write_text(
        '[suite]\nname = "s"\nmax_segment_chars = 5\n'
        f"[engine]\nstream = {stream}\n"
        '[[testsets]]\nname = "t"\nrefs = ["ref.zh"]\nsystems = { strong = "strong.zh" }\n',
        encoding="utf-8",
    )
    done = run_evalkit("run", "suite.toml", cwd=work, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "segment length limit of 5 characters" in done.stderr
    assert "ref.zh:1" in done.stderr


def test_a_suite_naming_a_symlink_loop_says_symlink_loop(work: Path) -> None:
    from evalkit.errors import ConfigError
    from evalkit.suite import load_suite

    (work / "a.zh").symlink_to(work / "b.zh")
    (work / "b.zh").symlink_to(work / "a.zh")
    (work / "suite.toml").write_text(
        '[suite]\nname = "s"\n'
        '[[testsets]]\nname = "t"\nrefs = ["a.zh"]\nsystems = { strong = "strong.zh" }\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="symlink loop"):
        load_suite(work / "suite.toml")
