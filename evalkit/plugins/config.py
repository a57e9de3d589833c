"""An out-of-process metric as declared in ``suite.toml`` (``[metrics.NAME]``) or with
``--metric-command NAME=COMMAND`` → a frozen :class:`ExternalMetric`.

Neural metrics (COMET, xCOMET, MetricX) pin dependencies evalkit cannot share (unbabel-comet
wants ``numpy<2``), so they run as commands in their own environment; an LLM judge runs on an
OpenAI-compatible endpoint. Both give one score per segment. Unknown keys and unknown
placeholders are errors, as for translators: a typo must not silently change a number.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..translators.config import _Checker, command_or_endpoint

__all__ = [
    "COMMAND_PLACEHOLDERS",
    "CometPrecisionWarning",
    "DEFAULT_JUDGE_PROMPT",
    "OUTPUT_FORMATS",
    "PROMPT_PLACEHOLDERS",
    "ExternalMetric",
    "parse_metric_option",
    "parse_metric_table",
    "placeholders",
]

COMMAND_PLACEHOLDERS = frozenset({"src", "hyp", "ref", "out"})
PROMPT_PLACEHOLDERS = frozenset(
    {"source_lang", "target_lang", "source", "reference", "translation"}
)
OUTPUT_FORMATS = ("lines", "jsonl", "comet", "comet-json")
_COMMAND_KEYS = frozenset(
    {"command", "output", "higher_is_better", "batch_size", "timeout", "version"}
)
_JUDGE_KEYS = frozenset(
    {
        "endpoint",
        "model",
        "api_key_env",
        "prompt",
        "higher_is_better",
        "temperature",
        "timeout",
        "retries",
        "backoff",
        "jobs",
        "version",
    }
)
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_NAME = re.compile(r"^[a-z][a-z0-9_.-]*$")
_FINGERPRINT_FORMAT = "evalkit-metric-1"  # bump when evalkit changes how it reads scores

DEFAULT_JUDGE_PROMPT = (
    "Score the following translation from {source_lang} to {target_lang} with respect to the "
    "human reference on a continuous scale from 0 to 100, where a score of zero means "
    '"no meaning preserved" and score of one hundred means "perfect meaning and grammar".\n\n'
    '{source_lang} source: "{source}"\n'
    '{target_lang} human reference: "{reference}"\n'
    '{target_lang} translation: "{translation}"\n'
    "Score: "
)
"""GEMBA-DA's direct-assessment prompt (Kocmi & Federmann, 2023): 0–100, the first number in
the answer is the score. Language codes are spelled out (``zh`` → Chinese)."""


class CometPrecisionWarning(UserWarning):
    """The ``comet`` output format was chosen: its scores are rounded to 4 decimals."""


def placeholders(template: str) -> set[str]:
    """The ``{name}`` placeholders of a command or prompt."""
    return set(_PLACEHOLDER.findall(template))


def fill(template: str, values: Mapping[str, str]) -> str:
    """Replace each ``{name}`` by its value in one pass (a value holding ``{x}`` stays as is)."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


@dataclass(frozen=True)
class ExternalMetric:
    """One metric computed outside evalkit's process; ``kind`` is ``command`` or ``judge``.

    Commands run without a shell in ``cwd`` (the suite file's folder), one process per
    ``batch_size`` segments (default: all at once), each within ``timeout`` seconds.
    ``version`` is a free label in the cache key and the signature: bump it when the model behind
    an unchanged command changes. ``cache_dir`` keeps segment scores between runs (None: none).
    """

    name: str
    command: str | None = None
    output: str = "lines"
    higher_is_better: bool = True
    batch_size: int | None = None
    timeout: float | None = None
    version: str | None = None
    endpoint: str | None = None
    model: str | None = None
    api_key_env: str | None = None
    prompt: str = DEFAULT_JUDGE_PROMPT
    temperature: float = 0.0
    retries: int = 3
    backoff: float = 0.5
    jobs: int = 4
    cwd: Path = Path()
    where: Path | None = None
    cache_dir: Path | None = None

    def __post_init__(self) -> None:
        validate(self)

    @property
    def kind(self) -> str:
        return "command" if self.command is not None else "judge"

    @property
    def argv(self) -> tuple[str, ...]:
        return tuple(shlex.split(self.command)) if self.command is not None else ()

    @property
    def uses(self) -> set[str]:
        """Placeholders used, in the command-line names (``src``, ``hyp``, ``ref``, ``out``)."""
        if self.command is not None:
            return placeholders(self.command)
        names = placeholders(self.prompt)
        short = {"source": "src", "translation": "hyp", "reference": "ref"}
        return {short[n] for n in names if n in short}

    def describe(self) -> str:
        if self.command is not None:
            return f"command {self.command!r}"
        return f"endpoint {self.endpoint} model {self.model!r}"

    def error(self, problem: str) -> ConfigError:
        """The one-line error of this metric (exit 2), naming it and where it was declared."""
        return ConfigError(f"metric {self.name!r}: {problem}", self.where)

    def fingerprint(self) -> str:
        """SHA-256 of what changes a segment score (not timeouts, batching, retries or keys)."""
        if self.command is not None:
            payload: dict[str, Any] = {"argv": list(self.argv), "output": self.output}
        else:
            payload = {
                "endpoint": self.endpoint,
                "model": self.model,
                "prompt": self.prompt,
                "temperature": self.temperature,
            }
        payload.update(kind=self.kind, version=self.version, format=_FINGERPRINT_FORMAT)
        blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def signature(self, n_refs: int) -> str:
        """What reproduces the number, in sacrebleu's ``key:value|…`` style: the kind, command
        or model, output format, version, a hash of the prompt, direction and references."""
        if self.command is not None:
            parts = [f"kind:command|cmd:{' '.join(self.argv)}|out:{self.output}"]
        else:
            digest = hashlib.sha256(self.prompt.encode("utf-8")).hexdigest()[:12]
            parts = [f"kind:judge|model:{self.model}|prompt:{digest}"]
        refs = n_refs if "ref" in self.uses else 0
        parts.append(
            f"version:{self.version or '-'}|higher:{'yes' if self.higher_is_better else 'no'}"
        )
        parts.append(f"nrefs:{refs}|refs:mean|corpus:mean")
        return "|".join(parts)


