"""What the server says: the catalog (tables, types, constraints) and each query's shape."""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg

from store._gen._parse import ParsedQuery
from store._gen._tree import qualified_name
from store._gen.errors import Problem

__all__ = [
    "Catalog",
    "Column",
    "Described",
    "PgType",
    "Table",
    "describe",
    "load_catalog",
    "qualified_name",
]

_SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")


@dataclass(frozen=True, slots=True)
class PgType:
    """One row of ``pg_type`` (with its enum labels in sort order)."""

    oid: int
    name: str
    schema: str
    kind: str  # typtype: b(ase), e(num), d(omain), c(omposite), r(ange), p(seudo), m(ultirange)
    elem: int  # element type of an array, else 0
    base: int  # base type of a domain, else 0
    category: str
    labels: tuple[str, ...] = ()
    subtype: int = 0  # element type of a range or multirange, else 0
    #: A standalone composite type's (``CREATE TYPE x AS (...)``) live attributes in
    #: order, as (name, type oid); empty for everything else, a table's row type included.
    attributes: tuple[tuple[str, int], ...] = ()
    standalone: bool = False  # a composite declared with CREATE TYPE, not a table's row type

    @property
    def qualified(self) -> str:
        return (
            self.name if self.schema in ("pg_catalog", "public") else f"{self.schema}.{self.name}"
        )


@dataclass(frozen=True, slots=True)
class Column:
    """A table column: name, type oid and whether it is declared NOT NULL."""

    name: str
    type_oid: int
    not_null: bool


@dataclass(frozen=True, slots=True)
class Table:
    """A base table with its live columns in ``attnum`` order."""

    name: str
    schema: str
    columns: tuple[Column, ...]

    @property
    def key(self) -> str:
        """``name`` in ``public``, else ``schema.name``: how the catalog files it."""
        return qualified_name(self.name, self.schema)


@dataclass(frozen=True)
class Catalog:
    """The user schema as the server sees it.

    ``tables`` and ``views`` are keyed by :func:`qualified_name`; an unqualified
    reference in a query finds ``public``'s relation (the default search path)
    and nothing else.
    """

    tables: dict[str, Table]
    types: dict[int, PgType]
    unique: tuple[str, ...] = ()
    foreign_keys: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()
    enums: tuple[int, ...] = field(default=())  # oids of user enum types, by name
    views: dict[str, str] = field(default_factory=dict)  # view name -> its SELECT
    sequences: frozenset[str] = frozenset()  # sequence names (a one-row relation, NOT NULL)
    composites: tuple[int, ...] = ()  # oids of user standalone composite types, public's first


@dataclass(frozen=True, slots=True)
class Described:
    """A prepared statement's parameter type oids and result columns (name, type oid)."""

    params: tuple[int, ...]
    columns: tuple[tuple[str, int], ...]


_TYPES = """
SELECT t.oid::int8, t.typname::text, n.nspname::text, t.typtype::text, t.typelem::int8,
       t.typbasetype::int8,
       t.typcategory::text,
       coalesce((SELECT array_agg(e.enumlabel ORDER BY e.enumsortorder)
                 FROM pg_enum e WHERE e.enumtypid = t.oid), '{}'),
       coalesce((SELECT r.rngsubtype::int8 FROM pg_range r
                 WHERE r.rngtypid = t.oid OR r.rngmultitypid = t.oid), 0),
       coalesce(c.relkind = 'c', false),
       CASE WHEN c.relkind = 'c' THEN
           (SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_attribute a
            WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped)
       END,
       CASE WHEN c.relkind = 'c' THEN
           (SELECT array_agg(a.atttypid::int8 ORDER BY a.attnum) FROM pg_attribute a
            WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped)
       END
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
LEFT JOIN pg_class c ON c.oid = t.typrelid AND t.typtype = 'c'
"""

_COLUMNS = """
SELECT c.relname::text, n.nspname::text, a.attname::text, a.atttypid::int8, a.attnotnull
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relkind IN ('r', 'p') AND n.nspname <> ALL($1::text[])
  AND n.nspname NOT LIKE 'pg\\_%' AND NOT c.relispartition
ORDER BY n.nspname, c.relname, a.attnum
"""

_VIEWS = """
SELECT c.relname::text, n.nspname::text,
       CASE WHEN c.relkind = 'S' THEN NULL ELSE pg_get_viewdef(c.oid) END
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v', 'm', 'S') AND n.nspname <> ALL($1::text[]) AND n.nspname NOT LIKE 'pg\\_%'
ORDER BY n.nspname, c.relname
"""

