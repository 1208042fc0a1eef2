"""The server restarts under an idle pool: the next calls reconnect; nobody hangs."""

from __future__ import annotations

import asyncio

import pytest

import store
from store.errors import DatabaseUnavailable
from tests.faults._support import assert_pool_clean, cluster_root, persistent_cluster
from tests.store._queries import INSERT_ITEM, LIST_ITEMS, SCHEMA


async def _outcome(pg: store.PgStore, n: int) -> str:
    async def write(tx: store.Store) -> None:
        await tx.execute(INSERT_ITEM, (n, f"after-restart-{n}"))

    try:
        await pg.in_tx(write, tx_id="after_restart")
    except DatabaseUnavailable:
        return "unavailable"
    return "ok"


async def test_an_idle_pool_reconnects_after_the_server_restarts() -> None:
    with cluster_root() as root, persistent_cluster(root) as cluster:
        pg = await store.connect(cluster.dsn(), min_size=4, max_size=4)
        try:
            async with asyncio.timeout(30):
                setup = await pg.pool.acquire()
                await setup.execute(SCHEMA)
                await pg.pool.release(setup)
                await pg.ping()
                assert pg.pool.get_size() == 4

                await asyncio.to_thread(cluster.stop)  # fast shutdown: every session is closed
                with pytest.raises(DatabaseUnavailable, match=r"127\.0\.0\.1"):
                    await pg.ping()  # while it is down: a clear error, not a hang
                await asyncio.to_thread(cluster.start)  # same data directory, same port

                # Eight callers at once on four dead connections: each succeeds, or
                # fails once with DatabaseUnavailable and then succeeds.
                first = await asyncio.gather(*(_outcome(pg, n) for n in range(8)))
                retried = [n for n, o in enumerate(first) if o == "unavailable"]
                second = await asyncio.gather(*(_outcome(pg, n) for n in retried))
                assert set(second) <= {"ok"}
                rows = await pg.fetch_many(LIST_ITEMS, ())
                assert [r["id"] for r in rows] == list(range(8))
                await pg.ping()
            await assert_pool_clean(pg, cluster.dsn())
        finally:
            await pg.close()
