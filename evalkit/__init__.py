"""evalkit: Chinese↔English translation-quality evaluation, exactly as sacrebleu scores it.

The public API is small; heavy modules (pandas, sacrebleu, OpenCC) load on first use so that
``evalkit --help`` stays quick.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "EvalkitError",
    "InputError",
    "MetricSpec",
    "Normalizer",
    "Results",
    "StatsOptions",
    "TestSet",
    "__version__",
    "detect_script",
    "evaluate",
    "load_suite",
    "load_testset",
    "make_metric",
]

_LAZY = {
    "ConfigError": "errors",
    "EvalkitError": "errors",
    "InputError": "errors",
    "MetricSpec": "metrics",
    "make_metric": "metrics",
    "Normalizer": "normalize",
    "Results": "results",
    "StatsOptions": "evaluation",
    "TestSet": "corpus",
    "load_testset": "corpus",
    "detect_script": "detect",
    "evaluate": "evaluation",
    "load_suite": "suite",
}

if TYPE_CHECKING:
    from .corpus import TestSet, load_testset
    from .detect import detect_script
    from .errors import ConfigError, EvalkitError, InputError
    from .evaluation import StatsOptions, evaluate
    from .metrics import MetricSpec, make_metric
    from .normalize import Normalizer
    from .results import Results
    from .suite import load_suite


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'evalkit' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
