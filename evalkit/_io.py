"""Strict, line-numbered UTF-8 reading and atomic writing.

Reading follows the sacrebleu CLI exactly (``newline="\\n"``, each line ``rstrip()``-ed) so that
scores match it to the last digit, and adds what the CLI lacks: a UTF-8 BOM is dropped, CRLF is
accepted, and every defect is reported with its file and line instead of a traceback.
Writing goes to a temporary file in the destination folder and is renamed into place, so a crash
or a validation error never leaves a half-written report behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from .errors import InputError

__all__ = ["atomic_writer", "read_lines", "write_atomic"]

_BOM = "\ufeff"


def read_lines(path: str | os.PathLike[str]) -> tuple[str, ...]:
    """Return the segments of a one-segment-per-line UTF-8 file.

    An empty line is a valid (empty) segment and is kept; a final newline does not add one.
    """
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", p)
    if p.is_dir():
        raise InputError("is a directory, expected a text file", p)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror or exc}", p) from exc
    if not data:
        raise InputError("file is empty (expected one segment per line)", p)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"invalid UTF-8 (byte 0x{data[exc.start]:02x}); the file must be UTF-8 encoded", p, line
        ) from exc
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise InputError("contains a NUL byte; is this a binary file?", p, line)
    if text.startswith(_BOM):
        text = text[1:]
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise InputError("file has no segments (only a byte-order mark)", p)
    return tuple(line.rstrip() for line in lines)


@contextlib.contextmanager
def atomic_writer(
    path: str | os.PathLike[str],
    mode: str = "w",
    encoding: str | None = "utf-8",
    *,
    durable: bool = True,
) -> Iterator[IO]:
    """Open a temporary sibling of ``path``; rename it over ``path`` only if the block succeeds.

    ``durable`` fsyncs before the rename, so a power loss leaves the old file or the new one;
    files that verify themselves when read (cache entries) skip it.

    A destination that cannot be written (a directory, a parent that is a file, no permission)
    is an :class:`InputError` naming it, never a traceback.
    """
    target = Path(path)
    if target.is_dir():
        raise InputError("is a directory; give a file name to write the output to", target)
    blocking = next((p for p in target.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise InputError(f"cannot write the output file: {blocking} is not a directory", target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise InputError(f"cannot write the output file: {exc.strerror or exc}", target) from exc
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a report should be readable
        kwargs = {"encoding": encoding, "newline": ""} if "b" not in mode else {}
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        try:
            os.replace(tmp, target)
        except OSError as exc:
            raise InputError(
                f"cannot write the output file: {exc.strerror or exc}", target
            ) from exc
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(
    path: str | os.PathLike[str], content: str | bytes, *, durable: bool = True
) -> None:
    """Write ``content`` to ``path`` atomically (temporary file, fsync unless not ``durable``,
    rename)."""
    mode = "wb" if isinstance(content, bytes) else "w"
    encoding = None if mode == "wb" else "utf-8"
    try:
        with atomic_writer(path, mode, encoding=encoding, durable=durable) as fh:
            fh.write(content)
    except OSError as exc:  # e.g. the disk filled up mid-write; the old file is untouched
        raise InputError(f"cannot write the output file: {exc.strerror or exc}", path) from exc
