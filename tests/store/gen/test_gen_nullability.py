"""Optional exactly where PostgreSQL can return NULL."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from store._gen import build_plan, parse_queries
from store._gen._generate import migrate
from store._gen._model import Field, Plan

GOLDEN = Path(__file__).parent / "golden"


async def _plan(dsn: str) -> Plan:
    await migrate(dsn, GOLDEN / "migrations")
    conn = await asyncpg.connect(dsn)
    try:
        return await build_plan(conn, parse_queries(GOLDEN / "queries", root=GOLDEN))
    finally:
        await conn.close()


def _fields(plan: Plan, query: str) -> dict[str, Field]:
    (q,) = [q for q in plan.queries if q.parsed.name == query]
    if q.scalar is not None:
        return {q.scalar.column: q.scalar}
    assert q.model is not None
    return {f.column: f for f in q.model.fields}


async def test_result_columns_are_optional_exactly_where_null_is_possible(
    empty_db_dsn: str,
) -> None:
    plan = await _plan(empty_db_dsn)
    pets = _fields(plan, "ListPetsWithOwners")
    assert not pets["name"].nullable  # NOT NULL column
    assert not pets["kind"].nullable
    assert pets["weight"].nullable  # nullable column
    assert pets["email"].nullable  # NOT NULL, but on the nullable side of a LEFT JOIN
    per_kind = _fields(plan, "CountPetsPerKind")
    assert not per_kind["pets"].nullable  # count(*)
    shout = _fields(plan, "GetPetShoutByID")
    assert not shout["shout"].nullable  # an expression, asserted by -- not-null:
    assert not shout["bang"].nullable  # || over a NOT NULL column and a literal
    assert not shout["any_owner"].nullable  # EXISTS
    assert not _fields(plan, "CountOwners")["count"].nullable
    owner = _fields(plan, "GetOwnerByID")  # SELECT * through the table model
    assert owner["nickname"].nullable  # a domain over text, nullable
    assert owner["nickname"].annotation == "str | None"
    (insert,) = [q for q in plan.queries if q.parsed.name == "InsertPet"]
    assert insert.model is not None
    assert insert.model.table == "pets"
    assert {p.column: p.nullable for p in insert.params} == {
        "owner_id": True,
        "name": False,
        "kind": False,
        "tags": False,
        "weight": True,
        "data": False,
    }
