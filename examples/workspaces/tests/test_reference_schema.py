"""The shipped schema: up with fixtures, all the way down, up again, same schema dump."""

from __future__ import annotations

import asyncio
from pathlib import Path

from migrations import down, dump_schema, goto, load, up
from store.testing import TestServer

DB = Path(__file__).resolve().parents[1] / "db"
MIGRATIONS, FIXTURES = DB / "migrations", DB / "fixtures"


async def test_reference_schema_round_trips(
    empty_db_dsn: str, pg_server: TestServer, tmp_path: Path
) -> None:
    versions = [m.version for m in load(MIGRATIONS)]
    pg_dump = pg_server.binaries.tool("pg_dump") if pg_server.binaries else "pg_dump"

    def dump(name: str) -> str:
        return dump_schema(empty_db_dsn, tmp_path / name, pg_dump=pg_dump)

    empty = await asyncio.to_thread(dump, "empty.sql")
    applied = await up(empty_db_dsn, directory=MIGRATIONS, fixtures=FIXTURES)
    assert applied == versions
    first = await asyncio.to_thread(dump, "first.sql")

    assert await goto(empty_db_dsn, 0, directory=MIGRATIONS) == versions[::-1]
    assert await asyncio.to_thread(dump, "reverted.sql") == empty

    assert await up(empty_db_dsn, directory=MIGRATIONS, fixtures=FIXTURES) == versions
    assert await asyncio.to_thread(dump, "second.sql") == first
    # Each down file undoes exactly its up file, one step at a time too.
    assert await down(empty_db_dsn, directory=MIGRATIONS, steps=len(versions)) == (versions[::-1])
    assert await asyncio.to_thread(dump, "stepped.sql") == empty
