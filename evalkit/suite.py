"""suite.toml → a frozen :class:`SuiteConfig`, validated on load with one-line errors.

A suite names test sets (references, optional source, candidate systems) and the settings used to
score them. Precedence, lowest first: evalkit's defaults < the suite file < command-line flags
(the CLI applies the last step with :meth:`SuiteConfig.with_overrides`). Paths in the file are
relative to the file. Unknown keys are errors, so a typo never silently changes an evaluation.
"""

from __future__ import annotations

import dataclasses
import errno
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._io import DEFAULT_MAX_SEGMENT_CHARS
from .corpus import TestSet, load_testset
from .diagnostics import DiagnosticsConfig
from .errors import ConfigError, EvalkitError
from .evaluation import DEFAULT_BOOTSTRAP, DEFAULT_CONFIDENCE, DEFAULT_PAIRED
from .formats import LocalTestset, local_testset, parse_spec
from .metrics import parse_metric_names
from .ordering import DEFAULT_SORT, check_sort
from .plugins import ExternalMetric, parse_metric_table
from .stats import DEFAULT_SEED
from .translators import TranslatorConfig, parse_translator

if TYPE_CHECKING:
    from .cache import StatsCache
    from .evaluation import StatsOptions
    from .results import Results

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "DEFAULT_SUITE",
    "EngineConfig",
    "SuiteConfig",
    "SystemSpec",
    "TestSetSpec",
    "load_suite",
]

DEFAULT_SUITE = Path("fixtures/suite.toml")

_SUITE_KEYS = {
    "name",
    "metrics",
    "normalize",
    "punct",
    "tokenize",
    "ter_plain",
    "bootstrap",
    "paired",
    "seed",
    "confidence",
    "output",
    "description",
    "max_segment_chars",
    "sort",
}
_TESTSET_KEYS = {"name", "lang", "source", "refs", "systems", "baseline", "testset"}
_TOP_KEYS = {"suite", "testsets", "gate", "engine", "metrics", "diagnostics"}
_ENGINE_KEYS = {"kind", "scheduler", "timeout", "jobs", "stream", "chunk_size", "extraction"}
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+\-]*$")


@dataclass(frozen=True)
class SystemSpec:
    """A candidate system: a file of outputs, or a translator whose outputs evalkit produces.

    For a translator, ``path`` is where ``evalkit translate`` / ``evalkit run`` write its
    outputs (``reports/<suite>/outputs/<test set>/<system>.<lang>``).
    """

    name: str
    path: Path
    translator: TranslatorConfig | None = None


@dataclass(frozen=True)
class TestSetSpec:
    """One test set as declared in the suite; :meth:`load` reads and validates its files."""

    __test__ = False

    name: str
    lang: str | None
    refs: tuple[Path, ...]
    systems: tuple[SystemSpec, ...]
    source: Path | None = None
    baseline: str | None = None
    max_segment_chars: int = DEFAULT_MAX_SEGMENT_CHARS  # [suite].max_segment_chars

    @property
    def translators(self) -> tuple[SystemSpec, ...]:
        return tuple(s for s in self.systems if s.translator is not None)

    def load(self) -> TestSet:
        for system in self.translators:
            if not system.path.exists():
                raise ConfigError(
                    f"system {system.name!r} of test set {self.name!r} has no outputs yet "
                    f"({system.path}); run 'evalkit translate' or 'evalkit run'"
                )
        return load_testset(
            [str(p) for p in self.refs],
            {s.name: str(s.path) for s in self.systems},
            sources=None if self.source is None else str(self.source),
            lang=self.lang,
            name=self.name,
            baseline=self.baseline,
            max_segment_chars=self.max_segment_chars,
        )


@dataclass(frozen=True)
class EngineConfig:
    """Where and how a suite is computed (``[engine]``); never changes a number.

    ``kind`` is ``local`` or ``dask`` (``scheduler`` = an existing cluster's address, none: a
    local cluster); ``stream`` is ``auto`` (references over 100,000 lines), true or false;
    ``extraction`` picks the statistics engine (auto, fast, sacrebleu).
    """

    kind: str = "local"
    scheduler: str | None = None
    timeout: float = 10.0
    jobs: int | None = None
    stream: str | bool = "auto"
    chunk_size: int = 100_000
    extraction: str = "auto"


