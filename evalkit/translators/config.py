"""A translator-backed system as declared in ``suite.toml`` → a frozen :class:`TranslatorConfig`.

A system may name a translator instead of an output file::

    [testsets.systems.mymt]
    command = "python tr.py --to en"     # stdin → stdout, one segment per line
    batch_size = 32                      # optional: one process per 32 segments

    [testsets.systems.gpt]
    endpoint = "http://127.0.0.1:8000/v1"
    model = "qwen2.5-7b-instruct"
    api_key_env = "OPENAI_API_KEY"       # the NAME of a variable; the key is never stored

Unknown keys are errors (a typo must not silently change an evaluation), and so are keys that
belong to the other kind of translator. The fingerprint hashes exactly what changes outputs, so
the translation cache survives changes to timeouts, retries or parallelism but not to the model.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..errors import ConfigError
from .prompt import DEFAULT_PROMPT, check_prompt

__all__ = [
    "COMMAND_KEYS",
    "ENDPOINT_KEYS",
    "TranslatorConfig",
    "command_or_endpoint",
    "parse_translator",
]

COMMAND_KEYS = frozenset({"command", "batch_size", "timeout", "version"})
ENDPOINT_KEYS = frozenset(
    {
        "endpoint",
        "model",
        "prompt",
        "temperature",
        "max_tokens",
        "api_key_env",
        "timeout",
        "retries",
        "backoff",
        "version",
    }
)
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Bump when evalkit changes how it post-processes translations, so old cache entries are not reused.
_FINGERPRINT_FORMAT = "evalkit-translator-1"


@dataclass(frozen=True)
class TranslatorConfig:
    """How to obtain one system's outputs; ``kind`` is ``"command"`` or ``"endpoint"``.

    ``command`` is split with :func:`shlex.split` and run without a shell, in the suite file's
    folder (so ``python tr.py`` finds ``tr.py`` next to ``suite.toml``). ``timeout`` is per
    process for commands (default: none; the whole process group is killed) and per HTTP request
    for endpoints (default 60 s), whole requests: a server trickling its answer is cut off too.
    ``version`` is a free label that only feeds the fingerprint: bump it when the model behind an
    unchanged command or endpoint changes, to stop reusing cached translations.
    """

    name: str
    suite_path: Path
    command: str | None = None
    batch_size: int | None = None
    endpoint: str | None = None
    model: str | None = None
    prompt: str = DEFAULT_PROMPT
    temperature: float = 0.0
    max_tokens: int | None = None
    api_key_env: str | None = None
    timeout: float | None = None
    retries: int = 5
    backoff: float = 0.5
    version: str | None = None

    @property
    def kind(self) -> Literal["command", "endpoint"]:
        return "command" if self.command is not None else "endpoint"

    @property
    def argv(self) -> tuple[str, ...]:
        """The command line as an argument vector (empty for endpoint translators)."""
        return tuple(shlex.split(self.command)) if self.command is not None else ()

    @property
    def cwd(self) -> Path:
        """Where commands run: the folder of the suite file that declared them."""
        return self.suite_path.parent

    def describe(self) -> str:
        """A short human label for errors and reports; never contains the API key."""
        if self.kind == "command":
            return f"command {self.command!r}"
        return f"endpoint {self.endpoint} model {self.model!r}"

    def fingerprint(self) -> str:
        """SHA-256 hex of everything that changes outputs.

        Included: the command's argument vector (so spacing and quoting style do not matter), or
        the endpoint URL, model, prompt template, temperature and max_tokens; plus ``version``.
        Excluded: the system name, the API key and its variable name, and what only changes how
        outputs are obtained (batch_size, timeout, retries, backoff, jobs).
        """
        if self.kind == "command":
            payload: dict[str, Any] = {"kind": "command", "argv": list(self.argv)}
        else:
            payload = {
                "kind": "endpoint",
                "endpoint": self.endpoint,
                "model": self.model,
                "prompt": self.prompt,
                "temperature": float(self.temperature),
                "max_tokens": self.max_tokens,
            }
        payload["format"] = _FINGERPRINT_FORMAT
        payload["version"] = self.version
        blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


KindKeys = tuple[frozenset[str], str, str]
"""A kind's allowed keys, what it is (for "exactly one of"), and what its keys apply to."""


