"""``evalkit gate`` and ``baseline``: the CI regression check and the file it compares against.

``baseline`` records the released system once; ``gate`` fails (exit 1) when a candidate
regressed against it under the suite's rules.
"""

from __future__ import annotations

from pathlib import Path

import click

from ._common import (
    _emit,
    _handle_errors,
    _progress,
    _refuse_output_onto_input,
    _stats_options,
    _stdout_is_tty,
    _suite_argument,
)


@click.command()
@_suite_argument
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
@click.option(
    "--junit", "junit_path", metavar="FILE.xml", help="Also write JUnit XML here ('-': stdout)."
)
@click.option(
    "--summary", "summary_path", metavar="FILE.md", help="Also write Markdown here ('-': stdout)."
)
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
    help="Resamples of the paired bootstrap [default: the suite's, 1000]; no p-value is below "
    "1/(N+1), so a rule whose significance N cannot reach is refused.",
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

    from ..cache import StatsCache
    from ..errors import ConfigError
    from ..gate import (
        append_summary,
        load_gate_config,
        read_baseline,
        render_junit,
        render_markdown,
        render_table,
        run_gate,
    )
    from ..suite import load_suite

    suite = load_suite(suite_path).with_overrides(bootstrap=bootstrap, seed=seed)
    config = load_gate_config(suite, cwd=Path.cwd()).with_candidates(candidates, suite)
    source = baseline_path or config.baseline
    if source is None:
        raise ConfigError("no baseline: pass --baseline FILE or set [gate].baseline", suite.path)
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY") or None
    _refuse_output_onto_input(
        [
            ("--junit", junit_path),
            ("--summary", summary_path),
            ("$GITHUB_STEP_SUMMARY", step_summary),
        ],
        [("baseline file", source)],
        suite,
    )
    base = read_baseline(source)
    opts = _stats_options(
        suite.bootstrap, paired or config.paired_test(suite), "bs", suite.seed, suite.confidence
    )
    cache = StatsCache(cache_dir) if cache_dir else None
    with _progress(sum(len(spec.systems) + 1 for spec in suite.testsets)) as step:
        result = run_gate(suite, config, base, stats=opts, cache=cache, progress=step)
    if junit_path:
        _emit(render_junit(result), junit_path)
    markdown = render_markdown(result)
    if summary_path:
        _emit(markdown, summary_path)
    if step_summary:
        append_summary(step_summary, markdown)
    if fmt == "json":
        click.echo(result.to_json(), nl=False)
    else:
        click.echo(render_table(result, color=_stdout_is_tty()), nl=False)
    if not result.passed:
        click.get_current_context().exit(result.exit_code)


@click.command("baseline")
@_suite_argument
@click.option(
    "--write", "write_path", required=True, metavar="FILE", help="Where to write ('-': stdout)."
)
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
    from ..cache import StatsCache
    from ..gate import describe_baseline, make_baseline
    from ..suite import load_suite

    suite = load_suite(suite_path)
    _refuse_output_onto_input([("--write", write_path)], [], suite)
    cache = StatsCache(cache_dir) if cache_dir else None
    with _progress(len(suite.testsets)) as step:
        recorded = make_baseline(suite, system=system, cache=cache, progress=step)
    _emit(recorded.to_json(), write_path)
    click.echo(describe_baseline(recorded, write_path), err=True, nl=False)
