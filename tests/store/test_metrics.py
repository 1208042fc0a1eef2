"""MetricsStore: the values after a known sequence of calls."""

from __future__ import annotations

import asyncio
import datetime
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio
from prometheus_client import CollectorRegistry
from workspaces.db import LoginType, Queries, User, UserStatus

import store
from store import Kind, Param, Query
from store.errors import NotFound, OuterStoreUsedInTransaction, WrongPrimitive
from store.metrics import MetricsStore, StoreMetrics, metrics_response

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


@pytest_asyncio.fixture
async def measured(db_dsn: str) -> AsyncIterator[tuple[Queries, StoreMetrics]]:
    metrics = StoreMetrics(CollectorRegistry())
    inner = await store.connect(db_dsn, min_size=2, max_size=3)
    yield Queries(MetricsStore(inner, metrics)), metrics
    metrics.close()
    await inner.close()


def _value(metrics: StoreMetrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


async def _user(s: Queries) -> User:
    return await s.insert_user(
        id=uuid.uuid4(),
        email=f"{uuid.uuid4().hex[:8]}@example.com",
        username=uuid.uuid4().hex[:8],
        name="Metric",
        hashed_password=b"x",
        status=UserStatus.ACTIVE,
        rbac_roles=[],
        avatar_url=None,
        login_type=LoginType.PASSWORD,
        created_at=NOW,
    )


async def test_query_histogram_counts_calls_by_outcome(
    measured: tuple[Queries, StoreMetrics],
) -> None:
    s, m = measured
    user = await _user(s)
    await s.get_user_by_id(id=user.id)
    await s.get_user_by_id(id=user.id)
    with pytest.raises(NotFound):
        await s.get_user_by_id(id=uuid.uuid4())
    count = "txstore_query_duration_seconds_count"
    assert _value(m, count, query="get_user_by_id", outcome="ok") == 2
    assert _value(m, count, query="get_user_by_id", outcome="error") == 1
    assert _value(m, count, query="insert_user", outcome="ok") == 1
    assert _value(m, "txstore_query_duration_seconds_sum", query="get_user_by_id", outcome="ok") > 0


async def test_transactions_by_tx_id_and_outcome(
    measured: tuple[Queries, StoreMetrics],
) -> None:
    s, m = measured

    async def ok(tx: Queries) -> User:
        user = await _user(tx)
        return await tx.in_tx(lambda sp: sp.get_user_by_id(id=user.id))

    async def fail(tx: Queries) -> None:
        await _user(tx)
        raise RuntimeError("no")

    await s.in_tx(ok, tx_id="signup")
    await s.in_tx(ok, tx_id="signup")
    with pytest.raises(RuntimeError):
        await s.in_tx(fail, tx_id="broken")
    total = "txstore_transactions_total"
    assert _value(m, total, tx_id="signup", outcome="commit") == 2
    assert _value(m, total, tx_id="broken", outcome="rollback") == 1
    assert _value(m, total, tx_id="signup", outcome="rollback") == 0
    # Statements inside transactions and savepoints are timed as queries too.
    assert _value(m, "txstore_query_duration_seconds_count", query="insert_user", outcome="ok") == 3
    assert (
        _value(m, "txstore_query_duration_seconds_count", query="get_user_by_id", outcome="ok") == 2
    )
    hist = "txstore_transaction_duration_seconds_count"
    assert _value(m, hist, tx_id="signup", outcome="commit") == 2


async def test_retries_are_counted(measured: tuple[Queries, StoreMetrics], db_dsn: str) -> None:
    s, m = measured
    user = await _user(s)
    runs = 0

    async def conflicted(tx: Queries) -> None:
        nonlocal runs
        runs += 1
        seen = await tx.get_user_by_id(id=user.id)
        if runs == 1:  # a concurrent commit to the row this transaction read
            other = await asyncpg.connect(db_dsn)
            try:
                await other.execute("UPDATE users SET name = 'changed' WHERE id = $1", user.id)
            finally:
                await other.close()
        await tx.update_user_last_seen_at(id=seen.id, last_seen_at=NOW)

    await s.in_tx(conflicted, isolation="serializable", tx_id="touch")
    assert runs == 2
    assert _value(m, "txstore_transaction_retries_total", tx_id="touch") == 1
    assert _value(m, "txstore_transactions_total", tx_id="touch", outcome="commit") == 1


async def test_poisoning_events_are_counted(measured: tuple[Queries, StoreMetrics]) -> None:
    s, m = measured

    async def misuse(tx: Queries) -> None:
        await s.get_user_by_id(id=uuid.uuid4())  # txstore-lint: ignore[outer-store-in-tx]

    for _ in range(2):
        with pytest.raises(OuterStoreUsedInTransaction):
            await s.in_tx(misuse, tx_id="bad_closure")
    name = "txstore_outer_store_used_in_transaction_total"
    assert _value(m, name, method="get_user_by_id", tx_id="bad_closure") == 2


async def test_pool_gauges_and_exposition(measured: tuple[Queries, StoreMetrics]) -> None:
    s, m = measured
    inside = asyncio.Event()
    leave = asyncio.Event()

    async def hold(tx: Queries) -> None:
        inside.set()
        await leave.wait()

    task = asyncio.create_task(s.in_tx(hold))
    await inside.wait()
    gauge = "txstore_pool_connections"
    assert _value(m, gauge, pool="default", state="in_use") == 1
    leave.set()
    await task
    assert _value(m, gauge, pool="default", state="in_use") == 0
    assert _value(m, gauge, pool="default", state="idle") >= 1
    body, content_type = metrics_response(m.registry)
    assert content_type.startswith("text/plain")
    assert b'txstore_transactions_total{outcome="commit",tx_id="tx"} 1.0' in body


async def test_pool_wait_seconds_are_observed(db_dsn: str) -> None:
    metrics = StoreMetrics(CollectorRegistry())
    pg = await store.connect(db_dsn, min_size=1, max_size=3)
    MetricsStore(pg, metrics)  # the top layer attaches the histogram to the pool below
    pool = pg.pool
    try:
        held = [await pool.take() for _ in range(3)]  # max_size=3: all taken

        async def release_later() -> None:
            await asyncio.sleep(0.05)
            pool.put(held.pop())

        releaser = asyncio.create_task(release_later())
        waited = await pool.take(5.0)
        await releaser
        for conn in [*held, waited]:
            pool.put(conn)
        assert _value(metrics, "txstore_pool_wait_seconds_count", pool="default") == 4
        assert _value(metrics, "txstore_pool_wait_seconds_sum", pool="default") >= 0.04
    finally:
        metrics.close()
        await pg.close()


async def test_a_batch_is_one_timed_call_by_outcome(
    measured: tuple[Queries, StoreMetrics],
) -> None:
    s, m = measured
    user = await _user(s)
    batch: Query[None] = Query(
        name="rename_users",
        kind=Kind.BATCHEXEC,
        sql="UPDATE users SET name = $1 WHERE id = $2",
        params=(Param("name", "text"), Param("id", "uuid")),
        decode=None,
        source="tests/store/test_metrics.py",
    )
    await s.store.execute_batch(batch, [("Ada", user.id), ("Grace", user.id)])
    with pytest.raises(WrongPrimitive):
        await s.store.fetch_batch(batch, [("Ada", user.id)])
    count = "txstore_query_duration_seconds_count"
    assert _value(m, count, query="rename_users", outcome="ok") == 1
    assert _value(m, count, query="rename_users", outcome="error") == 1
    assert (await s.get_user_by_id(id=user.id)).name == "Grace"
