"""Transactions: the scope that poisons the outer store, and the tx handle.

A transaction is a small state machine. The handle a closure receives runs
statements on one connection; any error moves the current savepoint level to
failed, a closed handle refuses every call, and two statements at once on one
handle are refused rather than left to the driver.
"""

from __future__ import annotations

import datetime
import enum
import time
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import asyncpg
import structlog

from store._query import DriverRunner, Query
from store._sqlstate import is_retryable, translate
from store.errors import (
    ConcurrentTransactionUse,
    DatabaseUnavailable,
    OuterStoreUsedInTransaction,
    TransactionClosed,
)

__all__ = [
    "CONNECTION_ERRORS",
    "Isolation",
    "PoisonMode",
    "Scope",
    "TxConn",
    "TxState",
    "check_outer",
    "connection_lost",
    "lost",
    "refuse_naive",
]

T = TypeVar("T")
PoisonMode = Literal["raise", "log"]

_log = structlog.get_logger("txstore.store")


class Isolation(enum.StrEnum):
    """Transaction isolation levels, as PostgreSQL spells them."""

    READ_COMMITTED = "read committed"
    REPEATABLE_READ = "repeatable read"
    SERIALIZABLE = "serializable"


class TxState(enum.Enum):
    ACTIVE = "active"
    FAILED = "failed"  # a statement failed; only a rollback (to savepoint) is possible
    CLOSED = "closed"  # the closure returned; the handle is dead


@dataclass(eq=False, slots=True)
class Scope:
    """An ``in_tx`` closure that is running: the outer store is poisoned while it is."""

    owner: object  # the pool whose use is forbidden
    tx_id: str
    parent: Scope | None
    active: bool = True


_SCOPE: ContextVar[Scope | None] = ContextVar("txstore_tx_scope", default=None)

#: Called with (method, tx_id) on every poisoning event, raised or logged.
poison_listeners: list[Callable[[str, str], None]] = []


def check_outer(owner: object, method: str, mode: PoisonMode) -> None:
    """Refuse ``method`` on the store owning ``owner`` while one of its closures runs here."""
    scope = _SCOPE.get()
    while scope is not None:
        if scope.active and scope.owner is owner:
            for listener in poison_listeners:
                listener(method, scope.tx_id)
            if mode == "raise":
                raise OuterStoreUsedInTransaction(method, scope.tx_id)
            _log.error(
                "outer store used in transaction", method=method, tx_id=scope.tx_id, mode=mode
            )
            return
        scope = scope.parent


def enter_scope(owner: object, tx_id: str) -> tuple[Scope, object]:
    scope = Scope(owner=owner, tx_id=tx_id, parent=_SCOPE.get())
    return scope, _SCOPE.set(scope)


def exit_scope(scope: Scope, token: object) -> None:
    scope.active = False  # tasks spawned inside may use the outer store again
    _SCOPE.reset(token)  # type: ignore[arg-type]  # the token enter_scope made


def refuse_naive(query: Query[Any], args: tuple[object, ...]) -> None:
    """Refuse a naive ``datetime`` for a ``timestamptz`` parameter.

    asyncpg would take it as UTC, so a local wall-clock time (``datetime.now()``)
    would be stored hours off without a word. Raised as asyncpg's client-side
    ``DataError`` so it is translated like every other invalid argument.
    """
    for index, (param, value) in enumerate(zip(query.params, args, strict=False), 1):
        if (
            isinstance(value, datetime.datetime)
            and value.tzinfo is None
            and param.pg_type == "timestamptz"
        ):
            raise asyncpg.DataError(
                f"invalid input for query argument ${index} ({param.name}): {value!r} "
                "is a naive datetime for a timestamptz parameter; pass an aware datetime "
                "(datetime.now(datetime.UTC), or .replace(tzinfo=...) on a known zone)"
            )


#: What asyncpg raises when the connection died under a call: a socket error, the
#: detached proxy of a dead pooled connection (``InterfaceError``), or a protocol
#: left mid-state by a FATAL message that arrived while it was idle
#: (``InternalClientError``: "cannot switch to state ...").
CONNECTION_ERRORS = (OSError, asyncpg.InterfaceError, asyncpg.exceptions.InternalClientError)


def lost(conn: asyncpg.Connection) -> bool:
    """True when the connection is gone.

    asyncpg detaches the proxy of a connection that died (a server restart,
    ``pg_terminate_backend``) and hands its holder back to the pool; after that
    every method of the proxy, ``is_closed`` included, raises ``InterfaceError``.
    """
    try:
        return conn.is_closed()
    except asyncpg.InterfaceError:
        return True


def connection_lost(conn: asyncpg.Connection, exc: BaseException, where: str) -> BaseException:
    """``DatabaseUnavailable`` when ``exc`` means the connection died, else ``exc`` itself.

    An ``InterfaceError`` on a live connection is a client-side misuse (a wrong
    argument count, say) and stays what it is.
    """
    if isinstance(exc, asyncpg.InterfaceError) and not lost(conn):
        return exc  # a client-side misuse on a live connection
    return DatabaseUnavailable(f"{where}: connection lost: {exc}", host="pool")


