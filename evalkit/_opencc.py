"""The one place evalkit touches the official OpenCC binding: validated, cached converters."""

from __future__ import annotations

import difflib
from functools import cache

import opencc

from .errors import ConfigError

__all__ = ["OPENCC_CONFIGS", "converter"]

OPENCC_CONFIGS: tuple[str, ...] = tuple(sorted(c.removesuffix(".json") for c in opencc.CONFIGS))
"""OpenCC configuration names the installed binding ships (``s2t``, ``t2s``, ``tw2sp``, …)."""


@cache
def converter(config: str) -> opencc.OpenCC:
    """One cached OpenCC converter per configuration (building one loads its dictionaries)."""
    name = config.removesuffix(".json")
    if name not in OPENCC_CONFIGS:
        close = difflib.get_close_matches(name, OPENCC_CONFIGS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(
            f"unknown OpenCC config {config!r}.{hint} "
            f"Valid: none, auto, {', '.join(OPENCC_CONFIGS)}."
        )
    return opencc.OpenCC(name)