@dataclass(frozen=True)
class SuiteConfig:
    """A whole suite: settings plus test sets. Values here are the suite's, before CLI flags."""

    name: str
    path: Path | None
    testsets: tuple[TestSetSpec, ...]
    metrics: tuple[str, ...] = ("bleu", "chrf", "chrf++", "ter")
    normalize: str = "auto"
    punct: bool = False
    tokenize: str | None = None
    ter_plain: bool = False
    bootstrap: int = DEFAULT_BOOTSTRAP  # the statistics defaults are StatsOptions' own
    paired: str = DEFAULT_PAIRED
    seed: int = DEFAULT_SEED
    confidence: float = DEFAULT_CONFIDENCE
    output: Path | None = None
    sort: str = DEFAULT_SORT  # the leaderboards' order: input, score or a metric's name
    gate: Mapping[str, Any] = field(default_factory=dict)
    engine: EngineConfig = field(default_factory=EngineConfig)
    plugins: Mapping[str, ExternalMetric] = field(default_factory=dict)  # [metrics.NAME]
    diagnostics: DiagnosticsConfig = field(default_factory=DiagnosticsConfig)

    @property
    def output_dir(self) -> Path:
        """Where ``evalkit run`` writes: ``reports/<suite name>/`` unless the suite says."""
        return self.output if self.output is not None else Path("reports") / self.name

    def scoring(self) -> dict[str, Any]:
        """The suite's settings that decide the numbers, as keyword arguments of both
        :func:`evalkit.evaluate` and :func:`evalkit.streaming.score_files`."""
        return {
            "metrics": tuple(self.plugins.get(m, m) for m in self.metrics),
            "normalizer": self.normalize,
            "punct": self.punct,
            "tokenize": self.tokenize,
            "ter_plain": self.ter_plain,
        }

    def evaluate(
        self,
        testsets: Sequence[TestSet],
        *,
        stats: StatsOptions | None = None,
        cache: StatsCache | None = None,
        progress: Callable[[str], None] | None = None,
        engine: str | None = None,
        jobs: int | None = None,
    ) -> Results:
        """:func:`evalkit.evaluate` with this suite's metrics, normalization and engine."""
        from .evaluation import evaluate

        return evaluate(
            list(testsets),
            **self.scoring(),
            stats=stats,
            cache=cache,
            progress=progress,
            meta={"suite": self.name},
            engine=engine or self.engine.extraction,
            jobs=jobs or self.engine.jobs or 1,
            diagnostics=self.diagnostics,
        )

    def with_overrides(self, **overrides: Any) -> SuiteConfig:
        """Apply command-line flags; ``None`` means 'not given on the command line'."""
        given = {k: v for k, v in overrides.items() if v is not None}
        return dataclasses.replace(self, **given)


def load_suite(path: str | Path = DEFAULT_SUITE) -> SuiteConfig:
    """Read and validate a suite file; every problem is a ConfigError naming file and line."""
    p = Path(path)
    if not p.exists():
        raise ConfigError("suite file not found", p)
    if p.is_dir():
        raise ConfigError("is a directory, expected a suite .toml file", p)
    try:
        text = p.read_text(encoding="utf-8-sig")
        data = tomllib.loads(text)
    except UnicodeDecodeError as exc:
        raise ConfigError("suite file is not valid UTF-8", p) from exc
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        col = getattr(exc, "colno", None)
        msg = getattr(exc, "msg", None) or str(exc)
        if line is None:
            m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
            if m:
                line, col = int(m.group(1)), int(m.group(2))
                msg = str(exc)[: m.start()].strip()
            elif "end of document" in str(exc):  # tomllib gives no position here
                line = max(1, text.rstrip("\n").count("\n") + 1)
                msg = str(exc).replace("(at end of document)", "").strip() + " at end of file"
        raise ConfigError(f"TOML syntax error: {msg}", p, line, col) from exc
    return _build(data, p)


