"""One ``txstore gen`` run: parse, prepare on a migrated server, plan, render."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import tempfile
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path

import asyncpg

import migrations
from migrations._dsn import Dsn
from store._codecs import ConnectionSetup
from store._gen._introspect import Catalog, Described, describe, load_catalog
from store._gen._model import (
    RESERVED_FIELDS,
    EnumDef,
    Field,
    Model,
    Plan,
    QueryPlan,
    enum_members,
)
from store._gen._naming import DEFAULT_NAMING, Naming, identifier, unique_names
from store._gen._nullability import non_null_columns, target_layout
from store._gen._parse import ParsedQuery, _visible_relations, parse_queries
from store._gen._render import render
from store._gen._rules import naming_problems
from store._gen._settings import DEFAULT_SETTINGS, GenSettings
from store._gen._types import PyType, python_type
from store._gen.errors import GenError, Problem
from store._query import Kind

__all__ = ["build_plan", "generate", "migrate", "server_dsn"]

#: Tables that belong to tooling, not to the schema's models.
TOOL_TABLES = frozenset({"txstore_migrations"})


async def migrate(dsn: str, directory: Path) -> None:
    """Bring the database at ``dsn`` to the head of ``directory``.

    Raises:
        migrations.MigrationError: the runner failed (its message names the file).
    """
    await migrations.up(dsn, directory=directory)


@contextlib.asynccontextmanager
async def server_dsn(dsn: str | None) -> AsyncIterator[str]:
    """``dsn`` (else ``$TXSTORE_DSN``), or an ephemeral local PostgreSQL for the block.

    Raises:
        store.errors.PostgresNotFound: no DSN and no PostgreSQL binaries.
        store.errors.PostgresStartError: the ephemeral server did not start.
    """
    dsn = dsn or os.environ.get("TXSTORE_DSN")
    if dsn:
        yield dsn
        return
    from store._localpg import LocalCluster

    cluster = LocalCluster()
    cluster.start()
    try:
        yield cluster.dsn()
    finally:
        cluster.stop()


#: Class names the generated files import or define themselves.
RESERVED_CLASSES = frozenset(
    {
        "Any",
        "Awaitable",
        "BaseModel",
        "Callable",
        "CheckConstraint",
        "ConfigDict",
        "Field",
        "ForeignKeyConstraint",
        "Isolation",
        "JsonValue",
        "Kind",
        "Mapping",
        "MappingProxyType",
        "Param",
        "Protocol",
        "Querier",
        "Queries",
        "Query",
        "QueryRunner",
        "Self",
        "Sequence",
        "Store",
        "T",
        "TypeVar",
        "UniqueConstraint",
    }
)


class _Types:
    """Type lookups with the project's overrides, remembering what had to be guessed."""

    def __init__(self, catalog: Catalog, naming: Naming, overrides: Mapping[str, str]) -> None:
        self.catalog, self.naming, self.overrides = catalog, naming, overrides
        self.guessed: dict[str, str] = {}  # pg type -> first use
        self.classes: dict[int, str] = {}  # enum or composite type oid -> its generated class

    def __call__(self, oid: int, where: str) -> PyType:
        py = python_type(oid, self.catalog, self.naming, self.overrides, self.classes)
        if py.guessed:
            self.guessed.setdefault(py.pg_name.removesuffix("[]"), where)
        return py


def _enums(catalog: Catalog, naming: Naming, types: _Types, taken: set[str]) -> tuple[EnumDef, ...]:
    defs = []
    for oid in catalog.enums:
        t = catalog.types[oid]
        (name,) = unique_names([naming.enum_name(t.name)], taken, sep="")
        types.classes[oid] = name
        defs.append(EnumDef(name, t.qualified, t.labels, enum_members(t.labels)))
    return tuple(defs)


def _composites(
    catalog: Catalog, types: _Types, classes: Sequence[str], reserved: frozenset[str]
) -> tuple[Model, ...]:
    """One model per standalone composite type, each after the composites it holds.

    Every field is Optional: PostgreSQL has no NOT NULL for a composite's
    attributes (a domain's NOT NULL does not hold inside a row value either).
    """
    models: dict[int, Model] = {}
    for oid, name in zip(catalog.composites, classes, strict=True):
        t = catalog.types[oid]
        names = _field_names([a for a, _ in t.attributes], reserved)
        fields = tuple(
            Field(attr, types(type_oid, f"{t.qualified}.{attr}"), True, py_name=n)
            for (attr, type_oid), n in zip(t.attributes, names, strict=True)
        )
        doc = f"A value of the composite type ``{t.qualified}``."
        models[oid] = Model(name, fields, doc, composite=t.qualified)
    by_name = {m.name: oid for oid, m in models.items()}
    ordered: list[Model] = []
    done: set[int] = set()

    def visit(oid: int) -> None:
        # PostgreSQL refuses a composite that holds itself, so this ends.
        if oid in done:
            return
        done.add(oid)
        for f in models[oid].fields:
            if f.type.model in by_name:
                visit(by_name[f.type.model])
        ordered.append(models[oid])

    for oid in models:
        visit(oid)
    return tuple(ordered)


