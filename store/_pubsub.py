"""Pub/sub over LISTEN/NOTIFY: transactional publish, one listener connection per process.

``publish`` runs ``pg_notify`` through a store's ``execute`` primitive, so inside
``in_tx`` the message leaves only when the transaction commits. ``PubSub`` owns
one dedicated connection (never from the query pool: LISTEN is session state,
and the pool skips the session reset), reconnects with jittered backoff,
re-LISTENs every channel, and feeds each subscriber through its own bounded
queue and delivery task. Whenever messages may have been lost (the connection
dropped, or the subscriber's queue overflowed) the subscriber receives a
:class:`Dropped` event in their place, never silence.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import enum
import random
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg
import structlog

from migrations._dsn import Dsn
from store._query import Kind, Param, Query
from store._sqlstate import unavailable
from store.errors import InvalidChannel, PayloadTooLarge, PubSubClosed

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "PUBLISH",
    "Callback",
    "DropReason",
    "Dropped",
    "Event",
    "InvalidChannel",
    "Message",
    "PayloadTooLarge",
    "PubSub",
    "PubSubClosed",
    "Subscription",
    "publish",
    "validate_channel",
]

_log = structlog.get_logger("txstore.pubsub")

#: NOTIFY refuses payloads of 8000 bytes or more (server encoding) in the default build.
MAX_PAYLOAD_BYTES = 7999
_MAX_CHANNEL_BYTES = 63  # NAMEDATALEN - 1
_CHANNEL = re.compile(r"[A-Za-z_][A-Za-z0-9_.:\-]*")

#: The query ``publish`` runs; layers that dispatch on query names (authorization)
#: declare it like any other query.
PUBLISH: Query[None] = Query(
    name="txstore.pubsub.Publish",
    kind=Kind.EXEC,
    sql="SELECT pg_catalog.pg_notify($1, $2)",
    params=(Param("channel", "text"), Param("payload", "text")),
    decode=None,
    source="store/_pubsub.py",
)


def validate_channel(channel: str) -> str:
    """Return ``channel`` when it is a valid channel name.

    Raises:
        InvalidChannel: empty, longer than 63 bytes, or a character outside
            ``[A-Za-z0-9_.:-]`` (first character a letter or ``_``).
    """
    if not _CHANNEL.fullmatch(channel) or len(channel.encode()) > _MAX_CHANNEL_BYTES:
        raise InvalidChannel(
            f"invalid channel name {channel!r}: use 1-{_MAX_CHANNEL_BYTES} characters from "
            "[A-Za-z0-9_.:-], starting with a letter or '_'"
        )
    return channel


class _Executes(Protocol):
    async def execute(self, query: Query[None], args: tuple[object, ...]) -> None: ...


async def publish(store: _Executes, channel: str, payload: str = "") -> None:
    """Send ``payload`` to every listener of ``channel``.

    Given a transaction handle, the message is delivered when that transaction
    commits and never if it rolls back; given a store, it is sent at once.
    Listeners receive messages of one transaction in order, after the commit.

    Raises:
        InvalidChannel: ``channel`` is not a valid channel name.
        PayloadTooLarge: ``payload`` is too long for NOTIFY (checked before sending).
        TransactionClosed, OuterStoreUsedInTransaction, DatabaseUnavailable: as
            for any query on ``store``.
    """
    validate_channel(channel)
    size = len(payload.encode())
    if size > MAX_PAYLOAD_BYTES or "\x00" in payload:
        raise PayloadTooLarge(channel, size, MAX_PAYLOAD_BYTES)
    await store.execute(PUBLISH, (channel, payload))


# -- events -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Message:
    """One notification: its channel, payload and the publishing backend's pid."""

    channel: str
    payload: str
    pid: int


class DropReason(enum.StrEnum):
    """Why messages may have been lost."""

    RECONNECTED = "reconnected"  # the listener connection dropped and was re-established
    OVERFLOW = "overflow"  # the subscriber's queue was full


@dataclass(frozen=True, slots=True)
class Dropped:
    """Messages on ``channel`` may have been lost at this point of the stream.

    ``missed`` counts the messages discarded for overflow; it is None after a
    reconnect, where nobody knows. Re-read whatever state the messages stand for.
    """

    channel: str
    reason: DropReason
    missed: int | None = None


Event = Message | Dropped
Callback = Callable[[Event], Awaitable[None]]


class _Gap:
    """A place in a queue where messages were lost (mutable while it is the tail)."""

    __slots__ = ("missed", "reason")

    def __init__(self, reason: DropReason, missed: int | None) -> None:
        self.reason = reason
        self.missed = missed


