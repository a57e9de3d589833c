"""The one exception base of evalkit.

Library code raises :class:`EvalkitError` (never ``sys.exit``); the command line turns it into a
single line on stderr and exit code 2. The message always names the file and, where there is one,
the line, so a user can act on it without a traceback.

    EvalkitError            bad input or bad usage (exit 2)
     ├── InputError         a file cannot be read or is malformed
     ├── ConfigError        a suite, rule or option is invalid
     └── MismatchError      two things that must agree do not (baseline vs run)
"""

from __future__ import annotations

from os import PathLike

__all__ = ["ConfigError", "EvalkitError", "InputError", "MismatchError"]


class EvalkitError(Exception):
    """Bad input or usage; ``str(err)`` is the one-line message the CLI prints."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        path: str | PathLike[str] | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.message = message
        self.path = None if path is None else str(path)
        self.line = line
        self.column = column
        super().__init__(self.format())

    def format(self) -> str:
        where = self.path or ""
        if where and self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        one_line = " ".join(self.message.split())
        return f"{where}: {one_line}" if where else one_line


class InputError(EvalkitError):
    """A text file is missing, unreadable, not UTF-8, or does not line up with its partner."""


class ConfigError(EvalkitError):
    """A suite file, option value or gate rule is invalid."""


class MismatchError(EvalkitError):
    """Two artefacts that must describe the same evaluation do not (e.g. baseline vs run)."""
