"""ReplicaRoutingStore: reads on a streaming replica, everything else on the primary.

A ``Store`` layer over two ``PgStore`` s acting as one database. Read-only
transactions and declared read queries (``:one``/``:many`` queries that write
no table) go to the replica; writes, ``:exec``/``:execrows`` queries, every
batch and ``:copyfrom`` query, and every other transaction go to the primary. A
replica lags its primary: a read routed to it may not see a write the same caller
just committed (list such queries in ``primary_only``, or read inside a read-write
``in_tx``, which runs on the primary).
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from store._pg import DEFAULT_ACQUIRE_TIMEOUT, open_pool
from store._query import Kind, Query, RowT
from store._store import PgStore, Store, connect
from store._tx import Isolation, PoisonMode

__all__ = ["ReplicaRoutingStore", "connect_with_replica"]

T = TypeVar("T")
_READS = (Kind.ONE, Kind.MANY)


class ReplicaRoutingStore:
    """A full ``Store`` that sends reads to ``replica`` and everything else to ``primary``.

    ``primary_only`` names read queries that must see the primary's latest
    commit (read-your-writes). The replica must share the primary's poisoning:
    construct it with ``poison_key=primary.poison_key`` (``connect_with_replica``
    does), so an ``in_tx`` closure on either refuses outer use of both.
    """

    __slots__ = ("_primary_only", "primary", "replica")

    def __init__(
        self, primary: PgStore, replica: PgStore, *, primary_only: Iterable[str] = ()
    ) -> None:
        """Route between ``primary`` and ``replica``.

        Raises:
            ValueError: ``replica`` does not share ``primary``'s poison key.
        """
        if replica.poison_key is not primary.poison_key:
            raise ValueError(
                "the replica store must share the primary's poisoning: construct it "
                "with PgStore(pool, poison_key=primary.poison_key)"
            )
        self.primary = primary
        self.replica = replica
        self._primary_only = frozenset(primary_only)

    def routes_to_replica(self, query: Query[Any]) -> bool:
        """True when ``query`` is a declared read that may run on the replica."""
        return (
            query.kind in _READS and query.mutates is None and query.name not in self._primary_only
        )

    async def fetch_one(self, query: Query[RowT], args: tuple[object, ...]) -> RowT:
        target = self.replica if self.routes_to_replica(query) else self.primary
        return await target.fetch_one(query, args)

    async def fetch_many(self, query: Query[RowT], args: tuple[object, ...]) -> list[RowT]:
        target = self.replica if self.routes_to_replica(query) else self.primary
        return await target.fetch_many(query, args)

    async def execute(self, query: Query[None], args: tuple[object, ...]) -> None:
        await self.primary.execute(query, args)

    async def execute_rows(self, query: Query[None], args: tuple[object, ...]) -> int:
        return await self.primary.execute_rows(query, args)

    async def execute_batch(self, query: Query[None], args: Sequence[tuple[object, ...]]) -> int:
        return await self.primary.execute_batch(query, args)

    async def fetch_batch(
        self, query: Query[RowT], args: Sequence[tuple[object, ...]]
    ) -> list[list[RowT]]:
        # Batches go to the primary even when they only read: a batch is the
        # write path's tool, and its rows must see the caller's own writes.
        return await self.primary.fetch_batch(query, args)

    async def in_tx(
        self,
        fn: Callable[[Store], Awaitable[T]],
        *,
        isolation: Isolation | str | None = None,
        read_only: bool = False,
        tx_id: str = "tx",
        retries: int = 3,
    ) -> T:
        """Run ``fn`` in a transaction: read-only ones on the replica, the rest on the primary.

        A serializable read-only transaction runs on the primary: a hot standby
        does not offer serializable isolation. Inside the closure every
        statement runs on that transaction's connection.

        Raises whatever ``PgStore.in_tx`` raises.
        """
        on_replica = read_only and (
            isolation is None or Isolation(isolation) is not Isolation.SERIALIZABLE
        )
        target = self.replica if on_replica else self.primary
        return await target.in_tx(
            fn, isolation=isolation, read_only=read_only, tx_id=tx_id, retries=retries
        )

    async def ping(self) -> None:
        """Ping the primary, then the replica.

        Raises:
            DatabaseUnavailable: either server does not answer.
        """
        await self.primary.ping()
        await self.replica.ping()

    async def close(self) -> None:
        """Close both pools."""
        try:
            await self.replica.close()
        finally:
            await self.primary.close()


_: type[Store] = ReplicaRoutingStore


async def connect_with_replica(
    primary_dsn: str,
    replica_dsn: str,
    *,
    primary_only: Iterable[str] = (),
    min_size: int = 2,
    max_size: int = 10,
    replica_max_size: int | None = None,
    statement_cache_size: int = 1024,
    statement_timeout: float | None = None,
    lock_timeout: float | None = None,
    acquire_timeout: float | None = DEFAULT_ACQUIRE_TIMEOUT,
    poison_mode: PoisonMode = "raise",
    slow_query_ms: float = 500.0,
    constraints: Mapping[str, enum.Enum] | None = None,
    values_in_errors: bool = False,
) -> ReplicaRoutingStore:
    """Open pools on a primary and its replica and return a routing store over both.

    The options are those of :func:`store.connect`; ``replica_max_size``
    defaults to ``max_size``.

    Raises:
        DatabaseUnavailable: either server is unreachable or refused the login.
    """
    primary = await connect(
        primary_dsn,
        min_size=min_size,
        max_size=max_size,
        statement_cache_size=statement_cache_size,
        statement_timeout=statement_timeout,
        lock_timeout=lock_timeout,
        acquire_timeout=acquire_timeout,
        poison_mode=poison_mode,
        slow_query_ms=slow_query_ms,
        constraints=constraints,
        values_in_errors=values_in_errors,
    )
    try:
        size = replica_max_size or max_size
        pool = await open_pool(
            replica_dsn,
            min_size=min(min_size, size),
            max_size=size,
            statement_cache_size=statement_cache_size,
            statement_timeout=statement_timeout,
            lock_timeout=lock_timeout,
        )
    except BaseException:
        await primary.close()
        raise
    replica = PgStore(
        pool,
        constraints=constraints,
        poison_mode=poison_mode,
        slow_query_ms=slow_query_ms,
        acquire_timeout=acquire_timeout,
        poison_key=primary.poison_key,
        values_in_errors=values_in_errors,
    )
    return ReplicaRoutingStore(primary, replica, primary_only=primary_only)
