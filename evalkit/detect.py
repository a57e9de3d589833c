"""Which Chinese script a text is written in: Simplified, Traditional, mixed, or neither.

Each distinct Han character is classified once with OpenCC's own tables: a character that
``t2s`` changes (and ``s2t`` leaves) is Traditional-only, one that ``s2t`` changes (and ``t2s``
leaves) is Simplified-only, and any other is neutral (shared by both scripts, or changed both
ways). The test set verdict picks ``--normalize auto``'s target script, and
:func:`lines_with` tells it, line by line, which segments hold the other script.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ._opencc import converter

__all__ = ["ScriptShare", "detect_script", "is_han", "lines_with"]

_HAN_RANGES = (
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x20000, 0x2EBEF),
    (0x30000, 0x323AF),
)

HAN_RANGES = _HAN_RANGES
"""Code-point ranges of Han characters (inclusive), for vectorised counting elsewhere."""

#: Share of script-specific characters one script must hold for a clear verdict.
DOMINANCE = 0.9


_HAN_RE = re.compile("[" + "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in _HAN_RANGES) + "]")


def is_han(char: str) -> bool:
    """True for a CJK unified or compatibility ideograph."""
    return _HAN_RE.fullmatch(char) is not None


@dataclass(frozen=True)
class ScriptShare:
    """Counts of Han characters by script, over all occurrences (not distinct characters)."""

    simplified: int
    traditional: int
    neutral: int
    other: int

    @property
    def han(self) -> int:
        return self.simplified + self.traditional + self.neutral

    def share(self, kind: str) -> float:
        """Share of Han characters of one kind (``simplified``, ``traditional``, ``neutral``)."""
        return getattr(self, kind) / self.han if self.han else 0.0

    @property
    def verdict(self) -> str:
        """``simplified``, ``traditional``, ``mixed``, ``neutral`` (no telling chars), ``none``."""
        if self.han == 0:
            return "none"
        marked = self.simplified + self.traditional
        if marked == 0:
            return "neutral"
        if self.simplified >= DOMINANCE * marked:
            return "simplified"
        if self.traditional >= DOMINANCE * marked:
            return "traditional"
        return "mixed"

    def as_dict(self) -> dict[str, float | int | str]:
        return {
            "verdict": self.verdict,
            "han": self.han,
            "simplified": self.simplified,
            "traditional": self.traditional,
            "neutral": self.neutral,
            "simplified_share": round(self.share("simplified"), 6),
            "traditional_share": round(self.share("traditional"), 6),
            "neutral_share": round(self.share("neutral"), 6),
        }


_KINDS: dict[str, str] = {}
"""Each character's kind, once known: OpenCC's tables do not change within a process, and the
systems of a test set share most of their characters."""


def _classify(chars: list[str]) -> dict[str, str]:
    """Classify distinct Han characters; unseen ones in two OpenCC calls (one per direction)."""
    new = [ch for ch in chars if ch not in _KINDS]
    if new:
        joined = "\n".join(new)
        to_simp = converter("t2s").convert(joined).split("\n")
        to_trad = converter("s2t").convert(joined).split("\n")
        for ch, simp, trad in zip(new, to_simp, to_trad, strict=True):
            if simp != ch and trad == ch:
                _KINDS[ch] = "traditional"
            elif trad != ch and simp == ch:
                _KINDS[ch] = "simplified"
            else:
                _KINDS[ch] = "neutral"
    return {ch: _KINDS[ch] for ch in chars}


def _char_counts(text: str) -> dict[str, int]:
    """Occurrences of each distinct character, counted as code points with ``np.unique``."""
    points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    codes, freq = np.unique(points, return_counts=True)
    return dict(zip(map(chr, codes.tolist()), freq.tolist(), strict=True))


def lines_with(lines: Sequence[str], kind: str) -> tuple[bool, ...]:
    """Per line, whether it holds at least one character of ``kind`` (``traditional`` or
    ``simplified``): the segments ``--normalize auto`` converts.

    The distinct characters of the whole block are classified once (cached across calls); only
    when one of ``kind`` occurs are the lines searched, with one compiled character class.
    """
    if kind not in ("traditional", "simplified"):
        raise ValueError(f"kind must be 'traditional' or 'simplified', not {kind!r}")
    han = _HAN_RE.findall("".join(_char_counts("".join(lines))))
    marks = [ch for ch, k in _classify(han).items() if k == kind]
    if not marks:
        return (False,) * len(lines)
    search = re.compile("[" + "".join(marks) + "]").search
    return tuple(search(line) is not None for line in lines)


def detect_script(lines: Iterable[str]) -> ScriptShare:
    """Count Simplified-only, Traditional-only and neutral Han characters in ``lines``.

    Characters are counted as code points with ``np.unique`` (~5x faster than ``Counter`` on a
    WMT22 reference of 2,037 lines, and every system of a test set is counted); only the few
    thousand distinct characters are then looked at in Python.
    """
    counts = _char_counts("".join(lines))
    distinct = "".join(counts)
    han = {ch: counts[ch] for ch in _HAN_RE.findall(distinct)}
    other = sum(n for ch, n in counts.items() if ch not in han and not ch.isspace())
    kinds = _classify(sorted(han))
    totals: Counter[str] = Counter()
    for ch, n in han.items():
        totals[kinds[ch]] += n
    return ScriptShare(totals["simplified"], totals["traditional"], totals["neutral"], other)
