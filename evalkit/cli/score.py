"""``evalkit score``: candidate files against references, in memory or streamed chunk by chunk.

Also holds what ``run`` borrows for big test sets (:func:`_score_streamed`) and the results
cache that lets an identical re-run print its stored document without importing a scorer.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

import click

from .._io import DEFAULT_MAX_SEGMENT_CHARS
from ..errors import EvalkitError
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
    _table_width,
)

#: score's parameters that cannot change the results document (where it goes, how it is shown,
#: how fast it is made); every other one is part of the results-cache key, so a new flag is too.
#: (--stream and --scheduler cannot be combined with --cache; --chunk-size only acts on --stream.)
_NOT_IN_DOCUMENT = frozenset(
    {
        "fmt",
        "output",
        "report_path",
        "title",
        "cache_dir",
        "jobs",
        "stream",
        "chunk_size",
        "scheduler",
        "scheduler_timeout",
        "max_segment_chars",  # inputs are read with it before the key: a hit met it too
        "sort",
    }
)


@click.command()
@click.option(
    "--ref",
    "refs",
    multiple=True,
    metavar="REF",
    help="Reference file (repeat for several references); also ref.gz, out.jsonl#field, "
    "data.tsv#2, test.xml#ref (see README, Input formats).",
)
@click.option(
    "--testset",
    metavar="NAME:SRC-TGT",
    help="References and source of a sacrebleu test set already in its local folder "
    "(e.g. wmt22:en-zh); never downloads.",
)
@click.option("--src", "source", metavar="SRC", help="Source file (shown in reports).")
@click.option(
    "--name",
    metavar="NAME",
    help="Test set name in every output [default: the reference's file name (newstest.zh → "
    "newstest), or its folder's for a generic one (wmt22/en-zh/ref.zh → en-zh)].",
)
@click.option(
    "--title",
    metavar="TEXT",
    help="Title of the --report page [default: the test set's name, target language and size].",
)
@click.option(
    "--lang",
    type=click.Choice(["zh", "en"]),
    help="Target language [default: detected from the reference].",
)
@click.option(
    "--metrics",
    default="bleu,chrf,chrf++,ter",
    show_default=True,
    help="Comma-separated metrics: bleu, chrf, chrf++, ter, and any --metric-command NAME.",
)
@click.option(
    "--metric-command",
    "metric_commands",
    multiple=True,
    metavar="NAME[:FORMAT]=COMMAND",
    help="Declare an out-of-process segment metric (e.g. COMET in its own virtualenv) with "
    "placeholders {src} {hyp} {ref} {out}; FORMAT: lines (default), jsonl, comet, comet-json. "
    "Scored in addition to --metrics unless --metrics names it. Repeatable.",
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
@click.option(
    "--output",
    "-o",
    metavar="PATH",
    help="Write the rendered output here (atomically; '-' is standard output).",
)
@click.option(
    "--report",
    "report_path",
    metavar="PATH.html",
    help="Also write the HTML report here ('-': standard output).",
)
@_sort_option("score")
@_stats_flags
@_cache_option(
    "; also reuses the whole results of an identical run (same code, options, input bytes)."
)
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
@click.option(
    "--max-segment-chars",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_SEGMENT_CHARS,
    show_default=True,
    metavar="N",
    help="Longest line accepted, in characters; a longer one stops the run (exit 2) as soon "
    "as it is read.",
)
@click.argument("hyps", nargs=-1, required=True, metavar="HYP...")
@_handle_errors
def score(
    refs: tuple[str, ...],
    testset: str | None,
    source: str | None,
    name: str | None,
    title: str | None,
    lang: str | None,
    metrics: str,
    metric_commands: tuple[str, ...],
    normalize: str,
    punct: bool,
    tokenize: str | None,
    ter_plain: bool,
    baseline: str | None,
    fmt: str,
    output: str | None,
    report_path: str | None,
    sort: str,
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
    max_segment_chars: int,
    hyps: tuple[str, ...],
) -> None:
    """Score candidate files HYP (PATH or NAME=PATH) against the references."""
    refs, source, lang = _references(refs, testset, source, lang)
    _refuse_output_onto_input(
        [("-o", output), ("--report", report_path)],
        [
            *(("reference file", ref) for ref in refs),
            ("source file", source),
            *(("hypothesis file", hyp) for _, hyp in _system_pairs(list(hyps))),
        ],
    )
    first = _countable(refs[0], stream, engine, scheduler, max_segment_chars)
    engine, streaming = _streaming_mode(engine, stream, scheduler, first)
    if streaming and cache_dir:
        raise EvalkitError(
            "--cache stores per-segment data, which streaming does not keep; "
            "drop it or add --no-stream"
        )
    refs = (first, *refs[1:])
    # In memory, every input is read once, here: the cache key and the scores use that read.
    inputs = None if streaming else _read_once(refs, source, hyps, max_segment_chars)
    params = click.get_current_context().params
    stored = _StoredResults.open(
        cache_dir,
        "score",
        {k: v for k, v in params.items() if k not in _NOT_IN_DOCUMENT},
        list(inputs.values()) if inputs else [],
    )
    if stored.document is not None and fmt == "json" and not report_path:
        _emit(stored.document, output)  # the common CI re-run: no scorer is even imported
        return
    if stored.document is not None:
        results = stored.results()
    else:
        from ..cache import StatsCache
        from ..corpus import load_testset
        from ..evaluation import StatsOptions, evaluate
        from ..ordering import check_sort
        from ..plugins import declared_metrics

        names = declared_metrics(metrics, metric_commands, cache_dir)
        check_sort(sort, [m if isinstance(m, str) else m.name for m in names])
        if streaming and any(not isinstance(m, str) for m in names):
            raise EvalkitError(
                "--metric-command metrics need the segments in memory; add --no-stream"
            )
        default = StatsOptions()  # the API's defaults are the command line's
        opts = _stats_options(
            default.bootstrap if bootstrap is None else bootstrap,
            paired or default.paired,
            paired_test,
            default.seed if seed is None else seed,
            confidence or default.confidence,
        )
        _warn_settings(opts)
        scoring: dict[str, Any] = {
            "metrics": names,
            "normalizer": normalize,
            "punct": punct,
            "tokenize": tokenize,
            "ter_plain": ter_plain,
            "stats": opts,
            "engine": engine,
            "jobs": jobs or os.cpu_count() or 1,
        }
        if streaming:
            results = _score_streamed(
                list(refs),
                list(hyps),
                lang=lang,
                sources=source,
                baseline=baseline,
                name=name,
                chunk_size=chunk_size,
                scheduler=scheduler,
                timeout=scheduler_timeout,
                max_segment_chars=max_segment_chars,
                **scoring,
            )
        else:
            ts = load_testset(
                [inputs[str(r)] for r in refs],
                {name: inputs[path] for name, path in _system_pairs(list(hyps))},
                sources=inputs[source] if source else None,
                lang=lang,
                baseline=baseline,
                name=name,
            )
            if lang:
                _warn_lang(refs[0], ts.refs[0], lang)
            cache = StatsCache(cache_dir) if cache_dir else None
            with _progress(len(ts.systems) + 2) as step:
                results = evaluate(ts, cache=cache, progress=step, **scoring)
        stored.save(results)
    if fmt == "json" and stored.document is not None:
        rendered = stored.document  # encoded once, for the cache and for stdout
    else:
        from ..render import render

        to_terminal = _stdout_is_tty() and output in (None, "-")
        rendered = render(
            results,
            fmt,
            color=to_terminal,
            width=_table_width() if to_terminal else None,
            sort=sort,
        )
    if report_path:
        from ..report import render_report

        _emit(render_report(results, title=title, sort=sort), report_path)
    _emit(rendered, output)


def _references(
    refs: tuple[str, ...], testset: str | None, source: str | None, lang: str | None
) -> tuple[tuple[str, ...], str | None, str | None]:
    """--ref, or --testset's references; --testset also gives the source and the target
    language unless --src / --lang say otherwise."""
    from ..errors import ConfigError

    if testset is None:
        if not refs:
            raise ConfigError("give the references: --ref REF (or --testset NAME:SRC-TGT)")
        return refs, source, lang
    if refs:
        raise ConfigError("--testset gives the references; drop --ref or --testset")
    from ..formats import local_testset

    local = local_testset(testset)
    return local.refs, source or local.source, lang or local.lang


def _warn(message: str) -> None:
    click.echo(f"evalkit: warning: {message}", err=True)


def _warn_settings(opts: Any) -> None:
    """Say on stderr when the statistics settings make the p-values less than they look
    (too few resamples to ever reach the * level; resamples drawn although --bootstrap 0)."""
    from ..render._cells import ALPHA

    for message in opts.warnings(ALPHA):
        _warn(message)


def _warn_lang(path: str, lines: Any, lang: str) -> None:
    """Warn when a reference does not look written in the target language given for it."""
    from ..corpus import lang_mismatch

    problem = lang_mismatch(lines, lang)
    if problem:
        _warn(f"{path}: {problem}")


def _system_pairs(hyps: list[str]) -> list[tuple[str, str]]:
    from ..corpus import _system_pairs

    return [(name, str(path)) for name, path in _system_pairs(hyps)]


def _read_once(
    refs: tuple[Any, ...], source: str | None, hyps: tuple[str, ...], limit: int
) -> dict[str, Any]:
    """Every distinct input read once, in load_testset's order, keyed by the name as given (a
    FIFO cannot be read twice, nor opened twice: the second open waits for another writer)."""
    from .._io import read_input

    files: dict[str, Any] = {}
    pairs = _system_pairs(list(hyps))  # a duplicate system name fails before anything is read
    for path in [*refs, *([source] if source else []), *(p for _, p in pairs)]:
        if str(path) not in files:
            files[str(path)] = read_input(path, max_segment_chars=limit, name=str(path))
    return files


def _countable(
    first_ref: str, stream: bool | None, engine: str, scheduler: str | None, limit: int
) -> Any:
    """The first reference, as the stream-or-not decision may count its lines: a read-once
    input (FIFO, ``<(zcat ref.gz)``) is first spooled once to a temporary file, removed when
    the command ends, so that counting it does not consume it."""
    from .._io import is_stream

    if stream is not None or scheduler or engine == "dask" or not is_stream(first_ref):
        return first_ref
    from ..streaming.reading import spool_input

    spool_dir = tempfile.TemporaryDirectory(prefix="evalkit-spool-")
    return spool_input(
        first_ref,
        click.get_current_context().with_resource(spool_dir),
        max_segment_chars=limit,
    )


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
        cls, cache_dir: str | None, command: str, options: dict[str, Any], files: list[Any]
    ) -> _StoredResults:
        if not cache_dir:
            return cls()
        from ..results_cache import ResultsCache, results_key

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
        from ..results import Results

        return Results.from_json(self.document or "")

    def save(self, results: Any) -> None:
        if self.cache is not None and self.key is not None:
            self.document = results.to_json()
            self.cache.put(self.key, self.document)


def _streaming_mode(
    engine: str, stream: bool | None, scheduler: str | None, first_ref: str
) -> tuple[str, bool]:
    """(engine, whether to stream): dask always streams; by default so do big references."""
    from ..errors import ConfigError

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
    from ..streaming import score_files

    with contextlib.ExitStack() as stack:
        if kwargs["engine"] == "dask":
            from ..distributed import connect

            session = stack.enter_context(connect(kwargs["scheduler"], timeout=kwargs["timeout"]))
            if session.dashboard_link:
                click.echo(f"evalkit: Dask dashboard at {session.dashboard_link}", err=True)
            kwargs["client"] = session  # score_files uses it instead of connecting again
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
