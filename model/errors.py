"""Errors a user can cause, kept apart from bugs.

A `UserError` ends the command line with its message and exit status 2, no traceback. Anything
else that escapes is a bug and is allowed to be loud.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario: where (file, line, key path) and why."""

    file: str
    key: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class UserError(Exception):
    """A mistake in what the user gave us (a file, an option, a value). Exit status 2."""


class ScenarioError(UserError):
    """A scenario or variant with one or more problems, all reported at once."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        count = len(problems)
        head = f"{count} problem{'s' if count != 1 else ''} in the scenario:"
        super().__init__("\n".join([head, *(f"  {p}" for p in problems)]))
