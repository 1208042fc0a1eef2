"""Which result columns can be NULL, from the parse tree and the catalog.

A column is non-null only when it provably is. Never NULL:

- a plain column of a base table declared NOT NULL whose table is not on the
  nullable side of an outer join (``*``, ``t.*``, ``RETURNING *``, aliases,
  subqueries, CTEs and views are followed; a recursive CTE's column is
  non-null only when both of its branches are);
- ``count(...)`` (with or without FILTER), ``row_number()``, ``rank()``,
  ``dense_rank()``, ``EXISTS``, ``ARRAY(...)``, ``ARRAY[...]``, ``ROW(...)``,
  a non-NULL literal, ``IS [NOT] NULL`` / ``IS [NOT] DISTINCT FROM`` / ``IS
  TRUE`` tests, ``CURRENT_TIMESTAMP`` and the other SQL value functions;
- built-in operators (arithmetic, comparison, ``||``, ``LIKE``, ``IN`` over a
  list, ``BETWEEN``, ``AND``/``OR``/``NOT``) over non-null operands, but not
  the JSON accessors ``->``, ``->>``, ``#>``, ``#>>`` (a missing key is NULL);
- a ``CASE`` with ``ELSE`` whose every branch is non-null; ``COALESCE`` and
  ``GREATEST``/``LEAST`` with one non-null argument; a cast or ``COLLATE`` of
  a non-null value;
- a function of the reviewed list ``_NON_NULL_ON_NON_NULL`` with only non-null
  arguments, or of ``_ALWAYS_NON_NULL``;
- ``min``/``max``/``sum``/``avg``/``array_agg``/... of a non-null argument in
  a query with ``GROUP BY`` (every group has a row), without FILTER and not
  as a window function.

Also never NULL: a scalar subquery that always gives one row of a non-null
aggregate (``(SELECT count(*) ...)``), ``generate_series`` in FROM and a
``WITH ORDINALITY`` column.

Everything else may be NULL: ``NULLIF``, other scalar subqueries, a function
not on the lists (``regexp_match`` is STRICT and still returns NULL), an
aggregate without a plain ``GROUP BY`` (no rows gives NULL; ROLLUP's total
row too), parameters typed ``X | None``, ``unnest`` elements, other
set-returning functions. A parameter typed without ``None`` is non-null: the
method does not accept None for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pglast import ast as _pglast_ast
from pglast import parse_sql, parser
from pglast.enums import A_Expr_Kind, JoinType, SetOperation, SubLinkType

from store._gen._introspect import Catalog
from store._gen._tree import qualified_name

# pglast types every node slot as optional; the parser's guarantees (a RangeVar
# has a relname, a ColumnRef has fields) are not expressible, so nodes are Any.
ast: Any = _pglast_ast

__all__ = ["non_null_columns", "target_layout"]

# Never NULL, whatever the arguments.
_ALWAYS_NON_NULL = frozenset(
    {
        "count",
        "row_number",
        "rank",
        "dense_rank",
        "percent_rank",
        "cume_dist",
        "ntile",
        "now",
        "clock_timestamp",
        "statement_timestamp",
        "transaction_timestamp",
        "timeofday",
        "random",
        "pi",
        "gen_random_uuid",
        "uuid_generate_v4",
        "nextval",
        "generate_series",  # a set-returning call: a NULL argument gives no rows
        "concat",
        "json_build_object",
        "jsonb_build_object",
        "json_build_array",
        "jsonb_build_array",
        "quote_nullable",
        "pg_backend_pid",
        "txid_current",
        "version",
    }
)

# Reviewed: non-NULL whenever every argument is non-NULL (and the call does not
# raise). Not every STRICT function qualifies: regexp_match, array_length (an
# empty array), substring(... from pattern), to_char (an empty format) and the
# json accessors can return NULL.
_NON_NULL_ON_NON_NULL = frozenset(
    {
        "abs",
        "lower",
        "upper",
        "initcap",
        "length",
        "char_length",
        "character_length",
        "octet_length",
        "bit_length",
        "md5",
        "trim",
        "btrim",
        "ltrim",
        "rtrim",
        "replace",
        "translate",
        "substr",
        "left",
        "right",
        "lpad",
        "rpad",
        "repeat",
        "reverse",
        "strpos",
        "position",
        "starts_with",
        "concat_ws",
        "format",
        "quote_ident",
        "quote_literal",
        "to_hex",
        "ascii",
        "chr",
        "round",
        "floor",
        "ceil",
        "ceiling",
        "trunc",
        "sign",
        "sqrt",
        "cbrt",
        "exp",
        "ln",
        "log",
        "log10",
        "mod",
        "power",
        "pow",
        "div",
        "width_bucket",
        "date_trunc",
        "date_part",
        "extract",
        "age",
        "make_date",
        "make_interval",
        "make_timestamp",
        "make_timestamptz",
        "to_timestamp",
        "timezone",
        "cardinality",
        "array_to_string",
        "array_append",
        "array_prepend",
        "array_cat",
        "array_remove",
        "array_replace",
        "to_json",
        "to_jsonb",
        "row_to_json",
        "jsonb_set",
        "jsonb_strip_nulls",
        "json_strip_nulls",
        "jsonb_typeof",
        "json_typeof",
        "jsonb_pretty",
        "host",
        "family",
        "pg_advisory_unlock",
        "pg_advisory_unlock_shared",
        "pg_try_advisory_lock",
        "pg_try_advisory_lock_shared",
        "pg_try_advisory_xact_lock",
        "pg_try_advisory_xact_lock_shared",
        "similarity",
        "word_similarity",
        "strict_word_similarity",
        "masklen",
        "encode",
        "decode",
        "sha224",
        "sha256",
        "sha384",
        "sha512",
        "digest",
        "bool",
        "int4",
        "int8",
        "text",
        "numeric",
    }
)

# Aggregates that give a non-NULL value for a non-empty group of non-NULL inputs.
_GROUP_AGGREGATES = frozenset(
    {
        "min",
        "max",
        "sum",
        "avg",
        "array_agg",
        "string_agg",
        "json_agg",
        "jsonb_agg",
        "json_object_agg",
        "jsonb_object_agg",
        "bool_and",
        "bool_or",
        "every",
        "bit_and",
        "bit_or",
    }
)

# Aggregate functions (a subquery made of one still returns a row over no rows).
_AGGREGATES = _GROUP_AGGREGATES | {"count"}

# Built-in operators that are NULL only when an operand is.
_OPERATORS = frozenset(
    {
        "+",
        "-",
        "*",
        "/",
        "%",
        "^",
        "|/",
        "||/",
        "@",
        "&",
        "|",
        "#",
        "~",
        "<<",
        ">>",
        "||",
        "=",
        "<>",
        "!=",
        "<",
        ">",
        "<=",
        ">=",
        "@>",
        "<@",
        "&&",
        "~~",
        "!~~",
        "~~*",
        "!~~*",
        "~*",
        "!~",
        "!~*",
        "?",
        "?|",
        "?&",
    }
)

Cols = list[tuple[str, bool]]  # (column name, non-null)


@dataclass
class _Scope:
    relations: dict[str, Cols | None] = field(default_factory=dict)
    merged: dict[str, bool] = field(default_factory=dict)  # USING columns
    star: Cols | None = field(default_factory=list)  # what ``*`` expands to
    grouped: bool = False  # the SELECT has GROUP BY: aggregates see non-empty groups


class _Analyzer:
    def __init__(self, catalog: Catalog, params: frozenset[int] = frozenset()) -> None:
        self.catalog = catalog
        self.params = params  # numbers of parameters typed without None
        self._views: dict[str, Cols | None] = {}
        self.layouts: dict[int, list[tuple[str | None, int]]] = {}  # id(target list) -> layout

    # -- statements -----------------------------------------------------------
    def statement(self, stmt: Any, ctes: dict[str, Cols | None]) -> Cols | None:
        ctes = self._with(getattr(stmt, "withClause", None), ctes)
        if isinstance(stmt, ast.SelectStmt):
            return self.select(stmt, ctes)
        if isinstance(stmt, ast.InsertStmt | ast.UpdateStmt | ast.DeleteStmt):
            scope = _Scope()
            self._add(scope, stmt.relation, ctes)
            target = stmt.relation.alias.aliasname if stmt.relation.alias else stmt.relation.relname
            extra = getattr(stmt, "fromClause", None) or getattr(stmt, "usingClause", None)
            for item in extra or ():
                self._add(scope, item, ctes)
            _old_and_new(stmt, scope, scope.relations.get(target))
            return self.targets(_returning(stmt), scope)
        return None

    def _with(self, with_clause: Any, ctes: dict[str, Cols | None]) -> dict[str, Cols | None]:
        if with_clause is None:
            return ctes
        ctes = dict(ctes)
        for cte in with_clause.ctes or ():
            query = cte.ctequery
            union = isinstance(query, ast.SelectStmt) and query.op == SetOperation.SETOP_UNION
            if with_clause.recursive and union:
                cols = self._recursive(cte, ctes)
            else:
                cols = _aliased(self.statement(query, ctes), cte)
            ctes[cte.ctename] = cols
        return ctes

    def _recursive(self, cte: Any, ctes: dict[str, Cols | None]) -> Cols | None:
        """A recursive CTE's columns: non-null only where both branches are, to a fixpoint."""
        current = _aliased(self.statement(cte.ctequery.larg, ctes), cte)
        for _ in range(8):  # each round can only turn columns nullable
            if current is None:
                return None
            step = self.statement(cte.ctequery.rarg, {**ctes, cte.ctename: current})
            if step is None or len(step) != len(current):
                return None
            merged = [(n, a and b) for (n, a), (_, b) in zip(current, step, strict=True)]
            if merged == current:
                return current
            current = merged
        return None

    def _view(self, name: str) -> Cols | None:
        if name in self._views:
            return self._views[name]
        self._views[name] = None  # a view that reaches itself stays unknown
        try:
            stmt = parse_sql(self.catalog.views[name])[0].stmt
        except parser.ParseError:
            return None
        self._views[name] = self.statement(stmt, {})
        return self._views[name]

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
        # GROUPING SETS / ROLLUP / CUBE / GROUP BY () can give a row for no input rows.
        plain_groups = bool(stmt.groupClause) and not any(
            isinstance(g, ast.GroupingSet) for g in stmt.groupClause
        )
        scope = _Scope(grouped=plain_groups)
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
            elif (key := qualified_name(item.relname, item.schemaname)) in self.catalog.tables:
                table = self.catalog.tables[key]
                cols = [(c.name, c.not_null) for c in table.columns]
            elif key in self.catalog.views:
                cols = self._view(key)
            elif key in self.catalog.sequences:
                cols = [("last_value", True), ("log_cnt", True), ("is_called", True)]
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
        if isinstance(item, ast.RangeFunction):
            cols = _function_columns(item)
            if item.alias is not None:
                scope.relations[item.alias.aliasname] = cols
            elif cols is not None:
                scope.relations[cols[0][0]] = cols
            return cols
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
        layout: list[tuple[str | None, int]] = []
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
                qualifier = val.fields[-2].sval if len(val.fields) > 1 else None
                layout.append((qualifier, len(cols)))
                continue
            out.append((target.name or _column_name(val), self.expr(val, scope)))
            layout.append((None, 1))
        self.layouts[id(targets)] = layout
        return out

    def expr(self, node: Any, scope: _Scope) -> bool:
        if isinstance(node, ast.ColumnRef):
            return self._column(node, scope)
        if isinstance(node, ast.A_Const):
            return not node.isnull
        if isinstance(node, ast.ParamRef):
            return int(node.number) in self.params
        if isinstance(node, ast.TypeCast | ast.CollateClause):
            return self.expr(node.arg, scope)
        if isinstance(node, ast.CoalesceExpr | ast.MinMaxExpr):
            return any(self.expr(a, scope) for a in node.args)
        if isinstance(node, ast.FuncCall):
            return self._call(node, scope)
        if isinstance(node, ast.A_Expr):
            return self._operator(node, scope)
        if isinstance(node, ast.BoolExpr):
            return all(self.expr(a, scope) for a in node.args)
        if isinstance(node, ast.CaseExpr):
            return (
                node.defresult is not None
                and self.expr(node.defresult, scope)
                and all(self.expr(w.result, scope) for w in node.args)
            )
        if isinstance(node, ast.SubLink):
            if node.subLinkType == SubLinkType.EXPR_SUBLINK:
                return self._one_row_value(node.subselect)
            return node.subLinkType in (SubLinkType.EXISTS_SUBLINK, SubLinkType.ARRAY_SUBLINK)
        return isinstance(
            node,
            ast.NullTest | ast.BooleanTest | ast.SQLValueFunction | ast.A_ArrayExpr | ast.RowExpr,
        )

    def _one_row_value(self, sub: Any) -> bool:
        """A scalar subquery that always yields exactly one row, of a non-null value.

        One row: a plain SELECT without GROUP BY, HAVING, LIMIT, OFFSET or a set
        operation whose value is an aggregate (an aggregate over no rows still
        gives one row). ``count(*)`` is such a value; ``max(x)`` is not non-null.
        """
        if not isinstance(sub, ast.SelectStmt) or sub.op != SetOperation.SETOP_NONE:
            return False
        if sub.groupClause or sub.havingClause or sub.limitCount or sub.limitOffset:
            return False
        targets = list(sub.targetList or ())
        if len(targets) != 1 or not isinstance(targets[0].val, ast.FuncCall):
            return False
        call = targets[0].val
        if call.over is not None or call.funcname[-1].sval not in _AGGREGATES:
            return False
        cols = self.statement(sub, {})
        return cols is not None and len(cols) == 1 and cols[0][1]

    def _call(self, node: Any, scope: _Scope) -> bool:
        names = [n.sval for n in node.funcname]
        if len(names) > 1 and names[0] != "pg_catalog":
            return False
        name = names[-1]
        if name in _ALWAYS_NON_NULL:
            return True
        args = list(node.args or ())
        args_non_null = all(self.expr(a, scope) for a in args)
        if name in _NON_NULL_ON_NON_NULL:
            return node.over is None and node.agg_filter is None and bool(args) and args_non_null
        if name in _GROUP_AGGREGATES:
            return (
                scope.grouped
                and node.over is None
                and node.agg_filter is None
                and bool(args)
                and args_non_null
            )
        return False

    def _operator(self, node: Any, scope: _Scope) -> bool:
        kind = node.kind
        operands = [
            node.lexpr,
            *(node.rexpr if isinstance(node.rexpr, tuple | list) else [node.rexpr]),
        ]
        operands = [o for o in operands if o is not None]
        if kind in (A_Expr_Kind.AEXPR_DISTINCT, A_Expr_Kind.AEXPR_NOT_DISTINCT):
            return True
        if kind == A_Expr_Kind.AEXPR_OP:
            op = node.name[-1].sval
            return op in _OPERATORS and all(self.expr(o, scope) for o in operands)
        if kind in (
            A_Expr_Kind.AEXPR_LIKE,
            A_Expr_Kind.AEXPR_ILIKE,
            A_Expr_Kind.AEXPR_SIMILAR,
            A_Expr_Kind.AEXPR_IN,
            A_Expr_Kind.AEXPR_BETWEEN,
            A_Expr_Kind.AEXPR_NOT_BETWEEN,
            A_Expr_Kind.AEXPR_BETWEEN_SYM,
            A_Expr_Kind.AEXPR_NOT_BETWEEN_SYM,
        ):
            return all(self.expr(o, scope) for o in operands)
        return False

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


