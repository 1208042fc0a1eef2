"""A multi-host DSN whose primary stops taking writes: the store moves to the writable host.

An HA manager fails over by turning the old primary into a standby or by
making it refuse writes (``default_transaction_read_only``) while pooled
connections to it stay open. Two independent local servers stand in for the
old and the new primary; the pg_auto_failover test (``make test-ha``) covers
the real thing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import asyncpg
import pytest

import store
from store._localpg import LocalCluster
from store.errors import DatabaseError, DatabaseUnavailable
from tests.store._queries import INSERT_ITEM, LIST_ITEMS, SCHEMA


@contextlib.contextmanager
def _two_servers() -> Iterator[tuple[LocalCluster, LocalCluster]]:
    with LocalCluster() as old, LocalCluster() as new:
        yield old, new


async def _sql(dsn: str, *statements: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        for sql in statements:
            await conn.execute(sql)
    finally:
        await conn.close()


def _multi_host(old: LocalCluster, new: LocalCluster) -> str:
    return (
        f"postgresql://postgres@127.0.0.1:{old.port},127.0.0.1:{new.port}/postgres"
        "?target_session_attrs=read-write"
    )


async def _block_writes(dsn: str) -> None:
    await _sql(
        dsn, "ALTER SYSTEM SET default_transaction_read_only = on", "SELECT pg_reload_conf()"
    )
    await asyncio.sleep(0.2)  # the reload reaches every backend


async def _write(tx: store.Store, n: int) -> None:
    await tx.execute(INSERT_ITEM, (n, f"item-{n}"))


async def test_writes_move_to_the_new_primary_when_the_old_one_turns_read_only() -> None:
    with _two_servers() as (old, new):
        for cluster in (old, new):
            await _sql(cluster.dsn(), SCHEMA)
        pg = await store.connect(_multi_host(old, new), min_size=3, max_size=3)
        try:
            async with asyncio.timeout(30):
                await pg.execute(INSERT_ITEM, (1, "on the old primary"))
                await pg.in_tx(lambda tx: _write(tx, 2))
                await _block_writes(old.dsn())

                # Each pooled connection still points at the old server: a write on it
                # fails as unavailable, and the pool lets go of it and its idle peers.
                with pytest.raises(DatabaseUnavailable, match="read-only"):
                    await pg.execute(INSERT_ITEM, (3, "refused"))
                await pg.execute(INSERT_ITEM, (4, "on the new primary"))
                await pg.in_tx(lambda tx: _write(tx, 5))
        finally:
            await pg.close()
        conn = await asyncpg.connect(new.dsn())
        try:
            on_new = [r["id"] for r in await conn.fetch(LIST_ITEMS.sql)]
        finally:
            await conn.close()
        assert on_new == [4, 5]


async def test_a_write_in_a_transaction_on_a_read_only_server_is_unavailable() -> None:
    with _two_servers() as (old, new):
        for cluster in (old, new):
            await _sql(cluster.dsn(), SCHEMA)
        pg = await store.connect(_multi_host(old, new), min_size=1, max_size=1)
        try:
            async with asyncio.timeout(30):
                await pg.ping()
                await _block_writes(old.dsn())
                with pytest.raises(DatabaseUnavailable, match="read-only"):
                    await pg.in_tx(lambda tx: _write(tx, 1), tx_id="moved")
                await pg.in_tx(lambda tx: _write(tx, 2), tx_id="moved")
        finally:
            await pg.close()


async def test_a_write_in_a_read_only_transaction_stays_a_database_error() -> None:
    with LocalCluster() as server:
        await _sql(server.dsn(), SCHEMA)
        pg = await store.connect(server.dsn(), min_size=1, max_size=1)
        try:
            with pytest.raises(DatabaseError, match="read-only") as caught:
                await pg.in_tx(lambda tx: _write(tx, 1), read_only=True)
            assert not isinstance(caught.value, DatabaseUnavailable)
            assert caught.value.sqlstate == "25006"
            await pg.execute(INSERT_ITEM, (2, "the connection is still good"))
            assert pg.pool.get_size() == 1
        finally:
            await pg.close()


async def test_no_writable_host_is_unavailable_not_a_driver_error() -> None:
    with _two_servers() as (old, new):
        await _block_writes(old.dsn())
        await _block_writes(new.dsn())
        with pytest.raises(DatabaseUnavailable, match="accepts writes"):
            await store.connect(_multi_host(old, new), min_size=1)
        await _sql(new.dsn(), "ALTER SYSTEM RESET ALL", "SELECT pg_reload_conf()")
        await _sql(new.dsn(), SCHEMA)
        pg = await store.connect(_multi_host(old, new), min_size=0, max_size=1)
        try:
            await pg.execute(INSERT_ITEM, (1, "the writable host"))
        finally:
            await pg.close()
