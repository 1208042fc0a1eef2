"""What each ``$n`` meets in a statement: the column or expression that names it.

A positional parameter takes its name from its context, in this order: the
column an INSERT value or an UPDATE/``ON CONFLICT`` SET assigns it to; the
column it is compared with (``=``, ``<``, ``LIKE``, ``BETWEEN``, ``= ANY``,
``IN``); ``limit`` / ``offset``; the alias of a target it is the whole value
of (``SELECT $1::int AS n``). Otherwise it has no name here and the caller
falls back to ``p<n>``. The INSERT and SET columns also decide whether the
parameter may be None: it fills that column, so it may whenever the column may.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pglast import ast as _pglast_ast

from store._gen import _tree
from store._gen._tree import qualified_name

# pglast types every node slot as optional; see _tree.
ast: Any = _pglast_ast

__all__ = ["ParamContext", "param_contexts"]


@dataclass(frozen=True, slots=True)
class ParamContext:
    """Where parameter ``$n`` is used: the name it gets and the column it fills, if any."""

    name: str
    fills: tuple[str, str] | None = None  # (table key, column) of an INSERT value / SET target


def _param(node: Any) -> int | None:
    while isinstance(node, ast.TypeCast):
        node = node.arg
    if isinstance(node, ast.ParamRef):
        return int(node.number)
    return None


def _column(node: Any) -> str | None:
    while isinstance(node, ast.TypeCast):
        node = node.arg
    if isinstance(node, ast.ColumnRef) and isinstance(node.fields[-1], ast.String):
        return str(node.fields[-1].sval)
    return None


def _items(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, tuple | list) else [value]


def param_contexts(stmt: Any, nodes: list[Any] | None = None) -> dict[int, ParamContext]:
    """For each parameter number with a recognizable context, its name (and filled column).

    ``nodes`` is ``list(_tree.walk(stmt))`` when the caller has it already.
    """
    found: dict[int, ParamContext] = {}

    def put(number: int | None, name: str | None, fills: tuple[str, str] | None = None) -> None:
        if number is not None and name and number not in found:
            found[number] = ParamContext(name, fills)

    nodes = nodes or list(_tree.walk(stmt))
    # Assignments first: they name the parameter and decide its nullability.
    for node in nodes:
        if isinstance(node, ast.InsertStmt):
            table = qualified_name(node.relation.relname, node.relation.schemaname)
            names = [str(c.name) for c in node.cols or ()]
            select = node.selectStmt
            for row in getattr(select, "valuesLists", None) or ():
                for name, value in zip(names, row, strict=False):
                    put(_param(value), name, (table, name))
            if node.onConflictClause is not None:
                for target in node.onConflictClause.targetList or ():
                    if target.name:
                        put(_param(target.val), target.name, (table, target.name))
        elif isinstance(node, ast.UpdateStmt):
            table = qualified_name(node.relation.relname, node.relation.schemaname)
            for target in node.targetList or ():
                if target.name and not isinstance(target.val, ast.MultiAssignRef):
                    put(_param(target.val), target.name, (table, target.name))
    for node in nodes:
        if isinstance(node, ast.A_Expr):
            left, rights = node.lexpr, _items(node.rexpr)
            column = _column(left)
            for right in rights:
                put(_param(right), column)
            if len(rights) == 1:
                put(_param(left), _column(rights[0]))
        elif isinstance(node, ast.SelectStmt):
            put(_param(node.limitCount), "limit")
            put(_param(node.limitOffset), "offset")
        elif isinstance(node, ast.ResTarget) and node.name:
            put(_param(node.val), node.name)
    return found
