"""A content-addressed cache of whole results documents, beside the statistics cache.

Why: the statistics cache lets a re-run skip extraction, but the run still imports sacrebleu
and NumPy, resamples, scores and assembles — most of a warm run. evalkit's results document
is a pure function of its code, its dependencies' versions, the options and the input bytes
(seeded resampling, no clock, no environment variable), so when none of those changed the
stored document *is* the answer, byte for byte. This module must stay importable without
NumPy or sacrebleu: a hit imports neither.

A key is a SHA-256 over: the cache format, the evalkit source files (every file of the
package, so an edited checkout never reuses an old document), the Python, sacrebleu, OpenCC
and NumPy versions, the command and its result-changing options, and every input file's name
as given and the SHA-256 of its bytes — taken from the same read that scoring parses
(:class:`evalkit._io.InputFile`), so a FIFO is read once and a file changed between hashing and
parsing cannot store a document under the wrong key. An entry stores its key and a checksum
of the document; an entry that is torn, edited or for another key is discarded and recomputed,
never trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

from ._io import READ_BLOCK, InputFile, write_cache_entry

__all__ = [
    "DEPENDENCIES",
    "ResultsCache",
    "code_fingerprint",
    "dependency_versions",
    "results_key",
]

_FORMAT = "evalkit-results-cache-2"
_PACKAGE = Path(__file__).resolve().parent

DEPENDENCIES = ("sacrebleu", "opencc", "numpy")
"""The distributions whose versions can change a number: in every key and every Results."""


def dependency_versions() -> dict[str, str | None]:
    """The installed version of each of :data:`DEPENDENCIES` (None when it is not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {}
    for dist in DEPENDENCIES:
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = None
    return out


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """Hash of evalkit's own files and the versions of what computes its numbers."""
    h = hashlib.sha256()
    for path in sorted(_PACKAGE.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            _feed(h, path.relative_to(_PACKAGE).as_posix().encode())
            _feed(h, path.read_bytes())
    _feed(h, sys.version.encode())
    for dist, ver in dependency_versions().items():
        _feed(h, (f"{dist} missing" if ver is None else f"{dist}=={ver}").encode())
    return h.hexdigest()


def _feed(h: hashlib._Hash, data: bytes) -> None:
    """Length-prefixed, so no two sequences of parts hash alike by concatenation."""
    h.update(len(data).to_bytes(8, "little"))
    h.update(data)


def results_key(
    command: str,
    options: Mapping[str, object],
    files: Sequence[str | os.PathLike[str] | InputFile],
) -> str | None:
    """Hex key for one run, or None when an input cannot be read (the run reports that) or
    evalkit's own files cannot (then nothing is cached: a key must cover the code).

    Give inputs as InputFile values already read: their digests are used, nothing is re-read.
    """
    try:
        code = code_fingerprint()
    except OSError:
        return None
    h = hashlib.sha256()
    _feed(h, _FORMAT.encode())
    _feed(h, code.encode())
    _feed(h, command.encode())
    _feed(h, json.dumps(options, sort_keys=True, ensure_ascii=False).encode())
    h.update(len(files).to_bytes(8, "little"))
    for file in files:
        if isinstance(file, InputFile):
            name, digest = file.path, file.digest
        else:
            try:
                name, digest = os.fspath(file), _file_digest(file)
            except (OSError, ValueError):
                return None
        _feed(h, os.fsencode(name))
        _feed(h, digest.encode())
    return h.hexdigest()


def _file_digest(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(READ_BLOCK):
            h.update(block)
    return h.hexdigest()


class ResultsCache:
    """Results JSON documents stored as ``<dir>/results/<key[:2]>/<key>.json``.

    Each file is one header line ``<format> <key> <sha256 of the document>`` followed by the
    document exactly as ``Results.to_json`` wrote it.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory) / "results"
        self.repaired = 0
        self.unwritable = False  # after a failed put (warned once): no more tries

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> str | None:
        """The stored document for ``key``, or None when absent or not trustworthy."""
        try:
            data = self._path(key).read_bytes()
        except OSError:
            return None
        header, _, body = data.partition(b"\n")
        if header.split(b" ") != [_FORMAT.encode(), key.encode(), _digest(body).encode()]:
            self.repaired += 1
            return None
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            self.repaired += 1
            return None

    def put(self, key: str, document: str) -> None:
        """Store a document; a cache that cannot be written is warned about once, never fatal."""
        if self.unwritable:
            return
        body = document.encode("utf-8")
        header = f"{_FORMAT} {key} {_digest(body)}\n".encode()
        path, data = self._path(key), header + body  # the folder named is --cache, as StatsCache's
        self.unwritable = not write_cache_entry(path, data, self.directory.parent)


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()
