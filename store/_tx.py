"""Transactions: the scope that poisons the outer store, and the tx handle.

A transaction is a small state machine. The handle a closure receives runs
statements on one connection; any error moves the current savepoint level to
failed, a closed handle refuses every call, and two statements at once on one
handle are refused rather than left to the driver.
"""

from __future__ import annotations

import asyncio
import datetime
import enum
import time
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import asyncpg
import structlog

from store._query import DriverRunner, Kind, Query, batch_groups
from store._sqlstate import is_retryable, translate
from store.errors import (
    ConcurrentTransactionUse,
    DatabaseUnavailable,
    OuterStoreUsedInTransaction,
    TransactionAborted,
    TransactionClosed,
)

__all__ = [
    "CONNECTION_ERRORS",
    "Isolation",
    "Level",
    "PoisonMode",
    "Scope",
    "TxConn",
    "TxState",
    "check_outer",
    "connection_lost",
    "lost",
    "refuse_naive",
    "run_driver",
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
    """What a handle can do now (``PgTxBase.state``)."""

    ACTIVE = "active"
    FAILED = "failed"  # a statement failed; only a rollback (to savepoint) is possible
    ABORTED = "aborted"  # no savepoint can undo a failure: the transaction rolls back
    CLOSED = "closed"  # its closure or the transaction is over: every call raises


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
    """Refuse a naive ``datetime`` for a ``timestamptz`` parameter, or inside a composite one.

    asyncpg would take it as UTC, so a local wall-clock time (``datetime.now()``)
    would be stored hours off without a word. Raised the way asyncpg reports an
    argument its codec refused, so it is translated like every other invalid
    argument (naming the parameter, never quoting the value).
    """
    params = query.params
    for index, paths in query.zoned_at:
        if index < len(args) and any(_naive_at(args[index], path) for path in paths):
            param = params[index]
            inside = " inside the composite" if param.zoned else ""
            raise asyncpg.DataError(f"invalid input for query argument ${index + 1}") from (
                TypeError(
                    f"a naive datetime{inside} for a {param.pg_type} parameter; pass an aware "
                    "datetime (datetime.now(datetime.UTC), or .replace(tzinfo=...) on a known "
                    "zone)"
                )
            )


def _naive_at(value: object, path: tuple[int, ...]) -> bool:
    """A naive datetime at ``path`` inside a composite ``value`` (a tuple; an array on
    the way, a list, stands for each of its elements)."""
    if not path:
        return _naive(value)
    if isinstance(value, list):
        return any(_naive_at(item, path) for item in value)
    if isinstance(value, tuple) and path[0] < len(value):
        return _naive_at(value[path[0]], path[1:])
    return False  # NULL, or a composite given some other way (a mapping): not looked into


def _naive(value: object) -> bool:
    """A naive datetime in ``value``: itself, an element (at any depth) or a range bound."""
    if isinstance(value, datetime.datetime):
        return value.tzinfo is None
    if isinstance(value, asyncpg.Range):
        return _naive(value.lower) or _naive(value.upper)
    if isinstance(value, list | tuple):
        return any(_naive(item) for item in value)
    return False


async def run_driver(
    conn: asyncpg.Connection, query: Query[Any], method: str, args: tuple[Any, ...]
) -> Any:
    """Call the asyncpg ``method`` for ``query`` on ``conn``.

    ``executemany``, ``fetchmany`` and ``copy`` take ``args`` as the argument
    sets of a batch; every other method takes them as one call's arguments.
    ``fetchmany`` returns the rows grouped per argument set (see
    :func:`store._query.batch_groups`); a ``:batchone`` that writes runs in a
    transaction of its own outside ``in_tx``, so a set without a row leaves
    nothing written.
    """
    if method not in _BATCH_METHODS:
        refuse_naive(query, args)
        return await getattr(conn, method)(query.sql, *args)
    for values in args:
        refuse_naive(query, values)
    if method == "fetchmany":
        if not args:
            return []
        if query.kind is Kind.BATCHONE and query.mutates and not conn.is_in_transaction():
            async with conn.transaction():
                return batch_groups(query, await conn.fetchmany(query.sql, args), len(args))
        return batch_groups(query, await conn.fetchmany(query.sql, args), len(args))
    if not args:
        return "COPY 0"
    if method == "copy":
        assert query.mutates is not None
        schema, _, table = query.mutates.rpartition(".")
        try:
            return await conn.copy_records_to_table(
                table, records=args, columns=list(query.columns), schema_name=schema or None
            )
        except asyncpg.exceptions.InternalClientError as exc:
            if "no binary format encoder" not in str(exc):
                raise
            # Refused before any row was sent (the COPY is failed): not a lost connection.
            raise TypeError(
                f"{query.name}: COPY sends every column in binary, and the driver has {exc}; "
                "run the query as :batchexec instead"
            ) from exc
    return await conn.executemany(query.sql, args)


_BATCH_METHODS = frozenset({"executemany", "fetchmany", "copy"})


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


def _single(method: str, args: tuple[Any, ...]) -> tuple[object, ...]:
    """The arguments an error may describe: a batch's are many sets, not one call's."""
    return () if method in _BATCH_METHODS else args


@dataclass(eq=False, slots=True)
class Level:
    """One level of a transaction: the transaction itself (no savepoint) or a SAVEPOINT."""

    savepoint: str | None
    open: bool = True


def _first_level() -> list[Level]:
    return [Level(None)]


@dataclass(eq=False, slots=True)
class TxConn:
    """What every handle of one transaction (its savepoint levels included) shares.

    ``levels`` is the stack of open levels, the transaction itself at the
    bottom: only the handle of the innermost one may run a statement, so
    savepoints are always properly nested (a nested ``in_tx`` occupies its
    parent handle until it returns).
    """

    conn: asyncpg.Connection
    constraints: Mapping[str, enum.Enum]
    busy: bool = False
    failed: BaseException | None = None  # what aborted the current savepoint level
    doomed: BaseException | None = None  # what no savepoint can undo: only ROLLBACK remains
    retry: BaseException | None = None  # a serialization failure or deadlock seen anywhere
    savepoints: int = 0
    slow_query_s: float = 0.5
    values_in_errors: bool = False  # errors may quote row and argument values (opt-in)
    started: float = field(default_factory=time.perf_counter)
    levels: list[Level] = field(default_factory=_first_level)

    def close(self) -> bool:
        """Close every handle at every depth; True if a statement or nested ``in_tx`` still runs."""
        unfinished = self.busy or len(self.levels) > 1
        for level in self.levels:
            level.open = False
        self.levels.clear()
        return unfinished


class PgTxBase(DriverRunner):
    """The handle an ``in_tx`` closure receives: statements on one connection."""

    __slots__ = ("_c", "_level", "_tx_id")

    def __init__(self, c: TxConn, tx_id: str, level: Level | None = None) -> None:
        self._c = c
        self._tx_id = tx_id
        self._level = level if level is not None else c.levels[0]

    @property
    def tx_id(self) -> str:
        return self._tx_id

    @property
    def state(self) -> TxState:
        """Closed once this handle's closure or the transaction is over, at any depth."""
        if not self._level.open:
            return TxState.CLOSED
        if self._c.doomed is not None:
            return TxState.ABORTED
        return TxState.FAILED if self._c.failed is not None else TxState.ACTIVE

    def _check(self, method: str) -> None:
        """Refuse a call on a closed level, a doomed transaction, or a level not innermost."""
        c = self._c
        if not self._level.open:
            raise TransactionClosed(method, self._tx_id)
        if c.doomed is not None:
            raise self._aborted(method)
        if c.busy or not c.levels or c.levels[-1] is not self._level:
            raise ConcurrentTransactionUse(method, self._tx_id)

    def _aborted(self, method: str) -> BaseException:
        """The error a call on a doomed transaction raises (a fresh one naming ``method``)."""
        doomed = self._c.doomed
        assert doomed is not None
        if not isinstance(doomed, TransactionAborted):
            return doomed  # a database error (the connection died under a rollback)
        error = TransactionAborted(method, self._tx_id, doomed.why)
        error.__cause__ = doomed
        return error

    def _enter(self, method: str) -> asyncpg.Connection:
        self._check(method)
        self._c.busy = True
        return self._c.conn

    def _fail(
        self,
        exc: BaseException,
        where: str,
        query: Query[Any] | None = None,
        args: tuple[object, ...] = (),
    ) -> BaseException:
        c = self._c
        if is_retryable(exc):
            c.retry = exc
        error: BaseException = (
            translate(
                exc,
                where,
                c.constraints,
                query=query,
                args=args,
                values=c.values_in_errors,
                conn=c.conn,
            )
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
            result = await run_driver(conn, query, method, args)
        except asyncpg.PostgresError as exc:
            raise self._fail(exc, query.name, query, _single(method, args)) from exc
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
        """Check the transaction's connection answers.

        Raises:
            TransactionClosed: this handle's closure already returned.
            ConcurrentTransactionUse: another call, or a nested ``in_tx``, is running on it.
            TransactionAborted: the transaction can only roll back.
            DatabaseUnavailable: the connection was lost.
        """
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
        transaction goes on if the caller handles the error. When the savepoint
        cannot be rolled back (a task the closure started is still running a
        statement on it, or the rollback itself failed), the whole transaction
        is doomed instead: it can only roll back, so a failed closure's writes
        never commit. While ``fn`` runs this handle is occupied: a statement or
        another ``in_tx`` on it raises ``ConcurrentTransactionUse``, so sibling
        savepoints never interleave. Nested calls never retry on their own
        (``isolation``, ``read_only`` and ``retries`` belong to the outermost
        transaction and are ignored here).

        Raises:
            TransactionClosed: this handle's closure already returned, or the
                transaction ended while ``fn`` was running.
            ConcurrentTransactionUse: another call or nested ``in_tx`` is running on this handle.
            TransactionAborted: the transaction can only roll back, or ``fn``
                returned while a task it started was still running on it (its
                work cannot be released, so nothing of the transaction commits).
        """
        del isolation, read_only, retries
        c = self._c
        self._check("in_tx")
        if c.failed is not None:
            raise c.failed
        c.savepoints += 1
        name = f"txstore_sp_{c.savepoints}"
        await self._simple(f"SAVEPOINT {name}", "in_tx")
        level = Level(name)
        c.levels.append(level)
        child = type(self)(c, tx_id or self._tx_id, level)
        _log.debug("savepoint", tx_id=child._tx_id, savepoint=name)
        try:
            result = await fn(child)
            if c.failed is not None:
                # The closure swallowed an error that aborted its savepoint level.
                raise c.failed
        except BaseException as exc:
            await self._end(level, release=False, cause=exc)
            raise
        await self._end(level, release=True, cause=None)
        return result

    def _doom(self, error: BaseException) -> None:
        c = self._c
        if c.doomed is None:
            c.doomed = error

    async def _end(self, level: Level, *, release: bool, cause: BaseException | None) -> None:
        """Release or roll back ``level``'s savepoint and close its handles (and deeper ones)."""
        c = self._c
        if not level.open:
            # The transaction ended while the closure ran (in a task that outlived
            # it): its savepoint went with it, and success cannot be reported.
            if release:
                raise TransactionClosed("in_tx", self._tx_id)
            return
        index = c.levels.index(level)
        unfinished = c.busy or index != len(c.levels) - 1
        for closed in c.levels[index:]:
            closed.open = False
        del c.levels[index:]
        if unfinished:
            # A task the closure started is still running a statement or a nested
            # in_tx on this savepoint: it can be neither rolled back nor released
            # now, and its writes must not commit. The whole transaction fails.
            doom = TransactionAborted(
                "in_tx",
                self._tx_id,
                f"savepoint {level.savepoint} ended while a task was still running on it",
            )
            doom.__cause__ = cause
            self._doom(doom)
            if release:
                raise self._aborted("in_tx")
            return
        if c.doomed is not None:  # everything rolls back anyway
            if release:
                raise self._aborted("in_tx")
            return
        sql = f"{'RELEASE' if release else 'ROLLBACK TO'} SAVEPOINT {level.savepoint}"
        if not release:
            c.failed = None  # everything since the savepoint, its failure included, is undone
        conn = self._enter("in_tx")
        try:
            async with asyncio.timeout(_SETTLE_S):
                while True:
                    try:
                        await conn.execute(sql)
                        break
                    except asyncpg.InterfaceError:
                        if lost(conn):
                            raise
                        # A statement cancelled under the closure is still being
                        # cancelled on the server; its outcome comes first.
                        await asyncio.sleep(0.005)
        except BaseException as exc:
            # The savepoint's fate is unknown: only a ROLLBACK of everything is safe.
            error: BaseException
            if isinstance(exc, asyncpg.PostgresError):
                error = translate(exc, "in_tx", c.constraints, values=c.values_in_errors)
            elif isinstance(exc, CONNECTION_ERRORS) and not isinstance(exc, TimeoutError):
                error = connection_lost(conn, exc, "in_tx")
            else:  # cancelled, or the cancelled statement never settled
                error = TransactionAborted("in_tx", self._tx_id, f"{sql} did not complete")
            if error is not exc:
                error.__cause__ = exc
            self._doom(error)
            if not isinstance(exc, Exception):
                raise  # a cancellation goes on as one
            if release:
                raise error from exc
        finally:
            c.busy = False


#: How long a savepoint's release or rollback waits for a cancelled statement to settle.
_SETTLE_S = 5.0
