"""The baseline file: what the released system scored, and everything needed to trust a
comparison with it later.

It stores, per test set, the segment count, content hashes of the references and sources, the
normalization signature, each metric's sacrebleu signature and score, and the released system's
output lines — so the gate reruns the paired test against new candidates exactly, instead of
comparing against a number whose provenance is lost. :func:`verify_testset` and
:func:`verify_scores` refuse a comparison whose inputs or settings differ (never a silent pass).

Schema versions (``"schema"``):
    1 — first release.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..corpus import TestSet
from ..errors import InputError, MismatchError
from ..render._cells import LABELS
from ..results import TestSetResult

__all__ = [
    "KIND",
    "SCHEMA_VERSION",
    "Baseline",
    "BaselineScore",
    "BaselineTestSet",
    "baseline_testset",
    "content_hashes",
    "read_baseline",
    "verify_scores",
    "verify_testset",
]

SCHEMA_VERSION = 1
KIND = "evalkit-baseline"


def _sha256(value: Any) -> str:
    data = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return "sha256:" + hashlib.sha256(data).hexdigest()


def content_hashes(ts: TestSet) -> dict[str, str | None]:
    """Hashes of the reference streams and the sources (None without sources)."""
    return {
        "references": _sha256([list(r) for r in ts.refs]),
        "sources": None if ts.sources is None else _sha256(list(ts.sources)),
    }


@dataclass(frozen=True)
class BaselineScore:
    """A released score and the sacrebleu signature that produced it."""

    score: float
    signature: str


@dataclass(frozen=True)
class BaselineTestSet:
    """The released system on one test set."""

    __test__ = False

    name: str
    lang: str
    segments: int
    content_hash: Mapping[str, str | None]
    normalization: str
    system: str
    scores: Mapping[str, BaselineScore]
    output: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "lang": self.lang,
            "segments": self.segments,
            "content_hash": dict(self.content_hash),
            "normalization": self.normalization,
            "system": self.system,
            "scores": {
                m: {"score": s.score, "signature": s.signature} for m, s in self.scores.items()
            },
            "output_hash": _sha256(list(self.output)),
            "output": list(self.output),
        }


@dataclass(frozen=True)
class Baseline:
    """A whole baseline file: per test set what the released system did, plus provenance."""

    testsets: Mapping[str, BaselineTestSet]
    suite: str = ""
    versions: Mapping[str, str] = field(default_factory=dict)
    path: str | None = None

    def to_json(self) -> str:
        """Deterministic JSON (no timestamps), so a rewritten baseline diffs cleanly in git."""
        doc = {
            "schema": SCHEMA_VERSION,
            "kind": KIND,
            "suite": self.suite,
            "versions": dict(self.versions),
            "testsets": {name: t.to_dict() for name, t in self.testsets.items()},
        }
        return json.dumps(doc, ensure_ascii=False, indent=1, allow_nan=False) + "\n"


def baseline_testset(ts: TestSet, result: TestSetResult, system: str) -> BaselineTestSet:
    """Record ``system``'s output and scores from an evaluation of ``ts``."""
    scores = result.system(system).scores
    return BaselineTestSet(
        name=ts.name,
        lang=ts.lang,
        segments=ts.n_segments,
        content_hash=content_hashes(ts),
        normalization=str(result.normalization.get("signature", "")),
        system=system,
        scores={m: BaselineScore(s.score, s.signature) for m, s in scores.items()},
        output=tuple(ts.systems[system]),
    )


# --- reading -------------------------------------------------------------------------------


def read_baseline(path: str | Path) -> Baseline:
    """Read and check a baseline file; a missing, damaged or edited file is an InputError."""
    p = Path(path)
    hint = "write one with: evalkit baseline SUITE --write FILE"
    if not p.exists():
        raise InputError(f"baseline file not found; {hint}", p)
    if not p.is_file():
        raise InputError("baseline is not a file", p)
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError("baseline file is not valid UTF-8", p) from exc
    except OSError as exc:
        raise InputError(f"cannot read the baseline file: {exc.strerror or exc}", p) from exc
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"baseline file is not valid JSON: {exc.msg}", p, exc.lineno, exc.colno
        ) from exc
    except RecursionError:  # Python's parser recurses per level of [ or {
        raise InputError("baseline file is nested too deeply to be a baseline", p) from None
    if not isinstance(doc, dict) or doc.get("kind") != KIND:
        raise InputError(f'not an evalkit baseline file (no "kind": "{KIND}"); {hint}', p)
    if doc.get("schema") != SCHEMA_VERSION:
        raise InputError(
            f"baseline schema {doc.get('schema')!r} is not supported "
            f"(this evalkit reads {SCHEMA_VERSION}); {hint}",
            p,
        )
    try:
        testsets = {
            str(name): _testset(str(name), t, p) for name, t in _mapping(doc, "testsets").items()
        }
        versions = {str(k): str(v) for k, v in _mapping(doc, "versions").items()}
        suite = str(doc.get("suite", ""))
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"malformed baseline file: missing or bad {exc}", p) from exc
    if not testsets:
        raise InputError("baseline file has no test sets", p)
    return Baseline(testsets, suite, versions, str(p))


