"""PostgreSQL 18's ``RETURNING old.x, new.x``: NULL analysis per statement, checked on data."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from store._gen import build_plan, parse_queries
from store._gen._generate import migrate
from store._gen._model import Plan

CORPUS = Path(__file__).parent / "returning"

# Query -> (its arguments, each column -> whether the generator may call it non-null).
EXPECTED: dict[str, tuple[tuple[object, ...], dict[str, bool]]] = {
    # seeded: account 1 exists, 2 does not
    "RenameAccount": (("renamed", 1), {"old_handle": True, "new_handle": True, "old_note": False}),
    "PutAccount": ((3, "third"), {"previous": False, "current": True}),  # inserts
    "OpenAccount": ((2, "fresh"), {"before": False, "created": True}),
    "RenameAccountAliased": (("other", 2), {"was": True, "is_now": True, "handle": True}),
    "DropAccount": ((2,), {"gone": True, "after": False}),
}


async def _plan(conn: asyncpg.Connection, dsn: str) -> Plan:
    await migrate(dsn, CORPUS / "migrations")
    return await build_plan(conn, parse_queries(CORPUS / "queries", root=CORPUS))


async def test_old_and_new_columns_are_nullable_on_the_side_the_statement_lacks(
    empty_db_dsn: str,
) -> None:
    conn = await asyncpg.connect(empty_db_dsn)
    try:
        if conn.get_server_version().major < 18:
            pytest.skip("RETURNING old/new needs PostgreSQL 18")
        plan = await _plan(conn, empty_db_dsn)
        await conn.execute("INSERT INTO accounts (id, handle) VALUES (1, 'first')")
        by_name = {q.parsed.name: q for q in plan.queries}
        for name, (args, expected) in EXPECTED.items():  # in order: each sees the last's rows
            q = by_name[name]
            assert q.model is not None, name
            claims = {f.name: not f.nullable for f in q.model.fields}
            assert claims == expected, name
            row = await conn.fetchrow(q.parsed.sql, *args)
            assert row is not None, name
            for column, non_null in claims.items():
                assert not non_null or row[column] is not None, (name, column)
            # and the nullable side is NULL on this data, so the claim is not just timid
            assert any(row[c] is None for c, nn in claims.items() if not nn) or all(
                claims.values()
            ), name
    finally:
        await conn.close()
