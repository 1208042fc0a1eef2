"""Statement and lock timeouts: their own errors, a rollback, the connection back in the pool."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio

import store
from store.errors import DatabaseUnavailable, LockTimeout, StatementTimeout
from tests.faults._support import assert_pool_clean
from tests.store._queries import (
    INSERT_ITEM,
    LIST_ITEMS,
    SCHEMA,
    SET_COUNTER,
    SHOW_TIMEOUTS,
    SLEEP,
)

ENSURE = "INSERT INTO counters (name, value) VALUES ('c', 1)"


@pytest_asyncio.fixture
async def dsn(empty_db_dsn: str) -> AsyncIterator[str]:
    conn = await asyncpg.connect(empty_db_dsn)
    await conn.execute(SCHEMA + ENSURE)
    await conn.close()
    yield empty_db_dsn


@pytest_asyncio.fixture
async def locked(dsn: str) -> AsyncIterator[None]:
    """Another session holds the counter row's lock for the duration of the test."""
    conn = await asyncpg.connect(dsn)
    await conn.execute("BEGIN; SELECT * FROM counters WHERE name = 'c' FOR UPDATE")
    try:
        yield
    finally:
        await conn.execute("ROLLBACK")
        await conn.close()


async def _items(pg: store.PgStore) -> list[int]:
    return [r["id"] for r in await pg.fetch_many(LIST_ITEMS, ())]


async def test_the_store_statement_timeout_raises_statement_timeout(dsn: str) -> None:
    pg = await store.connect(dsn, min_size=1, max_size=1, statement_timeout=0.05)
    try:
        async with asyncio.timeout(20):
            with pytest.raises(StatementTimeout, match="sleep"):
                await pg.execute(SLEEP, (30.0,))

            async def slow(tx: store.Store) -> None:
                await tx.execute(INSERT_ITEM, (1, "lost"))
                await tx.execute(SLEEP, (30.0,))

            with pytest.raises(StatementTimeout):
                await pg.in_tx(slow)
            assert await _items(pg) == []
        await assert_pool_clean(pg, dsn)
    finally:
        await pg.close()


async def test_a_per_transaction_statement_timeout_tightens_the_store_one(dsn: str) -> None:
    pg = await store.connect(dsn, min_size=1, max_size=1)
    try:

        async def slow(tx: store.Store) -> None:
            await tx.execute(INSERT_ITEM, (1, "lost"))
            await tx.execute(SLEEP, (30.0,))

        async with asyncio.timeout(20):
            with pytest.raises(StatementTimeout):
                await pg.in_tx(slow, statement_timeout=0.05)
            # SET LOCAL: the next transaction on the same connection has no timeout.
            await pg.in_tx(lambda tx: tx.execute(SLEEP, (0.0,)))
            assert await _items(pg) == []
        await assert_pool_clean(pg, dsn)
    finally:
        await pg.close()


@pytest.mark.usefixtures("locked")
async def test_the_store_lock_timeout_raises_lock_timeout(dsn: str) -> None:
    pg = await store.connect(dsn, min_size=1, max_size=1, lock_timeout=0.05)
    try:

        async def blocked(tx: store.Store) -> None:
            await tx.execute(INSERT_ITEM, (1, "lost"))
            await tx.execute(SET_COUNTER, ("c", 2))

        async with asyncio.timeout(20):
            with pytest.raises(LockTimeout, match="set_counter"):
                await pg.in_tx(blocked)
            with pytest.raises(LockTimeout):
                await pg.execute(SET_COUNTER, ("c", 3))
            assert await _items(pg) == []
        await assert_pool_clean(pg, dsn)
    finally:
        await pg.close()


