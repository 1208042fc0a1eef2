"""PgStore: the bottom layer, queries on an asyncpg pool and transactions on one connection."""

from __future__ import annotations

import asyncio
import enum
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import asyncpg
import structlog

from migrations._dsn import Dsn
from migrations._timeouts import timeout_ms
from store._codecs import ConnectionSetup
from store._pool import DEFAULT_ACQUIRE_TIMEOUT, Pool
from store._query import DriverRunner, Query
from store._sqlstate import is_retryable, translate, unavailable
from store._tx import (
    CONNECTION_ERRORS,
    Isolation,
    PgTxBase,
    PoisonMode,
    TxConn,
    check_outer,
    connection_lost,
    enter_scope,
    exit_scope,
    lost,
    refuse_naive,
)
from store._versions import ServerVersion
from store.errors import (
    CommitOutcomeUnknown,
    ConcurrentTransactionUse,
    DatabaseUnavailable,
    SerializationFailure,
)

__all__ = ["DEFAULT_ACQUIRE_TIMEOUT", "PgStoreBase", "open_pool", "timeout_ms"]

T = TypeVar("T")
_log = structlog.get_logger("txstore.store")


async def open_pool(
    dsn: str,
    *,
    min_size: int = 2,
    max_size: int = 10,
    statement_cache_size: int = 1024,
    statement_timeout: float | None = None,
    lock_timeout: float | None = None,
    connect_timeout: float = 10.0,
    reset_on_release: bool = False,
    server_settings: Mapping[str, str] | None = None,
) -> Pool:
    """Open a connection pool set up the way the store expects.

    ``statement_cache_size=0`` is the setting for PgBouncer in transaction
    pooling mode, where a prepared statement may not exist on the next
    server connection.

    Raises:
        DatabaseUnavailable: the server cannot be reached or refused the login;
            the message names the host and never the password.
        ValueError: impossible pool sizes (not a DSN problem, so not the error above).
    """
    if not 0 <= min_size <= max_size or max_size < 1:
        # Checked here: asyncpg's ValueError would read as a malformed DSN below.
        raise ValueError(
            f"pool sizes must satisfy 0 <= min_size <= max_size >= 1, "
            f"got min_size={min_size}, max_size={max_size}"
        )
    settings = dict(server_settings or {})
    settings.setdefault("application_name", "txstore")
    if statement_timeout is not None:
        settings["statement_timeout"] = str(timeout_ms(statement_timeout, "statement_timeout"))
    if lock_timeout is not None:
        settings["lock_timeout"] = str(timeout_ms(lock_timeout, "lock_timeout"))
    kwargs: dict[str, object] = {
        "statement_cache_size": statement_cache_size,
        "max_cached_statement_lifetime": 0,
        "timeout": connect_timeout,
        "server_settings": settings,
    }
    try:
        # Parsed once: the driver gets a URL without the password and the password
        # apart, so no driver message can quote it.
        parsed = Dsn.parse(dsn)
        if parsed.password is not None:
            kwargs["password"] = parsed.password
        return await Pool(
            parsed.without_password(),
            min_size=min_size,
            max_size=max_size,
            connect_kwargs=kwargs,
            init=ConnectionSetup(),
            reset_on_release=reset_on_release,
        ).open()
    except (
        OSError,
        TimeoutError,
        ValueError,  # a malformed DSN (MalformedDsn) or a parameter the driver refused
        OverflowError,
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
        asyncpg.TargetServerAttributeNotMatched,  # no host of the DSN takes writes now
    ) as exc:
        raise unavailable(dsn, exc) from None


def _outcome_unknown(tx_id: str, exc: BaseException) -> CommitOutcomeUnknown:
    return CommitOutcomeUnknown(
        f"in_tx: connection lost during COMMIT of {tx_id!r}; it may or may not have "
        f"committed (check before re-running): {type(exc).__name__}: {exc}",
        tx_id=tx_id,
        host="pool",
        sqlstate=exc.sqlstate if isinstance(exc, asyncpg.PostgresError) else None,
    )


class _Retry(Exception):  # a signal between _attempt and in_tx, never escapes
    def __init__(self, error: BaseException, conflict: BaseException) -> None:
        super().__init__(str(error))
        self.error = error
        self.conflict = conflict


def _begin_sql(
    isolation: Isolation | str | None,
    read_only: bool,
    statement_timeout: float | None,
    lock_timeout: float | None,
) -> str:
    sql = "BEGIN"
    if isolation is not None:
        sql += f" ISOLATION LEVEL {Isolation(isolation).value.upper()}"
    if read_only:
        sql += " READ ONLY"
    # One round trip for BEGIN and its settings (simple-query protocol).
    for setting, seconds in (
        ("statement_timeout", statement_timeout),
        ("lock_timeout", lock_timeout),
    ):
        if seconds is not None:
            sql += f"; SET LOCAL {setting} = {timeout_ms(seconds, setting)}"
    return sql


