"""The store's pool: hand-over without awaits, dirty connections cleaned, bounded size."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from store import PgStore, connect
from store._pool import Pool
from store.errors import DatabaseUnavailable, StoreClosed


@pytest_asyncio.fixture
async def pool(empty_db_dsn: str) -> AsyncIterator[Pool]:
    p = await Pool(empty_db_dsn, min_size=1, max_size=2, connect_kwargs={}).open()
    yield p
    await p.close()


async def _backend(conn: object) -> int:
    return int(await conn.fetchval("SELECT pg_backend_pid()"))  # type: ignore[attr-defined]


async def test_last_returned_connection_is_taken_first(pool: Pool) -> None:
    first = await pool.take()
    second = await pool.take()
    assert pool.get_size() == 2
    pool.put(first)
    pool.put(second)
    assert pool.get_idle_size() == 2
    again = await pool.take()
    assert again is second
    pool.put(again)


async def test_a_waiter_gets_the_next_returned_connection(pool: Pool) -> None:
    held = [await pool.take(), await pool.take()]
    waiting = asyncio.create_task(pool.take())
    await asyncio.sleep(0.01)
    assert not waiting.done(), "the pool is at max_size"
    pool.put(held[0])
    assert await asyncio.wait_for(waiting, 1) is held[0]
    assert pool.get_size() == 2
    pool.put(held[0])
    pool.put(held[1])


async def test_a_cancelled_waiter_leaks_no_connection(pool: Pool) -> None:
    held = [await pool.take(), await pool.take()]
    waiting = asyncio.create_task(pool.take())
    await asyncio.sleep(0.01)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    for conn in held:
        pool.put(conn)
    assert pool.get_idle_size() == 2
    assert pool.get_size() == 2


async def test_a_connection_left_in_a_transaction_is_rolled_back_before_reuse(pool: Pool) -> None:
    conn = await pool.take()
    await conn.execute("CREATE TABLE t (x int)")
    await conn.execute("BEGIN")
    await conn.execute("INSERT INTO t VALUES (1)")
    pool.put(conn)  # still in the transaction: cleaned in the background
    again = await pool.take()
    assert not again.is_in_transaction()
    assert await again.fetchval("SELECT count(*) FROM t") == 0
    pool.put(again)


async def test_a_cancelled_statement_never_reaches_the_next_caller(pool: Pool) -> None:
    conn = await pool.take()
    running = asyncio.create_task(conn.execute("SELECT pg_sleep(5)"))
    await asyncio.sleep(0.05)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    pool.put_dirty(conn)
    again = await asyncio.wait_for(pool.take(), 5)
    assert await again.fetchval("SELECT 41 + 1") == 42
    pool.put(again)


async def test_a_dead_connection_is_dropped_and_its_slot_reopened(
    pool: Pool, empty_db_dsn: str
) -> None:
    held = [await pool.take(), await pool.take()]
    waiting = asyncio.create_task(pool.take())
    await asyncio.sleep(0.01)
    held[0].terminate()
    pool.put(held[0])  # dead: dropped; the waiter opens a fresh connection
    fresh = await asyncio.wait_for(waiting, 5)
    assert fresh is not held[0]
    assert await fresh.fetchval("SELECT 1") == 1
    assert pool.get_size() == 2
    pool.put(fresh)
    pool.put(held[1])


async def test_a_connection_lost_under_its_caller_takes_the_idle_ones_with_it(
    empty_db_dsn: str,
) -> None:
    # A server restart kills every connection, but an idle one's socket may not
    # have said so yet when the next caller takes it. The first loss drops the
    # idle connections at once, so the next caller gets a fresh one.
    pool = await Pool(empty_db_dsn, min_size=3, max_size=3, connect_kwargs={}).open()
    try:
        taken = [await pool.take() for _ in range(3)]
        for conn in taken[1:]:
            pool.put(conn)
        assert pool.get_idle_size() == 2
        taken[0].terminate()  # as a dead server leaves it: closed under its caller
        pool.put_dirty(taken[0])
        # Idle ones dropped now; the dead one leaves once its cleanup task runs.
        assert (pool.get_idle_size(), pool.get_size()) == (0, 1)
        fresh = await pool.take()
        assert fresh not in taken
        assert await fresh.fetchval("SELECT 1") == 1
        pool.put(fresh)
    finally:
        await pool.close()


async def test_idle_connections_past_their_lifetime_are_replaced(empty_db_dsn: str) -> None:
    p = await Pool(
        empty_db_dsn, min_size=1, max_size=1, connect_kwargs={}, max_inactive_lifetime=0.0
    ).open()
    try:
        conn = await p.take()
        pid = await _backend(conn)
        p.put(conn)
        await asyncio.sleep(0.01)
        again = await p.take()
        assert await _backend(again) != pid
        p.put(again)
    finally:
        await p.close()


async def test_session_reset_only_when_asked(empty_db_dsn: str) -> None:
    for reset, expected in ((False, "off"), (True, "on")):
        p = await Pool(
            empty_db_dsn, min_size=1, max_size=1, connect_kwargs={}, reset_on_release=reset
        ).open()
        try:
            conn = await p.take()
            await conn.execute("SET enable_seqscan = off")
            p.put(conn)
            again = await p.take()
            assert await again.fetchval("SHOW enable_seqscan") == expected
            p.put(again)
        finally:
            await p.close()


async def test_close_closes_idle_now_and_busy_on_return(pool: Pool) -> None:
    busy = await pool.take()
    await pool.close()
    assert pool.get_idle_size() == 0
    assert not busy.is_closed()
    pool.put(busy)
    assert busy.is_closed()
    assert pool.get_size() == 0
    with pytest.raises(RuntimeError, match="closed"):
        await pool.take()


def test_sizes_are_checked() -> None:
    with pytest.raises(ValueError, match="min_size"):
        Pool("postgresql://x", min_size=3, max_size=2, connect_kwargs={})


async def test_a_caller_cancelled_while_a_connection_opens_leaves_it_to_the_pool(
    empty_db_dsn: str,
) -> None:
    p = await Pool(empty_db_dsn, min_size=0, max_size=1, connect_kwargs={}).open()
    try:
        taking = asyncio.create_task(p.take())
        await asyncio.sleep(0)  # the connection starts opening
        taking.cancel()
        with pytest.raises(asyncio.CancelledError):
            await taking
        conn = await asyncio.wait_for(p.take(), 5)  # the same slot, now open and idle
        assert await conn.fetchval("SELECT 1") == 1
        assert p.get_size() == 1
        p.put(conn)
    finally:
        await p.close()


async def test_a_connection_held_by_hand_waits_a_finite_time(empty_db_dsn: str) -> None:
    p = await Pool(
        empty_db_dsn, min_size=1, max_size=1, connect_kwargs={}, acquire_timeout=0.1
    ).open()
    try:
        held = await p.acquire()
        for waiting in (
            asyncio.create_task(p.acquire().__aenter__()),  # the pool's own timeout
            asyncio.create_task(p.acquire(timeout=0.05).__aenter__()),
        ):
            done, _ = await asyncio.wait({waiting}, timeout=10)
            assert waiting in done, "acquire() waited past its timeout"
            assert isinstance(waiting.exception(), TimeoutError)
        await p.release(held)
        async with p.acquire(timeout=None) as again:
            assert again is held
    finally:
        await p.close()


async def test_a_server_slow_to_accept_is_not_reported_as_a_full_pool() -> None:
    # A listener that accepts and never answers: the connect timeout runs out
    # while the pool has room.
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        pg = PgStore(
            Pool(
                f"postgresql://nobody@127.0.0.1:{port}/db",
                min_size=0,
                max_size=2,
                connect_kwargs={"timeout": 0.2},
            ),
            acquire_timeout=30,
        )
        async with asyncio.timeout(10):
            with pytest.raises(DatabaseUnavailable) as caught:
                await pg.ping()
        assert "no connection free" not in str(caught.value)
        assert "did not complete a new connection within 0.2 s" in str(caught.value)
        assert f"127.0.0.1:{port}/db" in str(caught.value)
    finally:
        server.close()


async def test_a_closed_store_refuses_with_a_store_error(empty_db_dsn: str) -> None:
    store = await connect(empty_db_dsn, min_size=1, max_size=2)
    waiting = await store.pool.take()
    await store.close()
    for call in (store.ping(), store.pool.take()):
        with pytest.raises(StoreClosed, match="the store is closed"):
            await call
    store.pool.put(waiting)
