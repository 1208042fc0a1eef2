"""Reading ``queries/*.sql``: annotations, named parameters and markers.

A query starts at ``-- name: <PascalName> :<kind>``; the comment lines right
after it are its docstring, except the directives ``-- nullable: p, q`` and
``-- not-null: c``. The SQL follows and ends with ``;``. Named parameters
``@name`` become ``$1..$n`` in order of first appearance; a marker line
``-- @authorize_filter [alias]`` becomes ``AND TRUE /*authorize_filter*/``, or
``WHERE TRUE /*authorize_filter*/`` in a statement with no WHERE clause of its
own (the authorization predicate is then its only condition).
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pglast import ast as _pglast_ast
from pglast import parse_sql, parser

from store._gen import _tree
from store._gen._naming import snake_case
from store._gen.errors import GenError, Problem
from store._query import Kind

# pglast types every node slot as optional; the parser's guarantees (a RangeVar
# has a relname, a ColumnRef has fields) are not expressible, so nodes are Any.
ast: Any = _pglast_ast

__all__ = ["AUTHORIZE_FILTER_SQL", "ParsedQuery", "parse_file", "parse_queries"]

AUTHORIZE_FILTER_SQL = "AND TRUE /*authorize_filter*/"
_WHERE_FILTER_SQL = "WHERE TRUE /*authorize_filter*/"

_NAME_LINE = re.compile(r"^--\s*name\s*:")
_NAME = re.compile(r"^--\s*name:\s*([A-Z][A-Za-z0-9]*)\s+:([A-Za-z]+)\s*$")
_DIRECTIVE = re.compile(r"^--\s*(nullable|not-null)\s*:(.*)$")
_MARKER = re.compile(r"^(\s*)--\s*@authorize_filter\b(.*)$")
_PARAM = re.compile(r"(?<![@\w])@([A-Za-z_][A-Za-z0-9_]*)")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Tokens whose text is not SQL a parameter can appear in.
_OPAQUE = {"SCONST", "USCONST", "BCONST", "XCONST", "SQL_COMMENT", "C_COMMENT"}
_PROBE = "txstore_authorize_filter_probe"


@dataclass(frozen=True, slots=True, eq=False)
class ParsedQuery:
    """One annotated query, checked by PostgreSQL's own parser (not yet by a server)."""

    name: str
    kind: Kind
    file: Path
    line: int  # of the ``-- name:`` line
    sql_line: int  # line of the SQL's first line; ``sql`` keeps the file's line breaks
    sql: str  # with ``$n`` parameters and the authorize-filter placeholder, no ``;``
    params: tuple[str, ...]
    doc: str
    nullable_params: frozenset[str]
    not_null_columns: frozenset[str]
    authorize_filter: str | None
    tree: Any  # the pglast statement node
    filter_columns: frozenset[str]
    grouped: bool
    tables: tuple[str, ...]
    mutates: str | None

    @property
    def source(self) -> str:
        """``file:line`` of the ``-- name:`` line."""
        return f"{self.file}:{self.line}"

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


def _names(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


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


def _parse_block(block: _Block, problems: list[Problem]) -> ParsedQuery | None:
    file = block.file
    head = _NAME.match(block.name_line)
    if head is None:
        problems.append(
            Problem(
                file,
                block.line,
                f"malformed annotation {block.name_line!r}; expected '-- name: PascalName :kind'",
            )
        )
        return None
    name, kind_text = head.groups()
    try:
        kind = Kind(kind_text)
    except ValueError:
        kinds = ", ".join(f":{k}" for k in Kind)
        problems.append(Problem(file, block.line, f"unknown kind :{kind_text} (use {kinds})"))
        return None

    doc: list[str] = []
    nullable: dict[str, int] = {}
    not_null: set[str] = set()
    index = 0
    for index, line in enumerate(block.lines):  # index is used after the loop
        stripped = line.strip()
        if not stripped.startswith("--"):
            break
        number = block.line + 1 + index
        directive = _DIRECTIVE.match(stripped)
        if directive:
            names = _names(directive.group(2))
            if not names or not all(_IDENT.match(n) for n in names):
                problems.append(Problem(file, number, f"malformed directive {stripped!r}"))
                return None
            if directive.group(1) == "nullable":
                nullable.update(dict.fromkeys(names, number))
            else:
                not_null.update(names)
        elif _MARKER.match(line):
            problems.append(Problem(file, number, "authorize_filter marker before the SQL"))
            return None
        else:
            doc.append(stripped[2:].strip())
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
        marker = _MARKER.match(line)
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

    params: list[str] = []
    pieces: list[str] = []
    last = 0
    for match in _PARAM.finditer(masked, 0, end):
        param = match.group(1)
        if param not in params:
            params.append(param)
        pieces += [source[last : match.start()], f"${params.index(param) + 1}"]
        last = match.end()
    pieces.append(source[last:end])
    sql = "".join(pieces).rstrip()

    for param, number in nullable.items():
        if param not in params:
            problems.append(
                Problem(file, number, f"-- nullable: names {param!r}, not a parameter of {name}")
            )
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

    authorize: str | None = None
    if markers:
        probe = sql.replace(AUTHORIZE_FILTER_SQL, f"AND {_PROBE}")
        probe = probe.replace(_WHERE_FILTER_SQL, f"WHERE {_PROBE}")
        authorize = _authorize_alias(parse_sql(probe)[0].stmt, markers[0], file, problems)
        if authorize is None:
            return None

    return ParsedQuery(
        name=name,
        kind=kind,
        file=file,
        line=block.line,
        sql_line=sql_line,
        sql=sql,
        params=tuple(params),
        doc="\n".join(doc).strip(),
        nullable_params=frozenset(nullable),
        not_null_columns=frozenset(not_null),
        authorize_filter=authorize,
        tree=stmt,
        filter_columns=_tree.filter_columns(stmt),
        grouped=_tree.is_grouped(stmt),
        tables=_tree.tables(stmt),
        mutates=_tree.modified_table(stmt),
    )


def _visible_relations(stmt: Any) -> list[tuple[str, str]]:
    """(name the query refers to it by, table name) for each relation in the top-level FROM."""
    found: list[tuple[str, str]] = []
    if isinstance(stmt, ast.UpdateStmt | ast.DeleteStmt):
        rel = stmt.relation
        found.append((rel.alias.aliasname if rel.alias else rel.relname, rel.relname))
    items = list(getattr(stmt, "fromClause", None) or getattr(stmt, "usingClause", None) or ())
    while items:
        item = items.pop(0)
        if isinstance(item, ast.RangeVar):
            found.append((item.alias.aliasname if item.alias else item.relname, item.relname))
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
    file: Path, problems: list[Problem], *, display: Path | None = None
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
        query = _parse_block(block, problems)
        if query is not None:
            queries.append(query)
    return queries


def parse_queries(directory: Path, *, root: Path | None = None) -> list[ParsedQuery]:
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
        queries += parse_file(file, problems, display=display)
    first: dict[str, ParsedQuery] = {}
    for query in queries:
        key = snake_case(query.name)
        if key in first:
            where = first[key].source
            problems.append(
                Problem(
                    query.file, query.line, f"duplicate query name {query.name} (first at {where})"
                )
            )
        else:
            first[key] = query
    if problems:
        raise GenError(problems)
    return queries