def command_or_endpoint(
    where: str, table: Mapping[str, Any], path: Path, command: KindKeys, endpoint: KindKeys
) -> bool:
    """Whether a ``command``/``endpoint`` table (a translator, an external metric) is the
    command kind, once exactly one of the two is set and every key belongs to that kind."""
    has_command, has_endpoint = "command" in table, "endpoint" in table
    if has_command == has_endpoint:
        raise ConfigError(
            f"{where} must set exactly one of 'command' ({command[1]}) or 'endpoint' "
            f"({endpoint[1]})",
            path,
        )
    (allowed, _, _), (other, _, other_label) = (
        (command, endpoint) if has_command else (endpoint, command)
    )
    for key in sorted(table):
        if key in allowed:
            continue
        if key in other:
            raise ConfigError(f"{where}: key {key!r} applies only to {other_label}", path)
        raise ConfigError(
            f"{where}: unknown key {key!r}; allowed: {', '.join(sorted(allowed))}", path
        )
    return has_command


def parse_translator(name: str, table: Mapping[str, Any], *, suite_path: Path) -> TranslatorConfig:
    """Validate one ``[testsets.systems.NAME]`` table; every problem is a ConfigError naming the
    suite file and the key."""
    where = f"system {name!r}"
    path = Path(suite_path)
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where} must be a file name or a table, got {table!r}", path)
    has_command = command_or_endpoint(
        where,
        table,
        path,
        (COMMAND_KEYS, "a local translator", "command translators"),
        (ENDPOINT_KEYS, "an OpenAI-compatible server", "endpoint translators"),
    )
    check = _Checker(where, path, table)
    common: dict[str, Any] = {"version": check.text("version", optional=True)}
    if has_command:
        command = check.text("command")
        try:
            argv = shlex.split(command)
        except ValueError as exc:
            raise ConfigError(
                f"{where}.command cannot be split into arguments: {exc}", path
            ) from exc
        if not argv:
            raise ConfigError(f"{where}.command is empty", path)
        return TranslatorConfig(
            name=name,
            suite_path=path,
            command=command,
            batch_size=check.integer("batch_size", minimum=1),
            timeout=check.number("timeout", positive=True),
            **common,
        )
    endpoint = check.text("endpoint").rstrip("/")
    if not re.match(r"^https?://[^/\s]+", endpoint):
        raise ConfigError(
            f"{where}.endpoint must be an http:// or https:// URL, got {endpoint!r}", path
        )
    prompt = check.text("prompt", optional=True)
    if prompt is not None:
        problem = check_prompt(prompt)
        if problem:
            raise ConfigError(f"{where}.prompt: {problem}", path)
    temperature = check.number("temperature")
    if temperature is not None and not 0 <= temperature <= 2:
        raise ConfigError(f"{where}.temperature must be between 0 and 2, got {temperature}", path)
    api_key_env = check.text("api_key_env", optional=True)
    if api_key_env is not None and not _ENV_NAME.match(api_key_env):
        raise ConfigError(
            f"{where}.api_key_env must be the NAME of an environment variable (letters, digits, "
            "'_'), not the key itself",
            path,
        )
    retries = check.integer("retries", minimum=0)
    backoff = check.number("backoff")
    if backoff is not None and backoff < 0:
        raise ConfigError(f"{where}.backoff must be >= 0 seconds, got {backoff}", path)
    timeout = check.number("timeout", positive=True)
    return TranslatorConfig(
        name=name,
        suite_path=path,
        endpoint=endpoint,
        model=check.text("model"),
        prompt=DEFAULT_PROMPT if prompt is None else prompt,
        temperature=0.0 if temperature is None else float(temperature),
        max_tokens=check.integer("max_tokens", minimum=1),
        api_key_env=api_key_env,
        timeout=60.0 if timeout is None else timeout,
        retries=5 if retries is None else retries,
        backoff=0.5 if backoff is None else backoff,
        **common,
    )


@dataclass(frozen=True)
class _Checker:
    """Typed access to one table's keys with errors that name the key."""

    where: str
    path: Path
    table: Mapping[str, Any]

    def _fail(self, key: str, expected: str) -> ConfigError:
        return ConfigError(
            f"{self.where}.{key} must be {expected}, got {self.table[key]!r}", self.path
        )

    def text(self, key: str, *, optional: bool = False) -> Any:
        if key not in self.table:
            if optional:
                return None
            raise ConfigError(f"{self.where} is missing required key {key!r}", self.path)
        value = self.table[key]
        if not isinstance(value, str) or not value.strip():
            raise self._fail(key, "a non-empty string")
        return value

    def integer(self, key: str, *, minimum: int) -> int | None:
        if key not in self.table:
            return None
        value = self.table[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self._fail(key, f"an integer >= {minimum}")
        return value

    def number(self, key: str, *, positive: bool = False) -> float | None:
        if key not in self.table:
            return None
        value = self.table[key]
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
        ):
            raise self._fail(key, "a number")
        if positive and value <= 0:
            raise self._fail(key, "a number > 0")
        return float(value)
