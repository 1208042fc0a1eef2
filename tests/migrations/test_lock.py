"""The migrations advisory lock: waiting, timing out and naming who holds it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from migrations import LOCK_KEY, MigrationLockTimeout, up


def one_migration(directory: Path) -> Path:
    directory.mkdir()
    (directory / "000001_t.up.sql").write_text("CREATE TABLE t (id integer);\n")
    (directory / "000001_t.down.sql").write_text("DROP TABLE t;\n")
    return directory


async def hold_lock(dsn: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(dsn, server_settings={"application_name": "deploy-job-7"})
    await conn.execute(f"SELECT pg_advisory_lock({LOCK_KEY})")
    return conn


async def test_lock_timeout_names_the_holder(empty_db_dsn: str, tmp_path: Path) -> None:
    directory = one_migration(tmp_path / "m")
    holder = await hold_lock(empty_db_dsn)
    try:
        pid = await holder.fetchval("SELECT pg_backend_pid()")
        with pytest.raises(MigrationLockTimeout) as info:
            await up(empty_db_dsn, directory=directory, lock_timeout=0.2)
    finally:
        await holder.close()
    message = str(info.value)
    assert f"pid {pid}" in message
    assert "application_name 'deploy-job-7'" in message
    assert "client 127.0.0.1" in message or "client ::1" in message or "local socket" in message
    assert "within 0.2s" in message
    assert str(directory) in message
    assert await up(empty_db_dsn, directory=directory) == [1]


async def test_zero_timeout_tries_once(empty_db_dsn: str, tmp_path: Path) -> None:
    directory = one_migration(tmp_path / "m")
    holder = await hold_lock(empty_db_dsn)
    try:
        with pytest.raises(MigrationLockTimeout, match="deploy-job-7"):
            await up(empty_db_dsn, directory=directory, lock_timeout=0)
    finally:
        await holder.close()


async def test_runner_waits_for_the_lock_to_be_released(empty_db_dsn: str, tmp_path: Path) -> None:
    directory = one_migration(tmp_path / "m")
    holder = await hold_lock(empty_db_dsn)
    runner = asyncio.create_task(up(empty_db_dsn, directory=directory, lock_timeout=10))
    await asyncio.sleep(0.3)
    assert not runner.done()
    await holder.close()
    assert await asyncio.wait_for(runner, 10) == [1]


async def test_lock_is_released_after_a_failed_run(empty_db_dsn: str, tmp_path: Path) -> None:
    directory = one_migration(tmp_path / "m")
    (directory / "000001_t.up.sql").write_text("CREATE TABLE t (id no_such_type);\n")
    with pytest.raises(Exception, match="no_such_type"):
        await up(empty_db_dsn, directory=directory)
    conn = await asyncpg.connect(empty_db_dsn)
    try:
        assert await conn.fetchval(f"SELECT pg_try_advisory_lock({LOCK_KEY})")
    finally:
        await conn.close()
