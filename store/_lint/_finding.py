"""One lint finding and the shape every rule module has."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from store._lint._project import Project

__all__ = ["Finding", "Rule"]


@dataclass(frozen=True, order=True, slots=True)
class Finding:
    """A problem at ``path:line`` (``path`` relative to the project root, POSIX style).

    Fields are ordered so that sorting findings sorts them by file, then line.
    """

    path: str
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule}: {self.message}"


class Rule(Protocol):
    """What a module in ``store._lint.rules`` exposes to be run as a rule."""

    ID: str
    DESCRIPTION: str

    def check(self, project: Project) -> Iterable[Finding]: ...
