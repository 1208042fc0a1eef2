"""Reading query files: annotations, parameters, directives and markers.

A query starts at ``-- name: <Name> :<kind>`` (or ``/* name: <Name> :<kind> */``);
the comment lines right after it are its docstring, except the directives
(``-- nullable:``, ``-- required:``, ``-- not-null:``, ``-- optional:``,
``-- param:``, ``-- column:``). The SQL follows and ends with ``;``.

Parameters are sqlc's: ``@name``, ``sqlc.arg(name)``, ``sqlc.narg(name)`` (may be
None), ``sqlc.slice(name)`` (a list; ``IN (sqlc.slice(x))`` becomes
``= ANY($n)``) and positional ``$n``. Positional parameters keep their
numbers; named ones are numbered after the highest positional one, in order
of first appearance. A marker line ``-- @authorize_filter [alias]`` (the
spelling is a setting) becomes ``AND TRUE /*authorize_filter*/``, or
``WHERE TRUE /*authorize_filter*/`` in a statement with no WHERE clause of its
own (the authorization predicate is then its only condition).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pglast import ast as _pglast_ast
from pglast import parse_sql, parser

from store._gen import _tree
from store._gen._naming import identifier, snake_case, unique_names
from store._gen._params import param_contexts
from store._gen._settings import DEFAULT_SETTINGS, GenSettings, QueryOverride
from store._gen._tree import qualified_name
from store._gen.errors import GenError, Problem
from store._query import BATCH_INDEX, Kind

# pglast types every node slot as optional; the parser's guarantees (a RangeVar
# has a relname, a ColumnRef has fields) are not expressible, so nodes are Any.
ast: Any = _pglast_ast

__all__ = [
    "AUTHORIZE_FILTER_SQL",
    "KINDS",
    "RESERVED_METHODS",
    "ParsedQuery",
    "method_name",
    "parse_file",
    "parse_queries",
]

AUTHORIZE_FILTER_SQL = "AND TRUE /*authorize_filter*/"
_WHERE_FILTER_SQL = "WHERE TRUE /*authorize_filter*/"

#: The kinds a query file may use, and the run-time kind each one runs as.
#: ``:execresult`` returns the affected row count, ``:execlastid`` the single
#: column its ``RETURNING`` clause gives back.
KINDS: dict[str, Kind] = {
    "one": Kind.ONE,
    "many": Kind.MANY,
    "exec": Kind.EXEC,
    "execrows": Kind.EXECROWS,
    "execresult": Kind.EXECROWS,
    "execlastid": Kind.ONE,
    "copyfrom": Kind.COPYFROM,
    "batchexec": Kind.BATCHEXEC,
    "batchmany": Kind.BATCHMANY,
    "batchone": Kind.BATCHONE,
}
_BATCH_KINDS = (Kind.COPYFROM, Kind.BATCHEXEC, Kind.BATCHMANY, Kind.BATCHONE)

#: Method names a query must not take: the primitives and helpers of the class
#: the methods live on. Such a query's method gets a trailing ``_``.
RESERVED_METHODS = frozenset(
    {
        "fetch_one",
        "fetch_many",
        "execute",
        "execute_rows",
        "execute_batch",
        "fetch_batch",
        "in_tx",
        "ping",
        "close",
        "store",
        "queries",
        "t",  # its constant T would hide the module's TypeVar
    }
)

_NAME_LINE = re.compile(r"^(--|/\*)\s*name\s*:")
_NAME = re.compile(
    r"^(?:--|/\*)\s*name\s*:\s*([A-Za-z_][A-Za-z0-9_]*)\s+:([A-Za-z]+)\s*(?:\*/)?\s*$"
)
_DIRECTIVE = re.compile(r"^--\s*(nullable|required|not-null|optional|param|column)\s*:(.*)$")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PARAM_REF = re.compile(r"^(\$\d+|[A-Za-z_][A-Za-z0-9_]*)$")
# Tokens whose text is not SQL a parameter can appear in.
_OPAQUE = {"SCONST", "USCONST", "BCONST", "XCONST", "SQL_COMMENT", "C_COMMENT"}
_PROBE = "txstore_authorize_filter_probe"
_PARAMS = re.compile(
    r"(?P<sqlc>\bsqlc\s*\.\s*(?P<fn>arg|narg|slice|embed)\s*\()"
    r"|(?<![@\w<>:])@(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|\$(?P<num>\d+)",
    re.IGNORECASE,
)
_IN_SLICE = re.compile(
    r"\b(?P<not>NOT\s+)?IN\s*\(\s*(?P<slice>sqlc\s*\.\s*slice\s*\([^()]*\))\s*\)",
    re.IGNORECASE,
)


def method_name(query_name: str) -> str:
    """The Python method of a query: snake_case, a valid identifier, not a reserved name.

    ``GetUserByID`` -> ``get_user_by_id``; ``In`` -> ``in_``; ``Execute`` -> ``execute_``.
    """
    return identifier(snake_case(query_name), "query", RESERVED_METHODS)


@dataclass(frozen=True, slots=True, eq=False)
class ParsedQuery:
    """One annotated query, checked by PostgreSQL's own parser (not yet by a server)."""

    name: str
    kind: Kind
    file: Path
    line: int  # of the ``-- name:`` line
    sql_line: int  # line of the SQL's first line; ``sql`` keeps the file's line breaks
    sql: str  # with ``$n`` parameters and the authorize-filter placeholder, no ``;``
    params: tuple[str, ...]  # Python names, in ``$n`` order
    doc: str
    nullable_params: frozenset[str]
    not_null_columns: frozenset[str]
    authorize_filter: str | None
    tree: Any  # the pglast statement node
    filter_columns: frozenset[str]
    grouped: bool
    tables: tuple[str, ...]
    mutates: str | None
    source_kind: str = ""  # the kind as written (``execresult``); empty: ``kind``'s own
    required_params: frozenset[str] = frozenset()
    slice_params: frozenset[str] = frozenset()
    param_fills: tuple[tuple[str, str] | None, ...] = ()  # (table, column) a param fills
    optional_columns: frozenset[str] = frozenset()
    column_names: dict[str, str] = field(default_factory=dict)  # result column -> field
    embeds: tuple[str, ...] = ()  # sqlc.embed(t): relations whose columns nest as one field
    copy_columns: tuple[str, ...] = ()  # :copyfrom: the column each parameter fills, in order

    @property
    def source(self) -> str:
        """``file:line`` of the ``-- name:`` line."""
        return f"{self.file}:{self.line}"

    @property
    def method(self) -> str:
        """The Python method name (see :func:`method_name`)."""
        return method_name(self.name)

    def line_of(self, offset: int) -> int:
        """The file line holding character ``offset`` of ``sql``."""
        return self.sql_line + self.sql.count("\n", 0, max(offset, 0))