def parse_metric_table(
    name: str, table: Mapping[str, Any], *, suite_path: Path, cache_dir: Path | None = None
) -> ExternalMetric:
    """Validate one ``[metrics.NAME]`` table; every problem is a ConfigError naming the key."""
    where = f"metric {name!r}"
    path = Path(suite_path)
    _check_name(name, path)
    if not isinstance(table, Mapping):
        raise ConfigError(f"[metrics.{name}] must be a table, got {table!r}", path)
    has_command = command_or_endpoint(
        where,
        table,
        path,
        (_COMMAND_KEYS, "a scorer program", "command metrics"),
        (_JUDGE_KEYS, "an OpenAI-compatible LLM judge", "LLM-judge metrics"),
    )
    check = _Checker(where, path, table)
    higher = table.get("higher_is_better", True)
    if not isinstance(higher, bool):
        raise ConfigError(f"{where}.higher_is_better must be true or false, got {higher!r}", path)
    common: dict[str, Any] = {
        "name": name,
        "higher_is_better": higher,
        "version": check.text("version", optional=True),
        "cwd": path.parent,
        "where": path,
        "cache_dir": cache_dir,
    }
    if has_command:
        output = table.get("output", "lines")
        timeout = check.number("timeout", positive=True)
        metric = ExternalMetric(
            command=check.text("command"),
            output=output,
            batch_size=check.integer("batch_size", minimum=1),
            timeout=timeout,
            **common,
        )
    else:
        endpoint = check.text("endpoint").rstrip("/")
        if not re.match(r"^https?://[^/\s]+", endpoint):
            raise ConfigError(f"{where}.endpoint must be an http:// or https:// URL", path)
        env = check.text("api_key_env", optional=True)
        if env is not None and not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", env):
            raise ConfigError(
                f"{where}.api_key_env must be the NAME of an environment variable, not the key",
                path,
            )
        optional = {
            "temperature": check.number("temperature"),
            "timeout": check.number("timeout", positive=True) or 60.0,
            "retries": check.integer("retries", minimum=0),
            "backoff": check.number("backoff"),
            "jobs": check.integer("jobs", minimum=1),
            "prompt": check.text("prompt", optional=True),
        }
        metric = ExternalMetric(
            endpoint=endpoint,
            model=check.text("model"),
            api_key_env=env,
            **{k: v for k, v in optional.items() if v is not None},
            **common,
        )
    return metric


def parse_metric_option(
    value: str, *, cwd: Path | None = None, cache_dir: Path | None = None
) -> ExternalMetric:
    """``NAME=COMMAND`` or ``NAME:FORMAT=COMMAND`` from ``--metric-command`` (scores are higher
    is better; declare the metric in a suite for anything else)."""
    head, sep, command = value.partition("=")
    if not sep or not head.strip() or not command.strip():
        raise ConfigError(f"--metric-command expects NAME=COMMAND, got {value!r}")
    name, _, output = head.strip().partition(":")
    _check_name(name, None)
    metric = ExternalMetric(
        name=name,
        command=command,
        output=output or "lines",
        cwd=cwd or Path.cwd(),
        cache_dir=cache_dir,
    )
    return metric


def _check_name(name: str, path: Path | None) -> None:
    from ..metrics import METRIC_NAMES

    if name in METRIC_NAMES:
        raise ConfigError(f"metric name {name!r} is a built-in metric; choose another", path)
    if not _NAME.match(name):
        raise ConfigError(
            f"metric name {name!r} must be lower-case letters, digits, '_', '-', '.'", path
        )


def validate(metric: ExternalMetric) -> None:
    """Refuse what cannot work: an unknown placeholder or output format, a command that never
    sees the candidate, a ``comet-json`` command with no ``{out}`` file to read."""
    if metric.command is not None:
        try:
            argv = shlex.split(metric.command)
        except ValueError as exc:
            raise metric.error(f"command cannot be split into arguments: {exc}") from exc
        if not argv:
            raise metric.error("command is empty")
        known, template = COMMAND_PLACEHOLDERS, metric.command
        if metric.output not in OUTPUT_FORMATS:
            raise metric.error(
                f"unknown output format {metric.output!r}; use {', '.join(OUTPUT_FORMATS)}"
            )
        if metric.output == "comet":
            warnings.warn(
                CometPrecisionWarning(
                    f"metric {metric.name!r}: output 'comet' reads comet-score's printed lines, "
                    "which have only 4 decimals (and none under --quiet); 'comet-json' with "
                    "--to_json {out} keeps full precision"
                ),
                stacklevel=2,
            )
        if metric.output == "comet-json" and "out" not in placeholders(template):
            raise metric.error("output 'comet-json' reads the {out} file: add --to_json {out}")
    else:
        known, template = PROMPT_PLACEHOLDERS, metric.prompt
    unknown = sorted(placeholders(template) - known)
    if unknown:
        raise metric.error(
            f"unknown placeholder {{{unknown[0]}}}; use "
            + ", ".join(f"{{{k}}}" for k in sorted(known))
        )
    if "hyp" not in metric.uses:
        needed = "{hyp}" if metric.command is not None else "{translation}"
        raise metric.error(f"never passes the candidate translation: use {needed}")
