"""The pytest plugin hands each test its own real database."""

from __future__ import annotations

import os

import asyncpg
import pytest

from migrations._dsn import Dsn
from store.testing import TEST_TIMEZONE, TestServer
from store.testing._server import owner_tag_for

_seen_databases: list[str] = []


@pytest.mark.parametrize("round_", [1, 2])
async def test_each_test_gets_a_fresh_database(empty_db_dsn: str, round_: int) -> None:
    conn = await asyncpg.connect(empty_db_dsn)
    try:
        name = await conn.fetchval("SELECT current_database()")
        assert name not in _seen_databases
        _seen_databases.append(name)
        # Nothing written by the other round is here.
        assert await conn.fetchval("SELECT to_regclass('public.marker')") is None
        await conn.execute("CREATE TABLE marker (round int)")
        await conn.execute("INSERT INTO marker VALUES ($1)", round_)
    finally:
        await conn.close()


async def test_database_is_dropped_after_its_test(pg_server: TestServer) -> None:
    # Every database an earlier test of this module used is gone by now.
    assert _seen_databases, "run with the fresh-database tests above"
    conn = await asyncpg.connect(pg_server.admin_dsn)
    try:
        left = await conn.fetch(
            "SELECT datname FROM pg_database WHERE datname = ANY($1::text[])", _seen_databases
        )
    finally:
        await conn.close()
    assert left == []


async def test_test_databases_run_in_a_fractional_dst_time_zone(empty_db_dsn: str) -> None:
    conn = await asyncpg.connect(empty_db_dsn)
    try:
        assert await conn.fetchval("SHOW timezone") == TEST_TIMEZONE
        offset = await conn.fetchval("SELECT extract(timezone_minute FROM now())")
        assert offset in (-30, 30)
    finally:
        await conn.close()


async def test_abandoned_databases_of_dead_runs_are_dropped(pg_server: TestServer) -> None:
    dead = TestServer(
        admin_dsn=pg_server.admin_dsn, source="dead run", _owner_tag=owner_tag_for(999_999_999)
    )
    name = await dead.create_database()
    mine = await pg_server.create_database()
    try:
        dropped = await pg_server.drop_abandoned()
        assert name in dropped
        assert mine not in dropped, "a live run's database is left alone"
    finally:
        await pg_server.drop_database(mine)


async def test_a_keyword_dsn_server_clones_and_connects(pg_server: TestServer) -> None:
    # TXSTORE_TEST_DSN may be libpq keywords; the per-test clones must work from it.
    url = Dsn.parse(pg_server.admin_dsn)
    keywords = " ".join(
        f"{key}={value}"
        for key, value in (
            ("host", url.hosts[0] if url.hosts else "localhost"),
            ("port", url.ports[0] if url.ports else 5432),
            ("user", url.user),
            ("password", url.password),
            ("dbname", url.database),
        )
        if value is not None
    )
    server = TestServer(
        admin_dsn=keywords, source="keywords", _owner_tag=owner_tag_for(os.getpid())
    )
    name = await server.create_database()
    try:
        conn = await asyncpg.connect(server.dsn(name))
        try:
            assert await conn.fetchval("SELECT current_database()") == name
        finally:
            await conn.close()
    finally:
        await server.drop_database(name)