@dataclass
class _Block:
    file: Path
    line: int
    name_line: str
    lines: list[str]  # after the name line


def _split(file: Path, text: str, problems: list[Problem]) -> list[_Block]:
    blocks: list[_Block] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if _NAME_LINE.match(line.strip()):
            blocks.append(_Block(file, number, line.strip(), []))
        elif blocks:
            blocks[-1].lines.append(line)
        elif line.strip() and not line.strip().startswith("--"):
            problems.append(Problem(file, number, "SQL before the first '-- name:' annotation"))
            return []
    return blocks


def _mask(sql: str, problems: list[Problem], file: Path, line_of: Any) -> str | None:
    """``sql`` with string literals, quoted identifiers and comments blanked out."""
    try:
        tokens = parser.scan(sql)
    except parser.ParseError as exc:
        problems.append(Problem(file, line_of(exc.args[1]), f"SQL rejected: {exc.args[0]}"))
        return None
    chars = list(sql)
    for tok in tokens:
        quoted_ident = tok.name == "IDENT" and sql[tok.start] == '"'
        if tok.name in _OPAQUE or quoted_ident:
            for i in range(tok.start, tok.end + 1):
                if chars[i] != "\n":
                    chars[i] = " "
    return "".join(chars)


def _statement_end(sql: str, masked: str) -> tuple[int, str | None]:
    """Index of the terminating ``;`` and an error if the text is not exactly one statement."""
    ends = [m.start() for m in re.finditer(";", masked)]
    if not ends:
        return -1, "query must end with ';'"
    if masked[ends[0] + 1 :].strip():
        return ends[0], "more than one statement; give each query its own '-- name:' line"
    return ends[0], None


