"""Walking pglast parse trees: the few questions txstore gen asks of a statement."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pglast import ast as _pglast_ast

# pglast types every node slot as optional; the parser's guarantees (a RangeVar
# has a relname, a ColumnRef has fields) are not expressible, so nodes are Any.
ast: Any = _pglast_ast

__all__ = [
    "children",
    "cte_names",
    "filter_columns",
    "is_grouped",
    "modified_table",
    "qualified_name",
    "tables",
    "walk",
]


_NODE_SLOTS: dict[type, tuple[str, ...]] = {}


def _node_slots(cls: type) -> tuple[str, ...]:
    """The slots of a node class that can hold nodes (not ints, bools, enums, locations)."""
    slots = _NODE_SLOTS.get(cls)
    if slots is None:
        info = getattr(cls, "__slots__", {})
        slots = tuple(
            name
            for name, slot in (
                info.items() if isinstance(info, dict) else ((n, None) for n in info)
            )
            if slot is None or str(getattr(slot, "c_type", "")).endswith(("*", "ValUnion"))
        )
        _NODE_SLOTS[cls] = slots
    return slots


def qualified_name(name: str, schema: str | None) -> str:
    """How the catalog keys a relation: bare in ``public`` (or unqualified), else
    ``schema.name``.
    """
    return name if schema in (None, "public") else f"{schema}.{name}"


def children(node: Any) -> Iterator[Any]:
    """The direct child nodes of a pglast node (through lists and tuples)."""
    for slot in _node_slots(type(node)):
        value = getattr(node, slot, None)
        if value is None:
            continue
        if isinstance(value, ast.Node):
            yield value
        elif isinstance(value, tuple | list):
            for item in value:
                if isinstance(item, ast.Node):
                    yield item
                elif isinstance(item, tuple | list):
                    yield from (i for i in item if isinstance(i, ast.Node))


def walk(node: Any) -> Iterator[Any]:
    """``node`` and every node below it, depth first, in source order."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(list(children(current))))


def cte_names(stmt: Any, nodes: list[Any] | None = None) -> set[str]:
    """Names of every common table expression anywhere in the statement.

    ``nodes`` is ``list(walk(stmt))`` when the caller has it already.
    """
    return {n.ctename for n in nodes or walk(stmt) if isinstance(n, ast.CommonTableExpr)}


def tables(stmt: Any, nodes: list[Any] | None = None) -> tuple[str, ...]:
    """Base tables the statement names, in first-appearance order (CTEs excluded)."""
    nodes = nodes or list(walk(stmt))
    ctes = cte_names(stmt, nodes)
    seen: dict[str, None] = {}
    for node in nodes:
        if isinstance(node, ast.RangeVar) and node.relname not in ctes:
            seen.setdefault(node.relname, None)
    return tuple(seen)


def modified_table(stmt: Any, nodes: list[Any] | None = None) -> str | None:
    """The table an INSERT/UPDATE/DELETE writes (the statement's, else a CTE's)."""
    if isinstance(stmt, ast.InsertStmt | ast.UpdateStmt | ast.DeleteStmt):
        return str(stmt.relation.relname)
    for node in nodes or walk(stmt):
        if isinstance(node, ast.InsertStmt | ast.UpdateStmt | ast.DeleteStmt):
            return str(node.relation.relname)
    return None


def _column_names(node: Any) -> Iterator[str]:
    for sub in walk(node):
        if isinstance(sub, ast.ColumnRef) and isinstance(sub.fields[-1], ast.String):
            yield sub.fields[-1].sval


def filter_columns(stmt: Any, nodes: list[Any] | None = None) -> frozenset[str]:
    """Columns the statement looks rows up or filters by: WHERE, JOIN ... ON and USING."""
    found: set[str] = set()
    for node in nodes or walk(stmt):
        where = getattr(node, "whereClause", None)
        if isinstance(node, ast.SelectStmt | ast.UpdateStmt | ast.DeleteStmt) and where:
            found.update(_column_names(where))
        if isinstance(node, ast.JoinExpr):
            if node.quals is not None:
                found.update(_column_names(node.quals))
            for name in node.usingClause or ():
                found.add(name.sval)
    return frozenset(found)


def is_grouped(stmt: Any) -> bool:
    """Whether the statement's own SELECT (or a set-operation arm) has GROUP BY."""
    if isinstance(stmt, ast.SelectStmt):
        if stmt.groupClause:
            return True
        return any(is_grouped(arm) for arm in (stmt.larg, stmt.rarg) if arm is not None)
    return False
