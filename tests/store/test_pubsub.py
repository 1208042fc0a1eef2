"""Pub/sub: delivery on commit, reconnect with a drop signal, bounded per-subscriber queues."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Callable

import asyncpg
import pytest
import pytest_asyncio

from store import Store, connect
from store.pubsub import (
    MAX_PAYLOAD_BYTES,
    Dropped,
    DropReason,
    Event,
    InvalidChannel,
    Message,
    PayloadTooLarge,
    PubSub,
    PubSubClosed,
    publish,
)
from store.testing import TestServer

TIMEOUT = 5.0


class Inbox:
    """A subscriber callback that records events; optionally blocks until released."""

    def __init__(self, *, blocked: bool = False) -> None:
        self.events: list[Event] = []
        self.release = asyncio.Event()
        self.entered = asyncio.Event()
        self._changed = asyncio.Condition()
        if not blocked:
            self.release.set()

    async def __call__(self, event: Event) -> None:
        self.entered.set()
        await self.release.wait()
        async with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    @property
    def payloads(self) -> list[str]:
        return [e.payload for e in self.events if isinstance(e, Message)]

    async def until(self, predicate: Callable[[list[Event]], bool]) -> None:
        async with asyncio.timeout(TIMEOUT), self._changed:
            await self._changed.wait_for(lambda: predicate(self.events))

    async def until_payload(self, payload: str) -> None:
        await self.until(lambda _: payload in self.payloads)


@pytest_asyncio.fixture
async def store(db_dsn: str) -> AsyncIterator[Store]:
    s = await connect(db_dsn, min_size=1, max_size=4)
    yield s
    await s.close()


@pytest_asyncio.fixture
async def hub(db_dsn: str) -> AsyncIterator[PubSub]:
    # a short health interval runs the liveness ping alongside every test
    async with PubSub(db_dsn, backoff=0.01, max_backoff=0.1, health_interval=0.02) as h:
        yield h


async def test_publish_in_tx_is_delivered_on_commit_only(store: Store, hub: PubSub) -> None:
    inbox = Inbox()
    await hub.subscribe("orders", inbox)

    async def commit(tx: Store) -> None:
        await publish(tx, "orders", "committed")
        await asyncio.sleep(0.05)
        assert inbox.events == []  # not before the commit

    await store.in_tx(commit, tx_id="publish_commit")
    await inbox.until_payload("committed")

    async def roll_back(tx: Store) -> None:
        await publish(tx, "orders", "rolled back")
        raise RuntimeError("abort")

    with pytest.raises(RuntimeError):
        await store.in_tx(roll_back, tx_id="publish_rollback")
    await publish(store, "orders", "after")
    await inbox.until_payload("after")
    assert inbox.payloads == ["committed", "after"]
    assert all(isinstance(e, Message) and e.channel == "orders" for e in inbox.events)


async def test_reconnect_after_terminate_signals_drop_and_resumes(
    db_dsn: str, store: Store, hub: PubSub
) -> None:
    inbox = Inbox()
    await hub.subscribe("jobs", inbox)
    await publish(store, "jobs", "before")
    await inbox.until_payload("before")
    old_pid = hub.backend_pid
    assert old_pid is not None

    admin = await asyncpg.connect(db_dsn)
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", old_pid)
    finally:
        await admin.close()

    await inbox.until(lambda events: any(isinstance(e, Dropped) for e in events))
    assert inbox.events[-1] == Dropped("jobs", DropReason.RECONNECTED, None)
    assert hub.connected
    assert hub.backend_pid not in (None, old_pid)
    assert hub.reconnects == 1
    await publish(store, "jobs", "after")
    await inbox.until_payload("after")
    assert inbox.payloads == ["before", "after"]


async def test_slow_subscriber_does_not_block_a_fast_one(store: Store, hub: PubSub) -> None:
    slow, fast = Inbox(blocked=True), Inbox()
    await hub.subscribe("events", slow)
    await hub.subscribe("events", fast)
    for i in range(5):
        await publish(store, "events", str(i))
    await fast.until_payload("4")
    assert fast.payloads == ["0", "1", "2", "3", "4"]
    assert slow.events == []
    slow.release.set()
    await slow.until_payload("4")
    assert slow.payloads == ["0", "1", "2", "3", "4"]


async def test_queue_overflow_delivers_a_dropped_signal(store: Store, hub: PubSub) -> None:
    slow, witness = Inbox(blocked=True), Inbox()
    await hub.subscribe("burst", slow, queue_size=2)
    await hub.subscribe("burst", witness)
    await publish(store, "burst", "0")
    async with asyncio.timeout(TIMEOUT):
        await slow.entered.wait()  # "0" is in the callback; the queue is empty

    async def burst(tx: Store) -> None:
        for i in range(1, 6):
            await publish(tx, "burst", str(i))

    await store.in_tx(burst, tx_id="burst")
    await witness.until_payload("5")
    slow.release.set()
    await slow.until(lambda events: len(events) == 4)
    assert slow.payloads == ["0", "1", "2"]  # the one in hand and a full queue of two
    assert slow.events[3] == Dropped("burst", DropReason.OVERFLOW, 3)
    await publish(store, "burst", "6")
    await slow.until_payload("6")  # delivery goes on after the gap


async def test_oversized_payload_is_refused_before_sending(store: Store, hub: PubSub) -> None:
    inbox = Inbox()
    await hub.subscribe("big", inbox)

    async def fn(tx: Store) -> None:
        with pytest.raises(PayloadTooLarge, match="8000 bytes") as info:
            await publish(tx, "big", "x" * (MAX_PAYLOAD_BYTES + 1))
        assert info.value.size == MAX_PAYLOAD_BYTES + 1
        with pytest.raises(PayloadTooLarge):
            await publish(tx, "big", "é" * 4000)  # 4000 characters, 8000 bytes
        # nothing reached the server: the transaction is not aborted and commits
        await publish(tx, "big", "y" * MAX_PAYLOAD_BYTES)

    await store.in_tx(fn, tx_id="oversized")
    await inbox.until(lambda events: len(events) == 1)
    assert inbox.payloads == ["y" * MAX_PAYLOAD_BYTES]


async def test_unsubscribe_stops_delivery(store: Store, hub: PubSub) -> None:
    kept, gone = Inbox(), Inbox()
    await hub.subscribe("news", kept)
    sub = await hub.subscribe("news", gone)
    await sub.unsubscribe()
    await sub.unsubscribe()  # idempotent
    assert not sub.active
    await publish(store, "news", "1")
    await kept.until_payload("1")
    assert gone.events == []


async def test_unsubscribe_from_the_callback_itself(store: Store, hub: PubSub) -> None:
    seen: list[str] = []
    done = asyncio.Event()

    async def once(event: Event) -> None:
        assert isinstance(event, Message)
        seen.append(event.payload)
        await sub.unsubscribe()
        done.set()

    sub = await hub.subscribe("once", once)
    witness = Inbox()
    await hub.subscribe("once", witness)
    await publish(store, "once", "a")
    await publish(store, "once", "b")
    await witness.until_payload("b")
    async with asyncio.timeout(TIMEOUT):
        await done.wait()
    assert seen == ["a"]


async def test_last_unsubscribe_unlistens_and_a_new_subscriber_listens_again(
    store: Store, hub: PubSub
) -> None:
    first = Inbox()
    sub = await hub.subscribe("again", first)
    await sub.unsubscribe()
    second = Inbox()
    await hub.subscribe("again", second)
    await publish(store, "again", "x")
    await second.until_payload("x")
    assert first.events == []


async def test_a_failing_callback_does_not_stop_its_delivery(store: Store, hub: PubSub) -> None:
    seen: list[str] = []

    async def flaky(event: Event) -> None:
        assert isinstance(event, Message)
        seen.append(event.payload)
        if event.payload == "boom":
            raise ValueError("subscriber bug")

    await hub.subscribe("flaky", flaky)
    witness = Inbox()
    await hub.subscribe("flaky", witness)
    await publish(store, "flaky", "boom")
    await publish(store, "flaky", "ok")
    await witness.until_payload("ok")
    await asyncio.sleep(0.01)
    assert seen == ["boom", "ok"]


@pytest.mark.parametrize("channel", ["", "1abc", "has space", "semi;colon", 'q"uote', "x" * 64])
async def test_invalid_channel_names_are_refused(store: Store, channel: str) -> None:
    with pytest.raises(InvalidChannel):
        await publish(store, channel, "x")


async def test_subscribe_needs_a_running_hub(db_dsn: str) -> None:
    hub = PubSub(db_dsn)
    with pytest.raises(PubSubClosed):
        await hub.subscribe("x", Inbox())
    await hub.start()
    await hub.close()
    with pytest.raises(PubSubClosed):
        await hub.subscribe("x", Inbox())


async def test_a_subscriber_added_while_disconnected_gets_the_drop_signal(
    db_dsn: str, store: Store
) -> None:
    async with PubSub(db_dsn, backoff=0.3, max_backoff=0.3) as hub:
        first = Inbox()
        await hub.subscribe("late", first)
        admin = await asyncpg.connect(db_dsn)
        try:
            await admin.execute("SELECT pg_terminate_backend($1)", hub.backend_pid)
        finally:
            await admin.close()
        async with asyncio.timeout(TIMEOUT):
            while hub.connected:  # noqa: ASYNC110  # a property to poll, no event to await
                await asyncio.sleep(0.001)
        late = Inbox()
        await hub.subscribe("late", late)  # the first reconnect is >= 150 ms away
        await late.until(lambda events: len(events) == 1)
        assert late.events == [Dropped("late", DropReason.RECONNECTED, None)]
        await publish(store, "late", "hello")
        await late.until_payload("hello")
        await first.until_payload("hello")
        assert first.events[0] == Dropped("late", DropReason.RECONNECTED, None)


async def test_queue_size_must_be_positive(hub: PubSub) -> None:
    with pytest.raises(ValueError, match="queue_size"):
        await hub.subscribe("x", Inbox(), queue_size=0)


async def test_a_frozen_listener_backend_is_found_by_the_ping_and_replaced(
    pg_server: TestServer, db_dsn: str, store: Store
) -> None:
    # A half-open connection: the socket stays up but nothing answers, as when a
    # server host vanishes without closing its connections. SIGSTOP on the
    # listener's backend process gives exactly that on a local server.
    if pg_server.source.startswith(("TXSTORE_TEST_DSN", "testcontainers")):
        pytest.skip(f"freezing a backend needs the local server, not {pg_server.source}")
    inbox = Inbox()
    async with PubSub(
        db_dsn, backoff=0.01, max_backoff=0.1, health_interval=0.1, connect_timeout=0.5
    ) as hub:
        await hub.subscribe("frozen", inbox)
        await publish(store, "frozen", "before")
        await inbox.until_payload("before")
        frozen = hub.backend_pid
        assert frozen is not None
        os.kill(frozen, signal.SIGSTOP)
        try:
            # No termination message ever arrives: only the ping can notice.
            await inbox.until(lambda events: any(isinstance(e, Dropped) for e in events))
            assert inbox.events[-1] == Dropped("frozen", DropReason.RECONNECTED, None)
            assert hub.backend_pid not in (None, frozen)
            await publish(store, "frozen", "after")
            await inbox.until_payload("after")
        finally:
            os.kill(frozen, signal.SIGCONT)  # it finds its client gone and exits
    assert inbox.payloads == ["before", "after"]
