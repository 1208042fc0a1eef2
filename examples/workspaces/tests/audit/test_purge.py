"""The purge worker: retention in batches, one leader per tick, a clean stop on SIGTERM."""

from __future__ import annotations

import asyncio
import datetime
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest_asyncio
from audit import PURGE_LOCK, AuditEntry, PurgeConfig, PurgeWorker
from store import PgStore, Store, connect

from tests._layers import raw, with_audit, with_authz
from workspaces.stack import purge_worker

NOW = datetime.datetime(2026, 6, 1, 12, 0, tzinfo=datetime.UTC)
OLD = NOW - datetime.timedelta(days=200)
RECENT = NOW - datetime.timedelta(days=10)


async def seed(dsn: str, *, old_logs: int, recent_logs: int = 3, expired_keys: int = 0) -> None:
    conn = await asyncpg.connect(dsn, statement_cache_size=0)
    try:
        actor = uuid.uuid4()
        await conn.copy_records_to_table(
            "audit_logs",
            records=[
                (
                    uuid.uuid4(),
                    OLD + datetime.timedelta(seconds=n),
                    actor,
                    "workspace",
                    f"w{n}",
                    "write",
                )
                for n in range(old_logs)
            ]
            + [
                (uuid.uuid4(), RECENT, actor, "workspace", "recent", "write")
                for _ in range(recent_logs)
            ],
            columns=["id", "time", "user_id", "resource_type", "resource_id", "action"],
        )
        user = uuid.uuid4()
        await conn.execute(
            "INSERT INTO users (id, email, username, name, hashed_password, status, login_type,"
            " created_at, updated_at) VALUES ($1, 'p@example.com', 'p', 'P', '\\x00', 'active',"
            " 'password', $2, $2)",
            user,
            OLD,
        )
        await conn.executemany(
            "INSERT INTO api_keys (id, hashed_secret, user_id, expires_at, login_type)"
            " VALUES ($1, '\\x00', $2, $3, 'password')",
            [(f"k{n:09d}", user, OLD) for n in range(expired_keys)]
            + [("live000000", user, NOW + datetime.timedelta(days=1))],
        )
    finally:
        await conn.close()


async def _count(dsn: str, sql: str) -> int:
    conn = await asyncpg.connect(dsn, statement_cache_size=0)
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


@pytest_asyncio.fixture
async def pg(db_dsn: str) -> AsyncIterator[PgStore]:
    s = await connect(db_dsn, min_size=1, max_size=4)
    yield s
    await s.close()


def _worker(s: Store, **config: int) -> PurgeWorker:
    """The application's purge worker over its full stack on ``s``."""
    stack = raw(with_audit(with_authz(s)))
    return purge_worker(stack, PurgeConfig(**config), clock=lambda: NOW)


async def test_a_tick_deletes_past_retention_in_batches_and_records_itself(
    pg: PgStore, db_dsn: str
) -> None:
    await seed(db_dsn, old_logs=25, expired_keys=7)
    result = await _worker(pg, batch_size=10).tick()
    assert result is not None
    assert (result.deleted, result.stopped) == ({"audit_logs": 25, "api_keys": 7}, False)
    assert result.batches == 3 + 1  # 10 + 10 + 5 logs, then 7 keys in one short batch
    # The recent entries and the live key stay; the purge wrote one entry of its own.
    assert await _count(db_dsn, "SELECT count(*) FROM audit_logs WHERE resource_id = 'recent'") == 3
    assert await _count(db_dsn, "SELECT count(*) FROM api_keys") == 1
    conn = await asyncpg.connect(db_dsn, statement_cache_size=0)
    try:
        own = await conn.fetchrow(
            "SELECT (additional_fields->>'audit_logs_deleted')::int AS logs,"
            " (additional_fields->>'api_keys_deleted')::int AS keys"
            " FROM audit_logs WHERE resource_type = 'retention'"
        )
    finally:
        await conn.close()
    assert own is not None
    assert (own["logs"], own["keys"]) == (25, 7)
    # Nothing left to do: the next tick deletes nothing and writes no entry.
    again = await _worker(pg, batch_size=10).tick()
    assert again is not None
    assert again.deleted == {"audit_logs": 0, "api_keys": 0}
    assert await _count(db_dsn, "SELECT count(*) FROM audit_logs") == 3 + 1