class PgStoreBase(DriverRunner):
    """Runs queries on an asyncpg pool; ``in_tx`` hands closures a one-connection handle."""

    _tx_class: type[PgTxBase] = PgTxBase

    def __init__(
        self,
        pool: Pool,
        *,
        constraints: Mapping[str, enum.Enum] | None = None,
        poison_mode: PoisonMode = "raise",
        slow_query_ms: float = 500.0,
        acquire_timeout: float | None = DEFAULT_ACQUIRE_TIMEOUT,
        retry_backoff: float = 0.005,
        poison_key: object | None = None,
        values_in_errors: bool = False,
    ) -> None:
        self.pool = pool
        # Off by default: errors then never quote a row's or an argument's value.
        self._values_in_errors = values_in_errors
        # What an in_tx closure poisons: this pool, unless several stores act as
        # one database (a primary and its read replica share the primary's key).
        self.poison_key: object = poison_key if poison_key is not None else pool
        self._constraints: Mapping[str, enum.Enum] = constraints or {}
        self.poison_mode: PoisonMode = poison_mode
        self._slow_s = slow_query_ms / 1000
        self._acquire_timeout = acquire_timeout
        self._backoff = retry_backoff

    # -- primitives on the pool -------------------------------------------------
    async def _acquire(self, method: str) -> asyncpg.Connection:
        check_outer(self.poison_key, method, self.poison_mode)
        try:
            return await self.pool.take(self._acquire_timeout)
        except TimeoutError:
            raise DatabaseUnavailable(
                f"{method}: no connection free in the pool within {self._acquire_timeout} s "
                f"(max_size={self.pool.get_max_size()})",
                host="pool",
            ) from None
        except (
            OSError,
            asyncpg.PostgresError,
            asyncpg.InterfaceError,
            # a multi-host DSN whose hosts are all standbys or down: mid-failover
            asyncpg.TargetServerAttributeNotMatched,
        ) as exc:
            # A new connection was refused: too many connections, a role that
            # may not log in, a server going down. Named by host, never the password.
            raise unavailable(self.pool.dsn, exc) from exc

    @property
    def acquire_timeout(self) -> float | None:
        """How long a call waits for a pooled connection (seconds); None waits for ever."""
        return self._acquire_timeout

    async def _call(self, query: Query[Any], method: str, args: tuple[object, ...]) -> Any:
        conn = await self._acquire(query.name)
        started = time.perf_counter()
        clean = False
        try:
            refuse_naive(query, args)
            result = await getattr(conn, method)(query.sql, *args)
            clean = True
            return result
        except asyncpg.PostgresError as exc:
            error = translate(
                exc,
                query.name,
                self._constraints,
                query=query,
                args=args,
                values=self._values_in_errors,
                conn=conn,
            )
            # The server said no; the connection is fine unless it is on a server that
            # no longer takes writes (then the pool drops it).
            clean = not conn.is_in_transaction() and not isinstance(error, DatabaseUnavailable)
            raise error from exc
        except CONNECTION_ERRORS as exc:
            if isinstance(exc, asyncpg.InterfaceError) and not lost(conn):
                raise
            raise DatabaseUnavailable(f"{query.name}: connection lost: {exc}", host="pool") from exc
        finally:
            # Returning is synchronous, so no cancellation can leave it half done.
            if clean:
                self.pool.put(conn)
            else:
                self.pool.put_dirty(conn)
            elapsed = time.perf_counter() - started
            _log.debug("query", query=query.name, duration_ms=elapsed * 1e3)
            if elapsed >= self._slow_s:
                _log.warning("slow query", query=query.name, duration_ms=elapsed * 1e3)

    async def ping(self) -> None:
        """Run ``SELECT 1``.

        Raises:
            DatabaseUnavailable: the server does not answer.
            OuterStoreUsedInTransaction: called inside an ``in_tx`` closure of this store.
        """
        conn = await self._acquire("ping")
        clean = False
        try:
            await conn.execute("SELECT 1")
            clean = True
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise DatabaseUnavailable(f"ping: {exc}", host="pool") from exc
        finally:
            if clean:
                self.pool.put(conn)
            else:
                self.pool.put_dirty(conn)

    async def server_version(self) -> ServerVersion:
        """The server's version and what it can do (``.returning_old_new``...).

        Read from a pooled connection's start-up message, so no query runs; a
        multi-host DSN answers for the server the pool is on now.

        Raises:
            DatabaseUnavailable: no connection could be had.
            OuterStoreUsedInTransaction: called inside an ``in_tx`` closure of this store.
        """
        conn = await self._acquire("server_version")
        try:
            return ServerVersion.of(conn)
        finally:
            self.pool.put(conn)

    async def close(self) -> None:
        """Close the pool: idle connections now, those in use as they come back."""
        await self.pool.close()

    # -- transactions ------------------------------------------------------------
    async def in_tx(
        self,
        fn: Callable[[Any], Awaitable[T]],
        *,
        isolation: Isolation | str | None = None,
        read_only: bool = False,
        tx_id: str = "tx",
        retries: int = 3,
        statement_timeout: float | None = None,
        lock_timeout: float | None = None,
    ) -> T:
        """Run ``fn(tx)`` in one transaction on one connection and return its result.

        Commits when ``fn`` returns; rolls back on any exception (cancellation
        included) and re-raises. While ``fn`` runs, this store refuses use from
        this task and the tasks it starts. A serialization failure or deadlock
        re-runs ``fn`` up to ``retries`` times with jittered backoff, so ``fn``
        must be safe to re-run.

        ``statement_timeout`` and ``lock_timeout`` (seconds) apply to this
        transaction only; a positive value is rounded up to whole milliseconds,
        never down to 0 (which PostgreSQL reads as "no timeout").

        Raises:
            OuterStoreUsedInTransaction: called inside a closure of this store.
            SerializationFailure: still conflicting after every retry (``attempts``).
            DatabaseUnavailable: no connection could be had, or it was lost.
            CommitOutcomeUnknown: the connection was lost during ``COMMIT``; the
                transaction may have committed (a ``DatabaseUnavailable``).
            ConcurrentTransactionUse: ``fn`` returned while a statement or nested
                ``in_tx`` it started was still running; nothing was committed.
            TransactionAborted: a nested closure ended while a task it started was
                still running on the transaction; nothing was committed.
            ValueError: a negative timeout.
        """
        begin = _begin_sql(isolation, read_only, statement_timeout, lock_timeout)
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._attempt(fn, begin, tx_id)
            except _Retry as signal:
                retry, cause = signal.conflict, signal.error
                if attempt > retries:
                    raise SerializationFailure(
                        f"transaction {tx_id!r} gave up after {attempt} attempts: {cause}",
                        attempts=attempt,
                        sqlstate=getattr(retry, "sqlstate", None),
                    ) from cause
                delay = self._backoff * (2 ** min(attempt - 1, 6)) * random.uniform(0.5, 1.5)  # noqa: S311  # jitter, not cryptography
                _log.warning(
                    "transaction retry",
                    tx_id=tx_id,
                    attempt=attempt,
                    sqlstate=getattr(retry, "sqlstate", None),
                    delay_ms=round(delay * 1e3, 2),
                )
                await asyncio.sleep(delay)

    async def _attempt(self, fn: Callable[[Any], Awaitable[T]], begin: str, tx_id: str) -> T:
        conn = await self._acquire("in_tx")
        c = TxConn(
            conn=conn,
            constraints=self._constraints,
            slow_query_s=self._slow_s,
            values_in_errors=self._values_in_errors,
        )
        tx = self._tx_class(c, tx_id)
        scope, token = enter_scope(self.poison_key, tx_id)
        committed = False
        try:
            try:
                await conn.execute(begin)
            except asyncpg.PostgresError as exc:
                raise translate(exc, "in_tx", c.constraints, values=c.values_in_errors) from exc
            except CONNECTION_ERRORS as exc:
                raise connection_lost(conn, exc, "in_tx") from exc
            _log.debug("transaction begin", tx_id=tx_id)
            try:
                result = await fn(tx)
            finally:
                unfinished = c.close()  # every handle, at every depth
            if c.doomed is not None:
                raise tx._aborted("COMMIT")  # a savepoint could not be undone
            if c.failed is not None:
                raise c.failed  # the closure swallowed an error that aborted the transaction
            if unfinished:
                # The closure returned while a task it started is still running a
                # statement or a nested in_tx on the transaction: that work has
                # neither succeeded nor failed, so nothing may commit.
                raise ConcurrentTransactionUse("COMMIT", tx_id)
            try:
                await conn.execute("COMMIT")
            except asyncpg.PostgresError as exc:
                if is_retryable(exc):
                    c.retry = exc
                error = translate(exc, "in_tx", c.constraints, values=c.values_in_errors)
                if isinstance(error, DatabaseUnavailable):
                    raise _outcome_unknown(tx_id, exc) from exc
                raise error from exc
            except CONNECTION_ERRORS as exc:
                if isinstance(exc, asyncpg.InterfaceError) and not lost(conn):
                    # The driver refused to send COMMIT (still busy with a
                    # cancelled statement): nothing was committed.
                    raise ConcurrentTransactionUse("COMMIT", tx_id) from exc
                # The server may have committed before the connection went away.
                raise _outcome_unknown(tx_id, exc) from exc
            committed = True
            _log.debug(
                "transaction commit",
                tx_id=tx_id,
                duration_ms=(time.perf_counter() - c.started) * 1e3,
            )
            return result
        except Exception as exc:
            conflict = c.retry or (exc.__cause__ if is_retryable(exc.__cause__ or exc) else None)
            if conflict is not None:
                raise _Retry(exc, conflict) from exc
            raise
        finally:
            exit_scope(scope, token)
            if committed:
                self.pool.put(conn)
            else:
                # Rollback and release must finish even if this task is being cancelled.
                await asyncio.shield(self._finish(conn, tx_id))

    async def _finish(self, conn: asyncpg.Connection, tx_id: str) -> None:
        """Return the connection clean: roll back anything open; discard it if that fails.

        Done by the pool, which first waits out a statement cancelled mid-flight
        (whose outcome, a ``BEGIN`` say, the client has not seen yet).
        """
        await self.pool.clean(conn)
        _log.debug("transaction rollback", tx_id=tx_id)
