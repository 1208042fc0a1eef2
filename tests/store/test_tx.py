"""in_tx: commit and rollback, poisoning of the outer store, savepoints, retries."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
import structlog

import store
from store import Kind, Param, Query, errors
from store._pg import PgStoreBase, open_pool
from store._tx import PgTxBase, TxState
from store.errors import (
    CheckViolation,
    ConcurrentTransactionUse,
    NotFound,
    OuterStoreUsedInTransaction,
    SerializationFailure,
    TransactionAborted,
    TransactionClosed,
    UniqueViolation,
)
from tests.store._queries import (
    ENSURE_COUNTER,
    GET_COUNTER,
    GET_ITEM,
    INSERT_ITEM,
    INSERT_ITEM_LATE,
    LIST_ITEMS,
    SCHEMA,
    SET_COUNTER,
    SLEEP,
)

Tx = PgTxBase


@pytest_asyncio.fixture
async def pg(empty_db_dsn: str) -> AsyncIterator[PgStoreBase]:
    conn = await asyncpg.connect(empty_db_dsn)
    await conn.execute(SCHEMA)
    await conn.close()
    store = PgStoreBase(await open_pool(empty_db_dsn, min_size=1, max_size=5))
    yield store
    await store.close()


async def _labels(store: PgStoreBase) -> list[str]:
    return [row["label"] for row in await store.fetch_many(LIST_ITEMS, ())]


class Wrapper:
    """A layer over the store, as authz/audit/metrics are: delegates every call."""

    def __init__(self, inner: PgStoreBase) -> None:
        self.inner = inner

    async def list_items(self) -> list[dict[str, Any]]:
        return await self.inner.fetch_many(LIST_ITEMS, ())


class Service:
    """An application service whose helper hides the outer store."""

    def __init__(self, store: PgStoreBase) -> None:
        self.store = store

    async def _count(self) -> int:
        return len(await self.store.fetch_many(LIST_ITEMS, ()))

    async def add(self, item_id: int) -> int:
        async def work(tx: Tx) -> int:
            await tx.execute(INSERT_ITEM, (item_id, "x"))
            return await self._count()  # the bug: outer store inside the closure

        return await self.store.in_tx(work, tx_id="add_item")


async def test_commit_returns_the_closure_result(pg: PgStoreBase) -> None:
    async def work(tx: Tx) -> int:
        await tx.execute(INSERT_ITEM, (1, "one"))
        await tx.execute(INSERT_ITEM, (2, "two"))
        return len(await tx.fetch_many(LIST_ITEMS, ()))

    assert await pg.in_tx(work) == 2
    assert await _labels(pg) == ["one", "two"]


async def test_exception_rolls_back_everything_and_reraises(pg: PgStoreBase) -> None:
    async def work(tx: Tx) -> None:
        await tx.execute(INSERT_ITEM, (1, "one"))
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await pg.in_tx(work)
    assert await _labels(pg) == []


async def test_outer_store_in_closure_raises_naming_method_and_tx(pg: PgStoreBase) -> None:
    async def work(tx: Tx) -> None:
        await pg.fetch_many(LIST_ITEMS, ())

    with pytest.raises(OuterStoreUsedInTransaction) as caught:
        await pg.in_tx(work, tx_id="update_profile")
    assert str(caught.value) == (
        "cannot run list_items: transaction 'update_profile' is running in this task; "
        "use its tx handle, not the outer store"
    )


async def test_nested_in_tx_on_outer_store_is_refused(pg: PgStoreBase) -> None:
    async def inner(tx: Tx) -> None:
        return None

    async def work(tx: Tx) -> None:
        await pg.in_tx(inner)

    with pytest.raises(OuterStoreUsedInTransaction, match="cannot run in_tx: transaction 'outer'"):
        await pg.in_tx(work, tx_id="outer")


async def test_poisoning_holds_through_a_wrapper(pg: PgStoreBase) -> None:
    wrapped = Wrapper(pg)

    async def work(tx: Tx) -> None:
        await wrapped.list_items()

    with pytest.raises(OuterStoreUsedInTransaction, match="list_items"):
        await pg.in_tx(work, tx_id="wrapped")


async def test_poisoning_holds_through_a_helper_method(pg: PgStoreBase) -> None:
    with pytest.raises(OuterStoreUsedInTransaction, match="'add_item'"):
        await Service(pg).add(1)
    assert await _labels(pg) == [], "the failed closure's insert was rolled back"


async def test_tasks_spawned_in_the_closure_are_poisoned_until_it_ends(pg: PgStoreBase) -> None:
    release = asyncio.Event()

    async def late_user() -> list[dict[str, Any]]:
        await release.wait()
        return await pg.fetch_many(LIST_ITEMS, ())

    async def work(tx: Tx) -> asyncio.Task[list[dict[str, Any]]]:
        with pytest.raises(OuterStoreUsedInTransaction):
            await asyncio.create_task(pg.fetch_many(LIST_ITEMS, ()))
        await tx.execute(INSERT_ITEM, (7, "seven"))
        return asyncio.create_task(late_user())

    late = await pg.in_tx(work)
    release.set()
    # After the transaction ended, the task it spawned may use the outer store.
    assert [row["label"] for row in await late] == ["seven"]


async def test_unrelated_tasks_are_not_poisoned(pg: PgStoreBase) -> None:
    inside = asyncio.Event()
    done = asyncio.Event()

    async def work(tx: Tx) -> None:
        inside.set()
        await done.wait()

    async def bystander() -> int:
        await inside.wait()
        try:
            return len(await pg.fetch_many(LIST_ITEMS, ()))
        finally:
            done.set()

    _, seen = await asyncio.gather(pg.in_tx(work), bystander())
    assert seen == 0


async def test_log_mode_logs_instead_of_raising(pg: PgStoreBase) -> None:
    pg.poison_mode = "log"

    async def work(tx: Tx) -> int:
        return len(await pg.fetch_many(LIST_ITEMS, ()))

    with structlog.testing.capture_logs() as logs:
        assert await pg.in_tx(work, tx_id="rollout") == 0
    events = [e for e in logs if e["event"] == "outer store used in transaction"]
    assert events == [
        {
            "event": "outer store used in transaction",
            "log_level": "error",
            "method": "list_items",
            "tx_id": "rollout",
            "mode": "log",
        }
    ]


async def test_handle_used_after_closure_raises_transaction_closed(pg: PgStoreBase) -> None:
    async def work(tx: Tx) -> Tx:
        return tx

    leaked = await pg.in_tx(work, tx_id="leaky")
    with pytest.raises(
        TransactionClosed, match="cannot run get_item: transaction 'leaky' is closed"
    ):
        await leaked.fetch_one(GET_ITEM, (1,))


async def test_two_statements_at_once_on_one_handle_are_refused(pg: PgStoreBase) -> None:
    async def work(tx: Tx) -> None:
        await asyncio.gather(tx.execute(SLEEP, (0.05,)), tx.fetch_many(LIST_ITEMS, ()))

    with pytest.raises(ConcurrentTransactionUse, match="transaction 'busy' is busy"):
        await pg.in_tx(work, tx_id="busy")


async def test_failed_savepoint_rolls_back_to_it_and_outer_goes_on(pg: PgStoreBase) -> None:
    async def inner(tx: Tx) -> None:
        await tx.execute(INSERT_ITEM, (2, "two"))
        await tx.execute(INSERT_ITEM, (1, "duplicate"))

    async def work(tx: Tx) -> None:
        await tx.execute(INSERT_ITEM, (1, "one"))
        with pytest.raises(UniqueViolation):
            await tx.in_tx(inner)
        await tx.execute(INSERT_ITEM, (3, "three"))

    await pg.in_tx(work)
    assert await _labels(pg) == ["one", "three"]


async def test_successful_savepoint_is_kept(pg: PgStoreBase) -> None:
    async def inner(tx: Tx) -> str:
        await tx.execute(INSERT_ITEM, (2, "two"))
        return "ok"

    async def work(tx: Tx) -> str:
        await tx.execute(INSERT_ITEM, (1, "one"))
        return await tx.in_tx(inner)

    assert await pg.in_tx(work) == "ok"
    assert await _labels(pg) == ["one", "two"]


async def test_swallowed_error_does_not_commit(pg: PgStoreBase) -> None:
    async def work(tx: Tx) -> None:
        await tx.execute(INSERT_ITEM, (1, "one"))
        with contextlib.suppress(UniqueViolation):  # swallowed, but the transaction is aborted
            await tx.execute(INSERT_ITEM, (1, "again"))

    with pytest.raises(UniqueViolation):
        await pg.in_tx(work)
    assert await _labels(pg) == []


async def test_constraint_errors_carry_the_constraint(pg: PgStoreBase) -> None:
    await pg.execute(ENSURE_COUNTER, ("c",))
    with pytest.raises(CheckViolation) as caught:
        await pg.execute(SET_COUNTER, ("c", -1))
    assert caught.value.constraint == "counters_value_check"
    assert caught.value.table == "counters"
    with pytest.raises(NotFound, match="get_item: no row found"):
        await pg.fetch_one(GET_ITEM, (404,))


async def _increment(store: PgStoreBase, *, retries: int) -> None:
    async def work(tx: Tx) -> None:
        value = await tx.fetch_one(GET_COUNTER, ("hits",))
        await tx.execute(SET_COUNTER, ("hits", value + 1))

    await store.in_tx(work, isolation="serializable", tx_id="increment", retries=retries)


async def test_concurrent_serializable_increments_end_exact(pg: PgStoreBase) -> None:
    await pg.execute(ENSURE_COUNTER, ("hits",))
    with structlog.testing.capture_logs() as logs:
        await asyncio.gather(*(_increment(pg, retries=100) for _ in range(20)))
    assert await pg.fetch_one(GET_COUNTER, ("hits",)) == 20
    retried = [e for e in logs if e["event"] == "transaction retry"]
    assert retried, "20 writers on one row at SERIALIZABLE must conflict"
    assert all(e["sqlstate"] == "40001" and e["tx_id"] == "increment" for e in retried)


async def test_retries_exhausted_raise_with_attempt_count(
    pg: PgStoreBase, empty_db_dsn: str
) -> None:
    await pg.execute(ENSURE_COUNTER, ("hits",))
    runs = 0

    async def victim(tx: Tx) -> None:
        nonlocal runs
        runs += 1
        value = await tx.fetch_one(GET_COUNTER, ("hits",))
        # Another transaction commits a change to the row this one read.
        conn = await asyncpg.connect(empty_db_dsn)
        try:
            await conn.execute("UPDATE counters SET value = value + 100 WHERE name = 'hits'")
        finally:
            await conn.close()
        await tx.execute(SET_COUNTER, ("hits", value + 1))

    with pytest.raises(SerializationFailure) as caught:
        await pg.in_tx(victim, isolation="serializable", tx_id="victim", retries=2)
    assert caught.value.attempts == 3
    assert runs == 3
    assert await pg.fetch_one(GET_COUNTER, ("hits",)) == 300


async def test_fifty_transactions_on_a_pool_of_five_all_finish(pg: PgStoreBase) -> None:
    async def work(tx: Tx, item_id: int) -> None:
        await tx.execute(INSERT_ITEM, (item_id, f"item {item_id}"))
        await tx.execute(SLEEP, (0.005,))

    def closure(i: int) -> Callable[[Tx], Awaitable[None]]:
        return lambda tx: work(tx, i)

    await asyncio.wait_for(asyncio.gather(*(pg.in_tx(closure(i)) for i in range(50))), 30)
    assert len(await _labels(pg)) == 50


async def test_cancellation_mid_transaction_leaves_nothing(pg: PgStoreBase) -> None:
    started = asyncio.Event()

    async def work(tx: Tx) -> None:
        await tx.execute(INSERT_ITEM, (1, "one"))
        started.set()
        await tx.execute(SLEEP, (10,))

    task = asyncio.create_task(pg.in_tx(work, tx_id="cancelled"))
    await started.wait()
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await _labels(pg) == []
    # Every connection in the pool is back, idle and outside a transaction.
    for _ in range(5):
        async with pg.pool.acquire() as conn:
            assert not conn.is_in_transaction()
            assert await conn.fetchval("SELECT 1") == 1
    assert pg.pool.get_size() <= 5
    assert pg.pool.get_idle_size() == pg.pool.get_size()


async def test_events_name_queries_and_transactions_without_parameters(
    empty_db_dsn: str,
) -> None:
    conn = await asyncpg.connect(empty_db_dsn)
    await conn.execute(SCHEMA)
    await conn.close()
    store = PgStoreBase(await open_pool(empty_db_dsn, min_size=1, max_size=2), slow_query_ms=0)
    try:

        async def work(tx: Tx) -> None:
            await tx.execute(INSERT_ITEM, (1, "top-secret-label"))

        with structlog.testing.capture_logs() as logs:
            await store.in_tx(work, tx_id="events")
            await store.fetch_many(LIST_ITEMS, ())
    finally:
        await store.close()
    by_event = [(e["event"], e.get("query"), e.get("tx_id"), e["log_level"]) for e in logs]
    assert ("transaction begin", None, "events", "debug") in by_event
    assert ("query", "insert_item", "events", "debug") in by_event
    assert ("slow query", "insert_item", "events", "warning") in by_event  # threshold 0 ms
    assert ("transaction commit", None, "events", "debug") in by_event
    assert ("query", "list_items", None, "debug") in by_event
    assert all(e.get("duration_ms", 0) >= 0 for e in logs)
    assert "top-secret-label" not in repr(logs), "parameters are never logged"


# -- nested transactions: a failed one never commits, a succeeded one never vanishes --


async def test_a_nested_closure_failing_while_its_task_runs_a_statement_commits_nothing(
    pg: PgStoreBase,
) -> None:
    tasks: list[asyncio.Task[None]] = []

    async def inner(tx: Tx) -> None:
        await tx.execute(INSERT_ITEM, (2, "nested"))
        # A task of the closure writes and is still running when the closure raises.
        tasks.append(asyncio.create_task(tx.execute(INSERT_ITEM_LATE, (3, "late", 0.2))))
        await asyncio.sleep(0.05)
        raise ValueError("inner failed")

    async def work(tx: Tx) -> None:
        await tx.execute(INSERT_ITEM, (1, "outer"))
        with pytest.raises(ValueError, match="inner failed"):
            await tx.in_tx(inner)
        await tasks[0]  # the late write completes, inside the failed savepoint
        assert tx.state is TxState.ABORTED
        with pytest.raises(TransactionAborted, match="cannot run insert_item: transaction"):
            await tx.execute(INSERT_ITEM, (4, "after"))

    with pytest.raises(TransactionAborted, match="cannot run COMMIT: transaction 'doomed'"):
        await pg.in_tx(work, tx_id="doomed")
    assert await _labels(pg) == []


async def test_a_nested_closure_returning_while_its_task_runs_commits_nothing(
    pg: PgStoreBase,
) -> None:
    tasks: list[asyncio.Task[None]] = []

    async def inner(tx: Tx) -> None:
        await tx.execute(INSERT_ITEM, (2, "nested"))
        tasks.append(asyncio.create_task(tx.execute(INSERT_ITEM_LATE, (3, "late", 0.2))))
        await asyncio.sleep(0.05)

    async def work(tx: Tx) -> None:
        await tx.execute(INSERT_ITEM, (1, "outer"))
        with pytest.raises(TransactionAborted, match="cannot run in_tx"):
            await tx.in_tx(inner)  # its success cannot be reported: the task still writes
        await tasks[0]

    with pytest.raises(TransactionAborted, match="cannot run COMMIT"):
        await pg.in_tx(work, tx_id="doomed")
    assert await _labels(pg) == []


async def test_handles_at_every_depth_are_closed_when_the_transaction_ends(
    pg: PgStoreBase,
) -> None:
    leaked: list[Tx] = []
    nested: list[asyncio.Task[None]] = []
    entered = asyncio.Event()
    release = asyncio.Event()

    async def deepest(tx: Tx) -> None:
        leaked.append(tx)
        entered.set()
        await release.wait()

    async def inner(tx: Tx) -> None:
        leaked.append(tx)
        await tx.in_tx(deepest)

    async def work(tx: Tx) -> None:
        await tx.execute(INSERT_ITEM, (1, "outer"))
        # A nested transaction in a task that outlives the closure.
        nested.append(asyncio.create_task(tx.in_tx(inner)))
        await entered.wait()

    with pytest.raises(ConcurrentTransactionUse, match="cannot run COMMIT"):
        await pg.in_tx(work, tx_id="leaky")
    for handle in leaked:  # depth 1 and depth 2
        with pytest.raises(
            TransactionClosed, match="cannot run insert_item: transaction 'leaky' is closed"
        ):
            await handle.execute(INSERT_ITEM, (9, "after the end"))
        with pytest.raises(TransactionClosed):
            await handle.in_tx(deepest)
    release.set()
    with pytest.raises(TransactionClosed, match="cannot run in_tx"):
        await nested[0]  # the nested transaction reports no success
    assert await _labels(pg) == []


async def test_handles_of_an_ended_nested_closure_are_closed_at_every_depth(
    pg: PgStoreBase,
) -> None:
    leaked: list[Tx] = []

    async def deepest(tx: Tx) -> None:
        leaked.append(tx)

    async def inner(tx: Tx) -> Tx:
        await tx.in_tx(deepest)
        return tx

    async def work(tx: Tx) -> None:
        leaked.append(await tx.in_tx(inner))
        assert tx.state is TxState.ACTIVE
        for handle in leaked:
            assert handle.state is TxState.CLOSED
            with pytest.raises(TransactionClosed):
                await handle.execute(INSERT_ITEM, (9, "leaked"))
        await tx.execute(INSERT_ITEM, (1, "outer"))

    await pg.in_tx(work)
    assert await _labels(pg) == ["outer"]


async def test_a_sibling_nested_closure_never_vanishes_with_a_failed_one(pg: PgStoreBase) -> None:
    a_inside = asyncio.Event()
    b_done = asyncio.Event()

    async def a(tx: Tx) -> None:
        await tx.execute(INSERT_ITEM, (1, "a"))
        a_inside.set()
        await b_done.wait()
        raise ValueError("a failed")

    async def b(tx: Tx) -> None:
        await tx.execute(INSERT_ITEM, (2, "b"))

    async def work(tx: Tx) -> str:
        task_a = asyncio.create_task(tx.in_tx(a))
        await a_inside.wait()
        try:
            await tx.in_tx(b)  # interleaved with A, from another task
            outcome = "b succeeded"
        except ConcurrentTransactionUse:
            outcome = "b refused"
        finally:
            b_done.set()
        with pytest.raises(ValueError, match="a failed"):
            await task_a
        return outcome

    outcome = await pg.in_tx(work)
    labels = await _labels(pg)
    if outcome == "b succeeded":
        assert labels == ["b"], "B was told it succeeded; rolling back A must not discard it"
    assert outcome == "b refused"  # A occupies the handle until it returns
    assert labels == []


async def test_the_parent_handle_is_refused_while_a_nested_closure_runs(pg: PgStoreBase) -> None:
    inside = asyncio.Event()
    done = asyncio.Event()

    async def a(tx: Tx) -> None:
        inside.set()
        await done.wait()
        raise ValueError("a failed")

    async def work(tx: Tx) -> str:
        task_a = asyncio.create_task(tx.in_tx(a))
        await inside.wait()
        try:
            await tx.execute(INSERT_ITEM, (1, "parent"))  # would run inside A's savepoint
            outcome = "parent write succeeded"
        except ConcurrentTransactionUse:
            outcome = "refused"
        finally:
            done.set()
        with pytest.raises(ValueError, match="a failed"):
            await task_a
        return outcome

    outcome = await pg.in_tx(work)
    labels = await _labels(pg)
    if outcome == "parent write succeeded":
        assert labels == ["parent"], "a write reported as done vanished with A's savepoint"
    assert outcome == "refused"


async def test_commit_racing_a_running_statement_is_a_store_error_and_commits_nothing(
    pg: PgStoreBase,
) -> None:
    tasks: list[asyncio.Task[None]] = []

    leaked: list[Tx] = []

    async def work(tx: Tx) -> None:
        leaked.append(tx)
        await tx.execute(INSERT_ITEM, (1, "one"))
        tasks.append(asyncio.create_task(tx.execute(INSERT_ITEM_LATE, (2, "late", 0.2))))
        await asyncio.sleep(0.05)  # returns while the task's statement runs

    with pytest.raises(ConcurrentTransactionUse, match="cannot run COMMIT: transaction 'racy'"):
        await pg.in_tx(work, tx_id="racy")
    await tasks[0]
    assert await _labels(pg) == []
    assert pg.pool.get_idle_size() == pg.pool.get_size()
    assert leaked[0].state is TxState.CLOSED


async def test_a_cancelled_nested_closure_rolls_back_to_its_savepoint(pg: PgStoreBase) -> None:
    async def inner(tx: Tx) -> None:
        await tx.execute(INSERT_ITEM, (2, "nested"))
        await tx.execute(SLEEP, (10,))

    async def work(tx: Tx) -> None:
        await tx.execute(INSERT_ITEM, (1, "outer"))
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await tx.in_tx(inner)
        await tx.execute(INSERT_ITEM, (3, "after"))

    async with asyncio.timeout(20):
        await pg.in_tx(work)
    assert await _labels(pg) == ["outer", "after"]
    assert pg.pool.get_idle_size() == pg.pool.get_size()


# -- naive datetimes ------------------------------------------------------------------

_NAIVE = datetime.datetime(2024, 3, 1, 12, 0)
_AWARE = _NAIVE.replace(tzinfo=datetime.UTC)


def _echo(pg_type: str) -> Query[Any]:
    return Query(
        name=f"echo_{pg_type.replace('[]', '_array')}",
        kind=Kind.ONE,
        sql=f"SELECT $1::{pg_type} AS v",
        params=(Param("v", pg_type),),
        decode=lambda r: r["v"],
        source="tests/store/test_tx.py",
    )


@pytest.mark.parametrize(
    ("pg_type", "naive", "aware"),
    [
        ("timestamptz", _NAIVE, _AWARE),
        ("timestamptz[]", [_AWARE, _NAIVE], [_AWARE, _AWARE]),
        ("timestamptz[]", [[_AWARE], [_NAIVE]], [[_AWARE], [_AWARE]]),
        ("tstzrange", asyncpg.Range(_AWARE, _NAIVE), asyncpg.Range(_AWARE, None)),
        ("tstzmultirange", [asyncpg.Range(None, _NAIVE)], [asyncpg.Range(None, _AWARE)]),
    ],
    ids=["scalar", "array", "nested-array", "range", "multirange"],
)
async def test_a_naive_datetime_is_refused_inside_arrays_and_ranges_too(
    empty_db_dsn: str, pg_type: str, naive: object, aware: object
) -> None:
    # asyncpg would read the naive one as UTC: a local wall-clock time stored hours off.
    pg = await store.connect(empty_db_dsn, min_size=1, max_size=1)
    try:
        with pytest.raises(errors.DatabaseError, match="naive datetime"):
            await pg.fetch_one(_echo(pg_type), (naive,))
        assert await pg.fetch_one(_echo(pg_type), (aware,)) is not None
    finally:
        await pg.close()
