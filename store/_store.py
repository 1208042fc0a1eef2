"""The ``Store`` protocol every layer implements, and the Postgres store that ends the chain."""

from __future__ import annotations

import enum
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Protocol, TypeVar

from store._pg import DEFAULT_ACQUIRE_TIMEOUT, PgStoreBase, open_pool
from store._query import Query, RowT
from store._tx import Isolation, PgTxBase, PoisonMode

__all__ = ["PgStore", "PgTx", "Store", "connect"]

T = TypeVar("T")


class Store(Protocol):
    """The primitives every query runs through, transactions, and lifecycle.

    ``fetch_one``, ``fetch_many``, ``execute`` and ``execute_rows`` run one
    call; ``execute_batch`` (``:batchexec``, ``:copyfrom``) and ``fetch_batch``
    (``:batchmany``, ``:batchone``) run one query for many argument sets in one
    round trip, all of them or none.

    Every layer (PostgreSQL, metrics, authorization, audit, replica routing)
    implements it once, generically; an application's typed methods come from
    its generated ``Queries(store)``, which calls these primitives.
    """

    async def fetch_one(self, query: Query[RowT], args: tuple[object, ...]) -> RowT: ...

    async def fetch_many(self, query: Query[RowT], args: tuple[object, ...]) -> list[RowT]: ...

    async def execute(self, query: Query[None], args: tuple[object, ...]) -> None: ...

    async def execute_rows(self, query: Query[None], args: tuple[object, ...]) -> int: ...

    async def execute_batch(
        self, query: Query[None], args: Sequence[tuple[object, ...]]
    ) -> int: ...

    async def fetch_batch(
        self, query: Query[RowT], args: Sequence[tuple[object, ...]]
    ) -> list[list[RowT]]: ...

    async def in_tx(
        self,
        fn: Callable[[Store], Awaitable[T]],
        *,
        isolation: Isolation | str | None = None,
        read_only: bool = False,
        tx_id: str = "tx",
        retries: int = 3,
    ) -> T: ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


class PgTx(PgTxBase):
    """The transaction handle ``PgStore.in_tx`` passes to its closure."""

    __slots__ = ()


class PgStore(PgStoreBase):
    """The bottom layer: queries on an asyncpg pool."""

    _tx_class = PgTx


_: type[Store] = PgStore
_tx: type[Store] = PgTx


async def connect(
    dsn: str,
    *,
    min_size: int = 2,
    max_size: int = 10,
    statement_cache_size: int | None = None,
    statement_timeout: float | None = None,
    lock_timeout: float | None = None,
    acquire_timeout: float | None = DEFAULT_ACQUIRE_TIMEOUT,
    poison_mode: PoisonMode = "raise",
    slow_query_ms: float = 500.0,
    constraints: Mapping[str, enum.Enum] | None = None,
    values_in_errors: bool = False,
) -> PgStore:
    """Open a pool on ``dsn`` and return a :class:`PgStore` over it.

    ``statement_cache_size=0`` is the setting behind PgBouncer in transaction
    pooling mode; left unset it is ``$TXSTORE_STATEMENT_CACHE_SIZE`` or 1024,
    so a deployment behind PgBouncer can say so without a code change.
    ``statement_timeout`` and ``lock_timeout`` (seconds) apply to every
    statement; ``in_tx`` can tighten them per transaction. A positive timeout
    is rounded up to whole milliseconds, never down to 0 (PostgreSQL's "off").
    ``acquire_timeout`` bounds the wait for a pooled connection (30 s unless
    told otherwise; ``None`` waits for ever).
    ``poison_mode="log"`` logs outer-store use inside ``in_tx`` instead of
    raising, for roll-outs. ``constraints`` is the application's generated
    ``CONSTRAINTS`` mapping, so violations carry its enum members.
    ``values_in_errors=True`` lets error messages
    quote what PostgreSQL and the driver say about the row and the arguments
    (DETAIL lines, a refused argument's value); leave it off wherever errors
    are logged, as they then carry password and key hashes.

    Raises:
        DatabaseUnavailable: the server is unreachable or refused the login (the
            message names the host and never the password).
        ValueError: a negative timeout, or impossible pool sizes.
    """
    if statement_cache_size is None:
        statement_cache_size = int(os.environ.get("TXSTORE_STATEMENT_CACHE_SIZE", "1024"))
    pool = await open_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        statement_cache_size=statement_cache_size,
        statement_timeout=statement_timeout,
        lock_timeout=lock_timeout,
    )
    return PgStore(
        pool,
        constraints=constraints,
        poison_mode=poison_mode,
        slow_query_ms=slow_query_ms,
        acquire_timeout=acquire_timeout,
        values_in_errors=values_in_errors,
    )
