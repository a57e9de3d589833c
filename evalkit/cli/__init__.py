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

import importlib
import sys
from typing import Any

import click

from .. import __version__

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
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
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
        sys.exit(code if isinstance(code, int) else 0)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        # an unknown name loads every command: click's "Did you mean" reads self.commands
        for name in [cmd_name] if cmd_name in _COMMANDS else _COMMANDS:
            if name not in self.commands:
                module, function = _COMMANDS[name]
                self.add_command(getattr(importlib.import_module(f"{__name__}.{module}"), function))
        return super().get_command(ctx, cmd_name)


@click.group(cls=_OneLineErrorGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="evalkit")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
def main(debug: bool) -> None:
    """Score Chinese↔English translations exactly as sacrebleu does, with script normalization.

    \b
    Examples:
      evalkit run                                  # the bundled suite → reports/seed-article/
      evalkit score --ref ref.zh sysA.zh B=sysB.zh # BLEU, chrF, chrF++, TER with signatures
      evalkit detect output.zh                     # Simplified / Traditional / mixed
    """
