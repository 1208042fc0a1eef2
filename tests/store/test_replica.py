"""ReplicaRoutingStore against a real streaming replica of a local primary."""

from __future__ import annotations

import asyncio
import datetime
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from workspaces.db import DELETE_API_KEYS_BY_USER_ID, DELETE_ORGANIZATION, Queries

import migrations
import store
from store._config import load_config
from store._localpg import TEST_SETTINGS, LocalCluster
from store._pg import open_pool
from store._query import BATCH_INDEX, Kind, Param, Query
from store._replica import ReplicaRoutingStore, connect_with_replica
from store.errors import DatabaseError, NotFound, OuterStoreUsedInTransaction
from tests.faults._support import cluster_root, persistent_cluster

T0 = datetime.datetime(2024, 3, 1, 12, 0, tzinfo=datetime.UTC)


def _flag(record: Mapping[str, Any]) -> bool:
    return bool(record["in_recovery"])


#: A declared read: True on the replica (a standby is in recovery), False on the primary.
IN_RECOVERY: Query[bool] = Query(
    name="in_recovery",
    kind=Kind.ONE,
    sql="SELECT pg_is_in_recovery() AS in_recovery",
    params=(),
    decode=_flag,
    source="tests/store/test_replica.py",
)


#: The same read as a :batchone (its batch index the only parameter).
IN_RECOVERY_EACH: Query[bool] = Query(
    name="in_recovery_each",
    kind=Kind.BATCHONE,
    sql=(
        "SELECT q.*, $1::int4 AS txstore_batch_index FROM (\n"
        "SELECT pg_is_in_recovery() AS in_recovery\n) AS q"
    ),
    params=(Param(BATCH_INDEX, "int4"),),
    decode=_flag,
    source="tests/store/test_replica.py",
)
#: A :batchexec write: the replica would refuse it as read-only.
DELETE_KEYS_EACH: Query[None] = Query(
    name="delete_keys_each",
    kind=Kind.BATCHEXEC,
    sql="DELETE FROM api_keys WHERE user_id = $1",
    params=(Param("user_id", "uuid"),),
    decode=None,
    source="tests/store/test_replica.py",
)


@dataclass
class Pair:
    primary: LocalCluster
    replica: LocalCluster


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    """A primary migrated to head and a hot standby made with ``pg_basebackup -R``."""
    settings = {"full_page_writes": "on", "wal_level": "replica", "synchronous_commit": "on"}
    with cluster_root() as root, persistent_cluster(root, settings=settings) as primary:
        migrations_dir = load_config().migrations
        asyncio.run(migrations.up(primary.dsn(), directory=migrations_dir))
        replica_data = root / "replica" / "data"
        (root / "replica").mkdir(mode=0o700)
        primary._chown(root / "replica")
        subprocess.run(
            [
                primary.binaries.tool("pg_basebackup"),
                *("-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres"),
                *("-D", str(replica_data), "-R", "-X", "stream", "-c", "fast", "--no-sync"),
            ],
            check=True,
            capture_output=True,
            user=primary._uid,
            group=primary._gid,
            extra_groups=primary._groups,
        )
        with persistent_cluster(root, name="replica", settings=TEST_SETTINGS) as replica:
            yield Pair(primary, replica)


@pytest_asyncio.fixture
async def routing(pair: Pair) -> AsyncIterator[ReplicaRoutingStore]:
    pg = await connect_with_replica(pair.primary.dsn(), pair.replica.dsn(), min_size=1, max_size=3)
    try:
        yield pg
    finally:
        await pg.close()


async def _caught_up(pair: Pair) -> None:
    """Wait until the replica has replayed everything the primary has written so far."""
    primary = await asyncpg.connect(pair.primary.dsn())
    replica = await asyncpg.connect(pair.replica.dsn())
    try:
        target = await primary.fetchval("SELECT pg_current_wal_insert_lsn()")
        query = "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn"
        async with asyncio.timeout(20):
            # Polling the standby, which has no event to wait on.
            while not await replica.fetchval(query, target):  # noqa: ASYNC110
                await asyncio.sleep(0.01)
    finally:
        await primary.close()
        await replica.close()


async def _new_org(pg: store.Store, name: str) -> uuid.UUID:
    org = uuid.uuid4()
    await Queries(pg).insert_organization(
        id=org,
        name=name,
        display_name=name,
        description="",
        icon="",
        is_default=False,
        created_at=T0,
    )
    return org


