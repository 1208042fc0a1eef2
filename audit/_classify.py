"""Checking the classification table, and finding a model's classification."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from audit._field import IGNORE, SECRET, Auditable, Field, Problem
from audit._source import locate
from audit.errors import NotAuditable, UnclassifiedField
from store import Query

__all__ = ["auditable_tables", "check_table", "classification_of", "require_classified"]


def check_table(
    table: Sequence[Auditable],
    *,
    not_audited: Mapping[str, str],
    queries: Mapping[str, Query[Any]],
    source: Path,
) -> list[Problem]:
    """Every unclassified field and every classified field that no longer exists.

    Also reports ``IGNORE``/``SECRET`` entries without a reason, a table listed
    twice, and a table that queries write but that is neither classified nor
    in ``not_audited``. Each problem names ``source`` (the application's file
    declaring the table) and the line to edit. Raises nothing: problems are
    returned.
    """
    where = locate(source)
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


def auditable_tables(table: Sequence[Auditable]) -> dict[str, Auditable]:
    """Table name -> its classification entry."""
    return {e.table: e for e in table}


def classification_of(
    model: type[BaseModel], table: Sequence[Auditable], where: str = "the classification table"
) -> dict[str, Field]:
    """The classification of ``model`` (or of the classified model it derives from).

    Raises:
        NotAuditable: neither ``model`` nor a base class of it is in ``table``.
        UnclassifiedField: ``model`` has a field the table does not classify.
    """
    for base in model.__mro__:
        for entry in table:
            if entry.model is base:
                return require_classified(model, entry.classification(), where)
    raise NotAuditable(f"{model.__name__} has no entry in {where}")


def require_classified(
    model: type[BaseModel], fields: Mapping[str, Field], where: str = "the classification table"
) -> dict[str, Field]:
    """``fields``, checked to classify every field of ``model``.

    Raises:
        UnclassifiedField: ``model`` has a field ``fields`` does not classify.
    """
    missing = [name for name in model.model_fields if name not in fields]
    if missing:
        raise UnclassifiedField(
            f"{model.__name__} fields {', '.join(missing)} are not classified; add them to {where}"
        )
    return dict(fields)
