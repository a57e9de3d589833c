"""The command line: a thin click group over the Python API.

Each command merges defaults < suite.toml < flags, calls the API, and prints or writes the
rendered result. :class:`~evalkit.errors.EvalkitError` becomes one line on stderr and exit 2;
a failed gate is exit 1. Heavy modules are imported inside the commands so ``--help`` is quick.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click

from . import __version__
from .errors import EvalkitError

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_FAIL, EXIT_ERROR = 0, 1, 2


def _handle_errors(func: F) -> F:
    """Turn EvalkitError into ``evalkit: error: <file>:<line>: <problem>`` and exit 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        try:
            return func(*args, **kwargs)
        except EvalkitError as exc:
            if ctx.find_root().params.get("debug"):
                raise
            click.echo(f"evalkit: error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo(
                "evalkit: interrupted; no output file was written "
                "(translations finished so far are cached)",
                err=True,
            )
            ctx.exit(130)

    return wrapper  # type: ignore[return-value]


class _OneLineErrorGroup(click.Group):
    """A click group whose own usage errors are one stderr line, like evalkit's other errors.

    click prints a usage block and a hint over several lines; DESIGN asks for one line naming
    the problem (and exit code 2), so scripts and CI logs can quote it whole.
    """

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except click.UsageError as exc:
            where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
            click.echo(f"evalkit: error: {exc.format_message()}{where}", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            click.echo(f"evalkit: error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("evalkit: aborted", err=True)
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=_OneLineErrorGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="evalkit")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
def main(debug: bool) -> None:
    """Score Chinese↔English translations exactly as sacrebleu does, with script normalization.

    \b
    Examples:
      evalkit run                                  # the bundled suite → reports/seed-article/
      evalkit score --ref ref.zh sysA.zh B=sysB.zh # BLEU, chrF, chrF++, TER with signatures
      evalkit detect output.zh                     # Simplified / Traditional / mixed
    """


def _stdout_is_tty() -> bool:
    return sys.stdout.isatty()


def _emit(text: str, output: str | None) -> None:
    from ._io import write_atomic

    if output:
        write_atomic(output, text)
    else:
        click.echo(text, nl=False)


@contextlib.contextmanager
def _progress(total: int) -> Iterator[Callable[[str], None] | None]:
    """A progress bar on stderr when it is a terminal; nothing in CI logs or pipes."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("scoring", total=total)

        def step(description: str) -> None:
            bar.update(task, advance=1, description=description)

        yield step


def _stats_options(
    bootstrap: int, paired: str, paired_test: str, seed: int, confidence: float
) -> Any:
    """Build evalkit.evaluation.StatsOptions (imported lazily to keep --help fast)."""
    from .evaluation import StatsOptions

    if paired == "all":
        return StatsOptions(bootstrap, paired_test, True, seed, confidence)
    return StatsOptions(bootstrap, paired, False, seed, confidence)


def _stats_flags(func: F) -> F:
    """Flags shared by score and run: bootstrap CIs, paired tests, seed, statistics cache."""
    options = [
        click.option(
            "--bootstrap",
            type=click.IntRange(min=0),
            default=None,
            metavar="N",
            help="Bootstrap resamples for confidence intervals; 0 turns CIs off [default: 1000].",
        ),
        click.option(
            "--confidence-level",
            "confidence",
            default=None,
            type=click.FloatRange(0, 1, min_open=True, max_open=True),
            help="Confidence level of the intervals [default: 0.95].",
        ),
        click.option(
            "--paired",
            type=click.Choice(["bs", "ar", "none", "all"]),
            default=None,
            help="Paired test of each system vs the baseline (bs: bootstrap, ar: approximate "
            "randomization); 'all' tests every pair [default: bs].",
        ),
        click.option(
            "--paired-test",
            type=click.Choice(["bs", "ar"]),
            default="bs",
            show_default=True,
            help="The test used by --paired all.",
        ),
        click.option(
            "--seed",
            type=click.IntRange(min=0),
            default=None,
            help="Seed for resampling [default: 12345, as sacrebleu].",
        ),
        click.option(
            "--cache",
            "cache_dir",
            metavar="DIR",
            help="Reuse per-segment statistics stored here (content-addressed); `score` also "
            "reuses the whole results of an identical run (same code, options, input bytes).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


# --- score -------------------------------------------------------------------------------------

_FORMAT = click.Choice(["table", "json", "csv", "markdown"])


@main.command()
@click.option(
    "--ref",
    "refs",
    multiple=True,
    required=True,
    metavar="REF",
    help="Reference file (repeat for several references).",
)
@click.option("--src", "source", metavar="SRC", help="Source file (shown in reports).")
@click.option(
    "--lang",
    type=click.Choice(["zh", "en"]),
    help="Target language [default: detected from the reference].",
)
@click.option(
    "--metrics",
    default="bleu,chrf,chrf++,ter",
    show_default=True,
    help="Comma-separated metrics: bleu, chrf, chrf++, ter.",
)
@click.option(
    "--normalize",
    "normalize",
    default="auto",
    show_default=True,
    metavar="MODE",
    help="auto | none | an OpenCC config (t2s, s2t, tw2sp, s2twp, hk2s, …).",
)
@click.option(
    "--punct", is_flag=True, help="Also fold punctuation and full-width variants (「」/“”, ，/,)."
)
@click.option(
    "--tokenize",
    metavar="TOK",
    help="BLEU tokenizer [default: zh for a Chinese target, 13a otherwise].",
)
@click.option(
    "--ter-plain",
    is_flag=True,
    help="Plain sacrebleu TER for Chinese (default there: asian_support+normalized).",
)
@click.option("--baseline", metavar="NAME", help="System others are compared with [first].")
@click.option("--format", "fmt", type=_FORMAT, default="table", show_default=True)
@click.option("--output", "-o", metavar="PATH", help="Write the rendered output here (atomically).")
@click.option(
    "--report", "report_path", metavar="PATH.html", help="Also write the HTML report here."
)
@_stats_flags
@click.option(
    "--engine",
    type=click.Choice(["auto", "fast", "sacrebleu", "dask"]),
    default="auto",
    show_default=True,
    help="Statistics extraction: fast (vectorised, identical numbers), sacrebleu, or auto; "
    "dask streams the chunks to a Dask cluster (--scheduler, else a local one).",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Processes for extracting large inputs [default: the machine's cores].",
)
@click.option(
    "--stream/--no-stream",
    default=None,
    help="Read and score chunk by chunk, keeping only statistics (no per-segment output) "
    "[default: when the reference has more than 100,000 lines].",
)
@click.option(
    "--chunk-size",
    type=click.IntRange(min=1),
    default=100_000,
    show_default=True,
    metavar="N",
    help="Segments per chunk when streaming.",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    help="Dask scheduler to run on, e.g. tcp://host:8786 (implies --engine dask).",
)
@click.option(
    "--scheduler-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for the Dask scheduler before giving up.",
)
@click.argument("hyps", nargs=-1, required=True, metavar="HYP...")
@_handle_errors
def score(
    refs: tuple[str, ...],
    source: str | None,
    lang: str | None,
    metrics: str,
    normalize: str,
    punct: bool,
    tokenize: str | None,
    ter_plain: bool,
    baseline: str | None,
    fmt: str,
    output: str | None,
    report_path: str | None,
    bootstrap: int | None,
    confidence: float | None,
    paired: str | None,
    paired_test: str,
    seed: int | None,
    cache_dir: str | None,
    engine: str,
    jobs: int | None,
    stream: bool | None,
    chunk_size: int,
    scheduler: str | None,
    scheduler_timeout: float,
    hyps: tuple[str, ...],
) -> None:
    """Score candidate files HYP (PATH or NAME=PATH) against the references."""
    engine, streaming = _streaming_mode(engine, stream, scheduler, refs[0])
    if streaming and cache_dir:
        raise EvalkitError(
            "--cache stores per-segment data, which streaming does not keep; "
            "drop it or add --no-stream"
        )
    stored = _StoredResults.open(
        cache_dir,
        "score",
        # Everything that can change the document (--jobs, --output and --report cannot).
        {
            "refs": refs,
            "source": source,
            "lang": lang,
            "metrics": metrics,
            "normalize": normalize,
            "punct": punct,
            "tokenize": tokenize,
            "ter_plain": ter_plain,
            "baseline": baseline,
            "bootstrap": bootstrap,
            "confidence": confidence,
            "paired": paired,
            "paired_test": paired_test,
            "seed": seed,
            "engine": engine,
            "hyps": hyps,
        },
        [*refs, *([source] if source else []), *_hyp_paths(hyps)],
    )
    if stored.document is not None and fmt == "json" and not report_path:
        _emit(stored.document, output)  # the common CI re-run: no scorer is even imported
        return
    if stored.document is not None:
        results = stored.results()
    else:
        from .cache import StatsCache
        from .corpus import load_testset
        from .evaluation import evaluate
        from .metrics import parse_metric_names

        names = parse_metric_names(metrics)
        opts = _stats_options(
            1000 if bootstrap is None else bootstrap,
            paired or "bs",
            paired_test,
            12345 if seed is None else seed,
            confidence or 0.95,
        )
        if streaming:
            results = _score_streamed(
                list(refs),
                list(hyps),
                metrics=names,
                normalizer=normalize,
                punct=punct,
                lang=lang,
                tokenize=tokenize,
                ter_plain=ter_plain,
                chunk_size=chunk_size,
                jobs=jobs or os.cpu_count() or 1,
                engine=engine,
                stats=opts,
                sources=source,
                baseline=baseline,
                scheduler=scheduler,
                timeout=scheduler_timeout,
            )
        else:
            ts = load_testset(list(refs), list(hyps), sources=source, lang=lang, baseline=baseline)
            cache = StatsCache(cache_dir) if cache_dir else None
            with _progress(len(ts.systems) + 2) as step:
                results = evaluate(
                    ts,
                    names,
                    normalize,
                    punct=punct,
                    tokenize=tokenize,
                    ter_plain=ter_plain,
                    stats=opts,
                    cache=cache,
                    progress=step,
                    engine=engine,
                    jobs=jobs or os.cpu_count() or 1,
                )
        stored.save(results)
    if fmt == "json" and stored.document is not None:
        rendered = stored.document  # encoded once, for the cache and for stdout
    else:
        from .render import render

        rendered = render(results, fmt, color=_stdout_is_tty() and not output)
    if report_path:
        from .report import write_report

        write_report(results, report_path)
    _emit(rendered, output)


def _hyp_paths(hyps: tuple[str, ...]) -> list[str]:
    from .corpus import parse_system_arg

    return [parse_system_arg(arg)[1] for arg in hyps]


@dataclasses.dataclass
class _StoredResults:
    """A run's entry in the results cache: its document once stored, else where to store it.

    Without ``--cache`` it is empty and every method is a no-op.
    """

    cache: Any = None
    key: str | None = None
    document: str | None = None

    @classmethod
    def open(
        cls, cache_dir: str | None, command: str, options: dict[str, Any], files: list[str]
    ) -> _StoredResults:
        if not cache_dir:
            return cls()
        from .results_cache import ResultsCache, results_key

        cache = ResultsCache(cache_dir)
        key = results_key(command, options, files)
        document = cache.get(key) if key else None
        if document is not None:  # say so: a reader may wonder why nothing was computed
            click.echo(
                f"evalkit: same code, options and input bytes as a stored run: results from "
                f"{cache.directory} (delete it to recompute)",
                err=True,
            )
        return cls(cache, key, document)

    def results(self) -> Any:
        from .results import Results

        return Results.from_json(self.document or "")

    def save(self, results: Any) -> None:
        if self.cache is not None and self.key is not None:
            self.document = results.to_json()
            self.cache.put(self.key, self.document)


def _streaming_mode(
    engine: str, stream: bool | None, scheduler: str | None, first_ref: str
) -> tuple[str, bool]:
    """(engine, whether to stream): dask always streams; by default so do big references."""
    from .errors import ConfigError

    if scheduler and engine in ("fast", "sacrebleu"):
        raise ConfigError(f"--scheduler runs on Dask; it cannot be combined with --engine {engine}")
    if scheduler or engine == "dask":
        if stream is False:
            raise ConfigError(
                "--engine dask always streams; it cannot be combined with --no-stream"
            )
        return "dask", True
    return engine, _streams(first_ref, "auto" if stream is None else stream)


def _score_streamed(refs: list[str], hyps: list[str], **kwargs: Any) -> Any:
    """evalkit.streaming.score_files with a progress bar, on Dask when the engine says so."""
    from .streaming import score_files

    with contextlib.ExitStack() as stack:
        if kwargs["engine"] == "dask":
            from .distributed import connect

            session = stack.enter_context(
                connect(kwargs.pop("scheduler"), timeout=kwargs.pop("timeout"))
            )
            if session.dashboard_link:
                click.echo(f"evalkit: Dask dashboard at {session.dashboard_link}", err=True)
            kwargs["client"] = session
        else:
            kwargs.pop("scheduler")
            kwargs.pop("timeout")
        step = stack.enter_context(_stream_progress())
        return score_files(refs, hyps, progress=step, **kwargs)


@contextlib.contextmanager
def _stream_progress() -> Iterator[Callable[[str, int, int], None] | None]:
    """Segments done / segments in all, on stderr when it is a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} segments"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("scoring", total=None)

        def step(description: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description=description)

        yield step