def _directive_names(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def _pairs(text: str) -> list[tuple[str, str]] | None:
    """``a b, c d`` (or ``a -> b``) as pairs; None when malformed."""
    out = []
    for item in _directive_names(text):
        parts = item.replace("->", " ").split()
        if len(parts) != 2:
            return None
        out.append((parts[0].strip('"'), parts[1]))
    return out


@dataclass
class _Directives:
    doc: list[str] = field(default_factory=list)
    nullable: dict[str, int] = field(default_factory=dict)  # name -> line
    required: dict[str, int] = field(default_factory=dict)
    not_null: set[str] = field(default_factory=set)
    optional: set[str] = field(default_factory=set)
    params: dict[str, tuple[str, int]] = field(default_factory=dict)  # ref -> (name, line)
    columns: dict[str, str] = field(default_factory=dict)

    def add(self, override: QueryOverride, line: int) -> None:
        self.nullable.update(dict.fromkeys(override.nullable, line))
        self.required.update(dict.fromkeys(override.required, line))
        self.not_null |= override.not_null
        self.optional |= override.optional
        self.params.update({k: (v, line) for k, v in override.params.items()})
        self.columns.update(override.columns)


def _read_directive(kind: str, text: str, d: _Directives, number: int) -> bool:
    if kind in ("param", "column"):
        pairs = _pairs(text)
        if not pairs:
            return False
        if kind == "param":
            if not all(_PARAM_REF.match(a) and _IDENT.match(b) for a, b in pairs):
                return False
            d.params.update({a: (b, number) for a, b in pairs})
        else:
            if not all(_IDENT.match(b) for _, b in pairs):
                return False
            d.columns.update(pairs)
        return True
    names = _directive_names(text)
    if kind in ("nullable", "required"):
        if not names or not all(_PARAM_REF.match(n) for n in names):
            return False
        (d.nullable if kind == "nullable" else d.required).update(dict.fromkeys(names, number))
        return True
    if not names:
        return False
    (d.not_null if kind == "not-null" else d.optional).update(n.strip('"') for n in names)
    return True


def _splice(
    source: str, masked: str, spans: list[tuple[int, int, int, int, str]]
) -> tuple[str, str]:
    """``IN (slice)`` -> ``op(slice)`` in both strings, keeping line breaks."""
    out_s, out_m, last = [], [], 0
    for start, end, inner_start, inner_end, op in spans:
        breaks = "\n" * source.count("\n", start, end)
        out_s += [source[last:start], op, source[inner_start:inner_end], ")", breaks]
        out_m += [masked[last:start], op, masked[inner_start:inner_end], ")", breaks]
        last = end
    out_s.append(source[last:])
    out_m.append(masked[last:])
    return "".join(out_s), "".join(out_m)


@dataclass
class _Params:
    names: dict[int, str] = field(default_factory=dict)  # number -> name as written
    nullable: set[str] = field(default_factory=set)  # sqlc.narg
    slices: set[str] = field(default_factory=set)
    positional: set[int] = field(default_factory=set)
    embeds: list[str] = field(default_factory=list)  # sqlc.embed(t), in order


def _substitute(
    source: str, masked: str, end: int, problem: Callable[[int, str], None]
) -> tuple[str, _Params] | None:
    """Rewrite every parameter spelling to ``$n``; None after reporting a problem."""
    spans = [
        (
            m.start(),
            m.end(),
            m.start("slice"),
            m.end("slice"),
            " <> ALL(" if m.group("not") else " = ANY(",
        )
        for m in _IN_SLICE.finditer(masked, 0, end)
    ]
    if spans:
        cut = len(source) - end
        source, masked = _splice(source, masked, spans)
        end = len(source) - cut
    found = list(_PARAMS.finditer(masked, 0, end))
    params = _Params()
    params.positional = {int(m.group("num")) for m in found if m.group("num")}
    named: dict[str, int] = {}
    taken = set(params.positional)

    def free() -> int:
        # A name takes the lowest number no $n uses: it fills a gap the
        # positional parameters leave ($1, @a, $3 number @a $2), as sqlc does.
        number = 1
        while number in taken:
            number += 1
        taken.add(number)
        return number

    pieces: list[str] = []
    last = 0
    for m in found:
        stop = m.end()
        if m.group("num"):
            number = int(m.group("num"))
            if number == 0:
                problem(m.start(), "parameter $0 does not exist; numbers start at $1")
                return None
            text = f"${number}"
        else:
            if m.group("sqlc"):
                close = masked.find(")", m.end(), end)
                if close < 0:
                    problem(m.start(), "unclosed sqlc." + m.group("fn") + "(")
                    return None
                name = source[m.end() : close].strip().strip("'\"")
                stop = close + 1
                fn = m.group("fn").lower()
                if not _IDENT.match(name):
                    problem(m.start(), f"sqlc.{fn}({source[m.end() : close]}) needs a plain name")
                    return None
                if fn == "embed":
                    params.embeds.append(name)
                    pieces += [source[last : m.start()], f"{name}.*"]
                    last = stop
                    continue
                if fn == "narg":
                    params.nullable.add(name)
                elif fn == "slice":
                    params.slices.add(name)
            else:
                name = m.group("name")
            if name not in named:
                named[name] = free()
                params.names[named[name]] = name
            text = f"${named[name]}"
        pieces += [source[last : m.start()], text]
        last = stop
    pieces.append(source[last:end])
    return "".join(pieces).rstrip(), params


def _parse_block(
    block: _Block,
    problems: list[Problem],
    settings: GenSettings = DEFAULT_SETTINGS,
) -> ParsedQuery | None:
    file = block.file
    head = _NAME.match(block.name_line)
    if head is None:
        problems.append(
            Problem(
                file,
                block.line,
                f"malformed annotation {block.name_line!r}; expected '-- name: Name :kind'",
            )
        )
        return None
    name, kind_text = head.groups()
    kind_text = kind_text.lower()
    if kind_text not in KINDS:
        kinds = ", ".join(f":{k}" for k in KINDS)
        problems.append(Problem(file, block.line, f"unknown kind :{kind_text} (use {kinds})"))
        return None
    kind = KINDS[kind_text]
    marker_re = re.compile(r"^(\s*)--\s*" + re.escape(settings.authorize_marker) + r"(?=\s|$)(.*)$")

    d = _Directives()
    override = settings.queries.get(name)
    if override is not None:
        d.add(override, block.line)
    index = 0
    for index, line in enumerate(block.lines):  # index is used after the loop
        stripped = line.strip()
        if not stripped.startswith("--"):
            break
        number = block.line + 1 + index
        directive = _DIRECTIVE.match(stripped)
        if directive:
            if not _read_directive(directive.group(1), directive.group(2), d, number):
                problems.append(Problem(file, number, f"malformed directive {stripped!r}"))
                return None
        elif marker_re.match(line):
            problems.append(Problem(file, number, "authorize_filter marker before the SQL"))
            return None
        else:
            d.doc.append(stripped[2:].strip())
    else:
        index = len(block.lines)
    body = block.lines[index:]
    first = next((i for i, line in enumerate(body) if line.strip()), None)
    if first is None:
        problems.append(Problem(file, block.line, f"query {name} has no SQL"))
        return None
    sql_line = block.line + 1 + index + first
    body = body[first:]

    def line_of(offset: int | None) -> int:
        text = "\n".join(body).rstrip()
        return sql_line + text.count("\n", 0, len(text) if offset is None else max(offset, 0))

    markers: list[tuple[int, str | None]] = []
    lines = []
    for i, line in enumerate(body):
        marker = marker_re.match(line)
        if marker:
            alias = marker.group(2).strip() or None
            if alias is not None and not _IDENT.match(alias):
                problems.append(Problem(file, sql_line + i, f"malformed marker {line.strip()!r}"))
                return None
            markers.append((sql_line + i, alias))
            line = marker.group(1) + AUTHORIZE_FILTER_SQL
        lines.append(line)
    if len(markers) > 1:
        problems.append(Problem(file, markers[1][0], "more than one authorize_filter marker"))
        return None
    source = "\n".join(lines)
    masked = _mask(source, problems, file, line_of)
    if masked is None:
        return None
    end, error = _statement_end(source, masked)
    if error:
        at = line_of(end) if end >= 0 else sql_line + len(body) - 1
        problems.append(Problem(file, at, error))
        return None

    def problem(offset: int, message: str) -> None:
        problems.append(Problem(file, line_of(offset), f"{name}: {message}"))

    substituted = _substitute(source, masked, end, problem)
    if substituted is None:
        return None
    sql, written = substituted

    if markers:
        with contextlib.suppress(parser.ParseError):
            bare = parse_sql(sql.replace(AUTHORIZE_FILTER_SQL, ""))[0].stmt
            if getattr(bare, "whereClause", None) is None:
                # The predicate is the statement's only condition: it opens the WHERE clause.
                sql = sql.replace(AUTHORIZE_FILTER_SQL, _WHERE_FILTER_SQL)
    try:
        stmt = parse_sql(sql)[0].stmt
    except parser.ParseError as exc:
        problems.append(Problem(file, line_of(exc.args[1]), f"SQL rejected: {exc.args[0]}"))
        return None

    count = max([*written.names, *written.positional], default=0)
    missing = [
        n for n in range(1, count + 1) if n not in written.positional and n not in written.names
    ]
    if missing:
        problems.append(
            Problem(
                file,
                block.line,
                f"{name}: parameter ${missing[0]} is never used; number parameters without gaps",
            )
        )
        return None
    nodes = list(_tree.walk(stmt))
    try:
        contexts = param_contexts(stmt, nodes)
    except (AttributeError, IndexError, KeyError, TypeError, ValueError):
        contexts = {}  # an unknown tree shape: parameters fall back to p<n>
    raw = [
        written.names.get(n) or (contexts[n].name if n in contexts else f"p{n}")
        for n in range(1, count + 1)
    ]
    for ref, (new, number) in d.params.items():
        position = (
            int(ref[1:]) if ref.startswith("$") else (raw.index(ref) + 1 if ref in raw else 0)
        )
        if not 1 <= position <= count:
            problems.append(Problem(file, number, f"-- param: {ref} is not a parameter of {name}"))
            return None
        raw[position - 1] = new
    final = unique_names([identifier(r, "p", frozenset({"self"})) for r in raw])

    def resolve(ref: str) -> str | None:
        if ref.startswith("$"):
            position = int(ref[1:])
            return final[position - 1] if 1 <= position <= count else None
        if ref in final:
            return ref
        return final[raw.index(ref)] if ref in raw else None

    nullable: set[str] = {final[raw.index(n)] for n in written.nullable if n in raw}
    required: set[str] = set()
    for refs, into, label in (
        (d.nullable, nullable, "nullable"),
        (d.required, required, "required"),
    ):
        for ref, number in refs.items():
            resolved = resolve(ref)
            if resolved is None:
                problems.append(
                    Problem(file, number, f"-- {label}: names {ref!r}, not a parameter of {name}")
                )
                return None
            into.add(resolved)

    tree_sql = sql
    first_line = sql_line  # of ``sql``'s first line, as a server error position is mapped
    copy_columns: tuple[str, ...] = ()
    if kind in _BATCH_KINDS:
        shaped = _batch_shape(name, kind, sql, stmt, count)
        if isinstance(shaped, str):
            problems.append(Problem(file, block.line, shaped))
            return None
        if kind in (Kind.BATCHMANY, Kind.BATCHONE) and isinstance(stmt, ast.SelectStmt):
            first_line -= 1  # the wrapper's line comes before the file's first SQL line
        sql, copy_columns = shaped
        if kind in (Kind.BATCHMANY, Kind.BATCHONE):
            if BATCH_INDEX in final:
                problems.append(
                    Problem(file, block.line, f"{name}: the parameter name {BATCH_INDEX} is taken")
                )
                return None
            final.append(BATCH_INDEX)

    authorize: str | None = None
    if markers:
        probe = tree_sql.replace(AUTHORIZE_FILTER_SQL, f"AND {_PROBE}")
        probe = probe.replace(_WHERE_FILTER_SQL, f"WHERE {_PROBE}")
        authorize = _authorize_alias(parse_sql(probe)[0].stmt, markers[0], file, problems)
        if authorize is None:
            return None

    return ParsedQuery(
        name=name,
        kind=kind,
        file=file,
        line=block.line,
        sql_line=first_line,
        sql=sql,
        params=tuple(final),
        doc="\n".join(d.doc).strip(),
        nullable_params=frozenset(nullable),
        not_null_columns=frozenset(d.not_null),
        authorize_filter=authorize,
        tree=stmt,
        filter_columns=_tree.filter_columns(stmt, nodes),
        grouped=_tree.is_grouped(stmt),
        tables=_tree.tables(stmt, nodes),
        mutates=_tree.modified_table(stmt, nodes),
        source_kind=kind_text,
        required_params=frozenset(required),
        slice_params=frozenset(final[raw.index(n)] for n in written.slices if n in raw),
        param_fills=tuple(
            contexts[n].fills if n in contexts else None for n in range(1, count + 1)
        ),
        optional_columns=frozenset(d.optional),
        column_names=dict(d.columns),
        embeds=tuple(written.embeds),
        copy_columns=copy_columns,
    )


def _batch_shape(
    name: str, kind: Kind, sql: str, stmt: Any, count: int
) -> tuple[str, tuple[str, ...]] | str:
    """A batch query's SQL as it runs, and a ``:copyfrom``'s columns; or what is wrong.

    A ``:batchmany`` / ``:batchone`` query returns, after its own columns, the
    batch index it takes as its last parameter: the rows of every argument set
    come back as one flat list, and that column says which set made each row.
    A SELECT is wrapped (``SELECT q.*, $n FROM (...) AS q``, which keeps its
    ORDER BY: PostgreSQL does not flatten a sorted subquery); an INSERT, UPDATE
    or DELETE appends it to its RETURNING list, the statement's last clause.
    """
    label = f"{name} is :{kind}"
    if count == 0:
        return f"{label} but takes no parameters: a batch runs once per argument set"
    if kind is Kind.BATCHEXEC:
        return sql, ()
    if kind is Kind.COPYFROM:
        return _copy_shape(label, sql, stmt, count)
    index = f"${count + 1}::int4 AS {BATCH_INDEX}"
    if isinstance(stmt, ast.SelectStmt):
        ctes = getattr(stmt.withClause, "ctes", None) or ()
        if any(not isinstance(c.ctequery, ast.SelectStmt) for c in ctes):
            return f"{label}: a SELECT with a data-modifying WITH cannot be batched"
        return f"SELECT q.*, {index} FROM (\n" + sql + "\n) AS q", ()
    if isinstance(stmt, ast.InsertStmt | ast.UpdateStmt | ast.DeleteStmt):
        if not _returning(stmt):
            return f"{label}: an INSERT, UPDATE or DELETE needs RETURNING to give rows"
        return sql + f"\n, {index}", ()
    return f"{label}: it must be a SELECT, or an INSERT, UPDATE or DELETE with RETURNING"


def _returning(stmt: Any) -> Any:
    clause = getattr(stmt, "returningClause", None)  # pglast >= 8; older: returningList
    if clause is not None:
        return clause.exprs or ()
    return getattr(stmt, "returningList", None) or ()


def _copy_shape(label: str, sql: str, stmt: Any, count: int) -> tuple[str, tuple[str, ...]] | str:
    """``INSERT INTO t (a, b) VALUES ($1, $2)``: the columns of $1, $2... for ``COPY``."""
    shape = "INSERT INTO t (a, b, ...) VALUES ($1, $2, ...) with one plain parameter per column"
    if not isinstance(stmt, ast.InsertStmt):
        return f"{label}: COPY needs {shape}"
    if stmt.withClause or stmt.onConflictClause or _returning(stmt):
        return f"{label}: COPY takes no WITH, ON CONFLICT or RETURNING; write {shape}"
    select = stmt.selectStmt
    rows: Any = getattr(select, "valuesLists", None) or ()
    if not stmt.cols or len(rows) != 1:
        return f"{label}: COPY needs {shape}"
    values: Any = rows[0]
    if len(values) != len(stmt.cols) or not all(isinstance(v, ast.ParamRef) for v in values):
        return f"{label}: COPY copies values as they are; write {shape} (no expressions or casts)"
    numbers = [v.number for v in values]
    if sorted(numbers) != list(range(1, count + 1)):
        return f"{label}: each parameter must fill exactly one column; write {shape}"
    by_number = {n: c.name for n, c in zip(numbers, stmt.cols, strict=True)}
    return sql, tuple(by_number[n] for n in range(1, count + 1))


def _visible_relations(stmt: Any) -> list[tuple[str, str]]:
    """(name the query refers to it by, catalog key) for each relation in the top-level FROM."""
    found: list[tuple[str, str]] = []
    if isinstance(stmt, ast.UpdateStmt | ast.DeleteStmt):
        rel = stmt.relation
        found.append(
            (
                rel.alias.aliasname if rel.alias else rel.relname,
                qualified_name(rel.relname, rel.schemaname),
            )
        )
    items = list(getattr(stmt, "fromClause", None) or getattr(stmt, "usingClause", None) or ())
    while items:
        item = items.pop(0)
        if isinstance(item, ast.RangeVar):
            found.append(
                (
                    item.alias.aliasname if item.alias else item.relname,
                    qualified_name(item.relname, item.schemaname),
                )
            )
        elif isinstance(item, ast.JoinExpr):
            items[:0] = [item.larg, item.rarg]
        elif isinstance(item, ast.RangeSubselect) and item.alias is not None:
            found.append((item.alias.aliasname, ""))
    return found


def _authorize_alias(
    stmt: Any, marker: tuple[int, str | None], file: Path, problems: list[Problem]
) -> str | None:
    line, alias = marker
    where = getattr(stmt, "whereClause", None)
    if where is None:
        problems.append(Problem(file, line, "authorize_filter marker in a query without WHERE"))
        return None
    inside = any(
        isinstance(n, ast.ColumnRef) and n.fields[-1].sval == _PROBE
        for n in _tree.walk(where)
        if isinstance(n, ast.ColumnRef) and isinstance(n.fields[-1], ast.String)
    )
    if not inside:
        problems.append(
            Problem(file, line, "authorize_filter marker must be inside the WHERE clause")
        )
        return None
    relations = _visible_relations(stmt)
    if alias is not None:
        if alias not in {visible for visible, _ in relations}:
            problems.append(
                Problem(file, line, f"authorize_filter alias {alias!r} is not in the FROM clause")
            )
            return None
        return alias
    if len(relations) != 1:
        problems.append(
            Problem(file, line, "authorize_filter needs an alias when FROM has several relations")
        )
        return None
    return relations[0][0]


def parse_file(
    file: Path,
    problems: list[Problem],
    *,
    display: Path | None = None,
    settings: GenSettings = DEFAULT_SETTINGS,
) -> list[ParsedQuery]:
    """Parse one query file, appending what is wrong to ``problems``.

    A file that is not UTF-8 is one problem (its line and byte offset) and no query.
    """
    shown = display or file
    data = file.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        message = (
            f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "save the file as UTF-8"
        )
        problems.append(Problem(shown, line, message))
        return []
    queries = []
    for block in _split(shown, text, problems):
        query = _parse_block(block, problems, settings)
        if query is not None:
            queries.append(query)
    return queries


def parse_queries(
    directory: Path, *, root: Path | None = None, settings: GenSettings = DEFAULT_SETTINGS
) -> list[ParsedQuery]:
    """Parse every ``*.sql`` file of ``directory`` (sorted by name).

    Files are shown relative to ``root`` (default: the directory's parent) in
    problems and in each query's ``source``.

    Raises:
        GenError: any malformed annotation, unknown kind, duplicate query name,
            SQL PostgreSQL's parser rejects, ``-- nullable:`` naming an unknown
            parameter, or misplaced ``-- @authorize_filter`` marker; it lists
            them all with file and line.
    """
    base = root if root is not None else directory.parent
    problems: list[Problem] = []
    queries: list[ParsedQuery] = []
    for file in sorted(directory.glob("*.sql")):
        try:
            display = file.relative_to(base)
        except ValueError:
            display = file
        queries += parse_file(file, problems, display=display, settings=settings)
    first: dict[str, ParsedQuery] = {}
    for query in queries:
        key = query.method
        if key in first:
            where = first[key].source
            problems.append(
                Problem(
                    query.file,
                    query.line,
                    f"duplicate query name {query.name}: its method {key} is also "
                    f"{first[key].name}'s (first at {where})",
                )
            )
        else:
            first[key] = query
    if problems:
        raise GenError(problems)
    return queries
