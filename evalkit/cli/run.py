"""``evalkit run``, ``translate`` and ``report``: whole suites, their translators, their HTML.

``run`` evaluates every test set of a suite (streaming the big ones through ``score``'s
machinery) and writes results.json, segments.csv and report.html; ``translate`` only produces
the translator systems' outputs; ``report`` rebuilds the HTML from a stored results.json.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from ._common import (
    _FORMAT,
    _cache_option,
    _emit,
    _handle_errors,
    _progress,
    _refuse_output_onto_input,
    _sort_option,
    _stats_flags,
    _stats_options,
    _stdout_is_tty,
    _streams,
    _suite_argument,
    _table_width,
)
from .score import _score_streamed, _warn_lang, _warn_settings


@click.command()
@_suite_argument
@click.option("--output-dir", metavar="DIR", help="Where to write [default: reports/<suite>/].")
@click.option(
    "--format", "fmt", type=_FORMAT, default="table", show_default=True, help="What to print."
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Concurrent translator requests/batches [default: 4] and extraction processes "
    "[default: the machine's cores].",
)
@click.option(
    "--engine",
    type=click.Choice(["auto", "fast", "sacrebleu", "dask"]),
    default=None,
    help="Statistics extraction (auto/fast/sacrebleu: identical numbers) or dask (run the "
    "chunks on a Dask cluster) [default: the suite's [engine], else auto].",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    help="Dask scheduler (tcp://host:8786); implies --engine dask [default: a local cluster].",
)
@_sort_option(None)
@_stats_flags
@_cache_option(" [default: .cache/ in the output folder].")
@_handle_errors
def run(
    suite_path: str,
    output_dir: str | None,
    fmt: str,
    sort: str | None,
    jobs: int | None,
    engine: str | None,
    scheduler: str | None,
    bootstrap: int | None,
    confidence: float | None,
    paired: str | None,
    paired_test: str,
    seed: int | None,
    cache_dir: str | None,
) -> None:
    """Evaluate a suite; write results.json, segments.csv and report.html to reports/<suite>/.

    Translator systems whose outputs are missing or stale are translated first.
    """
    from ..cache import StatsCache
    from ..ordering import check_sort
    from ..produce import produce_outputs
    from ..render import render, render_segments_csv
    from ..report import render_report
    from ..suite import load_suite

    suite = load_suite(suite_path).with_overrides(
        bootstrap=bootstrap, confidence=confidence, paired=paired, seed=seed, sort=sort
    )
    check_sort(suite.sort, suite.metrics)  # before translating and scoring, not after
    opts = _stats_options(suite.bootstrap, suite.paired, paired_test, suite.seed, suite.confidence)
    _warn_settings(opts)
    out = Path(output_dir) if output_dir else suite.output_dir
    names = ("results.json", "segments.csv", "report.html")
    _refuse_output_onto_input([("", str(out / name)) for name in names], [], suite)
    cache = StatsCache(Path(cache_dir) if cache_dir else out / ".cache")
    with _translation_progress() as tstep:
        produced = produce_outputs(suite, jobs=jobs or 4, only_stale=False, progress=tstep)
    eng = suite.engine
    use_dask = bool(scheduler) or engine == "dask" or (engine is None and eng.kind == "dask")
    extraction = engine if engine not in (None, "dask") else eng.extraction
    n_jobs = jobs or eng.jobs or os.cpu_count() or 1
    streamed = [
        spec for spec in suite.testsets if use_dask or _streams(str(spec.refs[0]), eng.stream)
    ]
    in_memory = [spec.load() for spec in suite.testsets if spec not in streamed]
    declared = {spec.name: spec for spec in suite.testsets if spec.lang}
    for ts in in_memory:  # a language the suite states can be wrong; a detected one cannot
        if ts.name in declared:
            _warn_lang(str(declared[ts.name].refs[0]), ts.refs[0], ts.lang)
    parts: dict[str, Any] = {}
    if in_memory:
        with _progress(sum(len(ts.systems) + 1 for ts in in_memory)) as step:
            results = suite.evaluate(
                in_memory, stats=opts, cache=cache, progress=step, engine=extraction, jobs=n_jobs
            )
        parts.update({ts.name: ts for ts in results.testsets})
    for spec in streamed:
        one = _score_streamed(
            [str(p) for p in spec.refs],
            [f"{s.name}={s.path}" for s in spec.systems],
            **suite.scoring(),
            lang=spec.lang,
            chunk_size=eng.chunk_size,
            jobs=n_jobs,
            engine="dask" if use_dask else extraction,
            stats=opts,
            sources=None if spec.source is None else str(spec.source),
            baseline=spec.baseline,
            name=spec.name,
            scheduler=scheduler or eng.scheduler,
            timeout=eng.timeout,
            max_segment_chars=spec.max_segment_chars,
            meta={"suite": suite.name},
        )
        parts[spec.name] = one.testsets[0]
        results = one
    results = dataclasses.replace(
        results, testsets=tuple(parts[spec.name] for spec in suite.testsets)
    )
    if produced:
        results = results.with_translation(
            {(p.testset, p.system): {**p.stats, "translated_now": p.ran} for p in produced}
        )
    files = dict(
        zip(
            names,
            (
                results.to_json(),
                render_segments_csv(results),
                render_report(results, title=suite.name, sort=suite.sort),
            ),
            strict=True,
        )
    )
    for name, content in files.items():
        _emit(content, str(out / name))
    shown = render(results, fmt, color=_stdout_is_tty(), width=_table_width(), sort=suite.sort)
    click.echo(shown, nl=False)
    click.echo(
        f"wrote {', '.join(str(out / n) for n in files)} "
        f"(statistics cache: {cache.hits} hits, {cache.misses} misses)",
        err=True,
    )
    if produced:
        from ..render.translators import render_translators

        click.echo(render_translators(produced), err=True, nl=False)


@contextlib.contextmanager
def _translation_progress() -> Iterator[Callable[[str, int, int], None] | None]:
    """One progress bar per translated system on a terminal; silent otherwise."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        tasks: dict[str, Any] = {}

        def step(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=total)
            bar.update(tasks[label], completed=done, total=total)

        yield step


