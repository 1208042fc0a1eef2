"""The store through PgBouncer in transaction pooling mode, with ``statement_cache_size=0``."""

from __future__ import annotations

import asyncio
import datetime
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from workspaces.db import Queries

import store
from store import Kind, Param, Query
from store.errors import OuterStoreUsedInTransaction, StatementTimeout, UniqueViolation
from store.testing._pgbouncer import PgBouncer
from store.testing._server import TestServer
from tests.store._queries import GET_COUNTER, SCHEMA, SET_COUNTER, SLEEP

pytestmark = pytest.mark.pgbouncer

T0 = datetime.datetime(2024, 3, 1, 12, 0, tzinfo=datetime.UTC)
CLIENTS = 12  # client connections, multiplexed onto...
SERVERS = 4  # ...this many server connections per database


@pytest.fixture(scope="module")
def bouncer(pg_server: TestServer) -> Iterator[PgBouncer]:
    with PgBouncer(pg_server.admin_dsn, default_pool_size=SERVERS) as bouncer:
        yield bouncer


@pytest_asyncio.fixture
async def pg(db_dsn: str, bouncer: PgBouncer) -> AsyncIterator[store.PgStore]:
    conn = await asyncpg.connect(db_dsn)
    await conn.execute(SCHEMA + "INSERT INTO counters (name) VALUES ('c');")
    await conn.close()
    dbname = db_dsn.rsplit("/", 1)[1]
    pg = await store.connect(
        bouncer.dsn(dbname), min_size=1, max_size=CLIENTS, statement_cache_size=0
    )
    try:
        yield pg
    finally:
        await pg.close()


async def _org(pg: store.Store, name: str, org: uuid.UUID | None = None) -> uuid.UUID:
    org = org or uuid.uuid4()
    await Queries(pg).insert_organization(
        id=org,
        name=name,
        display_name=name.title(),
        description="",
        icon="",
        is_default=False,
        created_at=T0,
    )
    return org


async def test_typed_queries_round_trip(pg: store.PgStore) -> None:
    org = await _org(pg, "acme")
    assert (await Queries(pg).get_organization_by_id(id=org)).name == "acme"
    assert [o.id for o in await Queries(pg).list_organizations(limit_rows=10, offset_rows=0)] == [
        org
    ]
    with pytest.raises(UniqueViolation):
        await _org(pg, "acme")


async def test_commit_rollback_and_savepoints(pg: store.PgStore) -> None:
    async def nested(tx: store.Store) -> None:
        await _org(tx, "kept")

        async def inner(sp: store.Store) -> None:
            await _org(sp, "undone")
            raise RuntimeError("roll back the savepoint")

        with pytest.raises(RuntimeError):
            await tx.in_tx(inner)
        await _org(tx, "also-kept")

    await pg.in_tx(nested)

    async def failing(tx: store.Store) -> None:
        await _org(tx, "rolled-back")
        raise RuntimeError("roll back everything")

    with pytest.raises(RuntimeError):
        await pg.in_tx(failing)
    names = [o.name for o in await Queries(pg).list_organizations(limit_rows=10, offset_rows=0)]
    assert sorted(names) == ["also-kept", "kept"]


async def test_per_transaction_timeouts_work_through_the_bouncer(pg: store.PgStore) -> None:
    with pytest.raises(StatementTimeout):
        await pg.in_tx(lambda tx: tx.execute(SLEEP, (30.0,)), statement_timeout=0.05)
    await pg.in_tx(lambda tx: tx.execute(SLEEP, (0.0,)))  # SET LOCAL did not leak


async def test_poisoning(pg: store.PgStore) -> None:
    async def misuse(tx: store.Store) -> None:
        await Queries(pg).get_default_organization()  # txstore-lint: ignore[outer-store-in-tx]

    with pytest.raises(OuterStoreUsedInTransaction):
        await pg.in_tx(misuse, tx_id="poisoned")


async def test_serialization_failures_are_retried(pg: store.PgStore) -> None:
    writers = SERVERS  # each waits at the barrier inside a transaction: one server connection each
    runs = 0
    read = asyncio.Barrier(writers)

    async def increment(tx: store.Store) -> None:
        nonlocal runs
        runs += 1
        value = await tx.fetch_one(GET_COUNTER, ("c",))
        if runs <= writers:
            await read.wait()  # every first attempt reads the same value
        await tx.execute(SET_COUNTER, ("c", value + 1))

    async with asyncio.timeout(30):
        await asyncio.gather(
            *(pg.in_tx(increment, isolation="serializable", retries=20) for _ in range(writers))
        )
    assert await pg.fetch_one(GET_COUNTER, ("c",)) == writers
    assert runs > writers  # conflicts happened and were re-run


async def test_many_concurrent_transactions_on_few_server_connections(
    pg: store.PgStore,
) -> None:
    async def work(n: int) -> None:
        async def closure(tx: store.Store) -> None:
            org = await _org(tx, f"org-{n}")
            assert (await Queries(tx).get_organization_by_id(id=org)).name == f"org-{n}"

        await pg.in_tx(closure, tx_id=f"concurrent_{n}")
        await Queries(pg).get_organization_by_name(name=f"org-{n}")

    async with asyncio.timeout(30):
        await asyncio.gather(*(work(n) for n in range(100)))
    assert len(await Queries(pg).list_organizations(limit_rows=200, offset_rows=0)) == 100


def _first(record: Mapping[str, Any]) -> Any:
    return next(iter(record.values()))


ECHO_HSTORE: Query[Any] = Query(
    name="echo_hstore",
    kind=Kind.ONE,
    sql="SELECT $1::hstore || hstore('n', $2::text) AS v",
    params=(Param("v", "hstore"), Param("n", "text")),
    decode=_first,
    source="tests/pgbouncer/test_pgbouncer.py",
)


async def test_hstore_is_a_dict_on_every_client_connection(db_dsn: str, bouncer: PgBouncer) -> None:
    conn = await asyncpg.connect(db_dsn)
    await conn.execute("CREATE EXTENSION hstore")
    await conn.close()
    pg = await store.connect(
        bouncer.dsn(db_dsn.rsplit("/", 1)[1]),
        min_size=CLIENTS,
        max_size=CLIENTS,
        statement_cache_size=0,
    )
    try:
        # More client connections than server connections: each client's codec
        # holds on whichever server connection runs its statement (one database, one oid).
        results = await asyncio.gather(
            *(pg.fetch_one(ECHO_HSTORE, ({"a": None}, str(i))) for i in range(CLIENTS * 3))
        )
    finally:
        await pg.close()
    assert results == [{"a": None, "n": str(i)} for i in range(CLIENTS * 3)]