def _field_names(columns: Sequence[str], reserved: frozenset[str]) -> list[str]:
    """Unique field names: repeats get ``_2``, ``?column?`` the position (``column_3``)."""
    raw = [
        f"column_{i}" if c == "?column?" else identifier(c, "column", reserved)
        for i, c in enumerate(columns, 1)
    ]
    return unique_names([n + "_" if n.startswith("model_") else n for n in raw])


def _tables(
    catalog: Catalog, naming: Naming, types: _Types, taken: set[str]
) -> tuple[tuple[Model, ...], tuple[Model, ...], frozenset[str]]:
    """The table models, the composite types' models, and the names a field must not take.

    Tables are named before composite types: a clash renames the composite's model.
    """
    tables = list(catalog.tables.values())
    classes = unique_names(
        [naming.model_name(t.key.replace(".", "_")) for t in tables], taken, sep=""
    )
    composite_classes = unique_names(
        # As for tables: outside ``public`` the schema is part of the name (foo.point -> FooPoint).
        [
            naming.composite_name(catalog.types[oid].qualified.replace(".", "_"))
            for oid in catalog.composites
        ],
        taken,
        sep="",
    )
    types.classes.update(zip(catalog.composites, composite_classes, strict=True))
    reserved = RESERVED_FIELDS | frozenset(taken)
    composites = _composites(catalog, types, composite_classes, reserved)
    models = []
    for table, name in zip(tables, classes, strict=True):
        names = _field_names([c.name for c in table.columns], reserved)
        fields = tuple(
            Field(c.name, types(c.type_oid, f"{table.name}.{c.name}"), not c.not_null, py_name=n)
            for c, n in zip(table.columns, names, strict=True)
        )
        models.append(Model(name, fields, f"A row of ``{table.key}``.", table=table.key))
    return tuple(models), composites, reserved


def _plan_query(
    q: ParsedQuery,
    described: Described,
    catalog: Catalog,
    tables: Sequence[Model],
    types: _Types,
    taken: set[str],
    reserved: frozenset[str],
    shapes: Mapping[tuple[tuple[str, str, str], ...], Model],
    problems: list[Problem],
) -> QueryPlan | None:
    method = q.method
    if len(described.params) != len(q.params):
        problems.append(
            Problem(
                q.file,
                q.line,
                f"{q.name}: the server counts {len(described.params)} parameters, "
                f"the query file {len(q.params)}",
            )
        )
        return None
    params = []
    for i, (name, oid) in enumerate(zip(q.params, described.params, strict=True)):
        fills = q.param_fills[i] if i < len(q.param_fills) else None
        fills_nullable = False
        if fills is not None and fills[0] in catalog.tables:
            column = {c.name: c for c in catalog.tables[fills[0]].columns}.get(fills[1])
            fills_nullable = column is not None and not column.not_null
        nullable = name in q.nullable_params or (fills_nullable and name not in q.required_params)
        py = types(oid, f"{q.name} parameter {name}").as_param()
        params.append(Field(name, py, nullable))
    batch: str | None = None
    if q.kind in (Kind.COPYFROM, Kind.BATCHEXEC, Kind.BATCHMANY, Kind.BATCHONE):
        base = q.name if q.name[:1].isupper() else DEFAULT_NAMING.pascal(method)
        (batch,) = unique_names([f"{base}Params"], taken, sep="")
    described_columns = described.columns
    if q.kind in (Kind.BATCHMANY, Kind.BATCHONE):
        described_columns = described_columns[:-1]  # the batch index, read by the store
    columns = tuple(name for name, _ in described_columns)
    if q.kind is Kind.COPYFROM:
        return QueryPlan(q, method, tuple(params), q.copy_columns, batch_params=batch)
    if q.kind in (Kind.EXEC, Kind.EXECROWS, Kind.BATCHEXEC):
        return QueryPlan(q, method, tuple(params), columns, batch_params=batch)
    if not columns and q.source_kind == "execlastid":
        problems.append(
            Problem(q.file, q.line, f"{q.name} is :{q.source_kind} but returns no columns")
        )
        return None
    if q.source_kind == "execlastid" and len(columns) != 1:
        problems.append(
            Problem(q.file, q.line, f"{q.name} is :execlastid; RETURNING must give one column")
        )
        return None
    for label, names in (
        ("not-null", q.not_null_columns),
        ("optional", q.optional_columns),
        ("column", set(q.column_names)),
    ):
        unknown = sorted(set(names) - set(columns))
        if unknown:
            problems.append(
                Problem(
                    q.file,
                    q.line,
                    f"{q.name}: -- {label}: names {', '.join(unknown)}, not a result column",
                )
            )
            return None
    typed_non_null = frozenset(i for i, p in enumerate(params, 1) if not p.nullable)
    non_null = non_null_columns(q.tree, catalog, len(columns), typed_non_null)
    py_names = _field_names([q.column_names.get(c, c) for c in columns], reserved)
    fields = []
    for (name, oid), nn, py_name in zip(described_columns, non_null, py_names, strict=True):
        nullable = name in q.optional_columns or not (nn or name in q.not_null_columns)
        fields.append(Field(name, types(oid, f"{q.name} column {name}"), nullable, py_name))
    if q.embeds:
        nested = _embed(q, fields, catalog, tables, problems)
        if nested is None:
            return None
        fields = nested
    elif len(fields) == 1:
        return QueryPlan(q, method, tuple(params), columns, scalar=fields[0], batch_params=batch)
    table = None if q.embeds else shapes.get(_shape(fields))
    if table is not None:
        return QueryPlan(q, method, tuple(params), columns, model=table, batch_params=batch)
    base = q.name if q.name[:1].isupper() else DEFAULT_NAMING.pascal(method)
    (row,) = unique_names([f"{base}Row"], taken, sep="")
    doc = f"A row of ``{q.name}`` ({q.source})."
    return QueryPlan(
        q, method, tuple(params), columns, model=Model(row, tuple(fields), doc), batch_params=batch
    )