async def test_reads_go_to_the_replica_and_see_replicated_writes(
    routing: ReplicaRoutingStore, pair: Pair
) -> None:
    assert await routing.fetch_one(IN_RECOVERY, ()) is True  # a declared read: the replica
    org = await _new_org(routing, f"org-{uuid.uuid4().hex[:8]}")  # a write: the primary
    await _caught_up(pair)
    assert (await Queries(routing).get_organization_by_id(id=org)).id == org
    assert (await Queries(routing.replica).get_organization_by_id(id=org)).id == org


async def test_writes_never_reach_the_replica(routing: ReplicaRoutingStore) -> None:
    # The replica refuses writes (SQLSTATE 25006), so any misrouted write would fail here.
    with pytest.raises(DatabaseError, match="read-only transaction") as refused:
        await _new_org(routing.replica, "refused")
    assert refused.value.sqlstate == "25006"

    async def write(tx: store.Store) -> bool:
        await _new_org(tx, f"tx-{uuid.uuid4().hex[:8]}")
        return await tx.fetch_one(IN_RECOVERY, ())

    assert await routing.in_tx(write) is False  # a read-write transaction: the primary
    assert await routing.execute_rows(DELETE_API_KEYS_BY_USER_ID, (uuid.uuid4(),)) == 0
    # A :one write (run by fetch_one): on the replica it would be refused as read-only.
    with pytest.raises(NotFound):
        await routing.fetch_one(DELETE_ORGANIZATION, (uuid.uuid4(),))


async def test_batches_run_on_the_primary(routing: ReplicaRoutingStore) -> None:
    assert await routing.fetch_batch(IN_RECOVERY_EACH, [(0,), (1,)]) == [[False], [False]]
    assert await routing.execute_batch(DELETE_KEYS_EACH, [(uuid.uuid4(),), (uuid.uuid4(),)]) == 2


async def test_read_only_transactions_run_on_the_replica_unless_serializable(
    routing: ReplicaRoutingStore,
) -> None:
    async def where(tx: store.Store) -> bool:
        return await tx.fetch_one(IN_RECOVERY, ())

    assert await routing.in_tx(where, read_only=True) is True
    assert await routing.in_tx(where, read_only=True, isolation="repeatable read") is True
    # A hot standby has no serializable isolation: such transactions use the primary.
    assert await routing.in_tx(where, read_only=True, isolation="serializable") is False


async def test_primary_only_reads_see_the_latest_commit(pair: Pair) -> None:
    pg = await connect_with_replica(
        pair.primary.dsn(), pair.replica.dsn(), primary_only={"in_recovery"}, max_size=2
    )
    try:
        assert await pg.fetch_one(IN_RECOVERY, ()) is False
    finally:
        await pg.close()


async def test_poisoning_covers_primary_and_replica(routing: ReplicaRoutingStore) -> None:
    async def misuse(tx: store.Store) -> None:
        await Queries(routing).get_default_organization()  # txstore-lint: ignore[outer-store-in-tx]

    for read_only in (False, True):
        with pytest.raises(OuterStoreUsedInTransaction, match="get_default_organization"):
            await routing.in_tx(misuse, read_only=read_only, tx_id="poisoned")


async def test_a_replica_with_its_own_poisoning_is_refused(pair: Pair) -> None:
    primary = await store.connect(pair.primary.dsn(), min_size=1, max_size=1)
    replica = store.PgStore(await open_pool(pair.replica.dsn(), min_size=1, max_size=1))
    try:
        with pytest.raises(ValueError, match="poison_key"):
            ReplicaRoutingStore(primary, replica)
    finally:
        await replica.close()
        await primary.close()


FAILING_READ: Query[bool] = Query(
    name="failing_read",
    kind=Kind.ONE,
    sql="SELECT 1 / 0 = 1 AS in_recovery",
    params=(),
    decode=_flag,
    source="tests/store/test_replica.py",
)


async def test_a_failed_read_on_the_replica_keeps_its_connections(
    routing: ReplicaRoutingStore,
) -> None:
    # A standby is read-only by nature: unlike a primary that turned read-only
    # (a failover), its connections are not dropped when a statement fails.
    replica = routing.replica
    assert isinstance(replica, store.PgStore)
    await asyncio.gather(*(routing.fetch_one(IN_RECOVERY, ()) for _ in range(3)))
    opened = replica.pool.get_size()
    assert opened >= 2
    with pytest.raises(DatabaseError, match="division by zero"):
        await routing.fetch_one(FAILING_READ, ())
    with pytest.raises(DatabaseError, match="division by zero"):  # rolled back by the pool
        await routing.in_tx(lambda tx: tx.fetch_one(FAILING_READ, ()), read_only=True)
    async with asyncio.timeout(5):
        # the failed connection is cleaned in a background task, with no event to wait on
        while replica.pool.get_idle_size() < opened:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    assert replica.pool.get_size() == opened