def _mapping(d: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = d[key]
    if not isinstance(value, dict):
        raise TypeError(f"{key!r} (expected an object)")
    return value


def _testset(name: str, t: Any, path: Path) -> BaselineTestSet:
    if not isinstance(t, dict):
        raise TypeError(f"test set {name!r} (expected an object)")
    output = t["output"]
    if not isinstance(output, list) or not all(isinstance(x, str) for x in output):
        raise TypeError(f"{name}.output (expected a list of lines)")
    segments = t["segments"]
    if isinstance(segments, bool) or not isinstance(segments, int):
        raise TypeError(f"{name}.segments (expected an integer)")
    if len(output) != segments:
        raise InputError(
            f"malformed baseline file: {name} stores {len(output)} output lines "
            f"for {segments} segments",
            path,
        )
    if t.get("output_hash") != _sha256(output):
        raise InputError(
            f"malformed baseline file: {name}'s output lines do not match output_hash "
            "(edited by hand?); rewrite it with evalkit baseline",
            path,
        )
    hashes = _mapping(t, "content_hash")
    scores = {
        str(m): BaselineScore(float(s["score"]), str(s["signature"]))
        for m, s in _mapping(t, "scores").items()
    }
    return BaselineTestSet(
        name=name,
        lang=str(t["lang"]),
        segments=segments,
        content_hash={"references": hashes["references"], "sources": hashes.get("sources")},
        normalization=str(t["normalization"]),
        system=str(t["system"]),
        scores=scores,
        output=tuple(output),
    )


# --- verifying -----------------------------------------------------------------------------


def _diff(before: str, after: str) -> tuple[str, str]:
    """The differing ``key:value`` fields of two ``a:b|c:d`` signatures (all when unparseable)."""
    a, b = before.split("|"), after.split("|")
    if len(a) != len(b):
        return before, after
    pairs = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
    return "|".join(x for x, _ in pairs), "|".join(y for _, y in pairs)


def _short(h: str | None) -> str:
    return "none" if h is None else h.removeprefix("sha256:")[:12]


def verify_testset(base: BaselineTestSet, ts: TestSet, path: str | None) -> None:
    """Before scoring: the test set must be the one the baseline was made on."""
    where = f"{ts.name}:"
    if base.segments != ts.n_segments:
        raise MismatchError(
            f"{where} segment count differs: baseline {base.segments}, now {ts.n_segments}", path
        )
    now = content_hashes(ts)
    for part in ("references", "sources"):
        if base.content_hash.get(part) != now[part]:
            raise MismatchError(
                f"{where} test set content differs: {part} changed since the baseline "
                f"(hash {_short(base.content_hash.get(part))} → {_short(now[part])})",
                path,
            )
    if base.lang != ts.lang:
        raise MismatchError(
            f"{where} target language differs: baseline {base.lang}, now {ts.lang}", path
        )


def verify_scores(
    base: BaselineTestSet,
    result: TestSetResult,
    system: str,
    metrics: Sequence[str],
    path: str | None,
) -> None:
    """After scoring: same normalization and metric signatures, and the stored output must
    reproduce the stored scores (else evalkit or sacrebleu changed how they count)."""
    where = f"{result.name}:"
    norm = str(result.normalization.get("signature", ""))
    if norm != base.normalization:
        was, now = _diff(base.normalization, norm)
        raise MismatchError(f"{where} normalization differs: baseline {was}, now {now}", path)
    scores = result.system(system).scores
    for metric in metrics:
        label = LABELS.get(metric, metric)
        stored = base.scores.get(metric)
        if stored is None:
            have = ", ".join(LABELS.get(m, m) for m in base.scores) or "none"
            raise MismatchError(
                f"{where} the baseline has no {label} score (it has: {have}); "
                "rewrite it with evalkit baseline",
                path,
            )
        now_sig = scores[metric].signature
        if now_sig != stored.signature:
            was, now = _diff(stored.signature, now_sig)
            raise MismatchError(
                f"{where} {label} signature differs: baseline {was}, now {now}", path
            )
        if abs(scores[metric].score - stored.score) > 1e-9:
            raise MismatchError(
                f"{where} {label} of the stored baseline output is {scores[metric].score:.4f} now "
                f"but {stored.score:.4f} in the baseline; rewrite it with evalkit baseline",
                path,
            )