@pytest.mark.usefixtures("locked")
async def test_a_per_transaction_lock_timeout_raises_lock_timeout(dsn: str) -> None:
    pg = await store.connect(dsn, min_size=1, max_size=1)
    try:

        async def blocked(tx: store.Store) -> None:
            await tx.execute(INSERT_ITEM, (1, "lost"))
            await tx.execute(SET_COUNTER, ("c", 2))

        async with asyncio.timeout(20):
            with pytest.raises(LockTimeout):
                await pg.in_tx(blocked, lock_timeout=0.05)
            assert await _items(pg) == []
        await assert_pool_clean(pg, dsn)
    finally:
        await pg.close()


@pytest.mark.usefixtures("locked")
async def test_a_sub_millisecond_store_timeout_is_rounded_up_never_off(dsn: str) -> None:
    # No connection opened up front: under 1 ms even the connection's set-up
    # queries may be cancelled, which is as much proof as the sleep's cancellation.
    pg = await store.connect(dsn, min_size=0, max_size=1, statement_timeout=0.0004)
    locking = await store.connect(dsn, min_size=1, max_size=1, lock_timeout=0.0004)
    try:
        async with asyncio.timeout(20):
            with pytest.raises((StatementTimeout, DatabaseUnavailable)) as caught:
                await pg.execute(SLEEP, (5.0,))
            assert caught.value.sqlstate == "57014", caught.value
            assert (await locking.fetch_one(SHOW_TIMEOUTS, ()))["lock_timeout"] == "1ms"
            with pytest.raises(LockTimeout):
                await locking.execute(SET_COUNTER, ("c", 2))
        await assert_pool_clean(pg, dsn)
        await assert_pool_clean(locking, dsn)
    finally:
        await pg.close()
        await locking.close()


@pytest.mark.usefixtures("locked")
async def test_a_sub_millisecond_transaction_timeout_is_rounded_up_never_off(dsn: str) -> None:
    pg = await store.connect(dsn, min_size=1, max_size=1)
    try:
        async with asyncio.timeout(20):
            with pytest.raises(StatementTimeout):
                await pg.in_tx(lambda tx: tx.execute(SLEEP, (5.0,)), statement_timeout=0.0004)
            with pytest.raises(LockTimeout):
                await pg.in_tx(lambda tx: tx.execute(SET_COUNTER, ("c", 2)), lock_timeout=0.0004)
            # Whole milliseconds stay as they are: 0.29 s is 290 ms, not 291.
            shown = await pg.in_tx(
                lambda tx: tx.fetch_one(SHOW_TIMEOUTS, ()),
                statement_timeout=2.5,
                lock_timeout=0.29,
            )
            assert shown == {"statement_timeout": "2500ms", "lock_timeout": "290ms"}
        await assert_pool_clean(pg, dsn)
    finally:
        await pg.close()


async def test_a_negative_timeout_is_refused(dsn: str) -> None:
    pg = await store.connect(dsn, min_size=1, max_size=1)
    try:
        with pytest.raises(ValueError, match="statement_timeout must be"):
            await pg.in_tx(lambda tx: tx.ping(), statement_timeout=-1)
        with pytest.raises(ValueError, match="lock_timeout must be"):
            await store.connect(dsn, min_size=1, max_size=1, lock_timeout=-0.5)
    finally:
        await pg.close()


@pytest.mark.usefixtures("locked")
async def test_a_timeout_far_below_a_millisecond_is_still_one(dsn: str) -> None:
    # 1e-10 s rounds (to six decimals of a millisecond) to 0, PostgreSQL's "off".
    pg = await store.connect(dsn, min_size=1, max_size=1)
    locking = await store.connect(dsn, min_size=1, max_size=1, lock_timeout=1e-10)
    try:
        async with asyncio.timeout(20):
            assert (await locking.fetch_one(SHOW_TIMEOUTS, ()))["lock_timeout"] == "1ms"
            with pytest.raises(LockTimeout):
                await pg.in_tx(lambda tx: tx.execute(SET_COUNTER, ("c", 2)), lock_timeout=1e-10)
        await assert_pool_clean(pg, dsn)
    finally:
        await pg.close()
        await locking.close()