class Subscription:
    """One subscriber: a bounded queue and the task that feeds its callback.

    ``await unsubscribe()`` (or ``async with``) stops delivery; it may be called
    from the callback itself.
    """

    def __init__(self, hub: PubSub, channel: str, callback: Callback, queue_size: int) -> None:
        self.channel = channel
        self._hub = hub
        self._callback = callback
        self._size = queue_size
        self._queue: collections.deque[Message | _Gap] = collections.deque()
        self._count = 0  # messages (not gaps) in the queue
        self._ready = asyncio.Event()
        self._lost = False  # the connection dropped; a gap goes before the next message
        self._closed = False
        self._task = asyncio.create_task(self._deliver(), name=f"txstore-pubsub:{channel}")

    @property
    def active(self) -> bool:
        """False once unsubscribed or the hub is closed."""
        return not self._closed

    async def unsubscribe(self) -> None:
        """Stop delivery: nothing is delivered after this returns (idempotent).

        Called from another task, a callback still running for this subscription
        is cancelled; called from the callback itself, it finishes normally.
        """
        if self._closed:
            return
        self._stop()
        await self._hub._remove(self)

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.unsubscribe()

    # -- called by the hub, on the event loop ----------------------------------------
    def _offer(self, message: Message) -> None:
        if self._closed:
            return
        if self._lost:
            self._lost = False
            self._gap(DropReason.RECONNECTED, None)
        if self._count >= self._size:
            self._gap(DropReason.OVERFLOW, 1)
        else:
            self._queue.append(message)
            self._count += 1
        self._ready.set()

    def _reconnected(self) -> None:
        if self._lost and not self._closed:
            self._lost = False
            self._gap(DropReason.RECONNECTED, None)
            self._ready.set()

    def _gap(self, reason: DropReason, missed: int | None) -> None:
        tail = self._queue[-1] if self._queue else None
        if isinstance(tail, _Gap):  # one gap stands for every loss since the last message
            if reason is DropReason.RECONNECTED or tail.missed is None or missed is None:
                tail.reason, tail.missed = DropReason.RECONNECTED, None
            else:
                tail.missed += missed
        else:
            self._queue.append(_Gap(reason, missed))

    def _stop(self) -> None:
        self._closed = True
        self._queue.clear()
        self._count = 0
        if self._task is not asyncio.current_task():
            self._task.cancel()  # from the callback itself, the loop ends after it returns
        self._ready.set()

    async def _deliver(self) -> None:
        while not self._closed:
            if not self._queue:
                self._ready.clear()
                await self._ready.wait()
                continue
            item = self._queue.popleft()
            event: Event
            if isinstance(item, Message):
                self._count -= 1
                event = item
            else:
                event = Dropped(self.channel, item.reason, item.missed)
            try:
                await self._callback(event)
            except Exception:
                _log.exception("subscriber failed", channel=self.channel)


