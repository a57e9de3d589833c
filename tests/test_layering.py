"""DESIGN's layering, read from the source with ``ast`` (nothing is imported).

Data flows one way: an upstream module never imports a downstream one, nothing imports the CLI,
and no module but the CLI (``evalkit/cli/``) prints. The module list is read from disk at test
time, so a new module must be given a rank in RANKS before the suite passes again.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "evalkit"

#: Rank of every top-level module or sub-package of evalkit, upstream first. A module may import
#: modules of its own rank or a lower one. Order from DESIGN.md:
#: errors/_io → corpus → detect → normalize → metrics → scoring/stats → results → evaluate →
#: render/report/gate → suite → cli.
RANKS: dict[str, int] = {
    "errors": 0,
    "_io": 0,
    "_opencc": 0,  # the OpenCC adapter: detect and normalize both use it
    "formats": 0,  # input strings (ref.gz, out.jsonl#field, test.xml#ref) → segments, for _io
    "corpus": 1,
    "translators": 1,  # produce candidate lines (LOAD side); the suite refers to them
    "detect": 2,
    "normalize": 3,
    "metrics": 4,
    "fastextract": 4,  # an extraction engine behind metrics (EXTRACT)
    "fastter": 4,  # the exact vectorised TER engine behind metrics (EXTRACT)
    "plugins": 4,  # out-of-process segment metrics (COMET, LLM judge) shaped like metrics' specs
    "scoring": 4,  # pure closed forms (imports only errors); metrics binds them as score_fn
    "stats": 5,
    "cache": 5,  # persists extracted statistics; used by evaluate
    "diagnostics": 5,  # per-segment failure modes from texts; results_check knows the kinds
    "results_cache": 6,  # whole results documents of identical runs; used by the CLI
    "results": 6,
    "results_check": 6,  # validates a results document for results.from_json
    "ordering": 6,  # the leaderboards' system order, shared by render and report
    "evaluation": 7,  # not evaluate.py: that module would shadow the function evalkit.evaluate
    "streaming": 7,  # evaluate() for files too big to hold, chunk by chunk
    "distributed": 7,  # streaming's Dask engine
    "render": 8,
    "report": 8,
    "suite": 9,
    "gate": 10,  # rules come from the suite file, so the gate reads a SuiteConfig
    "produce": 10,  # runs a suite's translators: needs the suite, used by the CLI
    "cli": 11,
    "__main__": 12,  # `python -m evalkit`, the one module allowed to import cli
}

#: Calls that write to the terminal.
_PRINTERS = {("print",), ("click", "echo"), ("click", "secho"), ("sys", "stdout", "write")}


def _modules() -> dict[str, Path]:
    """Dotted module name → file, for every .py under evalkit/."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _component(module: str) -> str | None:
    """``evalkit.gate.run`` → ``gate``; the package root itself → None."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def _is_package(module: str) -> bool:
    return MODULES[module].name == "__init__.py"


def _imports(module: str) -> list[tuple[str, int, set[str]]]:
    """(imported evalkit module, line, names) for every import in ``module``, at any depth."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"), filename=str(MODULES[module]))
    package = module if _is_package(module) else module.rpartition(".")[0]
    found: list[tuple[str, int, set[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [
                (a.name, node.lineno) for a in node.names if a.name.split(".")[0] == "evalkit"
            ]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "evalkit":
                continue
            plain = set()
            for alias in node.names:  # `from . import scoring` imports a module
                sub = f"{target}.{alias.name}"
                if sub in MODULES:
                    found.append((sub, node.lineno, set()))
                else:
                    plain.add(alias.name)
            if plain:
                found.append((target, node.lineno, plain))
    return found


def _edges() -> list[tuple[str, str, int]]:
    """(importer, imported, line) for every import of an evalkit module."""
    return [(module, target, line) for module in MODULES for target, line, _ in _imports(module)]


EDGES = _edges()


def test_every_module_has_a_rank() -> None:
    unknown = sorted({c for m in MODULES if (c := _component(m)) is not None and c not in RANKS})
    assert not unknown, (
        f"new evalkit module(s) {unknown}: give each a rank in RANKS in tests/test_layering.py "
        "(where it sits in DESIGN.md's data flow) so the layering rule can check it"
    )


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _component(m) is not None))
def test_module_imports_nothing_downstream(module: str) -> None:
    source = _component(module)
    if source not in RANKS:
        pytest.skip(f"{source} has no rank yet (see test_every_module_has_a_rank)")
    bad = []
    for importer, target, line in EDGES:
        if importer != module:
            continue
        dest = _component(target)
        if dest is None:  # the package root: only the version string, never the lazy API
            continue
        if dest == source or dest not in RANKS:
            continue
        if RANKS[dest] > RANKS[source]:
            bad.append(f"{MODULES[module].name}:{line} imports {target} (rank {RANKS[dest]})")
    assert not bad, f"{module} (rank {RANKS[source]}) imports downstream: " + "; ".join(bad)


def test_the_package_root_is_imported_only_for_its_version() -> None:
    # evalkit/__init__.py is a lazy facade: `from . import evaluate` would import a function
    # through __getattr__ and hide a real dependency from this test
    offenders = [
        f"{MODULES[m].relative_to(PACKAGE.parent)}:{line} {sorted(names)}"
        for m in MODULES
        for target, line, names in _imports(m)
        if target == "evalkit" and m != "evalkit" and not names <= {"__version__"}
    ]
    assert not offenders, f"import these from their own modules: {offenders}"


def test_nothing_imports_the_cli() -> None:
    importers = [
        f"{MODULES[m].relative_to(PACKAGE.parent)}:{line}"
        for m, target, line in EDGES
        if _component(target) == "cli" and _component(m) not in ("cli", "__main__")
    ]
    assert not importers, f"evalkit.cli is the outermost layer; imported by {importers}"


def _call_path(func: ast.expr) -> tuple[str, ...]:
    parts: list[str] = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if isinstance(func, ast.Name):
        parts.append(func.id)
    return tuple(reversed(parts))


def test_no_module_but_the_cli_prints() -> None:
    offenders = []
    for module, path in MODULES.items():
        if _component(module) == "cli":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        echo_names = {
            a.asname or a.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module == "click"
            for a in node.names
            if a.name in ("echo", "secho")
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                call = _call_path(node.func)
                if call in _PRINTERS or (len(call) == 1 and call[0] in echo_names):
                    offenders.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
                # a rich Console without file= writes to stdout
                if call[-1:] == ("Console",) and not any(k.arg == "file" for k in node.keywords):
                    offenders.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} Console")
    assert not offenders, f"only evalkit/cli/ writes to the terminal; found printing at {offenders}"


def test_the_rule_finds_imports_inside_functions_and_relative_ones() -> None:
    # self-check of the parser on the score command, whose heavy imports live inside it
    targets = {t for m, t, _ in EDGES if m == "evalkit.cli.score"}
    assert "evalkit.errors" in targets  # `from ..errors import`: out of the sub-package
    assert "evalkit.cli._common" in targets  # `from ._common import`: a sibling module
    assert any(_component(t) == "corpus" for t in targets)  # only imported inside score()
