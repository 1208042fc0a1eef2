"""The shipped schema: up with fixtures, all the way down, up again, same schema dump."""

from __future__ import annotations

import asyncio
from pathlib import Path

from migrations import down, dump_schema, goto, load, up
from store._config import load_config
from store.testing import TestServer


async def test_reference_schema_round_trips(
    empty_db_dsn: str, pg_server: TestServer, tmp_path: Path
) -> None:
    config = load_config()
    versions = [m.version for m in load(config.migrations)]
    pg_dump = pg_server.binaries.tool("pg_dump") if pg_server.binaries else "pg_dump"

    def dump(name: str) -> str:
        return dump_schema(empty_db_dsn, tmp_path / name, pg_dump=pg_dump)

    empty = await asyncio.to_thread(dump, "empty.sql")
    applied = await up(empty_db_dsn, directory=config.migrations, fixtures=config.fixtures)
    assert applied == versions
    first = await asyncio.to_thread(dump, "first.sql")

    assert await goto(empty_db_dsn, 0, directory=config.migrations) == versions[::-1]
    assert await asyncio.to_thread(dump, "reverted.sql") == empty

    assert await up(empty_db_dsn, directory=config.migrations, fixtures=config.fixtures) == versions
    assert await asyncio.to_thread(dump, "second.sql") == first
    # Each down file undoes exactly its up file, one step at a time too.
    assert (
        await down(empty_db_dsn, directory=config.migrations, steps=len(versions))
        == (versions[::-1])
    )
    assert await asyncio.to_thread(dump, "stepped.sql") == empty
