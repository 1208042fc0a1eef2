"""Which result columns can be NULL, from the parse tree and the catalog.

A column is non-null only when it provably is: a plain column of a base table
declared NOT NULL whose table is not on the nullable side of an outer join
(``*``, ``t.*``, ``RETURNING *``, aliases, subqueries and CTEs are followed),
``count(...)``, ``EXISTS``, ``ARRAY(...)``, a non-NULL literal, a cast or
``COALESCE`` of such. Everything else may be NULL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pglast import ast as _pglast_ast
from pglast.enums import JoinType, SetOperation, SubLinkType

from store._gen._introspect import Catalog

# pglast types every node slot as optional; the parser's guarantees (a RangeVar
# has a relname, a ColumnRef has fields) are not expressible, so nodes are Any.
ast: Any = _pglast_ast

__all__ = ["non_null_columns"]

_NON_NULL_FUNCS = frozenset({"count", "row_number", "rank", "dense_rank", "now"})

Cols = list[tuple[str, bool]]  # (column name, non-null)


@dataclass
class _Scope:
    relations: dict[str, Cols | None] = field(default_factory=dict)
    merged: dict[str, bool] = field(default_factory=dict)  # USING columns
    star: Cols | None = field(default_factory=list)  # what ``*`` expands to


class _Analyzer:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    # -- statements -----------------------------------------------------------
    def statement(self, stmt: Any, ctes: dict[str, Cols | None]) -> Cols | None:
        ctes = self._with(getattr(stmt, "withClause", None), ctes)
        if isinstance(stmt, ast.SelectStmt):
            return self.select(stmt, ctes)
        if isinstance(stmt, ast.InsertStmt | ast.UpdateStmt | ast.DeleteStmt):
            scope = _Scope()
            self._add(scope, stmt.relation, ctes)
            extra = getattr(stmt, "fromClause", None) or getattr(stmt, "usingClause", None)
            for item in extra or ():
                self._add(scope, item, ctes)
            return self.targets(_returning(stmt), scope)
        return None

    def _with(self, with_clause: Any, ctes: dict[str, Cols | None]) -> dict[str, Cols | None]:
        if with_clause is None:
            return ctes
        ctes = dict(ctes)
        for cte in with_clause.ctes or ():
            cols = None if with_clause.recursive else self.statement(cte.ctequery, ctes)
            if cols is not None and cte.aliascolnames:
                names = [n.sval for n in cte.aliascolnames]
                cols = [(n, c[1]) for n, c in zip(names, cols, strict=False)]
            ctes[cte.ctename] = cols
        return ctes

    def select(self, stmt: Any, ctes: dict[str, Cols | None]) -> Cols | None:
        if stmt.op != SetOperation.SETOP_NONE:
            left = self.statement(stmt.larg, ctes)
            right = self.statement(stmt.rarg, ctes)
            if left is None or right is None or len(left) != len(right):
                return None
            return [
                (lname, lnn and rnn) for (lname, lnn), (_, rnn) in zip(left, right, strict=True)
            ]
        if stmt.valuesLists:
            scope = _Scope()
            rows = [[self.expr(e, scope) for e in row] for row in stmt.valuesLists]
            return [(f"column{i + 1}", all(col)) for i, col in enumerate(zip(*rows, strict=True))]
        scope = _Scope()
        for item in stmt.fromClause or ():
            self._add(scope, item, ctes)
        return self.targets(stmt.targetList or (), scope)

    # -- FROM -----------------------------------------------------------------
    def _add(self, scope: _Scope, item: Any, ctes: dict[str, Cols | None]) -> None:
        cols = self._from_item(item, scope, ctes)
        if scope.star is not None:
            scope.star = None if cols is None else scope.star + cols

    def _from_item(self, item: Any, scope: _Scope, ctes: dict[str, Cols | None]) -> Cols | None:
        """Register ``item``'s relations in ``scope``; return what its ``*`` expands to."""
        if isinstance(item, ast.RangeVar):
            cols: Cols | None
            if item.schemaname is None and item.relname in ctes:
                cols = ctes[item.relname]
            elif item.relname in self.catalog.tables:
                table = self.catalog.tables[item.relname]
                cols = [(c.name, c.not_null) for c in table.columns]
            else:
                cols = None
            cols = _renamed(cols, item.alias)
            scope.relations[item.alias.aliasname if item.alias else item.relname] = cols
            return cols
        if isinstance(item, ast.RangeSubselect):
            cols = _renamed(self.statement(item.subquery, ctes), item.alias)
            if item.alias is not None:
                scope.relations[item.alias.aliasname] = cols
            return cols
        if isinstance(item, ast.JoinExpr):
            return self._join(item, scope, ctes)
        if getattr(item, "alias", None) is not None:
            scope.relations[item.alias.aliasname] = None
        return None

    def _join(self, join: Any, scope: _Scope, ctes: dict[str, Cols | None]) -> Cols | None:
        left_scope, right_scope = _Scope(), _Scope()
        left = self._from_item(join.larg, left_scope, ctes)
        right = self._from_item(join.rarg, right_scope, ctes)
        jt = join.jointype
        if jt in (JoinType.JOIN_RIGHT, JoinType.JOIN_FULL):
            left = _nullable(left)
            left_scope.relations = {k: _nullable(v) for k, v in left_scope.relations.items()}
        if jt in (JoinType.JOIN_LEFT, JoinType.JOIN_FULL):
            right = _nullable(right)
            right_scope.relations = {k: _nullable(v) for k, v in right_scope.relations.items()}
        scope.relations.update(left_scope.relations)
        scope.relations.update(right_scope.relations)
        if join.isNatural:
            return None
        if left is None or right is None:
            return None
        if not join.usingClause:
            return left + right
        using = [n.sval for n in join.usingClause]
        lmap, rmap = dict(left), dict(right)
        merged: Cols = []
        for name in using:
            lnn, rnn = lmap.get(name, False), rmap.get(name, False)
            if jt == JoinType.JOIN_FULL:
                nn = lnn and rnn
            elif jt == JoinType.JOIN_RIGHT:
                nn = rnn
            else:
                nn = lnn
            merged.append((name, nn))
            scope.merged[name] = nn
        rest = [c for c in left + right if c[0] not in using]
        return merged + rest

    # -- target lists ---------------------------------------------------------
    def targets(self, targets: Any, scope: _Scope) -> Cols | None:
        out: Cols = []
        for target in targets:
            val = target.val
            if isinstance(val, ast.ColumnRef) and isinstance(val.fields[-1], ast.A_Star):
                if len(val.fields) == 1:
                    cols = scope.star
                else:
                    cols = scope.relations.get(val.fields[-2].sval)
                if cols is None:
                    return None
                out += cols
                continue
            out.append((target.name or _column_name(val), self.expr(val, scope)))
        return out

    def expr(self, node: Any, scope: _Scope) -> bool:
        if isinstance(node, ast.ColumnRef):
            return self._column(node, scope)
        if isinstance(node, ast.A_Const):
            return not node.isnull
        if isinstance(node, ast.TypeCast):
            return self.expr(node.arg, scope)
        if isinstance(node, ast.CoalesceExpr):
            return any(self.expr(a, scope) for a in node.args)
        if isinstance(node, ast.FuncCall):
            return node.funcname[-1].sval in _NON_NULL_FUNCS and node.agg_filter is None
        if isinstance(node, ast.SubLink):
            return node.subLinkType in (SubLinkType.EXISTS_SUBLINK, SubLinkType.ARRAY_SUBLINK)
        return isinstance(node, ast.NullTest | ast.BooleanTest | ast.SQLValueFunction)

    def _column(self, ref: Any, scope: _Scope) -> bool:
        names = [f.sval for f in ref.fields if isinstance(f, ast.String)]
        if len(names) != len(ref.fields):
            return False
        column = names[-1]
        if len(names) >= 2:
            cols = scope.relations.get(names[-2])
            return dict(cols).get(column, False) if cols is not None else False
        if column in scope.merged:
            return scope.merged[column]
        hits = [
            dict(cols)[column] for cols in scope.relations.values() if cols and column in dict(cols)
        ]
        return len(hits) == 1 and hits[0]


