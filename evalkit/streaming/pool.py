"""Run work in order in this process or in a few local processes, memory bounded: the local
chunk engine, and the resampling's block groups."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice
from typing import Any

from .chunks import ChunkFailure, ChunkResult, ChunkTask, run_chunk


def _ordered_map(fn: Callable[[Any], Any], items: Iterable[Any], jobs: int) -> Iterator[Any]:
    """``map(fn, items)`` in order: here, or in ``jobs`` processes with a few items in flight
    (so memory stays bounded whatever the file size). After a ChunkFailure, nothing more is
    started."""
    todo = iter(items)
    if jobs <= 1:
        yield from map(fn, todo)
        return
    pending: deque[Future[Any]] = deque()
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for item in islice(todo, 2 * jobs):
            pending.append(pool.submit(fn, item))
        while pending:
            result = pending.popleft().result()
            if isinstance(result, ChunkFailure):
                for fut in pending:
                    fut.cancel()
                pending.clear()
            else:
                nxt = next(todo, None)
                if nxt is not None:
                    pending.append(pool.submit(fn, nxt))
            yield result


def _run_local(tasks: Sequence[ChunkTask], jobs: int) -> Iterator[ChunkResult | ChunkFailure]:
    """The chunks in task order, in this process or in ``jobs`` local processes."""
    return _ordered_map(run_chunk, tasks, min(jobs, len(tasks)))
