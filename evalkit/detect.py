"""Which Chinese script a text is written in: Simplified, Traditional, mixed, or neither.

Each distinct Han character is classified once with OpenCC's own tables: a character that
``t2s`` changes is Traditional-only, one that ``s2t`` changes is Simplified-only, and one that
neither changes is shared by both scripts (neutral). The verdict drives ``--normalize auto``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ._opencc import converter

__all__ = ["ScriptShare", "detect_script", "is_han"]

_HAN_RANGES = (
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x20000, 0x2EBEF),
    (0x30000, 0x323AF),
)

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


def detect_script(lines: Iterable[str]) -> ScriptShare:
    """Count Simplified-only, Traditional-only and neutral Han characters in ``lines``.

    Characters are counted as code points with ``np.unique`` (~5x faster than ``Counter`` on a
    WMT22 reference of 2,037 lines, and every system of a test set is counted); only the few
    thousand distinct characters are then looked at in Python.
    """
    points = np.frombuffer("".join(lines).encode("utf-32-le", "surrogatepass"), dtype="<u4")
    codes, freq = np.unique(points, return_counts=True)
    counts = dict(zip(map(chr, codes.tolist()), freq.tolist(), strict=True))
    distinct = "".join(counts)
    han = {ch: counts[ch] for ch in _HAN_RE.findall(distinct)}
    other = sum(n for ch, n in counts.items() if ch not in han and not ch.isspace())
    kinds = _classify(sorted(han))
    totals: Counter[str] = Counter()
    for ch, n in han.items():
        totals[kinds[ch]] += n
    return ScriptShare(totals["simplified"], totals["traditional"], totals["neutral"], other)
