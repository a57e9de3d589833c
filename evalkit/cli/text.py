"""``evalkit detect`` and ``normalize``: look at one Chinese file's script, or convert it.

Neither scores anything: they check or convert an output's script before it is scored.
"""

from __future__ import annotations

import click

from ._common import _emit, _handle_errors, _refuse_output_onto_input


@click.command()
@click.argument("file", metavar="FILE")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@_handle_errors
def detect(file: str, as_json: bool) -> None:
    """Share of Simplified-only, Traditional-only and neutral Han characters; a verdict."""
    import json

    from .._io import read_lines
    from ..detect import detect_script

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


@click.command()
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
@click.option(
    "--output", "-o", metavar="PATH", help="Write the normalized text here ('-': stdout)."
)
@_handle_errors
def normalize(file: str, config: str, punct: bool, show_diff: bool, output: str | None) -> None:
    """Normalize FILE's script (and punctuation); print the result or what changed."""
    from .._io import read_lines
    from ..normalize import resolve_normalizer

    _refuse_output_onto_input([("-o", output)], [("input file", file)])
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
