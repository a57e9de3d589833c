"""What the commands share: one-line errors, output, progress bars, the statistics flags, and
whether a reference is big enough to stream (score and run both ask).

Cheap to import, like the commands: rich and the evaluation modules load inside the functions.
"""

from __future__ import annotations

import contextlib
import functools
import shutil
import sys
import traceback
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import click

from ..errors import EvalkitError

F = TypeVar("F", bound=Callable[..., Any])


def _handle_errors(func: F) -> F:
    """Turn EvalkitError into ``evalkit: error: <file>:<line>: <problem>`` and exit 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        try:
            with _warnings_on_stderr():
                return func(*args, **kwargs)
        except EvalkitError as exc:
            if ctx.find_root().params.get("debug"):
                click.echo(traceback.format_exc().rstrip("\n"), err=True)
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


def _stdout_is_tty() -> bool:
    return sys.stdout.isatty()


def _table_width() -> int | None:
    """The terminal's width when standard output is one; None (the renderer's piped width,
    with no padding) otherwise."""
    return shutil.get_terminal_size().columns if _stdout_is_tty() else None


def _emit(text: str, output: str | None) -> None:
    """Every output of every command: standard output for none or ``-``, else a file written by
    evalkit._io.write_output (atomic for a regular file, through a symlink, in place for a
    stream; never a renamed temporary over a device or a FIFO)."""
    if output is None or output == "-":
        click.echo(text, nl=False)
        return
    from .._io import write_output

    write_output(output, text)


def _refuse_output_onto_input(
    outputs: list[tuple[str, str | None]], inputs: list[tuple[str, Any]], suite: Any = None
) -> None:
    """Before anything is computed: exit 2 when an output is one of the run's inputs (including
    every file the suite names, when there is one), rather than overwrite it at the end."""
    from .._io import refuse_output_onto_input

    if suite is not None:
        inputs = [*inputs, ("suite file", suite.path)]
        for spec in suite.testsets:
            inputs += [("reference file", ref) for ref in spec.refs]
            inputs += [("source file", spec.source)]
            inputs += [(f"output file of system {s.name!r}", s.path) for s in spec.systems]
    refuse_output_onto_input(outputs, inputs)


@contextlib.contextmanager
def _warnings_on_stderr() -> Iterator[None]:
    """evalkit's own warnings (a cache it cannot write) as one ``evalkit: warning:`` line each,
    a repeated one only once; any other warning is shown as Python would."""
    import warnings

    from .._io import CacheWriteWarning

    with warnings.catch_warnings():
        warnings.simplefilter("always", CacheWriteWarning)
        python_show, seen = warnings.showwarning, set()

        def show(message: Any, category: type[Warning], *args: Any, **kwargs: Any) -> None:
            if not issubclass(category, CacheWriteWarning):
                python_show(message, category, *args, **kwargs)
            elif str(message) not in seen:  # the statistics and results caches share a folder
                seen.add(str(message))
                click.echo(f"evalkit: warning: {message}", err=True)

        warnings.showwarning = show
        yield


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
    from ..evaluation import StatsOptions

    if paired == "all":
        return StatsOptions(bootstrap, paired_test, True, seed, confidence)
    return StatsOptions(bootstrap, paired, False, seed, confidence)


def _cache_option(more: str) -> Callable[[F], F]:
    """``--cache DIR``; ``more`` says what else this command does with it (its own help, so
    ``run --help`` does not describe what only ``score`` does)."""
    return click.option(
        "--cache",
        "cache_dir",
        metavar="DIR",
        help="Reuse per-segment statistics stored here (content-addressed)" + more,
    )


def _stats_flags(func: F) -> F:
    """Flags shared by score and run: bootstrap CIs, paired tests, seed."""
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
    ]
    for option in reversed(options):
        func = option(func)
    return func


_FORMAT = click.Choice(["table", "json", "csv", "markdown"])


def _sort_option(default: str | None) -> Callable[[F], F]:
    """``--sort`` of score, run and report: the leaderboards' order (evalkit.ordering)."""
    return click.option(
        "--sort",
        default=default,
        show_default=default is not None,
        metavar="input|score|METRIC",
        help="Leaderboard order (table, Markdown, HTML): input order, or the baseline first and "
        "the others best first by the first metric (score) or by the metric named"
        + ("" if default else " [default: the suite's sort, else score]")
        + "; JSON and CSV keep the input order.",
    )


#: The optional suite of run, translate, gate and baseline; the default is suite.DEFAULT_SUITE,
#: spelled out because importing evalkit.suite here would load the scorers for ``--help``.
_suite_argument = click.argument(
    "suite_path", required=False, metavar="[SUITE.toml]", default="fixtures/suite.toml"
)


def _streams(first_ref: str, stream: str | bool) -> bool:
    """Whether to stream: as asked, or for ``auto`` when the reference is big (said on stderr)."""
    if stream != "auto":
        return bool(stream)
    from ..streaming import EXACT_RESAMPLING_MAX_SEGMENTS, count_lines

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
