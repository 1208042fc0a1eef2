"""``query-naming``: ``ByX`` names a lookup or filter column, ``PerX`` a grouping.

The queries are parsed by ``store._gen`` (the same parser ``txstore gen``
uses) and judged by its ``naming_problems``; a query file the parser rejects
is reported too, at the problem's line.
"""

from __future__ import annotations

from collections.abc import Iterable

from store._gen import GenError, Problem, naming_problems, parse_queries
from store._lint._finding import Finding
from store._lint._project import Project

__all__ = ["DESCRIPTION", "ID", "check"]

ID = "query-naming"
DESCRIPTION = "ByX / PerX / GroupedByX query names in the queries directory"


def _finding(project: Project, problem: Problem) -> Finding:
    return Finding(project.relative(problem.file), problem.line, ID, problem.message)


def check(project: Project) -> Iterable[Finding]:
    """Yield each naming problem (or parse problem) of the project's queries."""
    directory = project.config.queries
    if not directory.is_dir():
        return []
    try:
        queries = parse_queries(directory, root=project.root)
    except GenError as error:
        if not error.problems:
            return [Finding(project.relative(directory), 1, ID, str(error))]
        return [_finding(project, problem) for problem in error.problems]
    return [_finding(project, problem) for problem in naming_problems(queries)]
