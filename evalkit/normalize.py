"""Script, punctuation and width normalization, applied identically to references and candidates.

A :class:`Normalizer` is a frozen value: an OpenCC configuration (``t2s``, ``s2t``, ``tw2sp``, …,
or none), punctuation folding and full-width folding. It is applied to every reference stream and
every candidate alike, so it cannot favour one side, and it is idempotent, so normalizing twice
changes nothing. Every application reports which segments it changed, so normalization is never
silent.

Punctuation folding maps each family of variants to one canonical form: full-width ASCII
punctuation to ASCII (``，`` → ``,``), every double quote style (「」『』“”＂) to ``"``, single
quotes (‘’) to ``'``, and the ideographic space to a space. Width folding maps full-width Latin
letters and digits to ASCII. Chinese-only marks without an ASCII twin (``。``, ``、``, ``《》``)
are left alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ._opencc import OPENCC_CONFIGS, converter

__all__ = [
    "OPENCC_CONFIGS",
    "NormalizedText",
    "Normalizer",
    "converter",
    "resolve_normalizer",
]

_DOUBLE_QUOTES = "「」『』“”„‟〝〞＂﹁﹂﹃﹄"
_SINGLE_QUOTES = "‘’‚‛＇"
_PUNCT_TABLE: dict[int, str] = {ord(c): '"' for c in _DOUBLE_QUOTES}
_PUNCT_TABLE.update({ord(c): "'" for c in _SINGLE_QUOTES})
_PUNCT_TABLE[0x3000] = " "  # ideographic space
for _cp in range(0xFF01, 0xFF5F):  # full-width ASCII block
    _ch = chr(_cp - 0xFEE0)
    if not _ch.isalnum() and _cp not in (0xFF02, 0xFF07):
        _PUNCT_TABLE[_cp] = _ch
_PUNCT_TABLE.update({ord("﹐"): ",", ord("﹑"): "、", ord("﹔"): ";", ord("﹕"): ":"})
_WIDTH_TABLE: dict[int, str] = {
    cp: chr(cp - 0xFEE0) for cp in range(0xFF01, 0xFF5F) if chr(cp - 0xFEE0).isalnum()
}


_VOCABULARY_CONFIGS = frozenset({"tw2sp", "s2twp", "hk2sp", "s2hkp"})
"""OpenCC configs that also swap regional vocabulary. Their tables chain (Taiwan 程式 → 程序,
and 程序 is itself Taiwan usage for 进程), so converting their output again changes meaning:
they are applied exactly once, and their idempotence is not promised."""

_MAX_PASSES = 4


def _convert(config: str, text: str) -> str:
    """Convert ``text``; script-only configs are repeated until nothing changes.

    OpenCC's character tables contain short chains (t2s: 薴 → 苧 → 苎), so one pass is not
    idempotent. Repeating to a fixed point (at most a few passes; chains are short) makes the
    Normalizer idempotent for script conversion without changing what any word means.
    """
    cc = converter(config)
    out = cc.convert(text)
    if config in _VOCABULARY_CONFIGS:
        return out
    for _ in range(_MAX_PASSES):
        again = cc.convert(out)
        if again == out:
            break
        out = again
    return out


@dataclass(frozen=True)
class NormalizedText:
    """Lines after normalization and, per line, whether normalization changed it."""

    lines: tuple[str, ...]
    changed: tuple[bool, ...]

    @property
    def n_changed(self) -> int:
        return sum(self.changed)


@dataclass(frozen=True)
class Normalizer:
    """How text is made comparable before scoring; the identity when every field is off."""

    script: str | None = None
    punct: bool = False
    width: bool = False

    def __post_init__(self) -> None:
        if self.script is not None:
            converter(self.script)  # validates the name early, with a helpful error

    @property
    def is_identity(self) -> bool:
        return self.script is None and not self.punct and not self.width

    def describe(self) -> str:
        """``opencc:t2s|punct:no|width:no`` — recorded beside (never inside) metric signatures."""
        yes = {True: "yes", False: "no"}
        return f"opencc:{self.script or 'none'}|punct:{yes[self.punct]}|width:{yes[self.width]}"

    def as_dict(self) -> dict[str, object]:
        return {"config": self.script or "none", "punct": self.punct, "width": self.width}

    def __call__(self, text: str) -> str:
        if self.script is not None:
            text = _convert(self.script, text)
        if self.punct:
            text = text.translate(_PUNCT_TABLE)
        if self.width:
            text = text.translate(_WIDTH_TABLE)
        return text

    def apply(self, lines: Sequence[str]) -> NormalizedText:
        """Normalize every line; one OpenCC call for the whole block keeps this fast."""
        if self.is_identity or not lines:
            return NormalizedText(tuple(lines), (False,) * len(lines))
        text = "\n".join(lines)
        out = self(text).split("\n")
        if len(out) != len(lines):  # a conversion never joins lines; be safe if one did
            out = [self(line) for line in lines]
        return NormalizedText(tuple(out), tuple(a != b for a, b in zip(lines, out, strict=True)))


def resolve_normalizer(
    spec: str | Normalizer | None,
    *,
    lang: str,
    reference_script: str | None = None,
    punct: bool = False,
    width: bool | None = None,
) -> Normalizer:
    """Turn ``auto`` / ``none`` / an OpenCC config name into a :class:`Normalizer`.

    ``auto`` converts to the reference's dominant script (``t2s`` for a Simplified or neutral
    reference, ``s2t`` for a Traditional one) when the target is Chinese, and does nothing for
    English. ``width`` follows ``punct`` unless given.
    """
    if isinstance(spec, Normalizer):
        return spec
    width = punct if width is None else width
    name = (spec or "none").strip().lower()
    if name == "none":
        return Normalizer(None, punct, width)
    if name == "auto":
        if lang != "zh":
            return Normalizer(None, punct, width)
        script = "s2t" if reference_script == "traditional" else "t2s"
        return Normalizer(script, punct, width)
    return Normalizer(name.removesuffix(".json"), punct, width)
