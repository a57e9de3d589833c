"""Strict, bounded, line-numbered UTF-8 reading and atomic writing.

Reading follows the sacrebleu CLI exactly (``newline="\\n"``, each line ``rstrip()``-ed) so that
scores match it to the last digit, and adds what the CLI lacks: a UTF-8 BOM is dropped, CRLF is
accepted, and every defect is reported with its file and line instead of a traceback. Inputs are
read once, in bounded blocks, and checked while they are read (NUL bytes, the segment length
limit), so a FIFO, ``/dev/zero`` or an endless line cannot hang evalkit or exhaust memory.
Writing follows one policy (:func:`write_output`, :func:`append_output`): a regular file is
replaced atomically (a temporary sibling renamed into place, so a crash or a validation error never
leaves a half-written report behind), a symlink is written through to its target, a stream (FIFO,
device, socket) is written in place, and an output is never an input of the same run
(:func:`refuse_output_onto_input`).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import socket
import stat
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

from .errors import ConfigError, EvalkitError, InputError

__all__ = [
    "CacheWriteWarning",
    "DEFAULT_MAX_SEGMENT_CHARS",
    "InputFile",
    "SegmentLimit",
    "append_output",
    "atomic_writer",
    "checked_blocks",
    "decode_lines",
    "is_stream",
    "line_batches",
    "open_input",
    "read_input",
    "read_lines",
    "refuse_output_onto_input",
    "warn_cache_unwritable",
    "write_atomic",
    "write_cache_entry",
    "write_output",
]

_BOM = "\ufeff"

DEFAULT_MAX_SEGMENT_CHARS = 100_000
"""Characters a line may hold (its line ending not counted): far above any real translation,
far below what makes TER or an n-gram table exhaust memory. ``--max-segment-chars`` changes it."""

READ_BLOCK = 1 << 20
"""Bytes read at a time: every check runs block by block, so a bad input stops the read early."""

_CONTINUATION = bytes(range(0x80, 0xC0))


def _chars(data: bytes) -> int:
    """Characters in UTF-8 bytes: every byte but a continuation byte starts one."""
    return len(data.translate(None, _CONTINUATION))


class SegmentLimit:
    """Checks, block by block while a file is read, that no line holds more than ``limit``
    characters, so an endless line stops the read after about ``limit`` bytes, not at the end.

    Only lines longer than ``limit`` bytes are counted character by character; the rest are
    skipped over with ``bytes.rfind``, so the check costs little next to reading.
    """

    def __init__(self, limit: int, label: str | os.PathLike[str]) -> None:
        if limit < 1:
            raise ConfigError(f"the segment length limit must be at least 1, got {limit}")
        self.limit = limit
        self.label = label
        self.line = 1  # the line being read
        self._pending = 0  # its characters read so far
        self._cr = False  # whether they end with "\r" (part of a CRLF line ending)
        self._head = b""  # the file's first bytes, to see whether line 1 starts with a BOM

    def feed(self, block: bytes) -> None:
        if len(self._head) < 3:
            self._head += block[: 3 - len(self._head)]
        first = block.find(b"\n")
        if first < 0:
            self._grow(block)
            return
        self._grow(block[:first])
        self._end()
        last = block.rfind(b"\n")
        p = first
        while p < last:  # p: a newline; is the line after it longer than `limit` bytes?
            q = block.rfind(b"\n", p + 1, p + self.limit + 2)
            if q < 0:
                q = block.find(b"\n", p + 1)
                line = block[p + 1 : q]
                if _chars(line) - line.endswith(b"\r") > self.limit:
                    self._fail(self.line + block.count(b"\n", 0, p + 1))
            p = q
        self.line += block.count(b"\n")
        self._pending, self._cr = 0, False
        self._grow(block[last + 1 :])

    def finish(self) -> None:
        """Check the last line (one without a final newline)."""
        self._end()

    def _grow(self, part: bytes) -> None:
        if part:
            self._pending += _chars(part)
            self._cr = part.endswith(b"\r")
            if self._pending > self._allowed() + 1:  # more even if a "\r" ends it
                self._fail(self.line)

    def _end(self) -> None:
        if self._pending - self._cr > self._allowed():
            self._fail(self.line)

    def _allowed(self) -> int:
        """The limit, plus line 1's byte-order mark (not a character of the segment)."""
        return self.limit + (self.line == 1 and _BOM.encode().startswith(self._head))

    def _fail(self, line: int) -> None:
        raise InputError(
            f"line longer than the segment length limit of {self.limit:,} characters "
            "(raise it with --max-segment-chars)",
            self.label,
            line,
        )


