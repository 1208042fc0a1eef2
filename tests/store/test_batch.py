"""The batch primitives: ``execute_batch`` (:batchexec, :copyfrom) and ``fetch_batch``
(:batchmany, :batchone), on the pool and inside ``in_tx``."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

import store
from store import Kind, Param, Query
from store._pg import PgStoreBase, open_pool
from store.errors import (
    ConcurrentTransactionUse,
    NotFound,
    NotNullViolation,
    OuterStoreUsedInTransaction,
    TransactionClosed,
    UniqueViolation,
    WrongPrimitive,
)
from tests.store._queries import (
    COPY_ITEMS,
    INSERT_ITEMS,
    ITEMS_FROM,
    LIST_ITEMS,
    RENAME_ITEM,
    SCHEMA,
    SLEEP_EACH,
)

ONE = [(1, "a")]


@pytest_asyncio.fixture
async def pg(empty_db_dsn: str) -> AsyncIterator[PgStoreBase]:
    conn = await asyncpg.connect(empty_db_dsn)
    await conn.execute(SCHEMA)
    await conn.close()
    store = PgStoreBase(await open_pool(empty_db_dsn, min_size=1, max_size=3))
    yield store
    await store.close()


async def _labels(pg: PgStoreBase) -> list[tuple[int, str]]:
    return [(r["id"], r["label"]) for r in await pg.fetch_many(LIST_ITEMS, ())]


async def test_a_batchexec_runs_every_argument_set(pg: PgStoreBase) -> None:
    assert await pg.execute_batch(INSERT_ITEMS, [(1, "a"), (2, "b"), (3, "c")]) == 3
    assert await _labels(pg) == [(1, "a"), (2, "b"), (3, "c")]


async def test_one_bad_argument_set_writes_nothing(pg: PgStoreBase) -> None:
    await pg.execute_batch(INSERT_ITEMS, [(1, "a")])
    with pytest.raises(UniqueViolation):
        await pg.execute_batch(INSERT_ITEMS, [(2, "b"), (1, "again"), (3, "c")])
    assert await _labels(pg) == [(1, "a")]


async def test_copyfrom_copies_the_rows_and_counts_them(pg: PgStoreBase) -> None:
    assert await pg.execute_batch(COPY_ITEMS, [(i, f"item {i}") for i in range(1, 101)]) == 100
    labels = await _labels(pg)
    assert len(labels) == 100
    assert labels[41] == (42, "item 42")


async def test_a_copyfrom_with_a_bad_row_copies_nothing(pg: PgStoreBase) -> None:
    with pytest.raises(NotNullViolation):
        await pg.execute_batch(COPY_ITEMS, [(1, "a"), (2, None), (3, "c")])
    assert await _labels(pg) == []


async def test_batchmany_groups_the_rows_by_argument_set_in_order(pg: PgStoreBase) -> None:
    await pg.execute_batch(INSERT_ITEMS, [(1, "a"), (2, "b"), (3, "c")])
    groups = await pg.fetch_batch(ITEMS_FROM, [(2, 0), (9, 1), (1, 2)])
    assert [[r["id"] for r in g] for g in groups] == [[3, 2], [], [3, 2, 1]]


async def test_batchone_returns_one_row_per_set(pg: PgStoreBase) -> None:
    await pg.execute_batch(INSERT_ITEMS, [(1, "a"), (2, "b")])
    rows = await pg.fetch_batch(RENAME_ITEM, [(2, "B", 0), (1, "A", 1)])
    assert rows == [[{"id": 2, "label": "B"}], [{"id": 1, "label": "A"}]]


async def test_a_batchone_set_without_a_row_raises_not_found_and_writes_nothing(
    pg: PgStoreBase,
) -> None:
    await pg.execute_batch(INSERT_ITEMS, [(1, "a"), (2, "b")])
    with pytest.raises(NotFound) as raised:
        await pg.fetch_batch(RENAME_ITEM, [(1, "A", 0), (7, "G", 1), (2, "B", 2)])
    assert raised.value.index == 1
    assert await _labels(pg) == [(1, "a"), (2, "b")]
    assert pg.pool.get_size() == pg.pool.get_idle_size()  # the connection went back clean


async def test_a_failing_set_of_a_fetching_batch_writes_nothing(pg: PgStoreBase) -> None:
    await pg.execute_batch(INSERT_ITEMS, [(1, "a"), (2, "b")])
    with pytest.raises(NotNullViolation):
        await pg.fetch_batch(RENAME_ITEM, [(1, "A", 0), (2, None, 1)])
    assert await _labels(pg) == [(1, "a"), (2, "b")]


async def test_a_cancelled_batch_in_a_transaction_leaves_nothing(pg: PgStoreBase) -> None:
    async def work(tx: Any) -> None:
        await tx.execute_batch(INSERT_ITEMS, [(1, "a")])
        await tx.execute_batch(SLEEP_EACH, [(30.0,)])

    task = asyncio.create_task(pg.in_tx(work))
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await _labels(pg) == []
    assert await pg.fetch_batch(ITEMS_FROM, [(0, 0)]) == [[]]


async def test_an_argument_set_must_carry_its_own_batch_index(pg: PgStoreBase) -> None:
    with pytest.raises(ValueError, match="argument set 1 must carry 1"):
        await pg.fetch_batch(ITEMS_FROM, [(1, 0), (1, 0)])


async def test_a_batch_primitive_refuses_other_kinds_before_running(pg: PgStoreBase) -> None:
    with pytest.raises(WrongPrimitive, match="run by execute_batch"):
        await pg.fetch_batch(INSERT_ITEMS, [(1, "a")])
    with pytest.raises(WrongPrimitive, match="run by fetch_batch"):
        await pg.execute_batch(RENAME_ITEM, [(1, "a", 0)])  # type: ignore[arg-type]  # on purpose
    with pytest.raises(WrongPrimitive, match="run by execute_batch"):
        await pg.execute(INSERT_ITEMS, (1, "a"))
    assert await _labels(pg) == []


async def test_an_empty_batch_runs_nothing(pg: PgStoreBase) -> None:
    assert await pg.execute_batch(INSERT_ITEMS, []) == 0
    assert await pg.execute_batch(COPY_ITEMS, []) == 0
    assert await pg.fetch_batch(ITEMS_FROM, []) == []


async def test_batches_run_on_the_transaction_and_roll_back_with_it(pg: PgStoreBase) -> None:
    async def work(tx: Any) -> list[list[dict[str, Any]]]:
        await tx.execute_batch(INSERT_ITEMS, [(1, "a"), (2, "b")])
        await tx.execute_batch(COPY_ITEMS, [(3, "c")])
        seen: list[list[dict[str, Any]]] = await tx.fetch_batch(ITEMS_FROM, [(2, 0)])
        raise RuntimeError(seen)

    with pytest.raises(RuntimeError) as raised:
        await pg.in_tx(work)
    assert raised.value.args[0] == [[{"id": 3, "label": "c"}, {"id": 2, "label": "b"}]]
    assert await _labels(pg) == []


async def test_a_batchone_without_a_row_fails_the_transaction(pg: PgStoreBase) -> None:
    await pg.execute_batch(INSERT_ITEMS, [(1, "a")])

    async def work(tx: Any) -> None:
        with pytest.raises(NotFound):
            await tx.fetch_batch(RENAME_ITEM, [(1, "A", 0), (5, "E", 1)])
        # Swallowed: the level failed as with any failed statement, so nothing commits.

    with pytest.raises(NotFound):
        await pg.in_tx(work)
    assert await _labels(pg) == [(1, "a")]


async def test_a_closed_handle_and_the_outer_store_refuse_batches(pg: PgStoreBase) -> None:
    kept: list[Any] = []

    async def work(tx: Any) -> None:
        kept.append(tx)
        with pytest.raises(OuterStoreUsedInTransaction):
            await pg.execute_batch(INSERT_ITEMS, ONE)  # txstore-lint: ignore[outer-store-in-tx]

    await pg.in_tx(work)
    with pytest.raises(TransactionClosed):
        await kept[0].execute_batch(INSERT_ITEMS, [(1, "a")])
    with pytest.raises(TransactionClosed):
        await kept[0].fetch_batch(ITEMS_FROM, [(1, 0)])


async def test_only_the_innermost_level_runs_a_batch(pg: PgStoreBase) -> None:
    async def outer(tx: Any) -> None:
        async def inner(sp: Any) -> None:
            with pytest.raises(ConcurrentTransactionUse):
                await tx.execute_batch(INSERT_ITEMS, ONE)  # txstore-lint: ignore[outer-store-in-tx]
            await sp.execute_batch(INSERT_ITEMS, [(2, "b")])

        await tx.in_tx(inner)

    await pg.in_tx(outer)
    assert await _labels(pg) == [(2, "b")]


async def test_a_cancelled_batch_leaves_the_pool_healthy(pg: PgStoreBase) -> None:
    task = asyncio.create_task(pg.execute_batch(SLEEP_EACH, [(0.0,), (30.0,)]))
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await pg.execute_batch(INSERT_ITEMS, [(1, "a")]) == 1
    assert await _labels(pg) == [(1, "a")]


async def test_copy_takes_enums_json_hstore_and_arrays(empty_db_dsn: str) -> None:
    conn = await asyncpg.connect(empty_db_dsn)
    await conn.execute(
        "CREATE EXTENSION hstore; CREATE TYPE mood AS ENUM ('ok', 'bad');"
        "CREATE TABLE moods (id int, m mood, doc jsonb, tags text[], ms mood[], kv hstore)"
    )
    await conn.close()
    copy: Query[None] = Query(
        name="copy_moods",
        kind=Kind.COPYFROM,
        sql="INSERT INTO moods (id, m, doc, tags, ms, kv) VALUES ($1, $2, $3, $4, $5, $6)",
        params=(
            Param("id", "int4"),
            Param("m", "mood"),
            Param("doc", "jsonb"),
            Param("tags", "text[]"),
            Param("ms", "mood[]"),
            Param("kv", "hstore"),
        ),
        decode=None,
        source="tests/store/test_batch.py",
        mutates="moods",
        columns=("id", "m", "doc", "tags", "ms", "kv"),
    )
    pg = await store.connect(empty_db_dsn, min_size=1, max_size=1)
    try:
        row = (1, "ok", {"a": [1, None]}, ["x", "y"], ["ok", "bad"], {"k": "v", "n": None})
        assert await pg.execute_batch(copy, [row]) == 1
        conn = await pg.pool.take()
        try:
            got = await conn.fetchrow("SELECT id, m::text, doc, tags, ms::text[], kv FROM moods")
        finally:
            pg.pool.put(conn)
        assert got is not None
        assert tuple(got) == row
    finally:
        await pg.close()


async def test_a_copy_of_a_type_without_a_binary_encoder_is_refused_clearly(
    empty_db_dsn: str,
) -> None:
    conn = await asyncpg.connect(empty_db_dsn)
    await conn.execute("CREATE TABLE points (id int, p point)")
    await conn.close()
    copy: Query[None] = Query(
        name="copy_points",
        kind=Kind.COPYFROM,
        sql="INSERT INTO points (id, p) VALUES ($1, $2)",
        params=(Param("id", "int4"), Param("p", "point")),
        decode=None,
        source="tests/store/test_batch.py",
        mutates="points",
        columns=("id", "p"),
    )

    pg = PgStoreBase(await open_pool(empty_db_dsn, min_size=1, max_size=1))
    conn = await pg.pool.take()
    # An application's own text codec on the pool's one connection: COPY cannot send it.
    await conn.set_type_codec("point", encoder=str, decoder=str, schema="pg_catalog")
    pg.pool.put(conn)
    try:
        with pytest.raises(TypeError, match="copy_points: COPY sends every column in binary"):
            await pg.execute_batch(copy, [(1, "(1,2)")])
        # The connection still serves, and the same statement runs as a :batchexec.
        as_batch = dataclasses.replace(copy, kind=Kind.BATCHEXEC, columns=())
        assert await pg.execute_batch(as_batch, [(1, "(1,2)")]) == 1
    finally:
        await pg.close()


async def test_a_failing_set_of_a_batchmany_write_writes_nothing(pg: PgStoreBase) -> None:
    relabel: Query[dict[str, Any]] = dataclasses.replace(
        RENAME_ITEM,
        name="relabel_from",
        kind=Kind.BATCHMANY,
        sql="UPDATE items SET label = $2 WHERE id >= $1 RETURNING id, label\n, $3::int4",
    )
    await pg.execute_batch(INSERT_ITEMS, [(1, "a"), (2, "b")])
    assert await pg.fetch_batch(relabel, [(2, "B", 0)]) == [[{"id": 2, "label": "B"}]]
    with pytest.raises(NotNullViolation):
        # No explicit transaction: the pipelined sets share the implicit one.
        await pg.fetch_batch(relabel, [(1, "x", 0), (2, None, 1)])
    assert await _labels(pg) == [(1, "a"), (2, "B")]