def _check_keys(table: Mapping[str, Any], allowed: set[str], where: str, path: Path) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigError(
            f"unknown key {unknown[0]!r} in {where}; allowed: {', '.join(sorted(allowed))}", path
        )


def _typed(value: Any, kind: type | tuple[type, ...], key: str, path: Path) -> Any:
    if isinstance(value, bool) and kind in (int, float):
        raise ConfigError(f"{key} must be a number, got {value!r}", path)
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise ConfigError(f"{key} must be a {names}, got {value!r}", path)
    return value


def _build(data: Mapping[str, Any], path: Path) -> SuiteConfig:
    _check_keys(data, _TOP_KEYS, "the suite file", path)
    suite = data.get("suite", {})
    _typed(suite, dict, "[suite]", path)
    _check_keys(suite, _SUITE_KEYS, "[suite]", path)
    base = path.parent
    name = _typed(suite.get("name", path.stem), str, "[suite].name", path)
    if not _NAME_RE.match(name):
        raise ConfigError(f"[suite].name {name!r} must be letters, digits, '_', '-', '.'", path)
    output = (
        base / _typed(suite["output"], str, "[suite].output", path) if "output" in suite else None
    )
    outputs_dir = (output or Path("reports") / name) / "outputs"
    raw_sets = data.get("testsets")
    if not raw_sets:
        raise ConfigError("suite declares no [[testsets]]", path)
    _typed(raw_sets, list, "testsets", path)
    testsets = tuple(_testset(t, i, base, path, outputs_dir) for i, t in enumerate(raw_sets, 1))
    seen: set[str] = set()
    for ts in testsets:
        if ts.name in seen:
            raise ConfigError(f"duplicate test set name {ts.name!r}", path)
        seen.add(ts.name)

    plugins = _plugins(data.get("metrics", {}), path, output or Path("reports") / name)
    kwargs: dict[str, Any] = {"plugins": plugins} if plugins else {}
    try:
        if "metrics" in suite:
            kwargs["metrics"] = parse_metric_names(
                _typed(suite["metrics"], (list, str), "metrics", path), extra=tuple(plugins)
            )
        elif plugins:  # declared metrics are scored beside the default ones
            kwargs["metrics"] = (*SuiteConfig.metrics, *plugins)
        _validate_settings(suite)
        if isinstance(suite.get("sort"), str):
            check_sort(suite["sort"], kwargs.get("metrics", SuiteConfig.metrics))
    except ConfigError as exc:
        if exc.path is not None:
            raise
        raise ConfigError(f"[suite]: {exc.message}", path) from exc
    for key, kind in (
        ("normalize", str),
        ("punct", bool),
        ("tokenize", str),
        ("ter_plain", bool),
        ("bootstrap", int),
        ("paired", str),
        ("seed", int),
        ("confidence", float),
        ("sort", str),
    ):
        if key in suite:
            kwargs[key] = _typed(suite[key], kind, f"[suite].{key}", path)
    if output is not None:
        kwargs["output"] = output
    if "max_segment_chars" in suite:
        limit = _typed(suite["max_segment_chars"], int, "[suite].max_segment_chars", path)
        if limit < 1:
            raise ConfigError(f"[suite].max_segment_chars must be >= 1, got {limit}", path)
        testsets = tuple(dataclasses.replace(ts, max_segment_chars=limit) for ts in testsets)
    gate = _typed(data.get("gate", {}), dict, "[gate]", path)
    engine = _engine(_typed(data.get("engine", {}), dict, "[engine]", path), path)
    try:
        kwargs["diagnostics"] = DiagnosticsConfig.from_table(
            _typed(data.get("diagnostics", {}), dict, "[diagnostics]", path)
        )
    except ConfigError as exc:
        raise ConfigError(exc.message, path, _header_line(path, "diagnostics")) from exc
    return SuiteConfig(name=name, path=path, testsets=testsets, gate=gate, engine=engine, **kwargs)


