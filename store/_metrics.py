"""MetricsStore: Prometheus timings for every query and transaction, as a ``Store`` layer.

``prometheus_client`` is an optional extra (``txstore[metrics]``); importing
this module without it raises ImportError naming the extra.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, TypeVar

try:
    from prometheus_client import (
        CONTENT_TYPE_LATEST,
        REGISTRY,
        CollectorRegistry,
        Counter,
        Histogram,
        generate_latest,
    )
    from prometheus_client.core import GaugeMetricFamily
    from prometheus_client.registry import Collector
except ImportError as missing:  # pragma: no cover - depends on the environment
    raise ImportError(
        "store metrics need prometheus_client: pip install 'txstore[metrics]'"
    ) from missing

from store._pool import Pool
from store._query import Query, RowT
from store._store import Store
from store._tx import Isolation, poison_listeners

__all__ = ["MetricsStore", "StoreMetrics", "metrics_response"]

T = TypeVar("T")

# Database calls on one machine take 0.1 ms to seconds.
_BUCKETS = (0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10)


class _PoolCollector(Collector):
    """Reads pool sizes at scrape time, so the gauges are never stale."""

    def __init__(self) -> None:
        self.pools: dict[str, Pool] = {}

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "txstore_pool_connections",
            "Connections of the store's pool, by state.",
            labels=["pool", "state"],
        )
        for name, pool in self.pools.items():
            size, idle = pool.get_size(), pool.get_idle_size()
            family.add_metric([name, "in_use"], size - idle)
            family.add_metric([name, "idle"], idle)
        yield family


class StoreMetrics:
    """The metric families one process exports, registered once per registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else REGISTRY
        reg = self.registry
        self.query_seconds = Histogram(
            "txstore_query_duration_seconds",
            "Time per query method call, by query and outcome.",
            ["query", "outcome"],
            buckets=_BUCKETS,
            registry=reg,
        )
        self.tx_seconds = Histogram(
            "txstore_transaction_duration_seconds",
            "Time per outermost transaction, retries included, by tx_id and outcome.",
            ["tx_id", "outcome"],
            buckets=_BUCKETS,
            registry=reg,
        )
        self.tx_total = Counter(
            "txstore_transactions",
            "Outermost transactions, by tx_id and outcome (commit or rollback).",
            ["tx_id", "outcome"],
            registry=reg,
        )
        self.tx_retries = Counter(
            "txstore_transaction_retries",
            "Re-runs of a transaction closure after a serialization failure or deadlock.",
            ["tx_id"],
            registry=reg,
        )
        self.poisoned = Counter(
            "txstore_outer_store_used_in_transaction",
            "Uses of the outer store inside an in_tx closure (raised or logged).",
            ["method", "tx_id"],
            registry=reg,
        )
        self.pool_wait_seconds = Histogram(
            "txstore_pool_wait_seconds",
            "Time a caller waited for a pool connection (0 when one was idle), by pool.",
            ["pool"],
            buckets=(0.0, *_BUCKETS),
            registry=reg,
        )
        self._pools = _PoolCollector()
        reg.register(self._pools)
        self._query_children: dict[tuple[str, str], Any] = {}
        poison_listeners.append(self._on_poison)

    def _on_poison(self, method: str, tx_id: str) -> None:
        self.poisoned.labels(method, tx_id).inc()

    def watch_pool(self, pool: Pool, name: str = "default") -> None:
        """Export the in-use and idle connection counts of ``pool`` and its wait times."""
        if self._pools.pools.get(name) is pool:
            return
        self._pools.pools[name] = pool
        pool.wait_observers.append(self.pool_wait_seconds.labels(name).observe)

    def observe_query(self, name: str, outcome: str, seconds: float) -> None:
        key = (name, outcome)
        child = self._query_children.get(key)
        if child is None:  # label lookups cost more than the observation; cache them
            child = self._query_children[key] = self.query_seconds.labels(name, outcome)
        child.observe(seconds)

    def close(self) -> None:
        """Stop listening for poisoning events and unregister the pool collector."""
        if self._on_poison in poison_listeners:
            poison_listeners.remove(self._on_poison)
        self.registry.unregister(self._pools)


def metrics_response(registry: CollectorRegistry | None = None) -> tuple[bytes, str]:
    """The body and content type of a ``/metrics`` response, for any web framework."""
    return generate_latest(registry if registry is not None else REGISTRY), CONTENT_TYPE_LATEST


class MetricsStore:
    """A full ``Store`` that times every call of the store below it."""

    __slots__ = ("_inner", "_m", "_top")

    def __init__(self, inner: Store, metrics: StoreMetrics, *, _top: bool = True) -> None:
        self._inner = inner
        self._m = metrics
        self._top = _top
        pool = getattr(inner, "pool", None)
        if _top and isinstance(pool, Pool):
            metrics.watch_pool(pool)

    async def _timed(self, query: Query[Any], call: Awaitable[T]) -> T:
        started = time.perf_counter()
        outcome = "error"
        try:
            result = await call
            outcome = "ok"
            return result
        finally:
            self._m.observe_query(query.name, outcome, time.perf_counter() - started)

    async def fetch_one(self, query: Query[RowT], args: tuple[object, ...]) -> RowT:
        return await self._timed(query, self._inner.fetch_one(query, args))

    async def fetch_many(self, query: Query[RowT], args: tuple[object, ...]) -> list[RowT]:
        return await self._timed(query, self._inner.fetch_many(query, args))

    async def execute(self, query: Query[None], args: tuple[object, ...]) -> None:
        return await self._timed(query, self._inner.execute(query, args))

    async def execute_rows(self, query: Query[None], args: tuple[object, ...]) -> int:
        return await self._timed(query, self._inner.execute_rows(query, args))

    async def execute_batch(self, query: Query[None], args: Sequence[tuple[object, ...]]) -> int:
        return await self._timed(query, self._inner.execute_batch(query, args))

    async def fetch_batch(
        self, query: Query[RowT], args: Sequence[tuple[object, ...]]
    ) -> list[list[RowT]]:
        return await self._timed(query, self._inner.fetch_batch(query, args))

    async def in_tx(
        self,
        fn: Callable[[Store], Awaitable[T]],
        *,
        isolation: Isolation | str | None = None,
        read_only: bool = False,
        tx_id: str = "tx",
        retries: int = 3,
    ) -> T:
        """Run ``fn`` in a transaction of the store below, timing the outermost one.

        Raises whatever the store below raises.
        """
        runs = 0

        async def measured(tx: Store) -> T:
            nonlocal runs
            runs += 1
            return await fn(MetricsStore(tx, self._m, _top=False))

        run = self._inner.in_tx(
            measured, isolation=isolation, read_only=read_only, tx_id=tx_id, retries=retries
        )
        if not self._top:
            return await run  # a savepoint: its statements are timed, the transaction is not
        started = time.perf_counter()
        outcome = "rollback"
        try:
            result = await run
            outcome = "commit"
            return result
        finally:
            self._m.tx_seconds.labels(tx_id, outcome).observe(time.perf_counter() - started)
            self._m.tx_total.labels(tx_id, outcome).inc()
            if runs > 1:
                self._m.tx_retries.labels(tx_id).inc(runs - 1)

    async def ping(self) -> None:
        """Ping the store below."""
        await self._inner.ping()

    async def close(self) -> None:
        """Close the store below."""
        await self._inner.close()


_: type[Store] = MetricsStore
