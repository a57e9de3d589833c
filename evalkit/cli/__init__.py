"""The command line: a thin click group over the Python API, one module per command family.

Each command merges defaults < suite.toml < flags, calls the API, and prints or writes the
rendered result. :class:`~evalkit.errors.EvalkitError` becomes one line on stderr and exit 2;
a failed gate is exit 1. Heavy modules are imported inside the commands so ``--help`` is quick.

    _common.py  one-line errors, output, progress bars, the statistics flags (shared)
    score.py    score (in memory, streamed, on Dask) and the results cache
    run.py      run, translate, report (whole suites)
    text.py     detect, normalize (one file's script)
    gate.py     gate, baseline (the CI regression check)

This module holds the group (the console script is ``main``) and imports a command's module
only when click asks for that command, so a results-cache hit of ``score`` loads no other command.
"""

from __future__ import annotations

import errno
import importlib
import os
import sys
import traceback
import warnings
from typing import Any

import click

from .. import __version__
from ..errors import EvalkitError

#: Command name → (module of this package, function): what ``evalkit --help`` lists.
_COMMANDS = {
    "score": ("score", "score"),
    "run": ("run", "run"),
    "translate": ("run", "translate"),
    "report": ("run", "report"),
    "detect": ("text", "detect"),
    "normalize": ("text", "normalize"),
    "gate": ("gate", "gate"),
    "baseline": ("gate", "baseline_command"),
}


class _OneLineErrorGroup(click.Group):
    """A click group whose own usage errors are one stderr line, like evalkit's other errors.

    click prints a usage block and a hint over several lines; DESIGN asks for one line naming
    the problem (and exit code 2), so scripts and CI logs can quote it whole.
    """

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        shown, warnings.showwarning = warnings.showwarning, _one_line_warning
        try:
            self._main_one_line(*args, **kwargs)
        finally:
            warnings.showwarning = shown

    def _main_one_line(self, *args: Any, **kwargs: Any) -> None:
        """click's main with every failure turned into one stderr line and evalkit's exit code."""
        given = args[0] if args else kwargs.get("args")
        argv = list(sys.argv[1:] if given is None else given)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except _StreamWriteError as failed:
            _stream_failed(failed.error)
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
        except EvalkitError as exc:  # raised outside a command body (say, by a callback)
            if _DEBUG in argv:
                traceback.print_exc()
            click.echo(f"evalkit: error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except Exception as exc:  # noqa: BLE001 - a bug or an exhausted machine: still one line
            _internal_error(exc, argv)
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        # click turns EPIPE into exit 1 itself, which must mean only "the gate failed"
        try:
            return super().invoke(ctx)
        except OSError as exc:
            if exc.errno in _STREAM_ERRNOS:
                raise _StreamWriteError(exc) from exc
            raise

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        # an unknown name loads every command: click's "Did you mean" reads self.commands
        for name in [cmd_name] if cmd_name in _COMMANDS else _COMMANDS:
            if name not in self.commands:
                module, function = _COMMANDS[name]
                command = getattr(importlib.import_module(f"{__name__}.{module}"), function)
                command.params.append(_debug_after_command())
                self.add_command(command)
        return super().get_command(ctx, cmd_name)


_DEBUG = "--debug"
_HELP_DEBUG = "Show tracebacks (the exit code stays the same)."


def _debug_after_command() -> click.Option:
    """``evalkit score … --debug`` means what ``evalkit --debug score …`` does."""

    def turn_on(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
        if value:
            ctx.find_root().params["debug"] = True

    return click.Option(
        [_DEBUG],
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=turn_on,
        help=_HELP_DEBUG,
    )


#: Writing failed because the reader went away or the device is full: no traceback for these.
_STREAM_ERRNOS = {errno.EPIPE, errno.ENOSPC, errno.EIO, errno.EFBIG, errno.EDQUOT}


def _internal_error(exc: BaseException, argv: list[str]) -> None:
    """An unexpected exception: one line and exit 2, since exit 1 means only "the gate failed"."""
    if _DEBUG in argv:
        traceback.print_exception(exc)
    detail = " ".join(str(exc).split()) or "(no message)"
    click.echo(
        f"evalkit: error: internal error: {type(exc).__name__}: {detail} "
        f"(run with {_DEBUG} for the traceback)",
        err=True,
    )
    sys.exit(2)


class _StreamWriteError(Exception):
    """An OSError of :data:`_STREAM_ERRNOS` carried past click's own EPIPE handling."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


def _stream_failed(exc: OSError) -> None:
    """Exit after standard output (or another stream) could not be written.

    A closed pipe (``evalkit score … | head -1``) ends quietly with 141 (128 + SIGPIPE), as Unix
    tools do; a full or failing device is one line and exit 2. Either way standard output is
    pointed at the null device first, so Python's final flush cannot raise a second time.
    """
    with_devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(with_devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (tests, embedding)
        pass
    finally:
        os.close(with_devnull)
    if exc.errno == errno.EPIPE:
        sys.exit(141)
    where = exc.filename or "standard output"
    click.echo(f"evalkit: error: {where}: cannot write: {exc.strerror or exc}", err=True)
    sys.exit(2)


def _one_line_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    """evalkit's warnings (a damaged cache record, …) as one ``evalkit: warning:`` line."""
    click.echo(f"evalkit: warning: {' '.join(str(message).split())}", err=True)


@click.group(cls=_OneLineErrorGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="evalkit")
@click.option(_DEBUG, is_flag=True, help=_HELP_DEBUG)
def main(debug: bool) -> None:
    """Score Chinese↔English translations exactly as sacrebleu does, with script normalization.

    \b
    Examples:
      evalkit run                                  # the bundled suite → reports/seed-article/
      evalkit score --ref ref.zh sysA.zh B=sysB.zh # BLEU, chrF, chrF++, TER with signatures
      evalkit detect output.zh                     # Simplified / Traditional / mixed
    """
