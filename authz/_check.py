"""The policy table checks itself: every query has exactly one policy that fits it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from authz._policy import Policy
from store import Query

__all__ = ["Problem", "check_policies", "relative"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One defect of the policy table, at the line to edit."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


def relative(path: Path) -> str:
    """``path`` relative to the working directory when it is below it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _lines(path: Path) -> tuple[dict[str, int], int]:
    """Line of each ``"name":`` entry, and of the table itself."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")  # only line numbers
    except OSError:
        return {}, 1
    entries: dict[str, int] = {}
    table = 1
    for number, line in enumerate(text.splitlines(), 1):
        if re.match(r"\s*(POLICIES|policies)\b", line):
            table = number
        found = re.match(r'\s+"(\w+)":', line)
        if found:
            entries.setdefault(found.group(1), number)
    return entries, table


def check_policies(
    policies: Mapping[str, Policy], queries: Mapping[str, Query[Any]], *, file: Path
) -> list[Problem]:
    """Every defect of a policy table against its queries, by ``file`` and line.

    A query method without a policy, a policy naming no query, and a policy
    that cannot apply to its query (see each helper's needs) are problems.
    ``file`` is where the application declares its policies. Raises nothing.
    """
    entries, table = _lines(file)
    where = relative(file)
    found: list[Problem] = []
    for name, query in queries.items():
        policy = policies.get(name)
        if policy is None:
            found.append(
                Problem(
                    where,
                    table,
                    f"query method {name} ({query.source}) has no authorization policy; "
                    f"declare a policy for it in {where} (deny by default)",
                )
            )
            continue
        for message in policy.problems(query):
            found.append(Problem(where, entries.get(name, table), f"policy for {name}: {message}"))
    for name in policies.keys() - queries.keys():
        found.append(
            Problem(
                where,
                entries.get(name, table),
                f"policy {name} names no query method; remove it from {where}",
            )
        )
    return found