def _shape(fields: Sequence[Field]) -> tuple[tuple[str, str, str], ...]:
    """What makes a result a table's row: column names, field names, annotations."""
    return tuple((f.column, f.name, f.annotation) for f in fields)


def _embed(
    q: ParsedQuery,
    fields: list[Field],
    catalog: Catalog,
    tables: Sequence[Model],
    problems: list[Problem],
) -> list[Field] | None:
    """``fields`` with each ``sqlc.embed(t)``'s columns folded into one field of t's model."""
    layout = target_layout(q.tree, catalog)
    relations = dict(_visible_relations(q.tree))
    models = {m.table: m for m in tables}
    if layout is None or sum(width for _, width in layout) != len(fields):
        problems.append(
            Problem(q.file, q.line, f"{q.name}: cannot line sqlc.embed up with the result columns")
        )
        return None
    out: list[Field] = []
    start = 0
    pending = list(q.embeds)
    for qualifier, width in layout:
        span = fields[start : start + width]
        start += width
        if qualifier is None or qualifier not in pending:
            out += span
            continue
        pending.remove(qualifier)
        model = models.get(relations.get(qualifier, ""))
        if model is None:
            problems.append(
                Problem(q.file, q.line, f"{q.name}: sqlc.embed({qualifier}) is not a table")
            )
            return None
        # On an outer join's nullable side, a NOT NULL column reading NULL means "no row".
        presence = next(
            (
                i
                for i, (f, table_field) in enumerate(zip(span, model.fields, strict=False))
                if f.nullable and not table_field.nullable
            ),
            None,
        )
        py = PyType(model.name, frozenset(), model.table or "")
        out.append(
            Field(
                qualifier,
                py,
                presence is not None,
                py_name=identifier(qualifier, "embed", RESERVED_FIELDS),
                embed=model,
                width=width,
                presence=presence,
            )
        )
    names = unique_names([f.name for f in out])
    return [
        f if f.name == n else dataclasses.replace(f, py_name=n)
        for f, n in zip(out, names, strict=True)
    ]


async def _describe_all(
    conn: asyncpg.Connection, queries: Sequence[ParsedQuery], extra: Sequence[asyncpg.Connection]
) -> list[tuple[Described | None, list[Problem]]]:
    """Prepare every query, spread over ``conn`` and ``extra`` connections, in query order."""
    connections = [conn, *extra]
    results: list[tuple[Described | None, list[Problem]]] = [(None, [])] * len(queries)

    async def worker(index: int) -> None:
        for i in range(index, len(queries), len(connections)):
            problems: list[Problem] = []
            results[i] = (await describe(connections[index], queries[i], problems), problems)

    await asyncio.gather(*(worker(i) for i in range(len(connections))))
    return results


