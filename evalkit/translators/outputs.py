"""Materialised outputs of a translator-backed system, and whether they are still current.

``evalkit run`` scores files; for a translator-backed system it writes the translations to a file
with a small JSON sidecar recording which translator produced them from which sources. The
outputs are stale when the sidecar is missing or its key differs: the translator's fingerprint,
the language pair or any source segment changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

from .._io import write_output
from .config import TranslatorConfig
from .runner import TranslationRun

__all__ = ["outputs_current", "outputs_key", "sidecar_path", "write_outputs"]

_FORMAT = "evalkit-translation-outputs-1"


def outputs_key(
    config: TranslatorConfig, sources: Sequence[str], *, source_lang: str, target_lang: str
) -> str:
    """SHA-256 hex over the translator fingerprint, the language pair and every source segment."""
    h = hashlib.sha256()
    for part in (_FORMAT, config.fingerprint(), source_lang, target_lang, *sources):
        data = part.encode("utf-8")
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    h.update(len(sources).to_bytes(8, "little"))
    return h.hexdigest()


def sidecar_path(path: Path) -> Path:
    """``out.en`` → ``out.en.translation.json``."""
    path = Path(path)
    return path.with_name(path.name + ".translation.json")


def write_outputs(
    path: Path,
    run: TranslationRun,
    config: TranslatorConfig,
    sources: Sequence[str],
    *,
    source_lang: str,
    target_lang: str,
) -> None:
    """Write the translations (one per line) and then the sidecar, each atomically (through
    evalkit._io.write_output), so a crash in between leaves outputs that count as stale."""
    path = Path(path)
    write_output(path, "".join(f"{line}\n" for line in run.lines))
    meta = {
        "format": _FORMAT,
        "key": outputs_key(config, sources, source_lang=source_lang, target_lang=target_lang),
        "system": config.name,
        "translator": config.describe(),
        "fingerprint": config.fingerprint(),
        "source_lang": source_lang,
        "target_lang": target_lang,
        "segments": len(run.lines),
        "stats": run.stats.to_dict(),
    }
    write_output(sidecar_path(path), json.dumps(meta, ensure_ascii=False, indent=2) + "\n")


def outputs_current(
    path: Path,
    config: TranslatorConfig,
    sources: Sequence[str],
    *,
    source_lang: str,
    target_lang: str,
) -> bool:
    """True if ``path`` holds this translator's outputs for exactly these sources."""
    path = Path(path)
    try:
        meta = json.loads(sidecar_path(path).read_text(encoding="utf-8"))
        lines = path.read_text(encoding="utf-8").split("\n")
    except (OSError, ValueError):
        return False
    if lines and lines[-1] == "":
        lines.pop()
    key = outputs_key(config, sources, source_lang=source_lang, target_lang=target_lang)
    return isinstance(meta, dict) and meta.get("key") == key and len(lines) == len(sources)