class _Gate:
    """An auditor that holds the tick's transaction open until released."""

    def __init__(self) -> None:
        self.inside = asyncio.Event()
        self.release = asyncio.Event()

    async def record(self, tx: Store, entry: AuditEntry) -> None:
        self.inside.set()
        await self.release.wait()


async def test_two_workers_never_purge_at_the_same_time(pg: PgStore, db_dsn: str) -> None:
    await seed(db_dsn, old_logs=5)
    other = await connect(db_dsn, min_size=1, max_size=2)  # another process's pool
    try:
        gate = _Gate()
        first = purge_worker(raw(with_audit(with_authz(pg))), auditor=gate, clock=lambda: NOW)
        second = _worker(other)
        leading = asyncio.create_task(first.tick())
        await asyncio.wait_for(gate.inside.wait(), 5)  # first holds the lock, mid-tick
        assert await second.tick() is None, "the second instance must not work this tick"
        gate.release.set()
        done = await leading
        assert done is not None
        assert done.deleted["audit_logs"] == 5
        # With the first tick committed, the lock is free again.
        after = await second.tick()
        assert after is not None
        assert after.deleted["audit_logs"] == 0
    finally:
        await other.close()


async def test_the_lock_is_registered_under_a_stable_name() -> None:
    assert PURGE_LOCK.name == "audit.purge_worker"


_CHILD = """
import asyncio, datetime, signal, sys
import structlog
structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
from audit import PurgeConfig
from workspaces import stack

async def main(dsn):
    s = await stack.connect(dsn, min_size=1, max_size=2)
    now = datetime.datetime(2026, 6, 1, 12, 0, tzinfo=datetime.UTC)
    worker = stack.purge_worker(
        s.store, PurgeConfig(batch_size=20, max_batches=1000), clock=lambda: now
    )
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, worker.stop)
    result = await worker.tick()
    print(result.deleted["audit_logs"], result.batches, result.stopped, flush=True)
    await s.store.close()

asyncio.run(main(sys.argv[1]))
"""


async def test_sigterm_mid_batch_stops_cleanly_with_whole_batches(db_dsn: str) -> None:
    await seed(db_dsn, old_logs=400, recent_logs=0)
    conn = await asyncpg.connect(db_dsn, statement_cache_size=0)
    try:
        # Every batch's DELETE takes a while, so the signal lands mid-tick.
        await conn.execute(
            "CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS"
            " $$ BEGIN PERFORM pg_sleep(0.05); RETURN NULL; END $$;"
            " CREATE TRIGGER slow AFTER DELETE ON audit_logs"
            " FOR EACH STATEMENT EXECUTE FUNCTION slow();"
        )
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _CHILD,
            db_dsn,
            stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": os.getcwd()},
        )
        async with asyncio.timeout(30):
            # Polling the server is the only way to see the child's statement; only this
            # database's: a test on another worker may be deleting audit rows of its own.
            while not await conn.fetchval(  # noqa: ASYNC110
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE query LIKE '%DELETE FROM audit_logs%' AND pid <> pg_backend_pid()"
                " AND datname = current_database()"
            ):
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.12)  # a couple of batches in
        child.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            out, _ = await child.communicate()
        assert child.returncode == 0, out
        deleted, batches, stopped = out.decode().split()
        assert stopped == "True"
        assert 0 < int(deleted) < 400, "stopped before the end, after some work"
        assert int(deleted) == 20 * int(batches), "only whole batches"
        remaining = await conn.fetchval(
            "SELECT count(*) FROM audit_logs WHERE resource_type = 'workspace'"
        )
        assert remaining == 400 - int(deleted), "what the worker reports is what committed"
        recorded = await conn.fetchval(
            "SELECT (additional_fields->>'audit_logs_deleted')::int FROM audit_logs"
            " WHERE resource_type = 'retention'"
        )
        assert recorded == int(deleted)
    finally:
        await conn.close()
