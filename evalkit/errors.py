"""Exceptions that the command line turns into one-line messages and exit codes.

Every error a user can cause (bad file, bad config, unreachable model) is an
``EvalkitError``: the CLI prints ``evalkit: error: <message>`` and exits 2, with no
traceback. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path


class EvalkitError(Exception):
    """Base class for errors caused by the user's input or environment (exit code 2)."""

    exit_code = 2


class InputError(EvalkitError):
    """A file the user gave is not what evalkit expected.

    The message names the file, the line (1-based) when there is one, and what was expected.
    """

    def __init__(self, path: str | Path, problem: str, line: int | None = None):
        self.path = str(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {problem}")


class ConfigError(EvalkitError):
    """A run config is invalid: names the file and the field."""


class BackendError(EvalkitError):
    """An MT system could not be created or could not translate (model missing, endpoint down…)."""
