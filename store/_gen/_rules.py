"""The query naming rule, shared by ``txstore gen`` and ``txstore lint``.

``...ByX`` (and ``...ByXAndY``) promises a lookup: every X, snake_cased, must be
a column the query filters or joins on. A grouped query names its grouping
dimension ``PerX`` or ``GroupedByX`` and is never ``ByX``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from store._gen._naming import snake_case
from store._gen._parse import ParsedQuery
from store._gen.errors import Problem

__all__ = ["by_columns", "naming_problems"]

# "By" starting a word, not part of GroupedBy / OrderedBy / SortedBy.
_BY = re.compile(r"(?<!Grouped)(?<!Ordered)(?<!Sorted)By(?=[A-Z])")


def by_columns(name: str) -> list[str] | None:
    """The columns a ``...ByX[AndY]`` name promises, or None for a name without ``By``.

    ``GetUserByOwnerIDAndEmail`` -> ``["owner_id", "email"]``.
    """
    matches = list(_BY.finditer(name))
    if not matches:
        return None
    tail = name[matches[-1].end() :]
    return [snake_case(part) for part in re.split(r"And(?=[A-Z])", tail) if part]


def naming_problems(queries: Iterable[ParsedQuery]) -> list[Problem]:
    """Every query whose name breaks the ``ByX`` / ``PerX`` rule, at its ``-- name:`` line."""
    problems: list[Problem] = []
    for query in queries:
        columns = by_columns(query.name)
        if columns is None:
            continue
        if query.grouped:
            problems.append(
                Problem(
                    query.file,
                    query.line,
                    f"{query.name} has GROUP BY, so it must not be named ByX; "
                    "name the grouping dimension PerX or GroupedByX",
                )
            )
            continue
        missing = [c for c in columns if c not in query.filter_columns]
        if missing:
            known = ", ".join(sorted(query.filter_columns)) or "none"
            problems.append(
                Problem(
                    query.file,
                    query.line,
                    f"{query.name} is named By {', '.join(missing)} but does not filter or join "
                    f"on {'it' if len(missing) == 1 else 'them'} (filter columns: {known})",
                )
            )
    return problems