@dataclass(frozen=True)
class InputFile:
    """One input read once: its segments and the SHA-256 of its bytes.

    Why: a FIFO or ``<(zcat ref.gz)`` can be read only once, and a file may change between two
    reads; a cache key and the scores must come from the same bytes. Pass this value onward
    (``load_testset`` accepts it in place of a path) instead of reading the path again.
    """

    path: str
    lines: tuple[str, ...]
    digest: str


def is_stream(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` can be read only once: it exists and is neither a regular file nor a
    directory (a FIFO, a process substitution's ``/dev/fd/N``, a device, a socket)."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return False  # reading it reports why
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def open_input(path: str | os.PathLike[str], label: str | os.PathLike[str]) -> BinaryIO:
    """Open an input for reading; every failure is an InputError naming ``label``.

    It opens first and asks afterwards: ``Path.exists()`` is False on a symlink loop, which
    would be misreported as a missing file.
    """
    try:
        return open(path, "rb")  # noqa: SIM115 - the caller closes it
    except FileNotFoundError as exc:
        raise InputError("file not found", label) from exc
    except IsADirectoryError as exc:
        raise InputError("is a directory, expected a text file", label) from exc
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputError("symlink loop (too many levels of symbolic links)", label) from exc
        raise InputError(f"cannot read file: {exc.strerror or exc}", label) from exc


def decode_lines(
    data: bytes, label: str | os.PathLike[str], first_line: int, *, rstrip: bool = True
) -> list[str]:
    """Decode a run of whole lines starting at line ``first_line`` as the sacrebleu CLI reads
    them (split on ``\\n``, each ``rstrip()``-ed), the BOM of line 1 dropped; a final newline
    adds no line. Invalid UTF-8 and NUL bytes are InputErrors naming the line.

    ``rstrip=False`` only drops a CRLF's ``\\r``: a TSV line keeps its empty last columns."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = first_line + data.count(b"\n", 0, exc.start)
        raise InputError(
            f"invalid UTF-8 (byte 0x{data[exc.start]:02x}); the file must be UTF-8 encoded",
            label,
            line,
        ) from None
    nul = text.find("\x00")
    if nul >= 0:
        _nul_error(label, first_line + text.count("\n", 0, nul))
    if first_line == 1 and text.startswith(_BOM):
        text = text[1:]
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not rstrip:
        return [line[:-1] if line.endswith("\r") else line for line in lines]
    return [line.rstrip() for line in lines]


def _nul_error(label: str | os.PathLike[str], line: int) -> None:
    raise InputError("contains a NUL byte; is this a binary file?", label, line)


def checked_blocks(fh: BinaryIO, limit: SegmentLimit) -> Iterator[tuple[bytes, int]]:
    """``(block, line where it starts)`` for each block of ``fh``, read :data:`READ_BLOCK` bytes
    at a time and checked before it is handed on: a NUL byte or a line over the limit raises at
    the first block that shows it. Call ``limit.finish()`` after the last block."""
    while block := fh.read(READ_BLOCK):
        first_line = limit.line
        nul = block.find(b"\x00")
        if nul >= 0:
            _nul_error(limit.label, first_line + block.count(b"\n", 0, nul))
        limit.feed(block)
        yield block, first_line


def line_batches(
    fh: BinaryIO,
    limit: SegmentLimit,
    *,
    seen: Callable[[bytes], object] | None = None,
    rstrip: bool = True,
) -> Iterator[list[str]]:
    """The decoded lines of ``fh`` (see :func:`decode_lines`), a list per block read, checked
    block by block (:func:`checked_blocks`); ``seen`` is called with every raw block. The one
    line loop behind plain, compressed and line-based record inputs alike."""
    tail = b""  # the line being read, not yet ended by a newline
    for block, first_line in checked_blocks(fh, limit):
        if seen is not None:
            seen(block)
        cut = block.rfind(b"\n")
        if cut < 0:
            tail += block
            continue
        yield decode_lines(tail + block[: cut + 1], limit.label, first_line, rstrip=rstrip)
        tail = block[cut + 1 :]
    limit.finish()
    if tail:
        yield decode_lines(tail, limit.label, limit.line, rstrip=rstrip)


def read_input(
    path: str | os.PathLike[str],
    *,
    max_segment_chars: int = DEFAULT_MAX_SEGMENT_CHARS,
    name: str | os.PathLike[str] | None = None,
) -> InputFile:
    """Read an input once, in bounded blocks, checking it as it comes: a NUL byte or a line over
    ``max_segment_chars`` stops the read at once (``/dev/zero`` or an endless line cannot fill
    memory). ``name`` is how messages and the InputFile name it (default: ``path``).

    A compressed file or a ``file#selector`` record input (JSONL, TSV, CSV, Parquet, WMT XML;
    see :mod:`evalkit.formats`) is decoded to the segments sacrebleu would read from it."""
    from .formats import parse_spec, read_formatted

    given = os.fspath(name if name is not None else path)
    spec = parse_spec(path)
    if not spec.is_plain:
        return read_formatted(spec, max_segment_chars=max_segment_chars, name=given)
    label = Path(given)
    limit = SegmentLimit(max_segment_chars, label)
    digest = hashlib.sha256()
    lines: list[str] = []
    size = 0

    def seen(block: bytes) -> None:
        nonlocal size
        digest.update(block)
        size += len(block)

    with open_input(path, label) as fh:
        for batch in line_batches(fh, limit, seen=seen):
            lines += batch
    if not size:
        raise InputError("file is empty (expected one segment per line)", label)
    if not lines:
        raise InputError("file has no segments (only a byte-order mark)", label)
    return InputFile(given, tuple(lines), digest.hexdigest())


def read_lines(
    path: str | os.PathLike[str], *, max_segment_chars: int = DEFAULT_MAX_SEGMENT_CHARS
) -> tuple[str, ...]:
    """Return the segments of a one-segment-per-line UTF-8 file (see :func:`read_input`).

    An empty line is a valid (empty) segment and is kept; a final newline does not add one.
    """
    return read_input(path, max_segment_chars=max_segment_chars).lines


# --- writing ---------------------------------------------------------------------------------
#
# One policy for every file evalkit writes (write_output, append_output), so that nothing it
# writes destroys anything:
#   - a regular file, or one that does not exist yet, is replaced atomically (temporary sibling,
#     fsync, rename): a crash or kill -9 leaves the old file or the new one, never half of one;
#   - a symlink is followed to its final target, which is replaced there: the link stays a link;
#   - anything else that exists (FIFO, character or block device, socket) is a stream: written
#     in place, never replaced by a regular file;
#   - a path inside /proc (where /dev/stdout and /dev/fd/N lead) names a file a process has open:
#     written in place and appended to, so a file behind that descriptor is never truncated;
#   - "-" (standard output) belongs to the command line, which writes it (evalkit.cli._emit).
# Temporary files carry their writer's pid (``.NAME.evalkit-PID.XXXXXXXX.tmp``), so the next
# write to a folder can remove those a killed run left behind without touching a live writer's.

_MAX_LINKS = 40  # the kernel's own limit on the symlinks of one path
_TMP_RE = re.compile(r"\..+\.evalkit-(\d+)\.[a-z0-9_]{8}\.tmp")
_ORPHANED_AFTER = 60.0  # seconds a dead writer's temporary file must be left untouched first
_ABANDONED_AFTER = 3600.0  # no write takes this long: older temporaries go whoever made them
_swept: set[str] = set()  # folders already cleaned by this process (a cache writes many files)


class CacheWriteWarning(UserWarning):
    """A cache could not be written; evalkit goes on without storing in it (the CLI prints it)."""


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
    files that verify themselves when read (cache entries) skip it. A file replaced keeps its
    permission bits. This is the plain mechanism: outputs go through :func:`write_output`.

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
        _sweep_orphans(target.parent)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{target.name[:100]}.evalkit-{os.getpid()}.", suffix=".tmp", dir=target.parent
        )
    except OSError as exc:
        raise InputError(f"cannot write the output file: {exc.strerror or exc}", target) from exc
    try:
        os.chmod(tmp, _mode_of(target))  # mkstemp makes 0600; a report should be readable
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


def _mode_of(target: Path) -> int:
    """The permission bits of the file being replaced, else the umask's default for a new one."""
    with contextlib.suppress(OSError):
        return stat.S_IMODE(os.stat(target).st_mode)
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _sweep_orphans(folder: Path) -> None:
    """Remove evalkit temporary files a killed writer left in ``folder`` (once per process).

    Only names of our pattern go, and only when the pid they carry is not running here and the
    file was last touched a minute ago or more, or when it is an hour old whoever made it.
    """
    key = os.path.abspath(folder)
    if key in _swept:
        return
    _swept.add(key)
    now = time.time()
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for entry in entries:
            match = _TMP_RE.fullmatch(entry.name)
            if match is None:
                continue
            with contextlib.suppress(OSError):
                st = entry.stat(follow_symlinks=False)
                age = now - st.st_mtime
                if not stat.S_ISREG(st.st_mode):
                    continue
                if age >= _ABANDONED_AFTER or (
                    age >= _ORPHANED_AFTER and not _pid_running(int(match.group(1)))
                ):
                    os.unlink(entry.path)


def _pid_running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError, ValueError):
        return True  # exists but not ours (EPERM), or not a pid at all: leave it alone
    return True


def write_atomic(
    path: str | os.PathLike[str], content: str | bytes, *, durable: bool = True
) -> None:
    """Write ``content`` to ``path`` atomically (temporary file, fsync unless not ``durable``,
    rename). Caches use it inside their own folders; outputs use :func:`write_output`."""
    mode = "wb" if isinstance(content, bytes) else "w"
    encoding = None if mode == "wb" else "utf-8"
    try:
        with atomic_writer(path, mode, encoding=encoding, durable=durable) as fh:
            fh.write(content)
    except OSError as exc:  # e.g. the disk filled up mid-write; the old file is untouched
        raise InputError(f"cannot write the output file: {exc.strerror or exc}", path) from exc


def write_output(
    path: str | os.PathLike[str], content: str | bytes, *, durable: bool = True
) -> None:
    """Write an output file by evalkit's one policy (see the comment above): atomically for a
    regular file, through symlinks to their target, in place for a stream."""
    target, in_place = _destination(path)
    if in_place is None:
        write_atomic(target, content, durable=durable)
        return
    data = content if isinstance(content, bytes) else content.encode("utf-8")
    try:
        if stat.S_ISSOCK(os.stat(target).st_mode):
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.connect(os.fspath(target))
                sock.sendall(data)
            return
        fd = os.open(target, in_place)
        try:
            _write_all(fd, data)
        finally:
            os.close(fd)
    except OSError as exc:
        raise InputError(f"cannot write the output: {exc.strerror or exc}", path) from exc


def append_output(path: str | os.PathLike[str], text: str) -> None:
    """Append ``text`` to a file (created if missing), a stream or a symlink's target, in place.

    A non-empty regular file not ending in a newline gets one first, so the text starts on its
    own line. If writing fails (a full disk), a regular file is cut back to its old length: it
    is never left half-appended.
    """
    data = text.encode("utf-8")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    except OSError as exc:
        raise InputError(f"cannot append to the file: {exc.strerror or exc}", path) from exc
    try:
        st = os.fstat(fd)
        regular = stat.S_ISREG(st.st_mode)
        if regular and st.st_size and not _ends_with_newline(path, st.st_size):
            data = b"\n" + data
        try:
            _write_all(fd, data)
            if regular:
                os.fsync(fd)
        except OSError as exc:
            if regular:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, st.st_size)
            raise InputError(f"cannot append to the file: {exc.strerror or exc}", path) from exc
    finally:
        os.close(fd)


def _destination(path: str | os.PathLike[str]) -> tuple[Path, int | None]:
    """Where to write ``path`` and how: (file, None) to replace atomically, (file, open flags)
    to write in place."""
    target = _resolve(path)
    if _in_proc(target.parent):
        return target, os.O_WRONLY | os.O_APPEND
    if is_stream(target):
        return target, os.O_WRONLY
    return target, None  # atomic_writer reports a directory or a parent that is a file


def _resolve(path: str | os.PathLike[str]) -> Path:
    """``path`` with its symlinks followed to the file they end at; ``path`` itself when it is
    no link. Inside /proc the links name open files, not paths, so resolving stops there."""
    given = Path(path)
    current = os.fspath(given)
    for hop in range(_MAX_LINKS + 1):
        parent = os.path.realpath(os.path.dirname(current) or ".")
        current = os.path.join(parent, os.path.basename(current))
        if _in_proc(Path(parent)):
            return Path(current)
        try:
            link = os.readlink(current)
        except OSError:  # not a link (or not there yet): this is the file
            return Path(current) if hop else given
        current = os.path.join(parent, link)
    raise InputError(f"symlink loop (more than {_MAX_LINKS} links to follow)", given)


def _in_proc(folder: Path) -> bool:
    return folder == Path("/proc") or Path("/proc") in folder.parents


def _ends_with_newline(path: str | os.PathLike[str], size: int) -> bool:
    with contextlib.suppress(OSError), open(path, "rb") as fh:
        fh.seek(size - 1)
        return fh.read(1) == b"\n"
    return True  # unreadable (write-only): add nothing rather than guess


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def refuse_output_onto_input(
    outputs: Iterable[tuple[str, str | os.PathLike[str] | None]],
    inputs: Iterable[tuple[str, str | os.PathLike[str] | None]],
) -> None:
    """Raise :class:`InputError` when an output is the same file as an input of the run.

    ``outputs`` are (how it was given: ``"-o"``, ``"--report"``, ``""`` for a fixed name; path,
    None when not given) pairs; ``inputs`` are (role, path) pairs such as ("hypothesis
    file", "sysA.zh"). Files are compared by device and inode, so a symlink, a hard link or a
    relative spelling is caught. Only an existing regular file can be destroyed by writing it: a
    stream (``-``, a FIFO, a terminal) or a path that does not exist yet is never refused.
    """
    known = [(role, p, _identity(_file_of(p))) for role, p in inputs if p is not None]
    for flag, out in outputs:
        if out is None or os.fspath(out) == "-":
            continue
        ident = _identity(out, regular_only=True)
        for role, p, other in known:
            if ident is not None and ident == other:
                given = f"{flag} {out}" if flag else os.fspath(out)
                raise InputError(f"output {given} is the {role} {p}; write it somewhere else")


def _file_of(given: str | os.PathLike[str]) -> str | os.PathLike[str]:
    """The file an input string reads (``out.jsonl#translation``: ``out.jsonl``)."""
    from .formats import parse_spec

    try:
        return parse_spec(given).file
    except EvalkitError:  # not a valid input string: it names no file to protect
        return given


def _identity(
    path: str | os.PathLike[str], *, regular_only: bool = False
) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    if regular_only and not stat.S_ISREG(st.st_mode):
        return None
    return st.st_dev, st.st_ino


def write_cache_entry(
    path: str | os.PathLike[str], data: bytes, directory: str | os.PathLike[str]
) -> bool:
    """Store a cache entry that verifies itself when read, so without fsync (a torn entry fails
    its checksum and is recomputed). False, after :func:`warn_cache_unwritable`, when it cannot
    be written: the caller stops writing to that cache and the run goes on."""
    try:
        write_atomic(path, data, durable=False)
    except InputError as exc:
        warn_cache_unwritable(directory, exc)
        return False
    return True


def warn_cache_unwritable(directory: str | os.PathLike[str], exc: Exception) -> None:
    """Say that the cache folder ``directory`` cannot be written (the CLI prints it on stderr,
    once per folder); the caller stops writing to it and the run goes on, only slower next time.
    """
    cause = exc.__cause__ if isinstance(exc.__cause__, OSError) else exc
    reason = getattr(cause, "strerror", None) or getattr(cause, "message", None) or cause
    warnings.warn(
        f"cache {directory} cannot be written ({reason}); going on without storing in it",
        CacheWriteWarning,
        stacklevel=4,
    )
