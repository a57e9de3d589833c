"""A crash-safe, append-only cache of translated segments.

Translating is the slow and costly part of a benchmark, so every finished segment is kept at once:
one JSON Lines file per translator fingerprint, one record per segment, appended with a single
``write`` and ``fsync``-ed before the run moves on. Ctrl-C, a crash or ``kill -9`` therefore lose
at most the segments in flight. A torn last line (the process died mid-write) is skipped on
reading, and the next append starts on a fresh line so it cannot glue itself to the torn one.
Each record carries a checksum of its contents, like the statistics cache's entries: a record
whose bytes changed on disk (or one from an older evalkit, which wrote none) is not served but
translated again, with one :class:`DamagedCacheWarning` per file.
The latest record for a key wins, which is how ``refresh`` overrides old entries without
rewriting the file. Records hold the key, the translation and token usage: never the API key.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .._io import warn_cache_unwritable
from ..errors import InputError

__all__ = ["CachedSegment", "DamagedCacheWarning", "TranslationCache", "segment_key"]

_FORMAT = "evalkit-translations-1"


def segment_key(fingerprint: str, source_lang: str, target_lang: str, source: str) -> str:
    """Hex digest for one segment of one translator; length-prefixed so parts cannot collide."""
    h = hashlib.sha256()
    for part in (_FORMAT, fingerprint, source_lang, target_lang, source):
        data = part.encode("utf-8")
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


class DamagedCacheWarning(UserWarning):
    """Records of a translation cache failed their checksum and will be translated again."""


@dataclass(frozen=True)
class CachedSegment:
    """A finished translation and what it cost (None where the translator reports no usage)."""

    text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class TranslationCache:
    """The cache file of one translator: ``<cache_dir>/<fingerprint>.jsonl``.

    Appends go through ``O_APPEND`` in one ``write`` each, so two runs sharing a cache directory
    interleave whole records rather than bytes.
    """

    def __init__(self, cache_dir: Path, fingerprint: str, description: str) -> None:
        self.path = Path(cache_dir) / f"{fingerprint}.jsonl"
        self._header = {"format": _FORMAT, "fingerprint": fingerprint, "translator": description}
        self.unwritable = False  # after a failed append (warned once): no more tries

    def load(self) -> dict[str, CachedSegment]:
        """Every readable record, the latest per key; unreadable lines are ignored."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise InputError(
                f"cannot read translation cache: {exc.strerror or exc}", self.path
            ) from exc
        entries: dict[str, CachedSegment] = {}
        damaged: set[str] = set()
        for raw in data.split(b"\n"):
            record = _parse(raw)
            if isinstance(record, _Damaged):
                damaged.add(record.key)
            elif record is not None:
                key, segment = record
                entries[key] = segment
        damaged -= entries.keys()  # a sound record of the same key (say, re-translated) stands
        if damaged:
            warnings.warn(
                DamagedCacheWarning(
                    f"{self.path}: {len(damaged)} translation cache record(s) failed their "
                    "checksum (damaged, or written by an older evalkit); their segments are "
                    "translated again"
                ),
                stacklevel=2,
            )
        return entries

    def append(self, items: Iterable[tuple[str, CachedSegment]]) -> None:
        """Durably add records (one write, one fsync) before the caller reports them as done.

        A cache that cannot be written (full disk, read-only folder) is warned about once and
        then left alone: the translations still reach the outputs, only a crash would lose them.
        """
        lines = [_dump(key, seg) for key, seg in items]
        if not lines or self.unwritable:
            return
        try:
            self._append("".join(lines).encode("utf-8"))
        except OSError as exc:
            self.unwritable = True
            warn_cache_unwritable(self.path.parent, exc)

    def _append(self, payload: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size == 0:
                header = json.dumps(self._header, ensure_ascii=False) + "\n"
                payload = header.encode("utf-8") + payload
            elif not _ends_with_newline(fd, size):
                payload = b"\n" + payload  # seal a torn last line left by a crash
            os.write(fd, payload)
            os.fsync(fd)
        finally:
            os.close(fd)


@dataclass(frozen=True)
class _Damaged:
    """What :func:`_parse` returns for a record that is there but cannot be trusted."""

    key: str


def _checksum(key: str, seg: CachedSegment) -> str:
    """SHA-256 of everything a record says, so a changed byte anywhere is noticed."""
    fields = [key, seg.text, seg.prompt_tokens, seg.completion_tokens]
    return hashlib.sha256(json.dumps(fields, ensure_ascii=False).encode("utf-8")).hexdigest()


def _dump(key: str, seg: CachedSegment) -> str:
    record = {
        "k": key,
        "t": seg.text,
        "pt": seg.prompt_tokens,
        "ct": seg.completion_tokens,
        "c": _checksum(key, seg),
    }
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


def _parse(raw: bytes) -> tuple[str, CachedSegment] | _Damaged | None:
    """``(key, segment)``; None for blank, torn and header lines; :class:`_Damaged` for a
    record that fails its checksum (or has none)."""
    if not raw.strip():
        return None
    try:
        record = json.loads(raw)
    except (ValueError, RecursionError):  # a torn or damaged line: recompute that segment
        return None
    if not isinstance(record, dict):
        return None
    key, text = record.get("k"), record.get("t")
    if not isinstance(key, str) or not isinstance(text, str):
        return None  # the header line, or a record from another format
    pt, ct = record.get("pt"), record.get("ct")
    if not all(v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in (pt, ct)):
        return _Damaged(key)
    segment = CachedSegment(text, pt, ct)
    if record.get("c") != _checksum(key, segment):
        return _Damaged(key)
    return key, segment


def _ends_with_newline(fd: int, size: int) -> bool:
    with contextlib.suppress(OSError):
        return os.pread(fd, 1, size - 1) == b"\n"
    return False
