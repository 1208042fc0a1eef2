"""A connection pool for the store: taking and returning a connection costs no await.

asyncpg's own pool spends about 60 µs per acquire/release pair here (a queue,
a proxy object, and a shielded task on every release) besides the session
reset round trip; a primary-key lookup takes about 135 µs in all. The store
changes only transaction-scoped state, so a connection it returns after a
clean statement needs nothing done to it: ``put`` is a plain, synchronous
hand-over, which also makes it immune to cancellation. A connection returned
after an error or a cancellation goes through ``put_dirty``, which rolls it
back (or terminates it) in a background task before anyone can take it.
"""

from __future__ import annotations

import asyncio
import collections
import enum
import time
from collections.abc import Awaitable, Callable, Generator, Mapping
from typing import Any

import asyncpg

from store.errors import StoreClosed

__all__ = ["DEFAULT_ACQUIRE_TIMEOUT", "ConnectTimeout", "Pool"]

Conn = asyncpg.Connection
Init = Callable[[Conn], Awaitable[None]]

#: How long a caller waits for a pooled connection unless told otherwise (seconds).
#: Finite, so a task that escapes poisoning (one created before the transaction
#: and awaited inside it) and waits for a connection its own transaction holds
#: fails instead of hanging for ever.
DEFAULT_ACQUIRE_TIMEOUT = 30.0


class ConnectTimeout(ConnectionError):
    """The server did not complete a new connection within the connect timeout.

    Not a :class:`TimeoutError`, so that it cannot be read as "the pool had no
    free connection": the pool had room, the server did not answer in time.
    """


class _Default(enum.Enum):
    DEFAULT = enum.auto()


_DEFAULT = _Default.DEFAULT


