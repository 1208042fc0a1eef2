"""TracingStore: spans, attributes and events, read back from the SDK's in-memory exporter."""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
import pytest_asyncio
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import store
from store.errors import NotFound, OuterStoreUsedInTransaction, UniqueViolation
from store.tracing import DENIED, POISONED, RETRY, TracingStore, watch_pool
from tests.store._queries import (
    ENSURE_COUNTER,
    GET_COUNTER,
    GET_ITEM,
    INSERT_ITEM,
    INSERT_ITEMS,
    ITEMS_FROM,
    SCHEMA,
    SET_COUNTER,
)

#: A value no span may carry: it is only ever a query parameter.
MARKER = "do-not-trace-me"
#: The item insert as the generator describes it: the table it writes.
INSERT = dataclasses.replace(INSERT_ITEM, tables=("items",), mutates="items")


@pytest.fixture
def exporter() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    provider = TracerProvider()
    spans = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    yield provider, spans
    provider.shutdown()


@pytest_asyncio.fixture
async def pg(empty_db_dsn: str) -> AsyncIterator[store.PgStore]:
    conn = await asyncpg.connect(empty_db_dsn)
    try:
        await conn.execute(SCHEMA)
        # a constraint whose error message quotes the parameter value
        await conn.execute("CREATE UNIQUE INDEX items_label_key ON items (label)")
    finally:
        await conn.close()
    # values_in_errors: the driver's messages quote values, and spans must still not
    pg = await store.connect(empty_db_dsn, min_size=1, max_size=2, values_in_errors=True)
    yield pg
    await pg.close()


def _texts(spans: tuple[ReadableSpan, ...]) -> str:
    """Everything a span exports besides timings: names, attributes, events, status."""
    parts: list[str] = []
    for span in spans:
        parts += [span.name, repr(dict(span.attributes or {})), repr(span.status.description)]
        parts += [f"{e.name} {dict(e.attributes or {})!r}" for e in span.events]
    return "\n".join(parts)


