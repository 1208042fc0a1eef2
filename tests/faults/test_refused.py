"""The server refusing a new pool connection: DatabaseUnavailable, never a raw driver error."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import pytest_asyncio

import store
from store.errors import DatabaseUnavailable
from tests.faults._support import assert_pool_clean

PASSWORD = "pw-" + secrets.token_hex(8)


@pytest_asyncio.fixture
async def role(empty_db_dsn: str) -> AsyncIterator[str]:
    """A login role of its own with a password; its DSN. Dropped afterwards."""
    name = "refused_" + secrets.token_hex(4)
    admin = await asyncpg.connect(empty_db_dsn)
    try:
        await admin.execute(f"CREATE ROLE {name} LOGIN PASSWORD '{PASSWORD}'")
        parts = urlsplit(empty_db_dsn)
        netloc = f"{name}:{PASSWORD}@{parts.netloc.rpartition('@')[2]}"
        yield urlunsplit(parts._replace(netloc=netloc))
    finally:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", name
        )
        await admin.execute(f"DROP ROLE IF EXISTS {name}")
        await admin.close()


async def _alter(admin_dsn: str, role_dsn: str, change: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f"ALTER ROLE {urlsplit(role_dsn).username} {change}")
    finally:
        await conn.close()


async def _refused(pg: store.PgStore) -> DatabaseUnavailable:
    """The error of a call that needs a new connection while the store holds its only one."""
    holding = asyncio.Event()
    release = asyncio.Event()

    async def hold(tx: store.Store) -> None:
        await tx.ping()
        holding.set()
        await release.wait()

    holder = asyncio.create_task(pg.in_tx(hold))
    try:
        await holding.wait()
        with pytest.raises(DatabaseUnavailable) as caught:
            await pg.ping()  # an unrelated caller: the pool opens a second connection
    finally:
        release.set()
        await holder
    return caught.value


async def test_a_role_not_permitted_to_log_in_is_database_unavailable(
    role: str, empty_db_dsn: str
) -> None:
    pg = await store.connect(role, min_size=1, max_size=2, acquire_timeout=10)
    try:
        await _alter(empty_db_dsn, role, "NOLOGIN")
        async with asyncio.timeout(20):
            error = await _refused(pg)
        assert "not permitted to log in" in str(error)
        assert error.sqlstate == "28000"
        assert PASSWORD not in str(error)
        await assert_pool_clean(pg, empty_db_dsn)
    finally:
        await pg.close()


async def test_too_many_connections_is_database_unavailable(role: str, empty_db_dsn: str) -> None:
    pg = await store.connect(role, min_size=1, max_size=2, acquire_timeout=10)
    try:
        await _alter(empty_db_dsn, role, "CONNECTION LIMIT 1")
        async with asyncio.timeout(20):
            error = await _refused(pg)
        assert "too many connections" in str(error)
        assert error.sqlstate == "53300"
        assert PASSWORD not in str(error)
        await assert_pool_clean(pg, empty_db_dsn)
    finally:
        await pg.close()


async def test_a_database_connection_limit_is_database_unavailable(
    role: str, empty_db_dsn: str
) -> None:
    pg = await store.connect(role, min_size=1, max_size=2, acquire_timeout=10)
    dbname = urlsplit(empty_db_dsn).path[1:]
    admin = await asyncpg.connect(empty_db_dsn)
    try:
        # The admin session and the store's one connection fill the database's limit.
        await admin.execute(f"ALTER DATABASE {dbname} CONNECTION LIMIT 2")
        async with asyncio.timeout(20):
            error = await _refused(pg)
        assert "too many connections" in str(error)
        assert PASSWORD not in str(error)
    finally:
        await admin.execute(f"ALTER DATABASE {dbname} CONNECTION LIMIT -1")
        await admin.close()
        await pg.close()
