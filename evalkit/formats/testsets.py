"""``--testset wmt22:en-zh``: a test set from sacrebleu's local dataset folder, never downloaded.

sacrebleu keeps each test set under ``$SACREBLEU`` (default ``~/.sacrebleu``): the release as
downloaded in ``NAME/raw/`` and, once it has been read, one text file per field,
``NAME/NAME.LANGPAIR.FIELD`` (``wmt22/wmt22.en-zh.ref-A``). The text files are what sacrebleu
scores, so they are used when present; else a WMT XML release in ``raw/`` is read with
:mod:`.wmtxml` (the same segments); else the error names the sacrebleu command that fills the
folder. The folder is read at call time, so ``SACREBLEU`` may change between calls.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, InputError

__all__ = ["LocalTestset", "local_testset", "sacrebleu_dir"]


@dataclass(frozen=True)
class LocalTestset:
    """Input strings for a test set's references and source, and its target language."""

    name: str
    refs: tuple[str, ...]
    source: str
    lang: str


def sacrebleu_dir() -> Path:
    """sacrebleu's dataset folder: ``$SACREBLEU``, else ``~/.sacrebleu``."""
    return Path(os.environ.get("SACREBLEU") or Path("~/.sacrebleu").expanduser())


def local_testset(spec: str) -> LocalTestset:
    """Resolve ``NAME:SRC-TGT`` (``wmt22:en-zh``) to files already in sacrebleu's folder."""
    name, _, langpair = spec.partition(":")
    if not name or "-" not in langpair:
        raise ConfigError(f"--testset {spec!r}: expected NAME:SRC-TGT, e.g. wmt22:en-zh")
    from sacrebleu.dataset import DATASETS

    if name not in DATASETS:
        raise ConfigError(f"--testset {spec!r}: sacrebleu knows no test set {name!r}")
    dataset = DATASETS[name]
    if langpair not in dataset.langpairs:
        pairs = ", ".join(sorted(dataset.langpairs))
        raise ConfigError(f"--testset {spec!r}: {name} has no pair {langpair} (it has {pairs})")
    fields = _ref_fields(dataset, langpair)
    folder = sacrebleu_dir() / name
    stem = name.replace("/", "_")
    texts = [folder / f"{stem}.{langpair}.{f.replace(':', '-')}" for f in ["src", *fields]]
    lang = langpair.split("-")[1]
    if all(p.is_file() and p.stat().st_size for p in texts):
        return LocalTestset(spec, tuple(map(str, texts[1:])), str(texts[0]), lang)
    raw = _raw_xml(dataset, langpair, folder)
    if raw is not None:
        refs = tuple(f"{raw}#{f}" for f in fields)
        return LocalTestset(spec, refs, f"{raw}#src", lang)
    raise InputError(
        f"test set {spec} is not in sacrebleu's local folder {folder} (evalkit never downloads); "
        f"fill it with: sacrebleu -t {name} -l {langpair} --echo src > /dev/null"
    )


def _ref_fields(dataset: object, langpair: str) -> list[str]:
    """The reference fields sacrebleu scores against: a WMT XML set's allowed translators
    (``ref:A``), else its one ``ref`` field."""
    allowed = getattr(dataset, "_get_langpair_allowed_refs", None)
    if allowed is None:
        return ["ref"]
    return list(allowed(langpair)) or ["ref"]


def _raw_xml(dataset: object, langpair: str, folder: Path) -> Path | None:
    """The release's XML file in ``raw/``, when this is a WMT XML set and it is there."""
    if not hasattr(dataset, "_unwrap_wmt21_or_later"):
        return None
    meta = dataset.langpairs[langpair]  # type: ignore[attr-defined]
    rel = meta["path"] if isinstance(meta, dict) else meta[0]
    path = folder / "raw" / rel
    return path if path.is_file() else None