# --- run / report ------------------------------------------------------------------------------


@main.command()
@click.argument("suite_path", required=False, metavar="[SUITE.toml]", default="fixtures/suite.toml")
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
@_stats_flags
@_handle_errors
def run(
    suite_path: str,
    output_dir: str | None,
    fmt: str,
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
    from ._io import write_atomic
    from .cache import StatsCache
    from .produce import produce_outputs
    from .render import render, render_segments_csv
    from .report import render_report
    from .suite import load_suite

    suite = load_suite(suite_path).with_overrides(
        bootstrap=bootstrap, confidence=confidence, paired=paired, seed=seed
    )
    opts = _stats_options(suite.bootstrap, suite.paired, paired_test, suite.seed, suite.confidence)
    out = Path(output_dir) if output_dir else suite.output_dir
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
            metrics=suite.metrics,
            normalizer=suite.normalize,
            punct=suite.punct,
            lang=spec.lang,
            tokenize=suite.tokenize,
            ter_plain=suite.ter_plain,
            chunk_size=eng.chunk_size,
            jobs=n_jobs,
            engine="dask" if use_dask else extraction,
            stats=opts,
            sources=None if spec.source is None else str(spec.source),
            baseline=spec.baseline,
            name=spec.name,
            scheduler=scheduler or eng.scheduler,
            timeout=eng.timeout,
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
    files = {
        "results.json": results.to_json(),
        "segments.csv": render_segments_csv(results),
        "report.html": render_report(results, title=suite.name),
    }
    for name, content in files.items():
        write_atomic(out / name, content)
    click.echo(render(results, fmt, color=_stdout_is_tty()), nl=False)
    click.echo(
        f"wrote {', '.join(str(out / n) for n in files)} "
        f"(statistics cache: {cache.hits} hits, {cache.misses} misses)",
        err=True,
    )
    if produced:
        from .render.translators import render_translators

        click.echo(render_translators(produced), err=True, nl=False)


def _streams(first_ref: str, stream: str | bool) -> bool:
    """Whether to stream: as asked, or for ``auto`` when the reference is big (said on stderr)."""
    if stream != "auto":
        return bool(stream)
    from .streaming import EXACT_RESAMPLING_MAX_SEGMENTS, count_lines

    n = count_lines(first_ref)
    if n <= EXACT_RESAMPLING_MAX_SEGMENTS:
        return False
    click.echo(
        f"evalkit: {first_ref}: {n:,} segments: streaming (no per-segment scores; Poisson "
        f"bootstrap above {EXACT_RESAMPLING_MAX_SEGMENTS:,} segments); "
        "--no-stream loads everything",
        err=True,
    )
    return True


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


@main.command()
@click.argument("suite_path", required=False, metavar="[SUITE.toml]", default="fixtures/suite.toml")
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
    from .produce import produce_outputs
    from .suite import load_suite

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
    from .render.translators import render_translators

    click.echo(render_translators(produced), nl=False)
    for p in produced:
        click.echo(f"wrote {p.path}", err=True)


@main.command()
@click.argument("results_path", metavar="RESULTS.json")
@click.option("--output", "-o", required=True, metavar="PATH.html", help="Where to write.")
@click.option("--title", help="Page title [default: the suite name].")
@_handle_errors
def report(results_path: str, output: str, title: str | None) -> None:
    """Build the self-contained HTML report from a results.json."""
    from .errors import InputError
    from .report import write_report
    from .results import Results

    path = Path(results_path)
    if not path.is_file():
        raise InputError("results file not found" if not path.exists() else "not a file", path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError("results file is not valid UTF-8", path) from exc
    results = Results.from_json(text, str(path))
    write_report(results, output, title=title or results.meta.get("suite"))
    click.echo(f"wrote {output}", err=True)


# --- detect / normalize -----------------------------------------------------------------------


@main.command()
@click.argument("file", metavar="FILE")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@_handle_errors
def detect(file: str, as_json: bool) -> None:
    """Share of Simplified-only, Traditional-only and neutral Han characters; a verdict."""
    import json

    from ._io import read_lines
    from .detect import detect_script

    share = detect_script(read_lines(file))
    if as_json:
        click.echo(json.dumps({"file": file, **share.as_dict()}, ensure_ascii=False))
        return
    click.echo(f"{file}: {share.verdict}")
    click.echo(f"  Han characters  {share.han}")
    for kind in ("simplified", "traditional", "neutral"):
        click.echo(
            f"  {kind + '-only' if kind != 'neutral' else 'neutral':<16}"
            f"{getattr(share, kind):>6}  {share.share(kind):6.1%}"
        )


@main.command()
@click.argument("file", metavar="FILE")
@click.option(
    "--config",
    "config",
    default="t2s",
    show_default=True,
    metavar="CONFIG",
    help="OpenCC config (t2s, s2t, tw2sp, s2twp, hk2s, …) or none.",
)
@click.option("--punct", is_flag=True, help="Also fold punctuation and full-width variants.")
@click.option(
    "--diff", "show_diff", is_flag=True, help="Show only the changed lines, before and after."
)
@click.option("--output", "-o", metavar="PATH", help="Write the normalized text here.")
@_handle_errors
def normalize(file: str, config: str, punct: bool, show_diff: bool, output: str | None) -> None:
    """Normalize FILE's script (and punctuation); print the result or what changed."""
    from ._io import read_lines
    from .normalize import resolve_normalizer

    lines = read_lines(file)
    norm = resolve_normalizer(config, lang="zh", punct=punct)
    result = norm.apply(lines)
    if show_diff:
        out = []
        for i, (before, after, changed) in enumerate(
            zip(lines, result.lines, result.changed, strict=True), 1
        ):
            if changed:
                out += [f"{file}:{i}", f"- {before}", f"+ {after}"]
        out.append(f"{result.n_changed} of {len(lines)} lines changed ({norm.describe()})")
        _emit("\n".join(out) + "\n", output)
    else:
        _emit("\n".join(result.lines) + "\n", output)


# --- gate / baseline ---------------------------------------------------------------------------


@main.command()
@click.argument("suite_path", required=False, metavar="[SUITE.toml]", default="fixtures/suite.toml")
@click.option(
    "--baseline",
    "baseline_path",
    metavar="FILE",
    help="Baseline written by 'evalkit baseline' [default: [gate].baseline in the suite].",
)
@click.option(
    "--candidate",
    "candidates",
    multiple=True,
    metavar="NAME",
    help="Gate only this system (repeatable) [default: [gate].candidates, else every system "
    "but the baseline].",
)
@click.option("--junit", "junit_path", metavar="FILE.xml", help="Also write JUnit XML here.")
@click.option("--summary", "summary_path", metavar="FILE.md", help="Also write Markdown here.")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@click.option(
    "--paired",
    type=click.Choice(["bs", "ar"]),
    default=None,
    help="Paired test for p-values [default: [gate].paired, else the suite's, else bs].",
)
@click.option(
    "--bootstrap",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Resamples of the paired bootstrap [default: the suite's, 1000].",
)
@click.option(
    "--seed", type=click.IntRange(min=0), default=None, metavar="S", help="Seed [default: suite's]."
)
@click.option("--cache", "cache_dir", metavar="DIR", help="Reuse per-segment statistics here.")
@_handle_errors
def gate(
    suite_path: str,
    baseline_path: str | None,
    candidates: tuple[str, ...],
    junit_path: str | None,
    summary_path: str | None,
    fmt: str,
    paired: str | None,
    bootstrap: int | None,
    seed: int | None,
    cache_dir: str | None,
) -> None:
    """Fail (exit 1) when a candidate regressed against the baseline under the suite's rules.

    \b
    Exit codes: 0 every rule passed; 1 a rule failed (a regression); 2 bad usage or input,
    including a baseline made on other test data or with other metric/normalization settings.
    $GITHUB_STEP_SUMMARY, when set, gets the Markdown summary appended.
    """
    import os

    from ._io import write_atomic
    from .cache import StatsCache
    from .errors import ConfigError
    from .gate import (
        append_summary,
        load_gate_config,
        read_baseline,
        render_junit,
        render_markdown,
        render_table,
        run_gate,
    )
    from .suite import load_suite

    suite = load_suite(suite_path).with_overrides(bootstrap=bootstrap, seed=seed)
    config = load_gate_config(suite, cwd=Path.cwd()).with_candidates(candidates, suite)
    source = baseline_path or config.baseline
    if source is None:
        raise ConfigError("no baseline: pass --baseline FILE or set [gate].baseline", suite.path)
    base = read_baseline(source)
    opts = _stats_options(
        suite.bootstrap, paired or config.paired_test(suite), "bs", suite.seed, suite.confidence
    )
    cache = StatsCache(cache_dir) if cache_dir else None
    with _progress(sum(len(spec.systems) + 1 for spec in suite.testsets)) as step:
        result = run_gate(suite, config, base, stats=opts, cache=cache, progress=step)
    if junit_path:
        write_atomic(junit_path, render_junit(result))
    markdown = render_markdown(result)
    if summary_path:
        write_atomic(summary_path, markdown)
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        append_summary(step_summary, markdown)
    if fmt == "json":
        click.echo(result.to_json(), nl=False)
    else:
        click.echo(render_table(result, color=_stdout_is_tty()), nl=False)
    if not result.passed:
        click.get_current_context().exit(EXIT_FAIL)


@main.command("baseline")
@click.argument("suite_path", required=False, metavar="[SUITE.toml]", default="fixtures/suite.toml")
@click.option("--write", "write_path", required=True, metavar="FILE", help="Where to write.")
@click.option(
    "--system",
    metavar="NAME",
    help="The released system [default: each test set's baseline in the suite].",
)
@click.option("--cache", "cache_dir", metavar="DIR", help="Reuse per-segment statistics here.")
@_handle_errors
def baseline_command(
    suite_path: str, write_path: str, system: str | None, cache_dir: str | None
) -> None:
    """Record the released system's output, scores and signatures for 'evalkit gate'."""
    from ._io import write_atomic
    from .cache import StatsCache
    from .gate import describe_baseline, make_baseline
    from .suite import load_suite

    suite = load_suite(suite_path)
    cache = StatsCache(cache_dir) if cache_dir else None
    with _progress(len(suite.testsets)) as step:
        recorded = make_baseline(suite, system=system, cache=cache, progress=step)
    write_atomic(write_path, recorded.to_json())
    click.echo(describe_baseline(recorded, write_path), err=True, nl=False)


if __name__ == "__main__":  # pragma: no cover
    main()