@click.command()
@_suite_argument
@click.option(
    "--system",
    "systems",
    multiple=True,
    metavar="NAME",
    help="Only this translator system (repeatable) [default: all].",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="Concurrent requests (endpoints) or batch processes (commands).",
)
@click.option("--refresh", is_flag=True, help="Retranslate every segment, ignoring the cache.")
@_handle_errors
def translate(suite_path: str, systems: tuple[str, ...], jobs: int, refresh: bool) -> None:
    """Produce translator systems' outputs (cached per segment under reports/<suite>/)."""
    from ..produce import produce_outputs
    from ..suite import load_suite

    suite = load_suite(suite_path)
    with _translation_progress() as step:
        produced = produce_outputs(
            suite,
            systems=set(systems) or None,
            jobs=jobs,
            refresh=refresh,
            only_stale=False,
            progress=step,
        )
    if not produced:
        click.echo(f"{suite_path}: no translator systems in this suite", err=True)
        return
    from ..render.translators import render_translators

    click.echo(render_translators(produced), nl=False)
    for p in produced:
        click.echo(f"wrote {p.path}", err=True)


@click.command()
@click.argument("results_path", metavar="RESULTS.json")
@click.option(
    "--output", "-o", required=True, metavar="PATH.html", help="Where to write ('-': stdout)."
)
@click.option("--title", help="Page title [default: the suite name].")
@_sort_option("score")
@_handle_errors
def report(results_path: str, output: str, title: str | None, sort: str) -> None:
    """Build the self-contained HTML report from a results.json."""
    from ..errors import InputError
    from ..report import render_report
    from ..results import Results

    _refuse_output_onto_input([("-o", output)], [("results file", results_path)])
    path = Path(results_path)
    if not path.is_file():
        raise InputError("results file not found" if not path.exists() else "not a file", path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError("results file is not valid UTF-8", path) from exc
    results = Results.from_json(text, str(path))
    _emit(render_report(results, title=title or results.meta.get("suite"), sort=sort), output)
    if output != "-":
        click.echo(f"wrote {output}", err=True)
