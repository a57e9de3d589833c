"""Strict line-numbered reading (as the sacrebleu CLI reads) and atomic writing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sacrebleu.utils import smart_open

from evalkit._io import atomic_writer, read_lines, write_atomic, write_output
from evalkit.errors import EvalkitError, InputError


def _sacrebleu_cli_lines(path: Path) -> list[str]:
    """Exactly how ``sacrebleu`` (the CLI) reads a reference or system file."""
    with smart_open(str(path)) as fh:
        return [line.rstrip() for line in fh]


# --- what a file's segments are --------------------------------------------------------------

SEGMENT_CASES = [
    # why: the plain case, one segment per line, final newline adds no segment
    pytest.param(b"a\nb\n", ("a", "b"), id="clean"),
    # why: a missing final newline must not lose the last segment
    pytest.param(b"a\nb", ("a", "b"), id="no-final-newline"),
    # why: an empty line is a system that produced nothing; dropping it misaligns every later line
    pytest.param(b"a\n\nb\n", ("a", "", "b"), id="empty-line-kept"),
    # why: a final empty segment is still a segment (two newlines at the end)
    pytest.param(b"a\n\n", ("a", ""), id="trailing-empty-segment"),
    # why: a file of one empty segment is not an empty file
    pytest.param(b"\n", ("",), id="single-empty-segment"),
    # why: sacrebleu rstrip()s every line, including a trailing ideographic space and tabs
    pytest.param("a \t\u3000\nb\n".encode(), ("a", "b"), id="trailing-whitespace"),
    # why: leading whitespace is content for sacrebleu, it is kept
    pytest.param(b"  a\n", ("  a",), id="leading-whitespace"),
    # why: the CLI splits on \n only; a lone \r or U+2028 inside a line does not split it
    pytest.param("a\rb\nc\u2028d\n".encode(), ("a\rb", "c\u2028d"), id="only-newline-splits"),
]


@pytest.mark.parametrize(("data", "expected"), SEGMENT_CASES)
def test_segments_are_read_exactly_as_the_sacrebleu_cli_reads_them(
    tmp_path: Path, data: bytes, expected: tuple[str, ...]
) -> None:
    path = tmp_path / "f.txt"
    path.write_bytes(data)
    assert read_lines(path) == expected
    assert list(read_lines(path)) == _sacrebleu_cli_lines(path)


@pytest.mark.parametrize(
    "variant",
    [
        # why: files saved on Windows end lines with CRLF; the \r must not reach the tokenizer
        pytest.param(lambda b: b.replace(b"\n", b"\r\n"), id="crlf"),
        # why: editors on Windows prepend a UTF-8 BOM; it must not glue onto segment 1's first word
        pytest.param(lambda b: b"\xef\xbb\xbf" + b, id="bom"),
        # why: both at once
        pytest.param(lambda b: b"\xef\xbb\xbf" + b.replace(b"\n", b"\r\n"), id="bom+crlf"),
    ],
)
def test_crlf_and_bom_give_the_same_segments_as_the_clean_file(
    tmp_path: Path, fixtures_dir: Path, variant
) -> None:
    clean = fixtures_dir / "article.zh"
    dirty = tmp_path / "article.zh"
    dirty.write_bytes(variant(clean.read_bytes()))
    assert read_lines(dirty) == read_lines(clean)


# --- bad files: an InputError naming the file (and the line) ---------------------------------

BAD_FILES = [
    # (content or None for "do not create", expected words in the message, expected line)
    # why: the most common mistake, a typo in a path
    pytest.param(None, "not found", None, id="missing"),
    # why: a zero-byte file is a failed export, not a test set with zero segments
    pytest.param(b"", "empty", None, id="empty"),
    # why: a BOM and nothing else is still an empty file
    pytest.param(b"\xef\xbb\xbf", "no segments", None, id="bom-only"),
    # why: a GBK/Big5 file must be rejected, naming the line where decoding failed (line 3)
    pytest.param("一\n二\n".encode() + "三".encode("gbk") + b"\n", "UTF-8", 3, id="gbk-line-3"),
    # why: an invalid byte on the first line
    pytest.param(b"\xff\xfe\n", "UTF-8", 1, id="invalid-utf8-line-1"),
    # why: a NUL byte means a binary file (or UTF-16), never text to score; says the line
    pytest.param(b"ok\nok\nbad\x00line\n", "NUL", 3, id="nul-line-3"),
]


@pytest.mark.parametrize(("content", "words", "line"), BAD_FILES)
def test_a_bad_file_is_an_input_error_naming_the_file_and_line(
    tmp_path: Path, content: bytes | None, words: str, line: int | None
) -> None:
    path = tmp_path / "sys.zh"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError) as info:
        read_lines(path)
    err = info.value
    assert words in str(err)
    assert err.path == str(path)
    assert err.line == line
    where = str(path) if line is None else f"{path}:{line}"
    assert str(err).startswith(f"{where}: ")
    assert "\n" not in str(err)


def test_a_directory_given_as_a_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="directory") as info:
        read_lines(tmp_path)
    assert info.value.path == str(tmp_path)


# --- atomic writing -------------------------------------------------------------------------


def test_write_atomic_writes_text_and_bytes_exactly(tmp_path: Path) -> None:
    write_atomic(tmp_path / "a" / "b.txt", "中文\r\nline\n")  # parents are created
    # no newline translation either way: what is given is what lands on disk
    assert (tmp_path / "a" / "b.txt").read_bytes() == "中文\r\nline\n".encode()
    write_atomic(tmp_path / "c.bin", b"\x00\x01")
    assert (tmp_path / "c.bin").read_bytes() == b"\x00\x01"


def test_a_failure_while_writing_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "results.json"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_writer(target) as fh:
        fh.write("half a report")
        raise RuntimeError("validation failed halfway")
    assert target.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]


def test_a_failure_while_writing_a_new_file_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), atomic_writer(tmp_path / "new.csv") as fh:
        fh.write("x")
        raise RuntimeError
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "make_target",
    [
        # why: `--output reports/` (a directory) used to crash with IsADirectoryError
        pytest.param(lambda d: d, id="target-is-a-directory"),
        # why: a parent that is a regular file cannot be created as a folder
        pytest.param(
            lambda d: (d / "file.txt", (d / "file.txt").write_text("x"))[0] / "out.json",
            id="parent-is-a-file",
        ),
    ],
)
def test_an_unwritable_destination_is_an_evalkit_error_naming_it(tmp_path: Path, make_target):
    target = make_target(tmp_path)
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(EvalkitError) as info:
        write_atomic(target, "data")
    assert info.value.path == str(target)
    assert sorted(tmp_path.rglob("*")) == before


def test_a_dangling_symlink_output_creates_its_target_and_stays_a_link(tmp_path: Path) -> None:
    link = tmp_path / "out.json"
    link.symlink_to("sub/real.json")
    (tmp_path / "sub").mkdir()
    write_output(link, "{}\n")
    assert link.is_symlink() and (tmp_path / "sub" / "real.json").read_text("utf-8") == "{}\n"


def test_an_output_in_a_symlink_loop_is_an_error_saying_so(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    with pytest.raises(InputError, match="symlink loop"):
        write_output(tmp_path / "a", "x")
    assert (tmp_path / "a").is_symlink() and (tmp_path / "b").is_symlink()


def test_a_replaced_file_keeps_its_permission_bits(tmp_path: Path) -> None:
    target = tmp_path / "private.json"
    target.write_text("old", encoding="utf-8")
    target.chmod(0o600)
    write_output(target, "new")
    assert (target.stat().st_mode & 0o777, target.read_text("utf-8")) == (0o600, "new")
