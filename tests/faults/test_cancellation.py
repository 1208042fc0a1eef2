"""Cancellation at random points of 1,000 transactions: clean connections, exact commits."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Mapping
from typing import Any

import asyncpg
import pytest_asyncio

import store
from store._query import Kind, Param, Query
from tests.faults._support import assert_pool_clean

TRANSACTIONS = 1000
CONCURRENCY = 8
SCHEMA = """
CREATE TABLE done (n int PRIMARY KEY);
CREATE TABLE tally (id int PRIMARY KEY, value int NOT NULL);
INSERT INTO tally VALUES (1, 0);
"""


def _value(record: Mapping[str, Any]) -> int:
    return int(record["value"])


MARK_DONE: Query[None] = Query(
    name="mark_done",
    kind=Kind.EXEC,
    sql="INSERT INTO done (n) VALUES ($1)",
    params=(Param("n", "int4"),),
    decode=None,
    source="tests/faults/test_cancellation.py",
)
BUMP: Query[int] = Query(
    name="bump",
    kind=Kind.ONE,
    sql="UPDATE tally SET value = value + 1 WHERE id = 1 RETURNING value",
    params=(),
    decode=_value,
    source="tests/faults/test_cancellation.py",
)


@pytest_asyncio.fixture
async def dsn(empty_db_dsn: str) -> AsyncIterator[str]:
    conn = await asyncpg.connect(empty_db_dsn)
    await conn.execute(SCHEMA)
    await conn.close()
    yield empty_db_dsn


async def test_cancelled_transactions_leave_exactly_the_committed_ones(dsn: str) -> None:
    rng = random.Random(20240301)  # noqa: S311  # a reproducible schedule, not cryptography
    pg = await store.connect(dsn, min_size=CONCURRENCY, max_size=CONCURRENCY)
    returned: set[int] = set()  # in_tx returned: committed for sure
    closure_done: set[int] = set()  # the closure returned: committed unless cancelled first
    cancelled = 0

    async def run(n: int, delay: float | None, yields: int) -> None:
        nonlocal cancelled

        async def closure(tx: store.Store) -> None:
            await tx.execute(MARK_DONE, (n,))
            for _ in range(yields):
                await asyncio.sleep(0)  # cancellation points inside the closure too
            await tx.fetch_one(BUMP, ())
            closure_done.add(n)

        try:
            async with asyncio.timeout(delay):
                await pg.in_tx(closure, tx_id=f"t{n}")
        except TimeoutError:
            cancelled += 1
            return
        returned.add(n)

    delays = [None, 0.0, 0.0001, 0.0003, 0.0006, 0.001, 0.002, 0.004]
    async with asyncio.timeout(45):
        for first in range(0, TRANSACTIONS, CONCURRENCY):
            await asyncio.gather(
                *(
                    run(n, rng.choice(delays), rng.randrange(3))
                    for n in range(first, min(first + CONCURRENCY, TRANSACTIONS))
                )
            )

    conn = await asyncpg.connect(dsn)
    try:
        committed = {r["n"] for r in await conn.fetch("SELECT n FROM done")}
        tally = await conn.fetchval("SELECT value FROM tally")
    finally:
        await conn.close()
    # Every transaction whose in_tx returned is there; nothing is there whose closure
    # did not return; the only unknowns are cancellations during COMMIT itself.
    assert returned <= committed <= closure_done
    assert tally == len(committed)  # the row and the increment commit together or not at all
    assert cancelled > 100  # the schedule did exercise both sides
    assert len(returned) > 100
    await assert_pool_clean(pg, dsn)
    await pg.close()
