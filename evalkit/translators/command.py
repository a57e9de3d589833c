"""Run a local translator command on one batch: segments on stdin, translations on stdout.

The protocol is the plainest one a model wrapper can implement: UTF-8, one segment per line in,
the same number of lines out, exit status 0. Anything else is an error naming the command and the
batch, because a shifted line would silently misalign every later segment with its reference.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..errors import EvalkitError, InputError
from .config import TranslatorConfig
from .work import Unit, UnitResult, segment_ranges

__all__ = ["CommandBackend", "ProcessError", "check_segments", "last_line", "run_process"]

_POLL_S = 0.1  # how often a waiting batch checks whether the run was interrupted


def check_segments(sources: Sequence[str]) -> None:
    """A line break inside a segment would split it in two on the command's stdin: refuse it."""
    for number, source in enumerate(sources, 1):
        if "\n" in source or "\r" in source:
            raise InputError(
                f"source segment {number} contains a line break; a line-based translator command "
                "cannot receive it"
            )


class CommandBackend:
    """Callable on a :class:`Unit`: one process per unit, run in the suite file's folder."""

    def __init__(self, config: TranslatorConfig, *, stop: threading.Event) -> None:
        self.config = config
        self.stop = stop
        self.env = {**os.environ}
        self.env.setdefault("PYTHONIOENCODING", "utf-8")

    def __call__(self, unit: Unit) -> UnitResult:
        data = "".join(f"{s}\n" for s in unit.sources).encode("utf-8")
        start = time.perf_counter()
        out, err, status = self._run(unit, data)
        latency = time.perf_counter() - start
        if status != 0:
            detail = last_line(err)
            raise self._error(
                unit, f"exited with status {status}" + (f": {detail}" if detail else "")
            )
        try:
            text = out.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = out.count(b"\n", 0, exc.start) + 1
            raise self._error(unit, f"wrote invalid UTF-8 on output line {line}") from exc
        lines = text.split("\n")
        if lines[-1] == "":
            lines.pop()
        if len(lines) != len(unit.sources):
            raise self._error(
                unit, f"wrote {len(lines)} lines for {len(unit.sources)} input segments"
            )
        return UnitResult(tuple(line.rstrip("\r") for line in lines), latency)

    def _run(self, unit: Unit, data: bytes) -> tuple[bytes, bytes, int]:
        cfg = self.config
        try:
            return run_process(cfg.argv, cfg.cwd, self.env, data, cfg.timeout, self.stop)
        except ProcessError as exc:
            raise self._error(unit, str(exc)) from None

    def _error(self, unit: Unit, problem: str) -> EvalkitError:
        cfg = self.config
        return EvalkitError(
            f"system {cfg.name!r}: {cfg.describe()} {problem} (batch {unit.number}, "
            f"segments {segment_ranges(unit.segments)})",
            cfg.suite_path,
        )


class ProcessError(Exception):
    """A command could not be started, timed out or was stopped; ``str()`` says which."""


def run_process(
    argv: Sequence[str],
    cwd: Path,
    env: Mapping[str, str],
    data: bytes,
    timeout: float | None,
    stop: threading.Event,
) -> tuple[bytes, bytes, int]:
    """Run ``argv`` in its own process group with ``data`` on stdin: ``(stdout, stderr,
    status)``. On timeout or ``stop`` the whole group is killed (a grandchild holding stdout
    open would otherwise keep us waiting) and :class:`ProcessError` says why. Shared by
    translator commands and metric commands (evalkit.plugins)."""
    try:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            # its own process group, so a timeout also stops children holding stdout open
            start_new_session=True,
        )
    except OSError as exc:
        raise ProcessError(f"cannot be started: {exc.strerror or exc}") from exc
    deadline = None if timeout is None else time.monotonic() + timeout
    pending_input: bytes | None = data
    while True:
        try:
            out, err = proc.communicate(pending_input, timeout=_POLL_S)
            return out, err, proc.returncode
        except subprocess.TimeoutExpired:
            pending_input = None  # already handed over; retrying must not resend it
            expired = deadline is not None and time.monotonic() > deadline
            if not (expired or stop.is_set()):
                continue
            _kill_group(proc)
            proc.communicate()
            if expired:
                raise ProcessError(f"did not finish within {timeout:g} s") from None
            raise ProcessError("was stopped because the run was interrupted") from None


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill the command and everything it started: a grandchild that inherited stdout would
    otherwise keep ``communicate()`` waiting for end of file long after the timeout."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:  # the group is already gone (or the platform has no process groups)
        proc.kill()


def last_line(err: bytes) -> str:
    """The last non-empty stderr line (usually the exception message), shortened."""
    lines = [ln.strip() for ln in err.decode("utf-8", "replace").splitlines() if ln.strip()]
    if not lines:
        return ""
    last = lines[-1]
    return last if len(last) <= 200 else last[:199] + "…"
