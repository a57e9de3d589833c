"""Per-segment diagnostics: *why* a translator lost points, not just how many.

A corpus score never says that a model answered in the wrong language, copied the source,
wrapped its answer in chatter, looped or stopped halfway. :func:`diagnose` names those failure
modes per segment, as pure functions of the texts (sources, first reference, one system's
outputs), so every output (results.json, the terminal, the HTML report, the gate) shows the same
findings. The kinds, each with its thresholds in :class:`DiagnosticsConfig` (a suite's
``[diagnostics]`` table):

- ``empty``: a blank output for a non-empty source (or reference, when there is no source).
- ``off_target``: not in the target language, decided from script shares (no language-ID model
  is available offline). Chinese target: Han characters are fewer than ``min_han_share`` of the
  letters (one Han character or one Latin word is one letter unit) while the reference's share
  is not. English target: at least ``max_stray_han`` more Han characters than the reference.
- ``untranslated``: the output (nearly) copies the source: chrF against the source at least
  ``untranslated_chrf`` while the reference's is below it (a URL or a name copied by the
  reference too is not a failure). Only outputs written in the source's script are compared.
- ``chatter``: conversational wrapping: preambles ("Here is the translation:", "以下是翻译："),
  closings ("I hope this helps!", "希望对你有帮助"), notes ("(Note: …)", "注：…"), quotes or
  code fences around the whole output. The reference holding the same wrapping excuses it.
  The character spans are reported beside the segment indices.
- ``repetition``: a degenerate loop: a unit of 1 to ``repetition_max_unit`` tokens (Han
  characters and Latin words) repeated at least ``repetition_min_repeats`` times in a row, the
  loop covering at least ``repetition_min_tokens`` tokens.
- ``too_long`` / ``too_short``: the log length ratio to the reference (characters for Chinese,
  words for English) outside ``median ± length_k · MAD`` (MAD scaled to σ) over every system of
  the test set, for references of at least ``length_min_units`` units and a difference of at
  least that many units.

Script (Simplified/Traditional) is not a diagnostic here: it stays the warning it was.
Everything that can be is vectorised over one code-point array of all outputs at once.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from .detect import HAN_RANGES
from .errors import ConfigError

__all__ = [
    "KINDS",
    "NOT_STREAMED",
    "DiagnosticsConfig",
    "Findings",
    "diagnose",
    "diagnose_systems",
    "summary_line",
]

KINDS: tuple[str, ...] = (
    "empty",
    "off_target",
    "untranslated",
    "chatter",
    "repetition",
    "too_long",
    "too_short",
)
"""Every diagnostic kind, in the order outputs list them."""

NOT_STREAMED: Mapping[str, Any] = {"computed": False, "reason": "not computed when streamed"}
"""A streamed test set's ``diagnostics_config``: its segment texts are never all in memory
(chunks are extracted and dropped), and the length band needs every system's ratios at once;
its systems' ``diagnostics`` are None. Diagnose a sample with ``evaluate()`` instead."""


