"""Checking the classification table, and finding a model's classification."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel

import audit._table as _table_module
from audit._field import IGNORE, SECRET, Auditable, Field, Problem
from audit._source import locate
from audit.errors import NotAuditable, UnclassifiedField
from store import QUERIES, Query

__all__ = ["auditable_tables", "check_table", "classification_of", "require_classified"]


def check_table(
    table: Sequence[Auditable] | None = None,
    *,
    not_audited: Mapping[str, str] | None = None,
    queries: Mapping[str, Query[Any]] | None = None,
) -> list[Problem]:
    """Every unclassified field and every classified field that no longer exists.

    Also reports ``IGNORE``/``SECRET`` entries without a reason, a table listed
    twice, and a table that queries write but that is neither classified nor
    in ``NOT_AUDITED``. Each problem names ``audit/_table.py`` and the line to
    edit. The arguments default to the shipped table and the generated queries;
    tests pass variants. Raises nothing: problems are returned.
    """
    table = _table_module.TABLE if table is None else table
    not_audited = _table_module.NOT_AUDITED if not_audited is None else not_audited
    queries = QUERIES if queries is None else queries
    where = locate(_table_module)
    problems: list[Problem] = []

    def problem(line: int, message: str) -> None:
        problems.append(Problem(where.file, line, message))

    seen: set[str] = set()
    for entry in table:
        table_line = where.line(where.tables.get(entry.table))
        if entry.table in seen:
            problem(table_line, f"table {entry.table!r} is classified twice; merge the entries")
        seen.add(entry.table)
        model = entry.model.__name__
        for name in entry.model.model_fields:
            if name not in entry.fields:
                problem(
                    table_line,
                    f"{model}.{name} ({entry.table}) is not classified: add "
                    f'"{name}": TRACK, IGNORE or SECRET to its entry in {where.file}',
                )
        for name, classified in entry.fields.items():
            line = where.line(where.fields.get((entry.table, name)), table_line)
            if name not in entry.model.model_fields:
                problem(
                    line,
                    f"{entry.table}.{name} is classified but {model} has no field {name!r} "
                    f"(dropped or renamed column?): remove or rename it in {where.file}",
                )
            kind, reason = (classified, "") if isinstance(classified, Field) else classified
            if kind in (IGNORE, SECRET) and not reason.strip():
                problem(
                    line,
                    f"{entry.table}.{name} is {kind.name} without a reason: write it as "
                    f'({kind.name}, "why")',
                )
    for name in not_audited:
        if name in seen:
            problem(
                where.line(where.keys.get(("NOT_AUDITED", name))),
                f"table {name!r} is both classified and in NOT_AUDITED; keep one",
            )
    written = _written_tables(queries.values())
    for name, writers in sorted(written.items()):
        if name not in seen and name not in not_audited:
            problem(
                where.line(where.assignments.get("TABLE")),
                f"table {name!r} is written by {', '.join(sorted(writers))} but is not "
                f"classified: add an Auditable entry (or a NOT_AUDITED reason) in {where.file}",
            )
    return problems


def _written_tables(queries: Iterable[Query[Any]]) -> dict[str, set[str]]:
    written: dict[str, set[str]] = {}
    for query in queries:
        if query.mutates is not None:
            written.setdefault(query.mutates, set()).add(query.name)
    return written


def auditable_tables(table: Sequence[Auditable] | None = None) -> dict[str, Auditable]:
    """Table name -> its classification entry."""
    return {e.table: e for e in (_table_module.TABLE if table is None else table)}


def classification_of(model: type[BaseModel]) -> dict[str, Field]:
    """The classification of ``model`` (or of the classified model it derives from).

    Raises:
        NotAuditable: neither ``model`` nor a base class of it is in the table.
        UnclassifiedField: ``model`` has a field the table does not classify.
    """
    for base in model.__mro__:
        for entry in _table_module.TABLE:
            if entry.model is base:
                return require_classified(model, entry.classification())
    raise NotAuditable(f"{model.__name__} has no entry in audit/_table.py")


def require_classified(model: type[BaseModel], fields: Mapping[str, Field]) -> dict[str, Field]:
    """``fields``, checked to classify every field of ``model``.

    Raises:
        UnclassifiedField: ``model`` has a field ``fields`` does not classify.
    """
    missing = [name for name in model.model_fields if name not in fields]
    if missing:
        raise UnclassifiedField(
            f"{model.__name__} fields {', '.join(missing)} are not classified; "
            "add them to audit/_table.py"
        )
    return dict(fields)
