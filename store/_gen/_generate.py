"""One ``txstore gen`` run: parse, prepare on a migrated server, plan, render."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import asyncpg

import migrations
from migrations._dsn import Dsn
from store._gen._introspect import Catalog, Described, describe, load_catalog
from store._gen._model import EnumDef, Field, Model, Plan, QueryPlan
from store._gen._naming import DEFAULT_NAMING, Naming, snake_case
from store._gen._nullability import non_null_columns
from store._gen._parse import ParsedQuery, parse_queries
from store._gen._render import render
from store._gen._rules import naming_problems
from store._gen._types import UnknownType, python_type
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


def _enums(catalog: Catalog, naming: Naming) -> tuple[EnumDef, ...]:
    return tuple(
        EnumDef(naming.enum_name(t.name), t.qualified, t.labels)
        for t in (catalog.types[oid] for oid in catalog.enums)
    )


def _tables(catalog: Catalog, naming: Naming) -> tuple[Model, ...]:
    return tuple(
        Model(
            naming.model_name(table.name),
            tuple(
                Field(c.name, python_type(c.type_oid, catalog, naming), not c.not_null)
                for c in table.columns
            ),
            f"A row of ``{table.name}``.",
            table=table.name,
        )
        for table in catalog.tables.values()
    )


def _plan_query(
    q: ParsedQuery,
    described: Described,
    catalog: Catalog,
    tables: Sequence[Model],
    naming: Naming,
    problems: list[Problem],
) -> QueryPlan | None:
    method = snake_case(q.name)
    params = []
    try:
        for name, oid in zip(q.params, described.params, strict=True):
            params.append(Field(name, python_type(oid, catalog, naming), name in q.nullable_params))
    except UnknownType as exc:
        problems.append(
            Problem(q.file, q.line, f"{q.name}: parameter {name} has unsupported type {exc}")
        )
        return None
    columns = tuple(name for name, _ in described.columns)
    if q.kind in (Kind.EXEC, Kind.EXECROWS):
        return QueryPlan(q, method, tuple(params), columns)
    if not columns:
        problems.append(Problem(q.file, q.line, f"{q.name} is :{q.kind} but returns no columns"))
        return None
    unknown = sorted(q.not_null_columns - set(columns))
    if unknown:
        problems.append(
            Problem(q.file, q.line, f"-- not-null: names {', '.join(unknown)}, not a result column")
        )
        return None
    non_null = non_null_columns(q.tree, catalog, len(columns))
    fields = []
    for (name, oid), nn in zip(described.columns, non_null, strict=True):
        try:
            py = python_type(oid, catalog, naming)
        except UnknownType as exc:
            problems.append(
                Problem(q.file, q.line, f"{q.name}: column {name} has unsupported type {exc}")
            )
            return None
        fields.append(Field(name, py, not (nn or name in q.not_null_columns)))
    if len(fields) == 1:
        return QueryPlan(q, method, tuple(params), columns, scalar=fields[0])
    shape = [(f.column, f.annotation) for f in fields]
    for table in tables:
        if [(f.column, f.annotation) for f in table.fields] == shape:
            return QueryPlan(q, method, tuple(params), columns, model=table)
    seen: set[str] = set()
    for f in fields:
        if f.column == "?column?" or not f.name.isidentifier():
            problems.append(
                Problem(
                    q.file, q.line, f"{q.name}: give result column {f.column!r} an alias (AS name)"
                )
            )
            return None
        if f.name in seen:
            problems.append(
                Problem(
                    q.file, q.line, f"{q.name}: result column {f.column!r} appears twice; alias one"
                )
            )
            return None
        seen.add(f.name)
    doc = f"A row of ``{q.name}`` ({q.source})."
    return QueryPlan(
        q, method, tuple(params), columns, model=Model(f"{q.name}Row", tuple(fields), doc)
    )


async def build_plan(
    conn: asyncpg.Connection, queries: Sequence[ParsedQuery], *, naming: Naming = DEFAULT_NAMING
) -> Plan:
    """Prepare every query on ``conn`` (a database at head) and type it.

    Raises:
        GenError: the server rejected a query, or a type is unsupported; names file:line.
    """
    catalog = await load_catalog(conn, exclude_tables=TOOL_TABLES)
    try:
        tables = _tables(catalog, naming)
    except UnknownType as exc:
        raise GenError(f"a table column has an unsupported type: {exc}") from exc
    problems: list[Problem] = []
    plans: list[QueryPlan] = []
    for q in queries:
        described = await describe(conn, q, problems)
        if described is not None:
            plan = _plan_query(q, described, catalog, tables, naming, problems)
            if plan is not None:
                plans.append(plan)
    if problems:
        raise GenError(problems)
    rows = tuple(p.model for p in plans if p.model is not None and p.model.table is None)
    return Plan(
        enums=_enums(catalog, naming),
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
) -> tuple[dict[str, str], str | None]:
    """Render the generated package in memory: ``({file name: source}, schema dump or None)``.

    Migrates the database at ``dsn`` to the head of ``migration_dir`` first. Query
    files are named relative to ``root``.

    Raises:
        GenError: a query file, a query name or a query is wrong (all listed with file:line).
        migrations.MigrationError: the migrations did not apply.
        migrations.SchemaDumpError: pg_dump failed.
    """
    parsed = parse_queries(queries, root=root)
    problems = naming_problems(parsed)
    if problems:
        raise GenError(problems)
    await migrate(dsn, migration_dir)  # a malformed or unreachable DSN fails here, masked
    target = Dsn.parse(dsn)
    conn = await asyncpg.connect(target.without_password(), password=target.password)
    try:
        plan = await build_plan(conn, parsed, naming=naming)
    finally:
        await conn.close()
    dump = await _dump(dsn) if schema_dump else None
    return render(plan), dump


async def _dump(dsn: str) -> str:
    from store._localpg import pg_dump_for

    pg_dump = await pg_dump_for(dsn)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "schema.sql"
        return await asyncio.to_thread(migrations.dump_schema, dsn, out, pg_dump=pg_dump)