def _old_and_new(stmt: Any, scope: _Scope, cols: Cols | None) -> None:
    """PostgreSQL 18's ``RETURNING old.x, new.x`` (or the names ``WITH (OLD AS o)`` gives).

    An UPDATE has both rows, so both keep the table's NOT NULLs; a DELETE has
    no new row and an INSERT no old one (an upsert that inserted neither), so
    that side is all NULL. The names are not added over a relation of the
    statement that already has them.
    """
    names = {"old": "old", "new": "new"}
    clause = getattr(stmt, "returningClause", None)
    for option in getattr(clause, "options", None) or ():
        kind = getattr(option.option, "name", option.option)  # RETURNING_OPTION_OLD / _NEW
        side = "old" if str(kind).upper().endswith("OLD") else "new"
        names[side] = option.value
    everything_null = None if cols is None else [(name, False) for name, _ in cols]
    if isinstance(stmt, ast.UpdateStmt):
        sides = {"old": cols, "new": cols}
    elif isinstance(stmt, ast.DeleteStmt):
        sides = {"old": cols, "new": everything_null}
    else:
        sides = {"old": everything_null, "new": cols}
    for side, name in names.items():
        if name not in scope.relations:
            scope.relations[name] = sides[side]


def _returning(stmt: Any) -> Any:
    clause = getattr(stmt, "returningClause", None)  # pglast >= 8; older: returningList
    if clause is not None:
        return clause.exprs or ()
    return getattr(stmt, "returningList", None) or ()