@dataclass(eq=False, slots=True)
class TxConn:
    """What every handle of one transaction (its savepoint levels included) shares."""

    conn: asyncpg.Connection
    constraints: Mapping[str, enum.Enum]
    busy: bool = False
    failed: BaseException | None = None  # what aborted the current savepoint level
    retry: BaseException | None = None  # a serialization failure or deadlock seen anywhere
    savepoints: int = 0
    slow_query_s: float = 0.5
    started: float = field(default_factory=time.perf_counter)


class PgTxBase(DriverRunner):
    """The handle an ``in_tx`` closure receives: statements on one connection."""

    __slots__ = ("_c", "_depth", "_state", "_tx_id")

    def __init__(self, c: TxConn, tx_id: str, depth: int = 0) -> None:
        self._c = c
        self._tx_id = tx_id
        self._depth = depth
        self._state = TxState.ACTIVE

    @property
    def tx_id(self) -> str:
        return self._tx_id

    def _enter(self, method: str) -> asyncpg.Connection:
        if self._state is TxState.CLOSED:
            raise TransactionClosed(method, self._tx_id)
        c = self._c
        if c.busy:
            raise ConcurrentTransactionUse(method, self._tx_id)
        c.busy = True
        return c.conn

    def _fail(self, exc: BaseException, where: str) -> BaseException:
        c = self._c
        if is_retryable(exc):
            c.retry = exc
        error: BaseException = (
            translate(exc, where, c.constraints, c.conn)
            if isinstance(exc, asyncpg.PostgresError)
            else exc
        )
        if c.failed is None:
            c.failed = error
        return error

    async def _call(self, query: Query[Any], method: str, args: tuple[object, ...]) -> Any:
        conn = self._enter(query.name)
        started = time.perf_counter()
        try:
            refuse_naive(query, args)
            result = await getattr(conn, method)(query.sql, *args)
        except asyncpg.PostgresError as exc:
            raise self._fail(exc, query.name) from exc
        except CONNECTION_ERRORS as exc:
            error = self._fail(connection_lost(conn, exc, query.name), query.name)
            if error is exc:
                raise
            raise error from exc
        except BaseException as exc:
            self._fail(exc, query.name)
            raise
        finally:
            self._c.busy = False
        elapsed = time.perf_counter() - started
        _log.debug("query", query=query.name, tx_id=self._tx_id, duration_ms=elapsed * 1e3)
        if elapsed >= self._c.slow_query_s:
            _log.warning(
                "slow query", query=query.name, tx_id=self._tx_id, duration_ms=elapsed * 1e3
            )
        return result

    async def _simple(self, sql: str, method: str) -> None:
        conn = self._enter(method)
        try:
            await conn.execute(sql)
        except asyncpg.PostgresError as exc:
            raise self._fail(exc, method) from exc
        except CONNECTION_ERRORS as exc:
            error = self._fail(connection_lost(conn, exc, method), method)
            if error is exc:
                raise
            raise error from exc
        finally:
            self._c.busy = False

    async def ping(self) -> None:
        """Check the transaction's connection answers."""
        await self._simple("SELECT 1", "ping")

    async def close(self) -> None:
        """A transaction handle is closed by its ``in_tx``; calling this is a no-op."""

    async def in_tx(
        self,
        fn: Callable[[Any], Awaitable[T]],
        *,
        isolation: Isolation | str | None = None,
        read_only: bool = False,
        tx_id: str | None = None,
        retries: int = 3,
    ) -> T:
        """Run ``fn`` inside a SAVEPOINT of this transaction.

        A failing closure rolls back to the savepoint and re-raises; the outer
        transaction goes on if the caller handles the error. Nested calls never
        retry on their own (``isolation``, ``read_only`` and ``retries`` belong
        to the outermost transaction and are ignored here).

        Raises:
            TransactionClosed: this handle's closure already returned.
            ConcurrentTransactionUse: another statement is running on this handle.
        """
        del isolation, read_only, retries
        if self._state is TxState.CLOSED:
            raise TransactionClosed("in_tx", self._tx_id)
        c = self._c
        if c.failed is not None:
            raise c.failed
        c.savepoints += 1
        name = f"txstore_sp_{c.savepoints}"
        await self._simple(f"SAVEPOINT {name}", "in_tx")
        child = type(self)(c, tx_id or self._tx_id, self._depth + 1)
        _log.debug("savepoint", tx_id=child._tx_id, savepoint=name)
        try:
            result = await fn(child)
            if c.failed is not None:
                # The closure swallowed an error that aborted its savepoint level.
                raise c.failed
        except BaseException:
            child._state = TxState.CLOSED
            await self._rollback_to(name)
            raise
        child._state = TxState.CLOSED
        await self._simple(f"RELEASE SAVEPOINT {name}", "in_tx")
        return result

    async def _rollback_to(self, name: str) -> None:
        c = self._c
        if c.busy:
            return  # a statement was interrupted; the outermost rollback cleans up
        c.failed = None
        try:
            await self._simple(f"ROLLBACK TO SAVEPOINT {name}", "in_tx")
        except Exception as exc:  # the connection itself is gone: the outermost rolls back
            c.failed = exc