async def build_plan(
    conn: asyncpg.Connection,
    queries: Sequence[ParsedQuery],
    *,
    naming: Naming = DEFAULT_NAMING,
    settings: GenSettings = DEFAULT_SETTINGS,
    extra: Sequence[asyncpg.Connection] = (),
) -> Plan:
    """Prepare every query on ``conn`` (a database at head) and type it.

    ``extra`` connections to the same database share the preparing (one round
    trip per query dominates a large project's run).

    Raises:
        GenError: the server rejected a query, or a query's shape is wrong; every
            problem is listed with its file:line.
    """
    catalog = await load_catalog(conn, exclude_tables=TOOL_TABLES)
    types = _Types(catalog, naming, settings.types)
    taken = set(RESERVED_CLASSES)
    enums = _enums(catalog, naming, types, taken)
    tables, composites, reserved = _tables(catalog, naming, types, taken)
    shapes: dict[tuple[tuple[str, str, str], ...], Model] = {}
    for model in tables:
        shapes.setdefault(_shape(model.fields), model)
    problems: list[Problem] = []
    plans: list[QueryPlan] = []
    found = await _describe_all(conn, queries, extra)
    for q, (described, described_problems) in zip(queries, found, strict=True):
        problems += described_problems
        if described is not None:
            plan = _plan_query(
                q, described, catalog, tables, types, taken, reserved, shapes, problems
            )
            if plan is not None:
                plans.append(plan)
    if problems:
        raise GenError(problems)
    rows = tuple(p.model for p in plans if p.model is not None and p.model.table is None)
    warnings = tuple(
        f"type {pg} (first used by {where}) has no Python mapping; it is read as str "
        "(map it in [tool.txstore.gen.types])"
        for pg, where in sorted(types.guessed.items())
    )
    return Plan(
        warnings=warnings,
        enums=enums,
        composites=composites,
        tables=tables,
        rows=rows,
        queries=tuple(plans),
        unique=catalog.unique,
        foreign_keys=catalog.foreign_keys,
        checks=catalog.checks,
    )


async def generate(
    *,
    queries: Path,
    migration_dir: Path,
    dsn: str,
    root: Path,
    naming: Naming = DEFAULT_NAMING,
    schema_dump: bool = False,
    settings: GenSettings = DEFAULT_SETTINGS,
    warnings: list[str] | None = None,
) -> tuple[dict[str, str], str | None]:
    """Render the generated package in memory: ``({file name: source}, schema dump or None)``.

    Migrates the database at ``dsn`` to the head of ``migration_dir`` first. Query
    files are named relative to ``root``. Warnings (a naming-rule break under
    ``naming-rule = "warn"``, a type read as text) are appended to ``warnings``.

    Raises:
        GenError: a query file, a query name or a query is wrong (all listed with file:line).
        migrations.MigrationError: the migrations did not apply.
        migrations.SchemaDumpError: pg_dump failed.
    """
    # Parsing is Python work and migrating is the server's: overlap them.
    parsing = asyncio.ensure_future(
        asyncio.to_thread(parse_queries, queries, root=root, settings=settings)
    )
    try:
        await migrate(dsn, migration_dir)  # a malformed or unreachable DSN fails here, masked
    except BaseException:
        await parsing  # the query files' problems come first, as without the overlap
        raise
    parsed = await parsing
    found = [] if settings.naming_rule == "off" else naming_problems(parsed)
    if found and settings.naming_rule == "on":
        raise GenError(found)
    notes = [str(p) for p in found]
    target = Dsn.parse(dsn)
    # Each connection is one server backend preparing queries; a few overlap
    # the round trips without crowding a small machine.
    workers = 1 if len(parsed) < 50 else 4
    conns = [
        await asyncpg.connect(target.without_password(), password=target.password)
        for _ in range(workers)
    ]
    try:
        # The store's codecs: a composite holding an hstore is readable only with them.
        setup = ConnectionSetup()
        for conn in conns:
            await setup(conn)
        plan = await build_plan(conns[0], parsed, naming=naming, settings=settings, extra=conns[1:])
    finally:
        for conn in conns:
            await conn.close()
    if warnings is not None:
        warnings += notes + list(plan.warnings)
    dump = await _dump(dsn) if schema_dump else None
    return render(plan), dump


async def _dump(dsn: str) -> str:
    from store._localpg import pg_dump_for

    pg_dump = await pg_dump_for(dsn)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "schema.sql"
        return await asyncio.to_thread(migrations.dump_schema, dsn, out, pg_dump=pg_dump)
