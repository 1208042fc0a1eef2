"""Errors of ``txstore gen``: every problem names the file and line to edit."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["GenError", "Problem"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a query file, at ``file:line``."""

    file: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class GenError(Exception):
    """Code generation stopped; nothing was written.

    ``problems`` lists every problem found (file, line, message); ``str()`` shows
    one per line.
    """

    def __init__(self, problems: list[Problem] | Problem | str) -> None:
        if isinstance(problems, str):
            self.problems: list[Problem] = []
            message = problems
        else:
            self.problems = [problems] if isinstance(problems, Problem) else list(problems)
            message = "\n".join(str(p) for p in self.problems)
        super().__init__(message)