_CONSTRAINTS = """
SELECT 'u', i.relname::text, t.relname::text FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_namespace n ON n.oid = i.relnamespace
JOIN pg_class t ON t.oid = x.indrelid
WHERE x.indisunique AND n.nspname <> ALL($1::text[]) AND n.nspname NOT LIKE 'pg\\_%'
UNION
SELECT c.contype::text, c.conname::text, coalesce(t.relname, '')::text FROM pg_constraint c
JOIN pg_namespace n ON n.oid = c.connamespace
LEFT JOIN pg_class t ON t.oid = c.conrelid
WHERE c.contype IN ('f', 'c') AND n.nspname <> ALL($1::text[]) AND n.nspname NOT LIKE 'pg\\_%'
ORDER BY 2, 1
"""


async def load_catalog(conn: asyncpg.Connection, *, exclude_tables: frozenset[str]) -> Catalog:
    """Read tables, columns, types and constraint names of every non-system schema.

    Raises:
        asyncpg.PostgresError: the catalog queries failed.
    """
    types = {
        r[0]: PgType(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            r[6],
            tuple(r[7]),
            r[8],
            tuple(zip(r[10] or (), r[11] or (), strict=True)),
            r[9],
        )
        for r in await conn.fetch(_TYPES)
    }
    columns: dict[tuple[str, str], list[Column]] = {}
    for relname, schema, name, type_oid, not_null in await conn.fetch(
        _COLUMNS, list(_SYSTEM_SCHEMAS)
    ):
        if relname in exclude_tables:
            continue
        columns.setdefault((schema, relname), []).append(Column(name, type_oid, not_null))
    # Constraints of excluded tables (the migrations ledger) are tooling's, not the schema's.
    constraints = [
        (kind, name)
        for kind, name, table in await conn.fetch(_CONSTRAINTS, list(_SYSTEM_SCHEMAS))
        if table not in exclude_tables
    ]
    relations = await conn.fetch(_VIEWS, list(_SYSTEM_SCHEMAS))
    views = {qualified_name(n, schema): d for n, schema, d in relations if d is not None}
    sequences = frozenset(qualified_name(n, schema) for n, schema, d in relations if d is None)
    enums = sorted(
        (t for t in types.values() if t.kind == "e" and t.schema not in _SYSTEM_SCHEMAS),
        key=lambda t: (t.schema, t.name),
    )
    composites = sorted(
        (t for t in types.values() if t.standalone and t.schema not in _SYSTEM_SCHEMAS),
        key=lambda t: (t.schema != "public", t.schema, t.name),
    )
    return Catalog(
        tables={
            qualified_name(name, schema): Table(name, schema, tuple(cols))
            for (schema, name), cols in sorted(
                columns.items(), key=lambda item: (item[0][0] != "public", item[0])
            )
        },
        types=types,
        unique=tuple(name for kind, name in constraints if kind == "u"),
        foreign_keys=tuple(name for kind, name in constraints if kind == "f"),
        checks=tuple(name for kind, name in constraints if kind == "c"),
        enums=tuple(t.oid for t in enums),
        views=views,
        sequences=sequences,
        composites=tuple(t.oid for t in composites),
    )


async def describe(
    conn: asyncpg.Connection, query: ParsedQuery, problems: list[Problem]
) -> Described | None:
    """Prepare ``query`` on the server; on rejection add a problem with the server's message.

    Raises:
        asyncpg.InterfaceError: the connection broke.
    """
    try:
        stmt = await conn.prepare(query.sql)
    except asyncpg.UnsupportedClientFeatureError as exc:
        # asyncpg has no way to read a value of the query (a composite holding a
        # type it only knows in text form, such as ltree): it would fail at run time.
        problems.append(Problem(query.file, query.line, f"{query.name}: asyncpg {exc}"))
        return None
    except asyncpg.InternalClientError as exc:
        # A type asyncpg's introspection cannot describe (a composite with no attribute).
        problems.append(
            Problem(query.file, query.line, f"{query.name}: asyncpg cannot read its types: {exc}")
        )
        return None
    except asyncpg.PostgresError as exc:
        position = getattr(exc, "position", None)
        line = query.line_of(int(position) - 1) if position else query.line
        detail = "".join(
            f"; {label}: {text}"
            for label, text in (("detail", exc.detail), ("hint", exc.hint))
            if text
        )
        problems.append(
            Problem(query.file, line, f"PostgreSQL rejected {query.name}: {exc}{detail}")
        )
        return None
    return Described(
        params=tuple(t.oid for t in stmt.get_parameters()),
        columns=tuple((a.name, a.type.oid) for a in stmt.get_attributes()),
    )
