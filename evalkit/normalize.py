"""Script, punctuation and width normalization, applied identically to references and candidates.

A :class:`Normalizer` is a frozen value: an OpenCC configuration (``t2s``, ``s2t``, ``tw2sp``, …,
or none), punctuation folding and full-width folding. It is applied to every reference stream and
every candidate alike, so it cannot favour one side, and it is idempotent, so normalizing twice
changes nothing. Every application reports which segments it changed and which the OpenCC
conversion changed, so normalization is never silent.

An explicit configuration converts every segment. ``auto`` (``only_other_script``) converts a
segment only if it holds a character that only the other script uses: for a Simplified target,
``t2s`` runs on a segment with at least one Traditional-only character and every other segment
stays byte-identical; for a Traditional target, ``s2t`` runs on a segment with at least one
Simplified-only character (classes from :mod:`evalkit.detect`). OpenCC is not the identity on
text already in its target script (``t2s`` turns the Simplified 坏布 into 坯布), so converting
every segment would change Simplified references and candidates and move their scores away
from sacrebleu's.

Punctuation folding maps each family of variants to one canonical form: full-width ASCII
punctuation to ASCII (``，`` → ``,``), every double quote style (「」『』“”＂) to ``"``, single
quotes (‘’) to ``'``, and the ideographic space to a space. Width folding maps full-width Latin
letters and digits to ASCII. Chinese-only marks without an ASCII twin (``。``, ``、``, ``《》``)
are left alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._opencc import OPENCC_CONFIGS, converter
from .detect import lines_with
from .errors import ConfigError

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


def _convert(config: str, lines: Sequence[str], only: str | None = None) -> list[str]:
    """Convert ``lines`` (all, or with ``only`` those holding a character of that script);
    script-only configs repeat on what is left until nothing changes.

    OpenCC's character tables contain short chains (t2s: 薴 → 苧 → 苎), so one pass is not
    idempotent. An explicit config repeats on the lines its last pass changed (a fixed point;
    chains are short). ``only`` repeats on the lines that still hold a character of that script,
    so text already converted is never run through OpenCC again: a second t2s pass over
    Simplified text is not harmless (这块坏布 → 这块坯布). All lines of a pass go to OpenCC in
    one call, which keeps this fast.
    """
    cc = converter(config)
    out = list(lines)
    flags = lines_with(out, only) if only else (True,) * len(out)
    todo = [i for i, f in enumerate(flags) if f]
    passes = 1 if config in _VOCABULARY_CONFIGS else 1 + _MAX_PASSES
    for _ in range(passes):
        if not todo:
            break
        before = [out[i] for i in todo]
        after = cc.convert("\n".join(before)).split("\n")
        if len(after) != len(before):  # a conversion never joins lines; be safe if one did
            after = [cc.convert(line) for line in before]
        for i, line in zip(todo, after, strict=True):
            out[i] = line
        todo = [i for i, a, b in zip(todo, after, before, strict=True) if a != b]
        if only and todo:
            still = lines_with([out[i] for i in todo], only)
            todo = [i for i, f in zip(todo, still, strict=True) if f]
    return out


_OTHER_SCRIPT = {"t2s": "traditional", "s2t": "simplified"}
"""For ``auto``: the script a segment must show (one character suffices) to be converted."""


@dataclass(frozen=True)
class NormalizedText:
    """Lines after normalization and, per line, whether normalization changed it and whether
    its OpenCC conversion did (``converted``: punctuation and width folding aside)."""

    lines: tuple[str, ...]
    changed: tuple[bool, ...]
    converted: tuple[bool, ...]

    @property
    def n_changed(self) -> int:
        return sum(self.changed)

    @property
    def n_converted(self) -> int:
        return sum(self.converted)


@dataclass(frozen=True)
class Normalizer:
    """How text is made comparable before scoring; the identity when every field is off.

    ``only_other_script`` (what ``auto`` builds, with ``t2s`` or ``s2t``) converts only the
    segments holding a character only the other script uses; the others keep their bytes.
    """

    script: str | None = None
    punct: bool = False
    width: bool = False
    only_other_script: bool = False

    def __post_init__(self) -> None:
        if self.script is not None:
            converter(self.script)  # validates the name early, with a helpful error
        if self.only_other_script and self.script not in _OTHER_SCRIPT:
            raise ConfigError(
                f"converting only other-script segments needs t2s or s2t, not {self.script!r}"
            )

    @property
    def is_identity(self) -> bool:
        return self.script is None and not self.punct and not self.width

    @property
    def _script_label(self) -> str:
        """``t2s``; ``t2s-if-traditional`` when only other-script segments are converted."""
        if self.script is None:
            return "none"
        return (
            f"{self.script}-if-{_OTHER_SCRIPT[self.script]}"
            if self.only_other_script
            else self.script
        )

    def describe(self) -> str:
        """``opencc:t2s|punct:no|width:no`` (``opencc:t2s-if-traditional|…`` for ``auto``) —
        recorded beside (never inside) metric signatures, and part of every cache key."""
        yes = {True: "yes", False: "no"}
        return f"opencc:{self._script_label}|punct:{yes[self.punct]}|width:{yes[self.width]}"

    def as_dict(self) -> dict[str, object]:
        """``config`` is the OpenCC configuration; ``only_segments_with`` (``auto`` only) names
        the script whose characters make a segment converted."""
        out: dict[str, object] = {
            "config": self.script or "none",
            "punct": self.punct,
            "width": self.width,
        }
        if self.only_other_script and self.script is not None:
            out["only_segments_with"] = _OTHER_SCRIPT[self.script]
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Normalizer:
        """The Normalizer :meth:`as_dict` (or a results file's ``normalization``) describes."""
        config = d.get("config")
        return cls(
            script=None if config in (None, "none") else str(config),
            punct=bool(d.get("punct", False)),
            width=bool(d.get("width", False)),
            only_other_script=d.get("only_segments_with") is not None,
        )

    def __call__(self, text: str) -> str:
        """Normalize one text (``only_other_script`` decides line by line, as :meth:`apply`)."""
        return "\n".join(self.apply(text.split("\n")).lines)

    def _fold(self, text: str) -> str:
        if self.punct:
            text = text.translate(_PUNCT_TABLE)
        if self.width:
            text = text.translate(_WIDTH_TABLE)
        return text

    def apply(self, lines: Sequence[str]) -> NormalizedText:
        """Normalize every line; one OpenCC call for all the lines converted keeps this fast."""
        lines = tuple(lines)
        if self.is_identity or not lines:
            none = (False,) * len(lines)
            return NormalizedText(lines, none, none)
        converted = list(lines)
        if self.script is not None:
            only = _OTHER_SCRIPT[self.script] if self.only_other_script else None
            converted = _convert(self.script, lines, only)
        final = [self._fold(line) for line in converted]
        return NormalizedText(
            tuple(final),
            tuple(a != b for a, b in zip(lines, final, strict=True)),
            tuple(a != b for a, b in zip(lines, converted, strict=True)),
        )


def resolve_normalizer(
    spec: str | Normalizer | None,
    *,
    lang: str,
    reference_script: str | None = None,
    punct: bool = False,
    width: bool | None = None,
) -> Normalizer:
    """Turn ``auto`` / ``none`` / an OpenCC config name into a :class:`Normalizer`.

    ``auto`` targets the reference's dominant script when the target is Chinese and does
    nothing for English: for a Simplified, mixed or neutral reference it runs ``t2s`` on exactly
    the segments (of references and candidates alike) holding a Traditional-only character; for
    a Traditional reference, ``s2t`` on those holding a Simplified-only character. Any other
    segment keeps its bytes. A config name converts every segment. ``width`` follows ``punct``
    unless given.
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
        return Normalizer(script, punct, width, only_other_script=True)
    return Normalizer(name.removesuffix(".json"), punct, width)