class Pool:
    """Up to ``max_size`` connections to one server, handed out last-in first-out.

    LIFO keeps a small working set of warm connections (prepared statements,
    caches) under light load. Idle connections older than
    ``max_inactive_lifetime`` seconds are closed when next taken.
    """

    def __init__(
        self,
        dsn: str,
        *,
        min_size: int,
        max_size: int,
        connect_kwargs: Mapping[str, Any],
        init: Init | None = None,
        max_inactive_lifetime: float = 300.0,
        reset_on_release: bool = False,
        acquire_timeout: float | None = DEFAULT_ACQUIRE_TIMEOUT,
    ) -> None:
        if not 0 <= min_size <= max_size or max_size < 1:
            raise ValueError(
                f"pool sizes must satisfy 0 <= min_size <= max_size >= 1, got "
                f"min_size={min_size}, max_size={max_size}"
            )
        self._dsn = dsn
        self._min = min_size
        self._max = max_size
        self._kwargs = dict(connect_kwargs)
        self._init = init
        self._lifetime = max_inactive_lifetime
        self._reset = reset_on_release
        self.acquire_timeout = acquire_timeout  # for acquire(), a connection held by hand
        self._idle: collections.deque[tuple[Conn, float]] = collections.deque()
        self._size = 0  # open connections plus those being opened
        self._waiters: collections.deque[asyncio.Future[Conn]] = collections.deque()
        self._cleanups: set[asyncio.Task[Any]] = set()
        self._closed = False

    @property
    def dsn(self) -> str:
        """The DSN connections are opened with (it may hold a password: never log it)."""
        return self._dsn

    # -- sizes ---------------------------------------------------------------------
    def get_size(self) -> int:
        return self._size

    def get_idle_size(self) -> int:
        return len(self._idle)

    def get_max_size(self) -> int:
        return self._max

    # -- opening -------------------------------------------------------------------
    async def open(self) -> Pool:
        """Open ``min_size`` connections; the first failure propagates (nothing left open)."""
        self._size += self._min
        results = await asyncio.gather(
            *(self._connect() for _ in range(self._min)), return_exceptions=True
        )
        failure = next((r for r in results if isinstance(r, BaseException)), None)
        if failure is not None:
            for r in results:
                if isinstance(r, Conn):
                    r.terminate()
            self._size = 0
            raise failure
        now = time.monotonic()
        self._idle.extend((r, now) for r in results if isinstance(r, Conn))
        return self

    async def _connect(self) -> Conn:
        try:
            conn: Conn = await asyncpg.connect(self._dsn, **self._kwargs)
        except TimeoutError:
            # asyncpg's connect timeout: the caller's own wait is a cancellation
            # of the shielded task, never a TimeoutError raised here.
            limit = self._kwargs.get("timeout", 60)
            raise ConnectTimeout(
                f"the server did not complete a new connection within {limit} s"
            ) from None
        try:
            if self._init is not None:
                await self._init(conn)
        except BaseException:
            conn.terminate()
            raise
        return conn

    # -- taking ----------------------------------------------------------------------
    def _take_idle(self) -> Conn | None:
        if self._closed:
            raise StoreClosed
        idle = self._idle
        while idle:
            conn, since = idle.pop()
            if conn.is_closed() or time.monotonic() - since > self._lifetime:
                self._drop(conn)
                continue
            return conn
        return None

    async def take(self, timeout: float | None = None) -> Conn:  # noqa: ASYNC109  # armed only to wait
        """A connection for the caller's exclusive use; waits while all are taken.

        ``timeout`` bounds the wait (opening a connection included). It is armed
        only when no idle connection is at hand: an idle one needs no timer, and
        arming and cancelling one per call is measurable on the hot path.

        Raises:
            StoreClosed: the pool is closed (a ``RuntimeError`` too).
            TimeoutError: no connection within ``timeout``.
            ConnectTimeout: the server did not complete a new connection within
                the connect timeout (an ``OSError``, not a ``TimeoutError``).
            OSError, asyncpg.PostgresError: a new connection could not be opened.
        """
        conn = self._take_idle()
        if conn is not None:
            return conn
        if timeout is None:
            return await self._take_new_or_wait()
        async with asyncio.timeout(timeout):
            return await self._take_new_or_wait()

    async def _take_new_or_wait(self) -> Conn:
        if self._size < self._max:
            self._size += 1
            opening = asyncio.get_running_loop().create_task(self._connect())
            try:
                return await asyncio.shield(opening)
            except asyncio.CancelledError:
                # The caller gave up, not the connection: it joins the pool when
                # open, rather than being cut off mid-handshake (or mid-setup query).
                self._cleanups.add(opening)
                opening.add_done_callback(self._adopt)
                raise
            except BaseException:
                self._size -= 1
                self._wake_one_to_open()
                raise
        waiter: asyncio.Future[Conn] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.put(waiter.result())  # handed over just as we were cancelled
            raise

    def _adopt(self, opening: asyncio.Task[Conn]) -> None:
        self._cleanups.discard(opening)
        if opening.cancelled() or opening.exception() is not None:
            self._size -= 1
            self._wake_one_to_open()
        else:
            self.put(opening.result())

    # -- returning ---------------------------------------------------------------------
    def put(self, conn: Conn) -> None:
        """Return a connection whose last statement completed outside a transaction."""
        if conn.is_closed():
            self._drop(conn)
            return
        if self._reset or conn.is_in_transaction():
            self.put_dirty(conn)
            return
        self._hand_over(conn)

    def _hand_over(self, conn: Conn) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        if self._closed:
            self._drop(conn)
            return
        self._idle.append((conn, time.monotonic()))

    def put_dirty(self, conn: Conn) -> None:
        """Return a connection after an error or cancellation: cleaned before reuse.

        A connection the server closed under its caller says the others idle
        since then are likely gone too (a restart, a mass termination), though
        their sockets may not have told us yet: they are dropped now, so the
        next caller opens a fresh connection instead of failing on a dead one.
        """
        if conn.is_closed():
            self._drop_idle()
        task = asyncio.get_running_loop().create_task(self.clean(conn))
        self._cleanups.add(task)
        task.add_done_callback(self._cleanups.discard)

    async def clean(self, conn: Conn) -> None:
        """Roll back, resynchronize and return ``conn``; terminate it if that fails."""
        try:
            async with asyncio.timeout(5):
                while not conn.is_closed():
                    try:
                        # ROLLBACK when a transaction is open; either statement also
                        # proves the protocol is back in sync after a cancellation.
                        await conn.execute("ROLLBACK" if conn.is_in_transaction() else "SELECT 1")
                        break
                    except asyncpg.InterfaceError:
                        # still waiting for a cancelled statement's cancel request
                        await asyncio.sleep(0.005)
                if self._reset and not conn.is_closed():
                    await conn.reset()  # RESET ALL, UNLISTEN *, advisory unlocks, ...
        except Exception:
            conn.terminate()
        if conn.is_closed() or conn.is_in_transaction():
            self._drop(conn)
        else:
            self._hand_over(conn)

    def _drop_idle(self) -> None:
        idle, self._idle = self._idle, collections.deque()
        for conn, _ in idle:
            self._drop(conn)

    def _drop(self, conn: Conn) -> None:
        if not conn.is_closed():
            conn.terminate()
        self._size -= 1
        self._wake_one_to_open()

    def _wake_one_to_open(self) -> None:
        """A slot freed up: a waiter, if any, opens a connection of its own."""
        if self._closed:
            return
        while self._waiters and self._size < self._max:
            waiter = self._waiters.popleft()
            if waiter.done():
                continue
            self._size += 1
            task = asyncio.get_running_loop().create_task(self._open_for(waiter))
            self._cleanups.add(task)
            task.add_done_callback(self._cleanups.discard)
            return

    async def _open_for(self, waiter: asyncio.Future[Conn]) -> None:
        try:
            conn = await self._connect()
        except BaseException as exc:
            self._size -= 1
            if not waiter.done():
                waiter.set_exception(exc)
            return
        if waiter.done():
            self.put(conn)
        else:
            waiter.set_result(conn)

    # -- asyncpg-style spellings, for code that holds a connection by hand ------------
    def acquire(self, *, timeout: float | _Default | None = _DEFAULT) -> _Acquire:
        """``conn = await pool.acquire()`` or ``async with pool.acquire() as conn``.

        Waits at most ``timeout`` seconds (the pool's ``acquire_timeout``, 30 s
        by default; ``None`` waits for ever).

        Raises:
            TimeoutError: no connection within the timeout.
            Everything :meth:`take` raises.
        """
        return _Acquire(self, self.acquire_timeout if isinstance(timeout, _Default) else timeout)

    async def release(self, conn: Conn) -> None:
        """Return a connection taken with :meth:`acquire` (cleaned first if needed)."""
        self.put(conn)

    # -- closing -----------------------------------------------------------------------
    async def close(self) -> None:
        """Close idle connections now; connections in use are closed as they come back."""
        self._closed = True
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(StoreClosed())
        self._waiters.clear()
        if self._cleanups:
            await asyncio.gather(*self._cleanups, return_exceptions=True)
        idle, self._idle = list(self._idle), collections.deque()
        await asyncio.gather(*(c.close(timeout=5) for c, _ in idle), return_exceptions=True)
        self._size -= len(idle)


class _Acquire:
    __slots__ = ("_conn", "_pool", "_timeout")

    def __init__(self, pool: Pool, timeout: float | None) -> None:
        self._pool = pool
        self._timeout = timeout
        self._conn: Conn | None = None

    def __await__(self) -> Generator[Any, None, Conn]:
        return self._pool.take(self._timeout).__await__()

    async def __aenter__(self) -> Conn:
        self._conn = await self._pool.take(self._timeout)
        return self._conn

    async def __aexit__(self, *exc: object) -> None:
        conn, self._conn = self._conn, None
        assert conn is not None
        if exc[0] is None:
            self._pool.put(conn)
        else:
            self._pool.put_dirty(conn)
