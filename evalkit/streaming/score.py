"""The entry point: check the arguments, index every file, detect the language and normalizer,
plan one task per chunk, run the tasks on an engine and assemble the Results."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from .._io import DEFAULT_MAX_SEGMENT_CHARS
from ..corpus import _check_count, _check_target, _inputs, default_testset_name, detect_lang
from ..detect import detect_script
from ..errors import ConfigError
from ..evaluation import DEFAULT_METRICS, StatsOptions, versions
from ..metrics import ENGINES, MetricSpec, make_metric, parse_metric_names
from ..normalize import Normalizer, resolve_normalizer
from ..results import Results
from .assemble import SAMPLE_LINES, _assemble, _Plan
from .chunks import ChunkFailure, ChunkResult, ChunkTask, _fields
from .collect import _Collector
from .pool import _run_local
from .reading import (
    DEFAULT_CHUNK_SIZE,
    LineIndex,
    _read_prefix,
    index_file,
    needs_spool,
    spool_input,
)

STREAM_ENGINES: tuple[str, ...] = (*ENGINES, "dask")
"""``auto``/``fast``/``sacrebleu`` extract in this machine's processes; ``dask`` sends the
chunks to a Dask cluster (see :mod:`evalkit.distributed`), whose workers extract with ``auto``."""

StreamProgress = Callable[[str, int, int], None]
"""Called with (description, segments done, segments in all) as chunks finish; a segment
counts once per system."""


def score_files(
    refs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    systems: Mapping[str, str | os.PathLike[str]] | Sequence[str],
    *,
    metrics: str | Sequence[str] = DEFAULT_METRICS,
    normalizer: str | Normalizer | None = "auto",
    punct: bool = False,
    lang: str | None = None,
    tokenize: str | None = None,
    ter_plain: bool = False,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    jobs: int = 1,
    engine: str = "auto",
    stats: StatsOptions | None = None,
    progress: StreamProgress | None = None,
    sources: str | os.PathLike[str] | None = None,
    baseline: str | None = None,
    name: str | None = None,
    scheduler: str | None = None,
    client: Any = None,
    timeout: float = 10.0,
    meta: dict[str, object] | None = None,
    max_segment_chars: int = DEFAULT_MAX_SEGMENT_CHARS,
) -> Results:
    """Score candidate files against reference files without holding their text; a
    :class:`Results` whose test set has ``segment_data=None``.

    Same arguments and numbers as ``evaluate(load_testset(refs, systems, ...))`` (see the module
    docstring for resampling above :data:`EXACT_RESAMPLING_MAX_SEGMENTS`). ``lang`` and, for
    ``normalizer="auto"``, the reference's script are detected from its first
    :data:`SAMPLE_LINES` lines. ``jobs`` > 1 scores chunks in that many local processes.
    ``engine="dask"`` runs the chunks on a Dask cluster: ``client`` (a ``distributed.Client`` or
    an :func:`evalkit.distributed.connect` session), else the scheduler at ``scheduler``, else a
    new local cluster; ``timeout`` bounds the wait for the scheduler. A line over
    ``max_segment_chars`` characters stops the run as soon as it is read.
    """
    if engine not in STREAM_ENGINES:
        raise ConfigError(f"unknown engine {engine!r}; use one of {', '.join(STREAM_ENGINES)}")
    if chunk_size < 1:
        raise ConfigError(f"chunk size must be at least 1, got {chunk_size}")
    ref_paths, pairs = _inputs(refs, systems)
    metric_names = parse_metric_names(metrics)
    opts = stats or StatsOptions()

    # A read-once input (FIFO, process substitution) is spooled to a temporary file once, since
    # it is read twice (indexed, then read by byte range); the copies go when scoring is done.
    with tempfile.TemporaryDirectory(prefix="evalkit-spool-") as spool_dir:

        def opened(path: Any) -> Any:
            if not needs_spool(path):
                return path
            return spool_input(path, spool_dir, max_segment_chars=max_segment_chars)

        def index(path: Any) -> LineIndex:
            return index_file(opened(path), chunk_size, max_segment_chars=max_segment_chars)

        # Index every file in load_testset's order (structure and counts fail before any scoring).
        ref_ix = [index(p) for p in ref_paths]
        n, first = ref_ix[0].n_lines, ref_ix[0].given
        for ix in ref_ix[1:]:
            _check_count(ix.given, ix.n_lines, first, n, "reference")
        src_ix = None
        if sources is not None:
            src_ix = index(sources)
            _check_count(src_ix.given, src_ix.n_lines, first, n, "source")
        sys_ix: dict[str, LineIndex] = {}
        for sys_name, path in pairs:
            sys_ix[sys_name] = index(path)
            _check_count(sys_ix[sys_name].given, sys_ix[sys_name].n_lines, first, n, "candidate")

        sample = _read_prefix(ref_ix[0], min(n, SAMPLE_LINES))
        lang = _check_target(lang or detect_lang(sample), baseline, sys_ix)
        sample_script = detect_script(sample) if lang == "zh" else None
        norm = resolve_normalizer(
            normalizer,
            lang=lang,
            reference_script=sample_script.verdict if sample_script else None,
            punct=punct,
        )
        specs = [make_metric(m, lang, tokenize=tokenize, ter_plain=ter_plain) for m in metric_names]
        testset = name or default_testset_name(ref_ix[0].label)
        tasks = _tasks(ref_ix, src_ix, sys_ix, norm, specs, lang, engine, split=engine == "dask")
        collector = _Collector(len(ref_ix[0].starts), tuple(sys_ix), metric_names)
        total = n * len(sys_ix)
        done = 0

        def consume(results: Iterable[ChunkResult | ChunkFailure]) -> None:
            nonlocal done
            for result in results:
                done += collector.add(result)
                if collector.failure is not None and engine != "dask":
                    raise collector.failure.error  # local results arrive in reading order
                if progress:
                    progress(f"{testset}: scoring", done, total)

        if engine == "dask":
            from ..distributed import run_tasks, session

            with session(client, scheduler, timeout=timeout) as active:
                consume(run_tasks(active, tasks))
            if collector.failure is not None:
                raise collector.failure.error
        else:
            consume(_run_local(tasks, jobs))

        if progress:
            progress(f"{testset}: resampling", total, total)
        plan = _Plan(testset, lang, n, len(ref_paths), specs, norm, normalizer, opts, jobs)
        result = _assemble(plan, collector, baseline or next(iter(sys_ix)))
        info = {"versions": versions(), **(meta or {})}
        return Results(testsets=(result,), evalkit_version=info["versions"]["evalkit"], meta=info)


def _tasks(
    ref_ix: list[LineIndex],
    src_ix: LineIndex | None,
    sys_ix: Mapping[str, LineIndex],
    norm: Normalizer,
    specs: Sequence[MetricSpec],
    lang: str,
    engine: str,
    *,
    split: bool,
) -> list[ChunkTask]:
    """One task per chunk (all systems: the references are normalized once), or with ``split``
    one per (system, chunk) for a cluster, where more, smaller tasks spread better."""
    fields = tuple(_fields(s) for s in specs)
    extract = "auto" if engine == "dask" else engine
    k = len(ref_ix)
    src_order = k
    sys_order = {s: k + (src_ix is not None) + i for i, s in enumerate(sys_ix)}
    out = []
    for c in range(len(ref_ix[0].starts)):
        refs = tuple(ix.range(c, order=i) for i, ix in enumerate(ref_ix))
        extra = () if src_ix is None else (src_ix.range(c, order=src_order),)
        hyps = [(s, ix.range(c, order=sys_order[s])) for s, ix in sys_ix.items()]
        groups = [[h] for h in hyps] if split else [hyps]
        for g, group in enumerate(groups):
            out.append(
                ChunkTask(
                    index=c,
                    refs=refs,
                    hyps=tuple(group),
                    normalizer=norm,
                    metrics=fields,
                    lang=lang,
                    engine=extract,
                    extra=extra if g == 0 else (),
                    ref_info=g == 0,
                )
            )
    return out