def _header_line(path: Path, table: str) -> int | None:
    """The 1-based line of ``[table]`` in the suite file, for an error in that table."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    return next((i for i, ln in enumerate(lines, 1) if ln.strip() == f"[{table}]"), None)


def _plugins(table: Any, path: Path, output: Path) -> dict[str, ExternalMetric]:
    """``[metrics.NAME]`` tables → external metrics, their segment scores cached beside the
    suite's outputs (``<output>/metric-scores``)."""
    _typed(table, dict, "[metrics]", path)
    return {
        name: parse_metric_table(name, spec, suite_path=path, cache_dir=output / "metric-scores")
        for name, spec in table.items()
    }


def _engine(table: Mapping[str, Any], path: Path) -> EngineConfig:
    _check_keys(table, _ENGINE_KEYS, "[engine]", path)
    kw: dict[str, Any] = {}
    kind = _typed(table.get("kind", "local"), str, "[engine].kind", path)
    if kind not in ("local", "dask"):
        raise ConfigError(f"[engine].kind must be 'local' or 'dask', got {kind!r}", path)
    kw["kind"] = kind
    if "scheduler" in table:
        kw["scheduler"] = _typed(table["scheduler"], str, "[engine].scheduler", path)
    if "timeout" in table:
        kw["timeout"] = float(_typed(table["timeout"], (int, float), "[engine].timeout", path))
    for key in ("jobs", "chunk_size"):
        if key in table:
            value = _typed(table[key], int, f"[engine].{key}", path)
            if value < 1:
                raise ConfigError(f"[engine].{key} must be >= 1, got {value}", path)
            kw[key] = value
    if "stream" in table:
        stream = table["stream"]
        if stream != "auto" and not isinstance(stream, bool):
            raise ConfigError(
                f"[engine].stream must be true, false or 'auto', got {stream!r}", path
            )
        kw["stream"] = stream
    if "extraction" in table:
        ext = _typed(table["extraction"], str, "[engine].extraction", path)
        if ext not in ("auto", "fast", "sacrebleu"):
            raise ConfigError(
                f"[engine].extraction must be auto, fast or sacrebleu, got {ext!r}", path
            )
        kw["extraction"] = ext
    return EngineConfig(**kw)


def _name_line(path: Path, name: str) -> int | None:
    """The line of ``name = "<name>"`` in the suite file, to point at it (None if not found)."""
    pattern = re.compile(r"^\s*name\s*=\s*(\"|')" + re.escape(name) + r"\1")
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    return next((i for i, line in enumerate(lines, 1) if pattern.match(line)), None)