def _function_columns(item: Any) -> Cols | None:
    """The columns of ``generate_series(...)`` / ``unnest(array)`` in FROM (WITH ORDINALITY too).

    A set-returning function given a NULL argument returns no rows, so
    ``generate_series`` never yields NULL; ``unnest`` yields the array's
    elements, which may be NULL. Other functions are not followed.
    """
    if item.is_rowsfrom or len(item.functions or ()) != 1:
        return None
    call = item.functions[0][0]
    if not isinstance(call, ast.FuncCall):
        return None
    names = [n.sval for n in call.funcname]
    if len(names) > 1 and names[0] != "pg_catalog":
        return None
    if names[-1] == "generate_series":
        cols: Cols = [("generate_series", True)]
    elif names[-1] == "unnest" and len(call.args or ()) == 1:
        cols = [("unnest", False)]
    else:
        return None
    if item.alias is not None and not item.alias.colnames:
        cols = [(item.alias.aliasname, cols[0][1])]
    if item.ordinality:
        cols.append(("ordinality", True))
    return _renamed(cols, item.alias)


def _aliased(cols: Cols | None, cte: Any) -> Cols | None:
    if cols is None or not cte.aliascolnames:
        return cols
    names = [n.sval for n in cte.aliascolnames]
    return [(n, c[1]) for n, c in zip(names, cols, strict=False)]


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


