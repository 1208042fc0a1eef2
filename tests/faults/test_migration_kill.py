"""The migration runner SIGKILLed mid-migration: the schema is fully before, then fully after.

What happens on the server: the runner holds the advisory lock on a session of
its own that sits idle, so that session sees the closed socket and ends at once,
releasing the lock. The session running the migration is busy in a statement and
does not read its socket: it goes on, transaction open, until the statement
ends, unless ``client_connection_check_interval`` (PostgreSQL 14+) makes it poll
the socket; the runner sets it on its own connection. A later runner gets the
lock at once and, at worst, waits on the orphan's locks until it is gone.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio

import migrations

#: Sleeps once per row of slow_marker: the first run sleeps, the recovering one does not.
SLOW = "SELECT pg_sleep(30) FROM slow_marker"
FILES = {
    "000001_first.up.sql": "CREATE TABLE first (id int PRIMARY KEY);\n",
    "000001_first.down.sql": "DROP TABLE first;\n",
    "000002_slow.up.sql": f"CREATE TABLE second (id int PRIMARY KEY);\n{SLOW};\n",
    "000002_slow.down.sql": "DROP TABLE second;\n",
}
ROOT = Path(__file__).resolve().parents[2]
RUNNER = (
    "import asyncio, pathlib, sys, migrations\n"
    "asyncio.run(migrations.up(sys.argv[1], directory=pathlib.Path(sys.argv[2])))\n"
)


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    for name, sql in FILES.items():
        (tmp_path / name).write_text(sql)
    return tmp_path


@pytest_asyncio.fixture
async def admin(empty_db_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(empty_db_dsn)
    await conn.execute("CREATE TABLE slow_marker (); INSERT INTO slow_marker DEFAULT VALUES")
    try:
        yield conn
    finally:
        await conn.close()


async def _kill_runner_in_slow_statement(
    dsn: str, directory: Path, admin: asyncpg.Connection
) -> int:
    """Start a runner, SIGKILL it once its migration sleeps; return the sleeping backend's pid."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        RUNNER,
        dsn,
        str(directory),
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        pid = None
        while pid is None:  # polling the server, which has no event to wait on
            assert proc.returncode is None, "the runner exited before its migration slept"
            pid = await admin.fetchval(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND state = 'active' AND query LIKE $1",
                f"%{SLOW}%",
            )
            await asyncio.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    return int(pid)


async def _lock_held(admin: asyncpg.Connection) -> bool:
    key = migrations.LOCK_KEY
    held = await admin.fetchval(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND classid::bigint = $1 AND objid::bigint = $2 AND objsubid = 1 "
        # this database's runner only: another test may be migrating a database of its own
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        key >> 32,
        key & 0xFFFF_FFFF,
    )
    return bool(held)


async def _backend_alive(admin: asyncpg.Connection, pid: int) -> bool:
    return bool(await admin.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid))


async def _schema(admin: asyncpg.Connection) -> tuple[list[int], list[str]]:
    versions = await admin.fetch("SELECT version FROM txstore_migrations ORDER BY version")
    tables = await admin.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
        "AND tablename IN ('first', 'second') ORDER BY tablename"
    )
    return [r["version"] for r in versions], [r["tablename"] for r in tables]


async def test_a_killed_runner_leaves_nothing_half_applied_and_the_next_run_recovers(
    empty_db_dsn: str, directory: Path, admin: asyncpg.Connection
) -> None:
    async with asyncio.timeout(25):
        orphan = await _kill_runner_in_slow_statement(empty_db_dsn, directory, admin)
        # The idle lock session ends with its client; the runner's own connection
        # check (client_connection_check_interval) ends the orphaned statement too.
        while await _lock_held(admin) or await _backend_alive(admin, orphan):  # noqa: ASYNC110  # polling the server
            await asyncio.sleep(0.02)
        # Nothing of the killed migration is visible: the schema is fully before it.
        assert await _schema(admin) == ([1], ["first"])
        await admin.execute("DELETE FROM slow_marker")
        # No manual repair: the next run applies it.
        assert await migrations.up(empty_db_dsn, directory=directory, lock_timeout=10) == [2]
    assert await _schema(admin) == ([1, 2], ["first", "second"])


async def test_with_a_connection_check_the_next_run_recovers_on_its_own(
    empty_db_dsn: str, directory: Path, admin: asyncpg.Connection
) -> None:
    # asyncpg passes unknown DSN parameters as server settings: the orphan polls its
    # socket every 100 ms and aborts its migration once the client is gone.
    dsn = f"{empty_db_dsn}?client_connection_check_interval=100"
    async with asyncio.timeout(25):
        await _kill_runner_in_slow_statement(dsn, directory, admin)
        # The orphan only reads slow_marker, so this does not wait for it.
        await admin.execute("DELETE FROM slow_marker")
        # No manual repair: the next run waits for the orphan's locks, then applies 2.
        assert await migrations.up(dsn, directory=directory, lock_timeout=10) == [2]
    assert await _schema(admin) == ([1, 2], ["first", "second"])
