"""Translate a test set's sources with a configured translator, reusing and filling the cache.

Only segments missing from the cache are sent, each distinct source once. Work runs on at most
``jobs`` threads (concurrent requests for an endpoint, concurrent batch processes for a command);
results are stored and reported from the calling thread as each unit finishes, so an interrupted
run keeps everything finished before the interruption. When one unit fails, no new work starts,
units already running are allowed to finish (and are cached), then the first error is raised.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, EvalkitError, InputError
from .cache import CachedSegment, TranslationCache, segment_key
from .command import CommandBackend, check_segments
from .config import TranslatorConfig
from .timing import TranslationStats, summarize
from .work import Unit, UnitResult, batches

__all__ = ["TranslationRun", "one_line", "schedule", "translate"]

ProgressCallback = Callable[[int, int], None]
_BREAKS = re.compile(r"\s*[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]+\s*")


@dataclass(frozen=True)
class TranslationRun:
    """The translations, aligned one-to-one with the sources, and how they were obtained."""

    lines: tuple[str, ...]
    stats: TranslationStats


def one_line(text: str) -> str:
    """Make a translation fit the one-segment-per-line contract: surrounding whitespace is
    stripped and every line break inside (with the spaces around it) becomes a single space."""
    return _BREAKS.sub(" ", text.strip())


def translate(
    config: TranslatorConfig,
    sources: Sequence[str],
    *,
    source_lang: str,
    target_lang: str,
    cache_dir: Path,
    jobs: int = 4,
    refresh: bool = False,
    progress: ProgressCallback | None = None,
) -> TranslationRun:
    """Translate ``sources``; cached segments are reused unless ``refresh`` is true.

    Every translation goes through :func:`one_line`, for commands and endpoints alike.
    ``progress(done, total)`` is called from the calling thread, first with the number of
    segments already cached, then after each finished unit; an exception it raises (e.g.
    KeyboardInterrupt) stops the run with all finished segments safely cached.
    """
    started = time.perf_counter()
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ConfigError(f"jobs must be a whole number >= 1, got {jobs!r}")
    sources = list(sources)
    for number, source in enumerate(sources, 1):
        if not isinstance(source, str):
            raise InputError(f"source segment {number} is {type(source).__name__}, not text")
    if config.kind == "command":
        check_segments(sources)

    fingerprint = config.fingerprint()
    keys = [segment_key(fingerprint, source_lang, target_lang, s) for s in sources]
    cache = TranslationCache(Path(cache_dir), fingerprint, config.describe())
    known = {} if refresh else cache.load()
    results: dict[str, CachedSegment] = {k: known[k] for k in keys if k in known}
    pending: dict[str, int] = {}  # key → 1-based number of the first segment with that source
    for number, key in enumerate(keys, 1):
        if key not in results:
            pending.setdefault(key, number)
    multiplicity = Counter(keys)
    total = len(sources)
    done = total - sum(multiplicity[k] for k in pending)
    if progress is not None:
        progress(done, total)

    latencies: list[float] = []
    usage: list[tuple[int | None, int | None]] = []
    unit_keys: dict[int, list[str]] = {}

    def finished(unit: Unit, result: UnitResult) -> None:
        nonlocal done
        ukeys = unit_keys.pop(unit.number)
        entries = [
            (key, CachedSegment(one_line(text), result.prompt_tokens, result.completion_tokens))
            for key, text in zip(ukeys, result.texts, strict=True)
        ]
        cache.append(entries)  # durable before it counts as done
        results.update(entries)
        if result.latency_s is not None:
            latencies.append(result.latency_s)
            usage.append((result.prompt_tokens, result.completion_tokens))
        done += sum(multiplicity[k] for k in ukeys)
        if progress is not None:
            progress(done, total)

    def units() -> Iterator[Unit]:
        size = 1 if config.kind == "endpoint" else config.batch_size or len(pending)
        for number, keys, numbers in batches(list(pending.items()), size):
            unit_keys[number] = keys
            yield Unit(number, tuple(numbers), tuple(sources[n - 1] for n in numbers))

    if pending:
        stop = threading.Event()
        with _backend(config, jobs, stop, source_lang, target_lang) as work:
            schedule(units(), work, jobs, stop, finished)

    translated = sum(multiplicity[k] for k in pending)
    pt = [p for p, _ in usage if p is not None]
    ct = [c for _, c in usage if c is not None]
    stats = summarize(
        segments=total,
        translated=translated,
        translated_chars=sum(len(s) for s, k in zip(sources, keys, strict=True) if k in pending),
        wall_time_s=time.perf_counter() - started,
        latencies=latencies,
        prompt_tokens=sum(pt) if pt else None,
        completion_tokens=sum(ct) if ct else None,
    )
    return TranslationRun(tuple(results[k].text for k in keys), stats)


def _backend(
    config: TranslatorConfig, jobs: int, stop: threading.Event, source_lang: str, target_lang: str
) -> AbstractContextManager[Callable[[Unit], UnitResult]]:
    if config.kind == "command":
        return nullcontext(CommandBackend(config, stop=stop))
    from .endpoint import EndpointBackend  # httpx loads only when an endpoint is used

    return EndpointBackend(
        config, jobs=jobs, stop=stop, source_lang=source_lang, target_lang=target_lang
    )


def schedule(
    units: Iterator[Unit],
    work: Callable[[Unit], UnitResult],
    jobs: int,
    stop: threading.Event,
    finished: Callable[[Unit, UnitResult], None],
) -> None:
    """Run units on ``jobs`` threads, at most ``jobs`` at a time, calling ``finished`` here."""
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="evalkit-translate")
    running: dict[Future[UnitResult], Unit] = {}
    failure: EvalkitError | None = None
    try:
        while True:
            while failure is None and len(running) < jobs:
                unit = next(units, None)
                if unit is None:
                    break
                running[pool.submit(work, unit)] = unit
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=lambda f: running[f].number):
                unit = running.pop(future)
                try:
                    result = future.result()
                except EvalkitError as exc:
                    failure = failure or exc
                    continue
                finished(unit, result)
        if failure is not None:
            raise failure
    finally:
        stop.set()  # aborts back-off sleeps and waiting batch processes of abandoned units
        pool.shutdown(wait=False, cancel_futures=True)
