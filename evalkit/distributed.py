"""DISTRIBUTE: run the streaming engine's chunk tasks on a Dask cluster.

Why: one machine scores ~40k segments/s per core (BLEU + chrF, bench_streaming.py); a corpus of
hundreds of millions of segments, or many systems, wants more cores than one machine has. The
unit of work is :func:`evalkit.streaming.run_chunk` on one (system, chunk) task — paths, byte
ranges, line numbers, the normalizer and metric fields, a few hundred bytes — so the text is
read *by the workers* from paths (or fsspec URLs) they can reach and never passes through the
client. Only the per-segment statistics come back; resampling, gating and reporting stay on the
client, so the numbers are the local engine's: same arrays, same code after them.

Failures: a worker that dies has its tasks rerun by the scheduler (and ``retries`` reruns tasks
that raised), so the run finishes with the same result. Bad input is not an exception on the
worker but a returned :class:`~evalkit.streaming.ChunkFailure` (never retried), and the client
raises the one the local engine would have met first. An unreachable scheduler is an
:class:`~evalkit.errors.EvalkitError` after ``timeout`` seconds.

Dask is optional: ``pip install 'evalkit[dask]'``. Nothing here prints; distributed's own
logging is turned down to errors while a session is open.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError, EvalkitError
from .streaming import ChunkFailure, ChunkResult, ChunkTask, run_chunk

__all__ = ["DEFAULT_RETRIES", "INSTALL_HINT", "DaskSession", "connect", "run_tasks", "session"]

DEFAULT_RETRIES = 3
"""Reruns of a task that raised (bad input never raises: it is returned, so never rerun)."""

INSTALL_HINT = "install it with pip install 'evalkit[dask]'"


def _distributed() -> Any:
    """The ``distributed`` module, or a one-line error naming the extra to install."""
    try:
        import distributed
    except ImportError as exc:
        raise ConfigError(f"the dask engine needs dask.distributed; {INSTALL_HINT}") from exc
    return distributed


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def _has_bokeh() -> bool:
    """The dashboard's pages need bokeh; without it the link would show an empty page."""
    try:
        import bokeh  # noqa: F401
    except ImportError:
        return False
    return True


@contextlib.contextmanager
def _quiet_logs(level: int = logging.ERROR) -> Iterator[None]:
    """Dask logs worker restarts and shutdowns as warnings on stderr; a library prints nothing."""
    logger = logging.getLogger("distributed")
    old = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(old)


@contextlib.contextmanager
def _default_malloc() -> Iterator[None]:
    """Start workers without Dask's ``MALLOC_TRIM_THRESHOLD_``.

    Setting it at all turns off glibc's adaptive mmap threshold, so every multi-megabyte numpy
    temporary of the extraction is a fresh mmap with its page faults: chunks measured 1.5x
    slower. (A cluster started elsewhere keeps its own setting; see the README.)
    """
    import dask

    key = "distributed.nanny.pre-spawn-environ"
    env = {k: v for k, v in dask.config.get(key, {}).items() if k != "MALLOC_TRIM_THRESHOLD_"}
    with dask.config.set({key: env}):
        yield


@dataclass(frozen=True)
class DaskSession:
    """A connected client; ``dashboard_link`` for the CLI to show (None: no dashboard)."""

    client: Any
    dashboard_link: str | None
    address: str
    local: bool


def _dashboard(client: Any) -> str | None:
    """The dashboard's address when it can show one (it needs bokeh)."""
    if not _has_bokeh():
        return None
    try:
        services = client.scheduler_info().get("services", {})
        return str(client.dashboard_link) if "dashboard" in services else None
    except Exception:  # noqa: BLE001 - a missing dashboard is never an error
        return None


def _checked_address(dist: Any, address: str) -> str:
    """Reject a malformed address up front (a Client built on one never closes cleanly)."""
    try:
        scheme, location = dist.comm.parse_address(address)
        if scheme in ("tcp", "tls"):
            dist.comm.parse_host_port(location)
    except (ValueError, TypeError) as exc:
        reason = " ".join(str(exc).split())
        raise ConfigError(
            f"invalid Dask scheduler address {address!r} ({reason}); expected tcp://host:port"
        ) from exc
    return address