async def test_each_query_is_a_client_span_named_by_its_query(
    pg: store.PgStore, exporter: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    provider, spans = exporter
    traced = TracingStore(pg, tracer_provider=provider)
    await traced.execute(INSERT, (1, MARKER))
    assert (await traced.fetch_one(GET_ITEM, (1,)))["label"] == MARKER

    insert, get = spans.get_finished_spans()
    assert (insert.name, get.name) == ("insert_item", "get_item")
    assert insert.kind is SpanKind.CLIENT
    assert dict(insert.attributes or {}) == {
        "db.system": "postgresql",
        "db.system.name": "postgresql",
        "db.operation.name": "INSERT",
        "db.collection.name": "items",
        "txstore.query.name": "insert_item",
        "txstore.query.kind": "exec",
    }
    assert (get.attributes or {})["db.operation.name"] == "SELECT"
    assert get.status.status_code is StatusCode.UNSET
    assert MARKER not in _texts(spans.get_finished_spans())


async def test_a_failed_query_is_classified_without_its_message(
    pg: store.PgStore, exporter: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    provider, spans = exporter
    traced = TracingStore(pg, tracer_provider=provider)
    await traced.execute(INSERT, (1, MARKER))
    with pytest.raises(UniqueViolation, match=MARKER):  # the message quotes the value
        await traced.execute(INSERT, (2, MARKER))
    with pytest.raises(NotFound):
        await traced.fetch_one(GET_ITEM, (3,))

    _, duplicate, missing = spans.get_finished_spans()
    assert duplicate.status.status_code is StatusCode.ERROR
    assert (duplicate.attributes or {})["error.type"] == "UniqueViolation"
    assert (duplicate.attributes or {})["db.response.status_code"] == "23505"
    assert (missing.attributes or {})["error.type"] == "NotFound"
    assert MARKER not in _texts(spans.get_finished_spans())


async def test_a_transaction_span_parents_its_queries_and_savepoints(
    pg: store.PgStore, exporter: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    provider, spans = exporter
    traced = TracingStore(pg, tracer_provider=provider)

    async def signup(tx: store.Store) -> object:
        await tx.execute(INSERT, (1, MARKER))
        return await tx.in_tx(lambda sp: sp.fetch_one(GET_ITEM, (1,)), tx_id="check")

    await traced.in_tx(signup, tx_id="signup", isolation="repeatable read")
    insert, get, savepoint, tx = spans.get_finished_spans()
    assert (tx.name, savepoint.name) == ("signup", "check")
    assert tx.parent is None
    parents = {s.name: s.parent.span_id if s.parent else None for s in (savepoint, insert, get)}
    assert parents == {
        "check": tx.context.span_id,
        "insert_item": tx.context.span_id,
        "get_item": savepoint.context.span_id,
    }
    attrs = dict(tx.attributes or {})
    assert attrs["txstore.tx_id"] == "signup"
    assert attrs["txstore.transaction.isolation"] == "repeatable read"
    assert attrs["txstore.transaction.retries"] == 0
    assert attrs["txstore.transaction.nested"] is False
    assert (insert.attributes or {})["txstore.tx_id"] == "signup"
    assert (get.attributes or {})["txstore.tx_id"] == "check"


async def test_retries_are_events_and_counted(
    pg: store.PgStore, exporter: tuple[TracerProvider, InMemorySpanExporter], empty_db_dsn: str
) -> None:
    provider, spans = exporter
    traced = TracingStore(pg, tracer_provider=provider)
    await pg.execute(ENSURE_COUNTER, ("hits",))
    runs = 0

    async def conflicted(tx: store.Store) -> None:
        nonlocal runs
        runs += 1
        seen = await tx.fetch_one(GET_COUNTER, ("hits",))
        if runs == 1:  # a concurrent commit to the row this transaction read
            other = await asyncpg.connect(empty_db_dsn)
            try:
                await other.execute("UPDATE counters SET value = 7 WHERE name = 'hits'")
            finally:
                await other.close()
        await tx.execute(SET_COUNTER, ("hits", seen + 1))

    await traced.in_tx(conflicted, isolation="serializable", tx_id="touch")
    tx = spans.get_finished_spans()[-1]
    assert tx.name == "touch"
    assert (tx.attributes or {})["txstore.transaction.retries"] == 1
    assert [(e.name, dict(e.attributes or {})) for e in tx.events] == [
        (RETRY, {"txstore.transaction.attempt": 2})
    ]
    failed = [s for s in spans.get_finished_spans() if s.status.status_code is StatusCode.ERROR]
    assert [s.name for s in failed] == ["set_counter"]
    assert (failed[0].attributes or {})["db.response.status_code"] == "40001"


async def test_outer_store_use_is_an_event_on_the_offending_call(
    pg: store.PgStore, exporter: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    provider, spans = exporter
    traced = TracingStore(pg, tracer_provider=provider)

    async def misuse(tx: store.Store) -> None:
        await traced.fetch_one(GET_ITEM, (1,))  # txstore-lint: ignore[outer-store-in-tx]

    with pytest.raises(OuterStoreUsedInTransaction):
        await traced.in_tx(misuse, tx_id="bad_closure")
    offending, tx = spans.get_finished_spans()
    assert offending.name == "get_item"
    assert [(e.name, dict(e.attributes or {})) for e in offending.events] == [
        (POISONED, {"txstore.method": "get_item", "txstore.tx_id": "bad_closure"})
    ]
    assert (offending.attributes or {})["error.type"] == "OuterStoreUsedInTransaction"
    assert tx.status.status_code is StatusCode.ERROR


async def test_declared_denials_are_events(
    pg: store.PgStore, exporter: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    provider, spans = exporter
    traced = TracingStore(pg, tracer_provider=provider, denials=(NotFound,))
    with pytest.raises(NotFound):
        await traced.fetch_one(GET_ITEM, (1,))
    (span,) = spans.get_finished_spans()
    assert [(e.name, dict(e.attributes or {})) for e in span.events] == [
        (DENIED, {"error.type": "NotFound"})
    ]


async def test_pool_wait_time_is_a_histogram(pg: store.PgStore) -> None:
    reader = InMemoryMetricReader()
    meters = MeterProvider(metric_readers=[reader])
    watch_pool(pg.pool, "main", meter_provider=meters)
    first, second = await pg.pool.take(), await pg.pool.take()  # max_size=2: both taken

    async def release_later() -> None:
        await asyncio.sleep(0.05)
        pg.pool.put(first)

    releaser = asyncio.create_task(release_later())
    third = await pg.pool.take(5.0)  # waits for the release
    await releaser
    pg.pool.put(second)
    pg.pool.put(third)

    data = reader.get_metrics_data()
    assert data is not None
    (metric,) = [
        m
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
        if m.name == "db.client.connection.wait_time"
    ]
    (point,) = metric.data.data_points
    assert isinstance(point, HistogramDataPoint)
    assert dict(point.attributes or {}) == {"db.client.connection.pool.name": "main"}
    assert point.count == 3
    assert point.max >= 0.04
    meters.shutdown()


def test_the_store_never_imports_opentelemetry_unless_asked() -> None:
    # Zero cost without the extra: no package of the stack loads the API on its own.
    code = (
        "import sys, store, store.metrics, authz, audit, migrations\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


async def test_a_batch_is_one_span_with_its_size(
    pg: store.PgStore, exporter: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    provider, spans = exporter
    traced = TracingStore(pg, tracer_provider=provider)
    assert await traced.execute_batch(INSERT_ITEMS, [(1, MARKER), (2, "b"), (3, "c")]) == 3
    with pytest.raises(UniqueViolation):
        await traced.execute_batch(INSERT_ITEMS, [(4, "d"), (5, MARKER)])
    assert await traced.fetch_batch(ITEMS_FROM, [(3, 0)]) == [[{"id": 3, "label": "c"}]]

    ok, failed, read = spans.get_finished_spans()
    assert ok.name == failed.name == "insert_items"
    assert dict(ok.attributes or {}) == {
        "db.system": "postgresql",
        "db.system.name": "postgresql",
        "db.operation.name": "INSERT",
        "db.collection.name": "items",
        "db.operation.batch.size": 3,
        "txstore.query.name": "insert_items",
        "txstore.query.kind": "batchexec",
    }
    assert (failed.attributes or {})["error.type"] == "UniqueViolation"
    assert (read.attributes or {})["txstore.query.kind"] == "batchmany"
    assert MARKER not in _texts(spans.get_finished_spans())