def _testset(t: Any, index: int, base: Path, path: Path, outputs_dir: Path) -> TestSetSpec:
    where = f"[[testsets]] #{index}"
    _typed(t, dict, where, path)
    _check_keys(t, _TESTSET_KEYS, where, path)
    name = _typed(t.get("name", f"testset{index}"), str, f"{where}.name", path)
    if not _NAME_RE.match(name):
        # the name is a folder under reports/: "../x" or "/tmp/x" would write outside it
        raise ConfigError(
            f"{where}: invalid test set name {name!r}: must be letters, digits, '_', '-', '.'",
            path,
            _name_line(path, name),
        )
    where = f"test set {name!r}"
    refs = t.get("refs")
    if isinstance(refs, str):
        refs = [refs]
    local = _local_testset(t, where, path)
    if not refs and local is None:
        raise ConfigError(f"{where} has no refs (give refs or testset)", path)
    ref_paths = (
        tuple(_existing(base, _typed(r, str, f"{where}.refs", path), where, path) for r in refs)
        if refs
        else tuple(Path(r) for r in local.refs)  # type: ignore[union-attr]
    )
    systems_raw = _typed(t.get("systems", {}), dict, f"{where}.systems", path)
    if not systems_raw:
        raise ConfigError(f"{where} has no systems", path)
    systems = []
    for sys_name, value in systems_raw.items():
        if not _NAME_RE.match(sys_name):
            raise ConfigError(f"{where}: invalid system name {sys_name!r}", path)
        if isinstance(value, dict):
            translator = parse_translator(sys_name, value, suite_path=path)
            suffix = t.get("lang") or "txt"
            out = outputs_dir / name / f"{sys_name}.{suffix}"
            systems.append(SystemSpec(sys_name, out, translator))
            continue
        rel = _typed(value, (str, dict), f"{where}.systems.{sys_name}", path)
        systems.append(SystemSpec(sys_name, _existing(base, rel, where, path)))
    source = t.get("source")
    source_path = (
        _existing(base, _typed(source, str, "source", path), where, path)
        if source is not None
        else (Path(local.source) if local is not None else None)
    )
    if source_path is None and any(s.translator for s in systems):
        raise ConfigError(f"{where}: a translator system needs the test set's source", path)
    lang = t.get("lang", local.lang if local is not None else None)
    if lang is not None and lang not in ("zh", "en"):
        raise ConfigError(f"{where}: lang must be 'zh' or 'en', got {lang!r}", path)
    baseline = t.get("baseline")
    if baseline is not None and baseline not in systems_raw:
        raise ConfigError(
            f"{where}: baseline {baseline!r} is not one of its systems ({', '.join(systems_raw)})",
            path,
        )
    return TestSetSpec(
        name=name,
        lang=lang,
        refs=ref_paths,
        systems=tuple(systems),
        source=source_path,
        baseline=baseline,
    )


def _existing(base: Path, rel: str, where: str, path: Path) -> Path:
    """``base / rel``, once its file exists (``out.jsonl#translation``: ``out.jsonl``)."""
    p = base / rel
    try:
        file = parse_spec(str(p)).file
    except ConfigError as exc:  # e.g. a .jsonl without #field
        raise ConfigError(f"{where}: {exc.message}", path) from exc
    if not Path(file).exists():
        loop = Path(file).is_symlink() and _loops(Path(file))
        problem = "is a symlink loop" if loop else "does not exist"
        raise ConfigError(f"{where} names a file that {problem}: {p}", path)
    return p


def _loops(p: Path) -> bool:
    """True when resolving ``p`` runs into a symlink loop (``exists()`` says only False)."""
    try:
        p.resolve(strict=True)
    except RuntimeError:  # Python < 3.13 reports a loop this way
        return True
    except OSError as exc:
        return exc.errno == errno.ELOOP
    return False


def _local_testset(t: Mapping[str, Any], where: str, path: Path) -> LocalTestset | None:
    """The ``testset = "wmt22:en-zh"`` of a test set, from sacrebleu's local folder."""
    if "testset" not in t:
        return None
    try:
        return local_testset(_typed(t["testset"], str, f"{where}.testset", path))
    except EvalkitError as exc:
        raise ConfigError(f"{where}: {exc}", path) from exc


def _validate_settings(suite: Mapping[str, Any]) -> None:
    """Check values whose errors would otherwise surface only mid-run, without the file name."""
    from .metrics import TOKENIZERS
    from .normalize import resolve_normalizer

    if isinstance(suite.get("normalize"), str):
        resolve_normalizer(suite["normalize"], lang="zh")
    tok = suite.get("tokenize")
    if isinstance(tok, str) and tok not in TOKENIZERS:
        raise ConfigError(f"unknown tokenizer {tok!r}; valid: {', '.join(TOKENIZERS)}")
    paired = suite.get("paired")
    if isinstance(paired, str) and paired not in ("bs", "ar", "none", "all"):
        raise ConfigError(f"paired must be bs, ar, none or all, got {paired!r}")
    boot = suite.get("bootstrap")
    if isinstance(boot, int) and not isinstance(boot, bool) and boot < 0:
        raise ConfigError(f"bootstrap must be >= 0, got {boot}")
    conf = suite.get("confidence")
    if isinstance(conf, float) and not 0 < conf < 1:
        raise ConfigError(f"confidence must be between 0 and 1, got {conf}")