@contextlib.contextmanager
def connect(
    scheduler: str | None = None, *, timeout: float = 10.0, n_workers: int | None = None
) -> Iterator[DaskSession]:
    """Connect to the scheduler at ``scheduler`` (``tcp://host:8786``), or start a local cluster.

    The local cluster has one single-threaded worker process per core (``n_workers``) and its
    HTTP server on a free port (the dashboard, when bokeh is installed). Everything is closed
    on exit (a remote cluster is only disconnected from).
    """
    dist = _distributed()
    with _quiet_logs():
        cluster = None
        if scheduler is None:
            with _default_malloc():
                cluster = dist.LocalCluster(
                    n_workers=n_workers or _cores(),
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=":0",  # a free port: None would still bind 8787
                    silence_logs=logging.ERROR,
                )
            target: Any = cluster
        else:
            target = _checked_address(dist, scheduler)
        try:
            client = dist.Client(target, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            if cluster is not None:
                cluster.close()
            reason = " ".join(str(exc).split())
            hint = "" if reason.startswith("Timed out") else f" ({reason})"
            raise EvalkitError(
                f"cannot reach the Dask scheduler at {scheduler} within {timeout:g} s{hint}; "
                "is it running, and reachable from this machine?"
            ) from exc
        try:
            yield DaskSession(
                client=client,
                dashboard_link=_dashboard(client),
                address=str(client.scheduler.address),
                local=cluster is not None,
            )
        finally:
            client.close()
            if cluster is not None:
                cluster.close()


@contextlib.contextmanager
def session(
    client: Any = None, scheduler: str | None = None, *, timeout: float = 10.0
) -> Iterator[DaskSession]:
    """Use ``client`` (a DaskSession or a ``distributed.Client``) as is, else :func:`connect`."""
    if isinstance(client, DaskSession):
        yield client
    elif client is not None:
        with _quiet_logs():
            yield DaskSession(client, _dashboard(client), str(client.scheduler.address), False)
    else:
        with connect(scheduler, timeout=timeout) as opened:
            yield opened


def run_tasks(
    active: DaskSession | Any,
    tasks: Sequence[ChunkTask],
    *,
    retries: int = DEFAULT_RETRIES,
) -> Iterator[ChunkResult | ChunkFailure]:
    """Submit every task and yield results as they complete (in any order).

    After a :class:`ChunkFailure`, tasks of later chunks are cancelled (they cannot hold the
    first error) and earlier ones are still awaited, so the caller can report the failure with
    the smallest (chunk, file) key: the one the local engine reports.
    """
    dist = _distributed()
    client = active.client if isinstance(active, DaskSession) else active
    token = uuid.uuid4().hex[:12]
    futures = {
        client.submit(
            run_chunk, task, key=f"evalkit-chunk-{token}-{i}", retries=retries, pure=False
        ): task
        for i, task in enumerate(tasks)
    }
    waiting = set(futures)
    try:
        # as_completed also yields cancelled futures; loop= spares it a default client
        for fut in dist.as_completed(list(futures), loop=client.loop):
            waiting.discard(fut)
            if fut.cancelled():
                continue
            result = _result(fut)
            fut.release()
            if isinstance(result, ChunkFailure):
                later = [w for w in waiting if futures[w].index > result.index]
                if later:
                    client.cancel(later)
            yield result
    finally:
        if waiting:
            client.cancel(list(waiting))


def _result(fut: Any) -> ChunkResult | ChunkFailure:
    """The task's value; an infrastructure failure (after retries) as one line."""
    try:
        return fut.result()
    except EvalkitError:
        raise
    except Exception as exc:  # noqa: BLE001 - KilledWorker, CommClosedError, a worker's bug …
        detail = " ".join(str(exc).split())
        raise EvalkitError(f"a Dask task failed: {type(exc).__name__}: {detail}") from exc
