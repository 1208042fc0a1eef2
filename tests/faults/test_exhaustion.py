"""Pool exhaustion: 200 callers on 4 connections finish or time out; poisoning prevents deadlock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio

import store
from store.errors import DatabaseUnavailable, OuterStoreUsedInTransaction
from tests.faults._support import assert_pool_clean
from tests.store._queries import INSERT_ITEM, LIST_ITEMS, SCHEMA

POOL = 4
CALLERS = 200


@pytest_asyncio.fixture
async def dsn(empty_db_dsn: str) -> AsyncIterator[str]:
    conn = await asyncpg.connect(empty_db_dsn)
    await conn.execute(SCHEMA)
    await conn.close()
    yield empty_db_dsn


async def _outcomes(pg: store.PgStore, first: int) -> list[str]:
    async def one(n: int) -> str:
        try:
            await pg.in_tx(lambda tx: tx.execute(INSERT_ITEM, (n, "x")), tx_id=f"caller_{n}")
        except DatabaseUnavailable as exc:
            return "timeout" if "no connection free in the pool" in str(exc) else str(exc)
        return "ok"

    return await asyncio.gather(*(one(first + n) for n in range(CALLERS)))


async def test_callers_on_an_exhausted_pool_time_out_then_all_complete(dsn: str) -> None:
    pg = await store.connect(dsn, min_size=POOL, max_size=POOL, acquire_timeout=0.05)
    release = asyncio.Event()
    holding = asyncio.Barrier(POOL + 1)

    async def hold(tx: store.Store) -> None:
        await tx.ping()
        await holding.wait()
        await release.wait()

    try:
        async with asyncio.timeout(30):
            holders = [asyncio.create_task(pg.in_tx(hold)) for _ in range(POOL)]
            await holding.wait()  # every connection is taken
            assert await _outcomes(pg, 0) == ["timeout"] * CALLERS
            release.set()
            await asyncio.gather(*holders)
            # The same pool with a generous acquire timeout: the queue drains, all complete.
            patient = store.PgStore(pg.pool, acquire_timeout=30)
            assert await _outcomes(patient, 1000) == ["ok"] * CALLERS
        rows = await pg.fetch_many(LIST_ITEMS, ())
        assert [r["id"] for r in rows] == list(range(1000, 1000 + CALLERS))
        await assert_pool_clean(pg, dsn)
    finally:
        await pg.close()


async def _nested_workload(pg: store.PgStore) -> list[str]:
    """Every closure, once all four connections are taken, calls the outer store (the bug)."""
    inside = asyncio.Barrier(POOL)

    async def one(n: int) -> str:
        async def closure(tx: store.Store) -> None:
            await tx.execute(INSERT_ITEM, (n, "inner"))
            if n < POOL:
                await inside.wait()
            # The bug under test: the outer store inside the closure.
            await pg.fetch_many(LIST_ITEMS, ())  # txstore-lint: ignore[outer-store-in-tx]

        try:
            await pg.in_tx(closure, tx_id=f"nested_{n}")
        except OuterStoreUsedInTransaction:
            return "poisoned"
        return "ok"

    return await asyncio.gather(*(one(n) for n in range(CALLERS)))


async def test_poisoning_turns_the_nested_acquire_deadlock_into_errors(dsn: str) -> None:
    pg = await store.connect(dsn, min_size=POOL, max_size=POOL, acquire_timeout=None)
    try:
        async with asyncio.timeout(30):
            assert await _nested_workload(pg) == ["poisoned"] * CALLERS
        assert await pg.fetch_many(LIST_ITEMS, ()) == []
        await assert_pool_clean(pg, dsn)
    finally:
        await pg.close()


async def test_without_poisoning_the_same_workload_deadlocks(dsn: str) -> None:
    pg = await store.connect(
        dsn, min_size=POOL, max_size=POOL, acquire_timeout=None, poison_mode="log"
    )
    try:
        # Four closures hold the four connections and each waits for a fifth: nothing
        # can ever finish, so the bound is what ends it.
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(1.0):
                await _nested_workload(pg)
        # Cancellation rolled every transaction back and returned every connection.
        assert await pg.fetch_many(LIST_ITEMS, ()) == []
        await assert_pool_clean(pg, dsn)
    finally:
        await pg.close()


async def test_every_store_waits_for_a_connection_a_finite_time(dsn: str) -> None:
    pg = await store.connect(dsn, min_size=1, max_size=1)
    try:
        for made in (pg, store.PgStore(pg.pool)):
            timeout = made.acquire_timeout
            assert timeout is not None
            assert 0 < timeout < float("inf")
    finally:
        await pg.close()


async def test_a_task_created_before_the_transaction_fails_instead_of_hanging(dsn: str) -> None:
    """The escape poisoning cannot see: the task's context was copied before ``in_tx``."""
    pg = await store.connect(dsn, min_size=1, max_size=1, acquire_timeout=0.2)
    go = asyncio.Event()

    async def read_later() -> int:
        await go.wait()
        return len(await pg.fetch_many(LIST_ITEMS, ()))

    early = asyncio.create_task(read_later())  # created outside the transaction

    async def closure(tx: store.Store) -> None:
        await tx.execute(INSERT_ITEM, (1, "x"))
        go.set()
        await early  # waits for the one connection this transaction holds

    try:
        async with asyncio.timeout(20):
            with pytest.raises(DatabaseUnavailable, match="no connection free in the pool"):
                await pg.in_tx(closure, tx_id="escape")
        assert await pg.fetch_many(LIST_ITEMS, ()) == []
        await assert_pool_clean(pg, dsn)
    finally:
        await pg.close()