def non_null_columns(
    stmt: Any, catalog: Catalog, count: int, params: frozenset[int] = frozenset()
) -> list[bool]:
    """For each of the ``count`` result columns, whether it is provably never NULL.

    ``params`` are the numbers of the parameters the method types without
    ``None``: the caller cannot pass NULL there, so they count as non-null.
    When the analysis cannot line its columns up with the server's (an
    unsupported construct), every column counts as nullable.
    """
    try:
        cols = _Analyzer(catalog, params).statement(stmt, {})
    except (AttributeError, IndexError, KeyError, TypeError, ValueError, RecursionError):
        # A parse-tree shape the analysis does not know: claim nothing rather than fail.
        cols = None
    if cols is None or len(cols) != count:
        return [False] * count
    return [nn for _, nn in cols]


def target_layout(stmt: Any, catalog: Catalog) -> list[tuple[str | None, int]] | None:
    """For each target of the statement's own select list (or RETURNING): the
    relation a ``t.*`` names (None for anything else) and how many result
    columns it gives; None when a ``*`` cannot be expanded.
    """
    analyzer = _Analyzer(catalog)
    try:
        if analyzer.statement(stmt, {}) is None:
            return None
    except (AttributeError, IndexError, KeyError, TypeError, ValueError, RecursionError):
        return None  # an unknown tree shape: the caller reports that it cannot embed
    targets = stmt.targetList if isinstance(stmt, ast.SelectStmt) else _returning(stmt)
    return analyzer.layouts.get(id(targets))
