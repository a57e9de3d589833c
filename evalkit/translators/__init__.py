"""Produce a system's outputs with a translator: a local command or an OpenAI-compatible endpoint.

``parse_translator`` validates a suite's translator table into a :class:`TranslatorConfig`;
``translate`` runs it over a test set's sources through a crash-safe per-segment cache and returns
the lines with speed and cost statistics; ``write_outputs`` / ``outputs_current`` keep a
materialised outputs file and tell whether it is still current.
"""

from __future__ import annotations

from .config import TranslatorConfig, parse_translator
from .outputs import outputs_current, outputs_key, sidecar_path, write_outputs
from .prompt import DEFAULT_PROMPT
from .runner import TranslationRun, one_line, translate
from .timing import TranslationStats

__all__ = [
    "DEFAULT_PROMPT",
    "TranslationRun",
    "TranslationStats",
    "TranslatorConfig",
    "one_line",
    "outputs_current",
    "outputs_key",
    "parse_translator",
    "sidecar_path",
    "translate",
    "write_outputs",
]