def _returning(stmt: Any) -> Any:
    clause = getattr(stmt, "returningClause", None)  # pglast >= 8; older: returningList
    if clause is not None:
        return clause.exprs or ()
    return getattr(stmt, "returningList", None) or ()


def _nullable(cols: Cols | None) -> Cols | None:
    return None if cols is None else [(name, False) for name, _ in cols]


def _renamed(cols: Cols | None, alias: Any) -> Cols | None:
    if cols is None or alias is None or not alias.colnames:
        return cols
    names = [n.sval for n in alias.colnames]
    return [(names[i] if i < len(names) else c[0], c[1]) for i, c in enumerate(cols)]


def _column_name(node: Any) -> str:
    if isinstance(node, ast.ColumnRef) and isinstance(node.fields[-1], ast.String):
        return str(node.fields[-1].sval)
    if isinstance(node, ast.FuncCall):
        return str(node.funcname[-1].sval)
    if isinstance(node, ast.TypeCast):
        inner = _column_name(node.arg)
        return inner if inner != "?column?" else str(node.typeName.names[-1].sval)
    if isinstance(node, ast.SubLink) and node.subLinkType == SubLinkType.EXISTS_SUBLINK:
        return "exists"
    return "?column?"


def non_null_columns(stmt: Any, catalog: Catalog, count: int) -> list[bool]:
    """For each of the ``count`` result columns, whether it is provably never NULL.

    When the analysis cannot line its columns up with the server's (an
    unsupported construct), every column counts as nullable.
    """
    cols = _Analyzer(catalog).statement(stmt, {})
    if cols is None or len(cols) != count:
        return [False] * count
    return [nn for _, nn in cols]