@dataclass(frozen=True)
class DiagnosticsConfig:
    """Thresholds of the diagnostics (``[diagnostics]`` in a suite; see the module docstring)."""

    min_han_share: float = 0.5
    max_stray_han: int = 2
    untranslated_chrf: float = 0.7
    repetition_min_repeats: int = 4
    repetition_max_unit: int = 12
    repetition_min_tokens: int = 6
    length_k: float = 5.0
    length_min_units: int = 5

    def __post_init__(self) -> None:
        for name in ("min_han_share", "untranslated_chrf"):
            value = getattr(self, name)
            if not 0 < value <= 1:
                raise ConfigError(f"[diagnostics].{name} must be in (0, 1], got {value!r}")
        if self.length_k <= 0:
            raise ConfigError(f"[diagnostics].length_k must be > 0, got {self.length_k!r}")
        for name in (
            "max_stray_han",
            "repetition_min_repeats",
            "repetition_max_unit",
            "repetition_min_tokens",
            "length_min_units",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(f"[diagnostics].{name} must be >= 1, got {getattr(self, name)}")
        if self.repetition_min_repeats < 2:
            raise ConfigError("[diagnostics].repetition_min_repeats must be >= 2")

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> DiagnosticsConfig:
        """A suite's ``[diagnostics]`` table; unknown keys and wrong types are ConfigErrors."""
        known = {f.name: f.type for f in fields(cls)}
        unknown = sorted(set(table) - set(known))
        if unknown:
            raise ConfigError(
                f"unknown key {unknown[0]!r} in [diagnostics]; allowed: {', '.join(known)}"
            )
        kw: dict[str, Any] = {}
        for key, value in table.items():
            want_int = known[key] == "int"
            ok = isinstance(value, int) if want_int else isinstance(value, int | float)
            if isinstance(value, bool) or not ok:
                kind = "an integer" if want_int else "a number"
                raise ConfigError(f"[diagnostics].{key} must be {kind}, got {value!r}")
            kw[key] = value if want_int else float(value)
        return cls(**kw)


Span = tuple[int, int]


@dataclass(frozen=True)
class Findings:
    """One system's findings: kind → sorted 0-based segment indices; chatter spans per segment
    (``[start, end)`` in code points of the output line)."""

    segments: Mapping[str, tuple[int, ...]]
    chatter_spans: Mapping[int, tuple[Span, ...]]
    n: int

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """``{kind: {"count", "rate", "segments"}}`` with every kind; chatter has ``spans``."""
        out: dict[str, dict[str, Any]] = {}
        for kind in KINDS:
            segs = list(self.segments.get(kind, ()))
            entry: dict[str, Any] = {
                "count": len(segs),
                "rate": len(segs) / self.n if self.n else 0.0,
                "segments": segs,
            }
            if kind == "chatter":
                entry["spans"] = [[list(s) for s in self.chatter_spans[i]] for i in segs]
            out[kind] = entry
        return out


def summary_line(diagnostics: Mapping[str, Mapping[str, Any]], n: int) -> str:
    """``chatter 5/12, untranslated 1/12``: the non-zero counts, in :data:`KINDS` order."""
    return ", ".join(
        f"{kind} {diagnostics[kind]['count']}/{n}"
        for kind in KINDS
        if kind in diagnostics and diagnostics[kind].get("count")
    )


# ---------------------------------------------------------------- vectorised text profile


_P = np.uint64(1_000_003)
_MAX_WORD = 64


@dataclass(frozen=True)
class _Profile:
    """Per segment counts of many lines, from one code-point array (no Python loop per line)."""

    han: np.ndarray  # Han characters
    words: np.ndarray  # Latin (non-Han alphanumeric) words
    chars: np.ndarray  # non-space characters
    tokens: np.ndarray  # token ids (Han char or hashed lower-cased word), all lines
    token_seg: np.ndarray  # the line of each token


def _class_table() -> np.ndarray:
    """Class of every BMP code point: 0 other, 1 space, 2 Latin letter or digit, 3 Han."""
    table = np.zeros(0x10000, dtype=np.uint8)
    table[[9, 10, 13, 32, 0xA0, 0x3000, *range(0x2000, 0x200B)]] = 1
    for lo, hi in ((48, 57), (65, 90), (97, 122), (0xC0, 0x24F)):
        table[lo : hi + 1] = 2
    table[[0xD7, 0xF7]] = 0
    for lo, hi in HAN_RANGES:  # evalkit.detect's ranges: one definition of a Han character
        if lo <= 0xFFFF:
            table[lo : min(hi, 0xFFFF) + 1] = 3
    return table


_CLASS = _class_table()
_OTHER, _SPACE, _LATIN, _HAN = 0, 1, 2, 3


def _profile(lines: Sequence[str]) -> _Profile:
    n = len(lines)
    text = "".join(line.replace("\n", " ") + "\n" for line in lines)
    cp = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    cls = _CLASS[np.minimum(cp, 0xFFFF)]
    astral = cp > 0xFFFF
    if astral.any():
        big = cp[astral]
        cls[astral] = np.where(
            np.any([(big >= lo) & (big <= hi) for lo, hi in HAN_RANGES], axis=0), _HAN, _OTHER
        )
    lens = np.fromiter((len(line) + 1 for line in lines), dtype=np.int64, count=n)
    starts = np.concatenate(([0], np.cumsum(lens)[:-1])) if n else np.zeros(0, np.int64)
    han = cls == _HAN
    latin = cls == _LATIN
    word_start = latin.copy()
    word_start[1:] &= ~latin[:-1]

    ends = starts + lens - 1

    def per_line(mask: np.ndarray) -> np.ndarray:
        run = np.concatenate(([0], np.cumsum(mask, dtype=np.int32)))
        return (run[ends] - run[starts]).astype(np.int64)

    # A word's id: a polynomial hash of its lower-cased letters (uint64, wrapping).
    idx = np.flatnonzero(latin)
    first = np.flatnonzero(word_start[idx])  # each word's first letter, within idx
    order = np.arange(len(idx))
    marker = np.zeros(len(idx), dtype=np.int64)
    marker[first] = first
    pos = order - np.maximum.accumulate(marker) if len(idx) else order
    ids = cp.astype(np.uint64)
    letters = ids[idx]
    letters[(letters >= 65) & (letters <= 90)] += np.uint64(32)
    with np.errstate(over="ignore"):
        powers = np.cumprod(np.full(_MAX_WORD, _P, dtype=np.uint64)) // _P
        contrib = letters * powers[np.minimum(pos, _MAX_WORD - 1)]
        if len(first):
            ids[idx[first]] = np.add.reduceat(contrib, first) | (np.uint64(1) << np.uint64(63))
    at = np.flatnonzero(word_start | han)
    return _Profile(
        han=per_line(han),
        words=per_line(word_start),
        chars=per_line(cls != _SPACE),
        tokens=ids[at],
        token_seg=np.searchsorted(starts, at, side="right") - 1,
    )


def _han_share(p: _Profile) -> np.ndarray:
    letters = p.han + p.words
    return np.divide(p.han, letters, out=np.full(len(letters), np.nan), where=letters > 0)


def _lengths(p: _Profile, lang: str) -> np.ndarray:
    return p.chars if lang == "zh" else p.words + p.han


# ---------------------------------------------------------------- kinds


def _off_target(
    hyp: _Profile, ref: _Profile, lang: str, cfg: DiagnosticsConfig
) -> tuple[np.ndarray, np.ndarray]:
    """(off target, written in the source's script) per segment."""
    hs, rs = _han_share(hyp), _han_share(ref)
    if lang == "zh":
        other = np.nan_to_num(hs, nan=1.0) < cfg.min_han_share
        off = other & (np.nan_to_num(rs, nan=0.0) >= cfg.min_han_share)
        return off, other
    stray = (hyp.han - ref.han) >= cfg.max_stray_han
    other = np.nan_to_num(hs, nan=0.0) >= cfg.min_han_share
    return stray | (other & ~(np.nan_to_num(rs, nan=0.0) >= cfg.min_han_share)), other


def _squash(text: str) -> str:
    return "".join(text.casefold().split())


def _chrf(hyp: str, ref: str) -> float:
    """Sentence chrF (character 1–6-grams, β = 2, whitespace removed), as a share in [0, 1]."""
    h, r = _squash(hyp), _squash(ref)
    if h == r:
        return 1.0 if h else 0.0
    precs, recs = [], []
    for n in range(1, 7):
        hg = _ngrams(h, n)
        rg = _ngrams(r, n)
        if not hg or not rg:
            continue
        match = sum(min(c, rg.get(g, 0)) for g, c in hg.items())
        precs.append(match / sum(hg.values()))
        recs.append(match / sum(rg.values()))
    if not precs:
        return 0.0
    p, rc = sum(precs) / len(precs), sum(recs) / len(recs)
    return 0.0 if p + rc == 0 else 5 * p * rc / (4 * p + rc)


def _ngrams(s: str, n: int) -> dict[str, int]:
    out: dict[str, int] = {}
    for i in range(len(s) - n + 1):
        g = s[i : i + n]
        out[g] = out.get(g, 0) + 1
    return out


_EN_OPEN = (
    r"(?:(?:sure|certainly|of course|okay|ok|absolutely|alright)\s*[!,.]\s*)?"
    r"(?:(?:here(?:'s| is| are)|below is|the following is)\b[^:\n]{0,80}?"
    r"(?:translation|translated|version|english|chinese)[^:\n]{0,60}?[:：]"
    r"|(?:the )?(?:english |chinese )?(?:translation|translated text)(?: is)?\s*[:：]"
    r"|(?:sure|certainly|of course|absolutely)\s*!)"
)
_ZH_OPEN = (
    r"(?:(?:好的|当然|没问题)[，,！!。]\s*)?"
    r"(?:(?:以下|下面)是[^：:\n]{0,30}?(?:翻译|译文)[^：:\n]{0,20}?[：:]"
    r"|(?:翻译|译文)(?:结果)?(?:如下)?[：:]|(?:翻译|译文)如下[：:，,。]?)"
)
_CLOSE = (
    r"(?:i hope (?:this|that|it) helps|hope this helps|let me know if|feel free to"
    r"|if you (?:need|have) (?:any )?(?:further|more|other)"
    r"|希望(?:这|以上|这个)?(?:翻译)?(?:能)?(?:对你|对您)(?:有所|有)帮助|希望(?:能)?(?:有所)?帮助到"
    r"|如(?:果)?(?:您|你)?(?:还)?(?:有|需要)(?:任何|其他)?(?:问题|疑问|修改|调整))[^\n]*"
)
_NOTE = (
    r"[(（]\s*(?:note|translator'?s? note|注|注意|译注|备注)\s*[:：][^)）\n]*[)）]"
    r"|(?:^|(?<=[.!?。！？\s]))(?:note|translator'?s? note|注|注意|译注|备注)\s*[:：][^\n]*$"
)
_OPEN_RE = re.compile(rf"^\s*(?:{_EN_OPEN}|{_ZH_OPEN})\s*", re.I | re.M)
_CLOSE_RE = re.compile(rf"(?<=[^\n])(?:{_CLOSE})$", re.I | re.M)
"""A closing follows the translation, never opens the line."""
_NOTE_RE = re.compile(_NOTE, re.I | re.M)
_FENCE_RE = re.compile(r"^\s*```[\w-]*\s*|\s*```\s*$", re.M)
_QUOTES = {'"': '"', "“": "”", "「": "」", "『": "』", "'": "'", "«": "»"}


_FAMILIES = (
    (_OPEN_RE, _OPEN_RE),
    (
        _CLOSE_RE,
        re.compile(
            r"hope (?:this|that|it)|let me know|feel free|don't hesitate"
            r"|if you (?:have|need) any (?:questions|problems|concerns|help|further)"
            r"|希望(?:对|能|这)|如有(?:任何)?(?:问题|疑问)|如(?:果)?(?:您|你)(?:还)?有(?:任何|其他)?(?:问题|疑问)"
            r"|随时",
            re.I,
        ),
    ),
    (_NOTE_RE, _NOTE_RE),
    (_FENCE_RE, _FENCE_RE),
)
"""The regex-found chatter families, each with what excuses it: a source or reference that
holds it is saying it itself (a shop's "if you have any questions, contact us", a real note),
so the output translating it is not wrapping its answer. Closings are excused by the
phrases a text addresses its reader with, in either language (the source is the other one)."""
_QUOTE_CHARS = frozenset(_QUOTES) | frozenset(_QUOTES.values()) | {"„", "‘", "’"}
_OPENERS = _QUOTE_CHARS | {"[", "【", "(", "（", "<", "《", "〈"}
_CLOSERS = _QUOTE_CHARS | {"]", "】", ")", "）", ">", "》", "〉"}


def _quotes_at(text: str, end: bool, chars: frozenset[str] = _QUOTE_CHARS) -> int:
    """How many of ``chars`` (quotes) ``text`` (stripped) starts (or ends) with."""
    t = text.strip()
    t = t[::-1] if end else t
    n = 0
    while n < len(t) and t[n] in chars:
        n += 1
    return n


@dataclass(frozen=True)
class _Given:
    """What a segment's source and reference excuse: the chatter families they hold
    themselves, and how many quotes or brackets they start and end with (a quotation may span
    segments, so each side counts on its own). Shared by every system of the test set."""

    excused: tuple[bool, ...]
    lead: int
    trail: int

    @classmethod
    def of(cls, texts: Sequence[str]) -> _Given:
        return cls(
            tuple(any(ex.search(t) for t in texts) for _, ex in _FAMILIES),
            max((_quotes_at(t, False, _OPENERS) for t in texts), default=0),
            max((_quotes_at(t, True, _CLOSERS) for t in texts), default=0),
        )


_NOTHING_GIVEN = _Given((False,) * len(_FAMILIES), 0, 0)


def _quote_spans(text: str, given: _Given) -> list[Span]:
    """Quotes wrapping the whole output beyond those its source and reference start and end
    with (``""…""`` around an already quoted sentence counts too)."""
    stripped = text.strip()
    lead, trail = _quotes_at(text, False), _quotes_at(text, True)
    if lead <= given.lead or trail <= given.trail or len(stripped) <= lead + trail:
        return []
    start = len(text) - len(text.lstrip())
    end = start + len(stripped)
    return [(start, start + lead - given.lead), (end - trail + given.trail, end)]


def _chatter_spans(text: str, given: _Given = _NOTHING_GIVEN) -> list[Span]:
    """The chatter spans of one line (empty: none), but for what ``given`` excuses."""
    spans: list[Span] = []
    for (rx, _), excused in zip(_FAMILIES, given.excused, strict=True):
        if not excused:
            spans += [m.span() for m in rx.finditer(text) if m.end() > m.start()]
    # a closing or note takes the blank before it (the rest of the line is the translation)
    spans = [(len(text[:s].rstrip()), e) for s, e in spans]
    spans += _quote_spans(text, given)
    merged: list[Span] = []
    for s, e in sorted(set(spans)):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


_CUE = re.compile(
    r"hope (?:this|that|it)|let me know|feel free|if you (?:need|have)|note\s*[:：]"
    r"|希望(?:这|以上|能|对)|如果您|如果你|如需|如有|注\s*[:：]|```"
)
"""Literal cues of closings, notes and fences: one cheap pass over the lower-cased outputs."""


def _chatter(hyps: Sequence[str], given: Callable[[int], _Given]) -> dict[int, tuple[Span, ...]]:
    """Segment → chatter spans. Candidates come from an anchored match of the preambles per
    line, quotes at both ends, and one pass of :data:`_CUE` over all lines; then each
    candidate's spans are found, but for what its source and reference excuse (``given``)."""
    joined = "\n".join(h.replace("\n", " ") for h in hyps).lower()
    starts = np.cumsum([0] + [len(h) + 1 for h in hyps])
    cues = [m.start() for m in _CUE.finditer(joined)]
    cand = set((np.searchsorted(starts, cues, "right") - 1).tolist()) if cues else set()
    cand.update(
        i
        for i, h in enumerate(hyps)
        if (h[:1] in _QUOTE_CHARS and h.rstrip()[-1:] in _QUOTE_CHARS) or _OPEN_RE.match(h)
    )
    out: dict[int, tuple[Span, ...]] = {}
    for i in sorted(cand):
        spans = _chatter_spans(hyps[i], given(i))
        if spans:
            out[i] = tuple(spans)
    return out


def _repetition(p: _Profile, n: int, cfg: DiagnosticsConfig) -> np.ndarray:
    """Segments holding a unit of ≤ max_unit tokens repeated ≥ min_repeats times in a row."""
    flagged = np.zeros(n, dtype=bool)
    tok, seg = p.tokens, p.token_seg
    for unit in range(1, cfg.repetition_max_unit + 1):
        if len(tok) <= unit:
            break
        eq = (tok[:-unit] == tok[unit:]) & (seg[:-unit] == seg[unit:])
        window = max(unit * (cfg.repetition_min_repeats - 1), cfg.repetition_min_tokens - unit)
        if len(eq) < window:
            continue
        run = np.concatenate(([0], np.cumsum(eq, dtype=np.int64)))
        full = (run[window:] - run[:-window]) == window
        flagged[seg[np.flatnonzero(full)]] = True
    return flagged


def _length_ratios(
    hyp_len: np.ndarray, ref_len: np.ndarray, cfg: DiagnosticsConfig
) -> tuple[np.ndarray, np.ndarray]:
    """(log ratio, segments the length band applies to)."""
    ratio = np.log((hyp_len + 1.0) / (ref_len + 1.0))
    usable = (ref_len >= cfg.length_min_units) & (hyp_len > 0)
    return ratio, usable


def _band(
    ratios: Sequence[np.ndarray], usable: Sequence[np.ndarray], k: float
) -> tuple[float, float]:
    pooled = np.concatenate([r[u] for r, u in zip(ratios, usable, strict=True)] or [np.zeros(0)])
    if len(pooled) == 0:
        return -math.inf, math.inf
    med = float(np.median(pooled))
    mad = float(np.median(np.abs(pooled - med))) * 1.4826
    mad = max(mad, 0.05)  # identical lengths everywhere must not flag a one-word difference
    return med - k * mad, med + k * mad


def diagnose_systems(
    sources: Sequence[str] | None,
    refs: Sequence[str],
    systems: Mapping[str, Sequence[str]],
    lang: str,
    config: DiagnosticsConfig | None = None,
) -> dict[str, Findings]:
    """Findings for every system of a test set (the length band is learned over all of them).

    ``refs`` is the first reference stream; ``lang`` the target language (``zh`` or ``en``).
    """
    cfg = config or DiagnosticsConfig()
    n = len(refs)
    ref_p = _profile(refs)
    ref_len = _lengths(ref_p, lang)
    basis = sources if sources is not None else refs
    nonblank = np.array([bool(b.strip()) for b in basis], dtype=bool)
    partial: dict[str, dict[str, np.ndarray]] = {}
    ratios, usable, lengths = [], [], []

    @functools.cache
    def given(i: int) -> _Given:
        return _Given.of([refs[i]] if sources is None else [refs[i], sources[i]])

    chatter: dict[str, dict[int, tuple[Span, ...]]] = {}
    ref_copy: dict[int, float] = {}
    for name, hyps in systems.items():
        hp = _profile(hyps)
        blank = hp.chars == 0
        empty = blank & nonblank
        off, src_script = _off_target(hp, ref_p, lang, cfg)
        untrans = np.zeros(n, dtype=bool)
        if sources is not None:
            for i in np.flatnonzero(src_script & ~blank):
                i = int(i)
                if _chrf(hyps[i], sources[i]) >= cfg.untranslated_chrf:
                    if i not in ref_copy:
                        ref_copy[i] = _chrf(refs[i], sources[i])
                    untrans[i] = ref_copy[i] < cfg.untranslated_chrf
        rep = _repetition(hp, n, cfg)
        hyp_len = _lengths(hp, lang)
        r, u = _length_ratios(hyp_len, ref_len, cfg)
        lengths.append(hyp_len)
        ratios.append(r)
        usable.append(u)
        chatter[name] = _chatter(hyps, given)
        partial[name] = {
            "empty": empty,
            "off_target": off & ~blank,
            "untranslated": untrans,
            "repetition": rep,
        }
    low, high = _band(ratios, usable, cfg.length_k)
    out: dict[str, Findings] = {}
    for (name, kinds), r, u, hyp_len in zip(partial.items(), ratios, usable, lengths, strict=True):
        diff_ok = u & (np.abs(hyp_len - ref_len) >= cfg.length_min_units)
        kinds["too_long"] = diff_ok & (r > high)
        kinds["too_short"] = diff_ok & (r < low)
        segs = {k: tuple(int(i) for i in np.flatnonzero(v)) for k, v in kinds.items()}
        segs["chatter"] = tuple(sorted(chatter[name]))
        out[name] = Findings(segs, chatter[name], n)
    return out


def diagnose(
    sources: Sequence[str] | None,
    refs: Sequence[str],
    hyps: Sequence[str],
    lang: str,
    config: DiagnosticsConfig | None = None,
) -> Findings:
    """Findings for one system alone (its length band learned from itself)."""
    return diagnose_systems(sources, refs, {"_": hyps}, lang, config)["_"]
