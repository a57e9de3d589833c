"""Produce translator-backed systems' outputs for a suite, only where missing or stale.

Between the suite (what to translate) and :mod:`evalkit.translators` (how): for each translator
system it reads the test set's sources, translates through the crash-safe segment cache under
``reports/<suite>/translations/``, and writes the outputs file that scoring then reads like any
other. Outputs whose sidecar says they are current are left alone, and their recorded speed
figures are returned so a report still shows them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._io import read_lines
from .corpus import detect_lang
from .errors import ConfigError
from .suite import SuiteConfig
from .translators import outputs_current, sidecar_path, translate, write_outputs

__all__ = ["Produced", "produce_outputs"]

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Produced:
    """One translator system's outputs: whether this call translated, and its speed figures."""

    testset: str
    system: str
    path: Path
    ran: bool
    stats: dict[str, Any]


def produce_outputs(
    suite: SuiteConfig,
    *,
    systems: Collection[str] | None = None,
    jobs: int = 4,
    refresh: bool = False,
    only_stale: bool = True,
    progress: Progress | None = None,
) -> list[Produced]:
    """Translate every translator system of ``suite`` (or those named in ``systems``)."""
    known = {s.name for ts in suite.testsets for s in ts.translators}
    if systems:
        unknown = sorted(set(systems) - known)
        if unknown:
            raise ConfigError(
                f"no translator system named {unknown[0]!r} in the suite "
                f"(translators: {', '.join(sorted(known)) or 'none'})",
                suite.path,
            )
    cache_dir = suite.output_dir / "translations"
    done: list[Produced] = []
    for spec in suite.testsets:
        chosen = [s for s in spec.translators if not systems or s.name in systems]
        if not chosen:
            continue
        assert spec.source is not None  # the suite loader requires it for translators
        sources = read_lines(spec.source)
        target = spec.lang or detect_lang(read_lines(spec.refs[0]))
        source_lang = "en" if target == "zh" else "zh"
        for system in chosen:
            cfg = system.translator
            assert cfg is not None
            langs = {"source_lang": source_lang, "target_lang": target}
            if only_stale and not refresh and outputs_current(system.path, cfg, sources, **langs):
                stats = json.loads(sidecar_path(system.path).read_text("utf-8")).get("stats", {})
                done.append(Produced(spec.name, system.name, system.path, False, stats))
                continue

            def step(
                n: int, total: int, _label: str = f"{spec.name}: translating {system.name}"
            ) -> None:
                if progress:
                    progress(_label, n, total)

            run = translate(
                cfg,
                sources,
                cache_dir=cache_dir,
                jobs=jobs,
                refresh=refresh,
                progress=step,
                **langs,
            )
            write_outputs(system.path, run, cfg, sources, **langs)
            done.append(Produced(spec.name, system.name, system.path, True, run.stats.to_dict()))
    return done
