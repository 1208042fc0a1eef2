"""Advisory locks: leader election across connections, release at transaction end, the registry."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from migrations import LOCK_KEY as MIGRATIONS_LOCK_KEY
from store import PgStore, Store, connect
from store.errors import LockTimeout
from store.locks import (
    REGISTRY,
    AdvisoryLock,
    LockIdCollision,
    LockNameConflict,
    LockRegistry,
    UnregisteredLock,
    acquire,
    lock_id,
    register,
    try_acquire,
)

TIMEOUT = 5.0
LEADER = register("tests.locks.leader")
QUEUE = register("tests.locks.queue")


@pytest_asyncio.fixture
async def stores(db_dsn: str) -> AsyncIterator[tuple[PgStore, PgStore]]:
    a = await connect(db_dsn, min_size=1, max_size=2)
    b = await connect(db_dsn, min_size=1, max_size=2)
    yield a, b
    await a.close()
    await b.close()


async def test_only_one_of_two_concurrent_transactions_gets_the_lock(
    stores: tuple[PgStore, PgStore],
) -> None:
    a, b = stores
    a_holds, b_tried = asyncio.Event(), asyncio.Event()

    async def leader(tx: Store) -> bool:
        got = await try_acquire(tx, "tests.locks.leader")
        a_holds.set()
        await b_tried.wait()  # keep the transaction (and the lock) open meanwhile
        return got

    async def follower(tx: Store) -> bool:
        await a_holds.wait()
        got = await try_acquire(tx, LEADER)
        b_tried.set()
        return got

    async with asyncio.timeout(TIMEOUT):
        results = await asyncio.gather(
            a.in_tx(leader, tx_id="leader_a"), b.in_tx(follower, tx_id="leader_b")
        )
    assert list(results) == [True, False]


async def test_the_lock_is_released_at_commit_and_at_rollback(
    stores: tuple[PgStore, PgStore],
) -> None:
    a, b = stores

    async def take(tx: Store) -> bool:
        return await try_acquire(tx, LEADER)

    assert await a.in_tx(take, tx_id="first")
    assert await b.in_tx(take, tx_id="after_commit")

    async def take_then_fail(tx: Store) -> None:
        assert await try_acquire(tx, LEADER)
        raise RuntimeError("abort")

    with pytest.raises(RuntimeError):
        await a.in_tx(take_then_fail, tx_id="rolled_back")
    assert await b.in_tx(take, tx_id="after_rollback")


async def test_acquire_waits_until_the_holder_commits(stores: tuple[PgStore, PgStore]) -> None:
    a, b = stores
    held, release = asyncio.Event(), asyncio.Event()
    order: list[str] = []

    async def holder(tx: Store) -> None:
        await acquire(tx, QUEUE)
        held.set()
        await release.wait()
        order.append("holder done")

    async def waiter(tx: Store) -> None:
        await held.wait()
        await acquire(tx, "tests.locks.queue")
        order.append("waiter acquired")

    async with asyncio.timeout(TIMEOUT):
        holding = asyncio.create_task(a.in_tx(holder, tx_id="holder"))
        waiting = asyncio.create_task(b.in_tx(waiter, tx_id="waiter"))
        await held.wait()
        await asyncio.sleep(0.1)
        assert not waiting.done()  # blocked on the lock
        release.set()
        await asyncio.gather(holding, waiting)
    assert order == ["holder done", "waiter acquired"]


async def test_acquire_gives_up_after_lock_timeout(stores: tuple[PgStore, PgStore]) -> None:
    a, b = stores
    held, release = asyncio.Event(), asyncio.Event()

    async def holder(tx: Store) -> None:
        await acquire(tx, QUEUE)
        held.set()
        await release.wait()

    async def impatient(tx: Store) -> None:
        await acquire(tx, QUEUE)

    async with asyncio.timeout(TIMEOUT):
        holding = asyncio.create_task(a.in_tx(holder, tx_id="holder"))
        await held.wait()
        with pytest.raises(LockTimeout):
            await b.in_tx(impatient, tx_id="impatient", lock_timeout=0.05)
        release.set()
        await holding


async def test_an_unregistered_name_is_an_error_naming_it(stores: tuple[PgStore, PgStore]) -> None:
    a, _ = stores

    async def fn(tx: Store) -> None:
        with pytest.raises(UnregisteredLock, match=r"'tests\.locks\.typo'"):
            await try_acquire(tx, "tests.locks.typo")
        with pytest.raises(UnregisteredLock):
            await acquire(tx, AdvisoryLock("tests.locks.forged", 1))

    await a.in_tx(fn, tx_id="unregistered")


def test_registry_refuses_two_names_on_one_id() -> None:
    registry = LockRegistry(hash_fn=lambda name: 42)
    assert registry.register("purge") == AdvisoryLock("purge", 42)
    with pytest.raises(LockIdCollision, match=r"'reindex'.*'purge'"):
        registry.register("reindex")
    with pytest.raises(LockIdCollision):
        registry.register("explicit", id=42)
    assert registry.locks() == (AdvisoryLock("purge", 42),)


def test_registry_refuses_a_name_registered_again_with_another_id() -> None:
    registry = LockRegistry()
    lock = registry.register("purge")
    assert registry.register("purge") is lock  # same name, same id: the same lock
    with pytest.raises(LockNameConflict, match="'purge'"):
        registry.register("purge", id=lock.id + 1)
    assert registry.get("purge") == lock


def test_registry_refuses_empty_names_and_out_of_range_ids() -> None:
    registry = LockRegistry()
    with pytest.raises(ValueError, match="empty"):
        registry.register("")
    with pytest.raises(ValueError, match="64-bit"):
        registry.register("big", id=2**63)


def test_lock_ids_are_stable_signed_64_bit_blake2b_prefixes() -> None:
    assert lock_id("purge") == 2127141634717443871  # pinned: changing it moves every lock
    digest = hashlib.blake2b(b"tests.locks.leader", digest_size=8).digest()
    assert LEADER.id == int.from_bytes(digest, "big", signed=True)
    ids = [lock_id(f"worker-{i}") for i in range(1000)]
    assert all(-(2**63) <= i < 2**63 for i in ids)
    assert any(i < 0 for i in ids)


def test_the_migrations_lock_id_is_reserved() -> None:
    assert REGISTRY.get("txstore.migrations").id == MIGRATIONS_LOCK_KEY