class PubSub:
    """The process's LISTEN connection and its subscribers.

    Use one per process: ``async with PubSub(dsn) as hub:`` (or ``await
    hub.start()`` / ``await hub.close()``), then ``await hub.subscribe(channel,
    callback)``. The callback receives :class:`Message` and :class:`Dropped`
    events, one at a time, in order, from the subscriber's own task.
    """

    def __init__(
        self,
        dsn: str,
        *,
        queue_size: int = 1000,
        backoff: float = 0.05,
        max_backoff: float = 5.0,
        health_interval: float = 30.0,
        connect_timeout: float = 10.0,
        application_name: str = "txstore-pubsub",
    ) -> None:
        self._dsn = dsn
        self._queue_size = queue_size
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._health_interval = health_interval
        self._connect_timeout = connect_timeout
        self._application_name = application_name
        self._subs: dict[str, list[Subscription]] = {}
        self._conn: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()  # one statement at a time on the listener connection
        self._lost = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None
        self._closed = False
        #: Completed reconnects since start (for monitoring).
        self.reconnects = 0

    @property
    def connected(self) -> bool:
        """True while the listener connection is up and listening."""
        return self._conn is not None and not self._conn.is_closed()

    @property
    def backend_pid(self) -> int | None:
        """The server pid of the listener connection, None while disconnected."""
        return self._conn.get_server_pid() if self.connected and self._conn else None

    async def start(self) -> None:
        """Open the listener connection; from here on a lost connection is re-opened.

        Raises:
            DatabaseUnavailable: the first connection failed (the message names
                the host and never the password).
            PubSubClosed: the hub was closed.
        """
        if self._closed:
            raise PubSubClosed("cannot start: this PubSub is closed")
        if self._supervisor is not None:
            return
        try:
            await self._connect()
        except (
            OSError,
            TimeoutError,
            ValueError,  # a malformed DSN (MalformedDsn) or a parameter the driver refused
            OverflowError,
            asyncpg.PostgresError,
            asyncpg.InterfaceError,
        ) as exc:
            raise unavailable(self._dsn, exc) from None
        self._supervisor = asyncio.create_task(self._supervise(), name="txstore-pubsub")

    async def close(self) -> None:
        """Stop every subscriber and close the connection (idempotent)."""
        self._closed = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        subs = [sub for subs in self._subs.values() for sub in subs]
        self._subs.clear()
        for sub in subs:
            sub._stop()
        for sub in subs:
            with contextlib.suppress(asyncio.CancelledError):
                await sub._task
        conn, self._conn = self._conn, None
        if conn is not None:
            await _close(conn)

    async def __aenter__(self) -> PubSub:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def subscribe(
        self, channel: str, callback: Callback, *, queue_size: int | None = None
    ) -> Subscription:
        """Deliver every message published on ``channel`` after this returns to ``callback``.

        ``queue_size`` (default: the hub's) bounds the messages waiting for a slow
        callback; beyond it they are replaced by one :class:`Dropped` event. While
        the connection is down the subscription is kept, and a ``Dropped`` event
        follows the reconnect.

        Raises:
            InvalidChannel: ``channel`` is not a valid channel name.
            ValueError: ``queue_size`` is less than 1.
            PubSubClosed: the hub is not started or already closed.
        """
        validate_channel(channel)
        if self._closed or self._supervisor is None:
            raise PubSubClosed(f"cannot subscribe to {channel!r}: the PubSub is not running")
        size = self._queue_size if queue_size is None else queue_size
        if size < 1:
            raise ValueError(f"queue_size must be at least 1, not {size}")
        sub = Subscription(self, channel, callback, size)
        self._subs.setdefault(channel, []).append(sub)
        async with self._lock:
            conn = self._conn
            if conn is None or conn.is_closed():
                sub._lost = True  # the reconnect will LISTEN and signal the gap
                return sub
            try:
                await conn.add_listener(channel, self._on_notify)  # LISTEN once per channel
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                _log.warning("listen failed; reconnecting", channel=channel, error=str(exc))
                sub._lost = True
                self._lost.set()
        return sub

    # -- internals ------------------------------------------------------------------
    async def _remove(self, sub: Subscription) -> None:
        subs = self._subs.get(sub.channel)
        if subs is None or sub not in subs:
            return
        subs.remove(sub)
        if subs:
            return
        del self._subs[sub.channel]
        async with self._lock:
            conn = self._conn
            if conn is not None and not conn.is_closed() and sub.channel not in self._subs:
                with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                    await conn.remove_listener(sub.channel, self._on_notify)

    def _on_notify(self, conn: Any, pid: int, channel: str, payload: object) -> None:
        message = Message(channel, str(payload), pid)
        for sub in tuple(self._subs.get(channel, ())):
            sub._offer(message)

    def _on_terminated(self, conn: Any) -> None:
        if conn is self._conn:
            self._lost.set()

    async def _connect(self) -> None:
        dsn = Dsn.parse(self._dsn)  # the password goes apart, so no message can quote it
        conn = await asyncpg.connect(
            dsn.without_password(),
            password=dsn.password,
            timeout=self._connect_timeout,
            statement_cache_size=0,
            server_settings={"application_name": self._application_name},
        )
        try:
            async with self._lock:
                self._lost.clear()
                conn.add_termination_listener(self._on_terminated)
                for channel in list(self._subs):
                    await conn.add_listener(channel, self._on_notify)
                self._conn = conn
        except BaseException:
            await _close(conn)
            raise
        for subs in self._subs.values():
            for sub in subs:
                sub._reconnected()

    async def _supervise(self) -> None:
        while not self._closed:
            await self._watch()
            conn, self._conn = self._conn, None
            for subs in self._subs.values():
                for sub in subs:
                    sub._lost = True
            if conn is not None:
                await _close(conn)
            _log.warning("listener connection lost; reconnecting")
            attempt = 0
            while not self._closed:
                delay = min(self._max_backoff, self._backoff * 2**attempt)
                await asyncio.sleep(delay * random.uniform(0.5, 1.5))  # noqa: S311  # jitter
                attempt += 1
                try:
                    await self._connect()
                except Exception as e:  # whatever failed, the supervisor must keep trying
                    _log.warning("listener reconnect failed", attempt=attempt, error=repr(e))
                    continue
                self.reconnects += 1
                _log.info("listener reconnected", attempt=attempt)
                break

    async def _watch(self) -> None:
        """Return when the connection is lost; a periodic ping finds half-open sockets."""
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._health_interval):
                    await self._lost.wait()
                return
            conn = self._conn
            if conn is None or conn.is_closed():
                return
            try:
                async with self._lock, asyncio.timeout(self._connect_timeout):
                    await conn.execute("SELECT 1")
            except Exception as e:  # a connection dying mid-ping can raise internal errors too
                _log.warning("listener ping failed", error=repr(e))
                return


async def _close(conn: asyncpg.Connection) -> None:
    try:
        async with asyncio.timeout(1.0):
            await conn.close()
    except Exception:  # already broken: drop the socket
        conn.terminate()
