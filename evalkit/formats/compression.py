"""Decompress an opened input in bounded blocks: gzip, bzip2 and xz from the standard library,
zstd through the ``zstandard`` package. A corrupt or truncated stream is an InputError naming
the file, raised at the block that shows it."""

from __future__ import annotations

import os
from typing import BinaryIO

from ..errors import InputError

__all__ = ["decompressed"]


class _Decompressed:
    """A binary reader whose ``read(n)`` returns at most ``n`` decompressed bytes (so every
    check of :func:`evalkit._io.checked_blocks` runs on bounded blocks) and whose failures are
    InputErrors naming ``label``."""

    def __init__(self, raw: BinaryIO, stream: BinaryIO, kind: str, label: str) -> None:
        self._raw, self._stream, self._kind, self._label = raw, stream, kind, label

    def read(self, n: int = -1) -> bytes:
        try:
            return self._stream.read(n)
        except InputError:
            raise
        except Exception as exc:  # gzip.BadGzipFile, EOFError, lzma.LZMAError, ZstdError, …
            raise InputError(
                f"cannot decompress ({self._kind}): {exc}; is the file complete?", self._label
            ) from None

    def close(self) -> None:
        self._stream.close()
        self._raw.close()

    def __enter__(self) -> _Decompressed:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def decompressed(raw: BinaryIO, kind: str, label: str | os.PathLike[str]) -> BinaryIO:
    """Wrap ``raw`` (an opened compressed input) in a reader of its decompressed bytes."""
    stream: BinaryIO
    if kind == "gzip":
        import gzip

        stream = gzip.GzipFile(fileobj=raw, mode="rb")
    elif kind == "bzip2":
        import bz2

        stream = bz2.BZ2File(raw, mode="rb")
    elif kind == "xz":
        import lzma

        stream = lzma.LZMAFile(raw, mode="rb")
    elif kind == "zstd":
        try:
            import zstandard
        except ImportError:  # pragma: no cover - a dependency; only a broken install lacks it
            raise InputError("reading .zst needs the zstandard package", label) from None
        stream = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
    else:  # pragma: no cover - spec.COMPRESSIONS lists the kinds
        raise ValueError(kind)
    return _Decompressed(raw, stream, kind, os.fspath(label))  # type: ignore[return-value]
