"""pg_terminate_backend in the middle of an in_tx closure: a clear error, nothing half-written."""

from __future__ import annotations

import asyncio
import datetime
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio
from workspaces.auditing import AUDIT
from workspaces.db import Queries, models

import audit
import store
from authz import Subject, as_subject
from store.errors import CommitOutcomeUnknown, DatabaseUnavailable
from tests.faults._support import assert_pool_clean
from tests.store._queries import INSERT_ITEM, SCHEMA

OWNER = Subject.user(uuid.UUID("0b000000-0000-4000-8000-0000000000f1"), site_roles=("owner",))
T0 = datetime.datetime(2024, 3, 1, 12, 0, tzinfo=datetime.UTC)
TABLES = ("organizations", "users", "audit_logs")


@pytest_asyncio.fixture
async def pg(db_dsn: str) -> AsyncIterator[store.PgStore]:
    pg = await store.connect(db_dsn, min_size=3, max_size=3)
    try:
        yield pg
    finally:
        await pg.close()


async def _counts(dsn: str) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        return {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in TABLES}
    finally:
        await conn.close()


async def _terminate_idle_in_transaction(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        pids = await conn.fetch(
            "SELECT pg_terminate_backend(pid), pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND state = 'idle in transaction'"
        )
    finally:
        await conn.close()
    return len(pids)


async def test_a_terminated_backend_fails_the_transaction_and_commits_nothing(
    pg: store.PgStore, db_dsn: str
) -> None:
    audited = Queries(audit.AuditStore(pg, AUDIT))
    before = await _counts(db_dsn)
    org = uuid.uuid4()
    reached_end = False

    async def closure(tx: Queries) -> None:
        nonlocal reached_end
        await tx.insert_organization(
            id=org,
            name="doomed",
            display_name="Doomed",
            description="",
            icon="",
            is_default=False,
            created_at=T0,
        )  # audited: an audit_logs row is written in this transaction too
        await tx.insert_user(
            id=uuid.uuid4(),
            email="d@doomed.example",
            username="doomed",
            name="D",
            hashed_password=b"x" * 16,
            status=models.UserStatus.ACTIVE,
            rbac_roles=[],
            avatar_url=None,
            login_type=models.LoginType.PASSWORD,
            created_at=T0,
        )
        assert await _terminate_idle_in_transaction(db_dsn) == 1
        await tx.get_organization_by_id(id=org)
        reached_end = True

    with as_subject(OWNER):
        async with asyncio.timeout(20):
            with pytest.raises(DatabaseUnavailable, match=r"connection lost|terminating"):
                await audited.in_tx(closure, tx_id="doomed")

    assert not reached_end
    assert await _counts(db_dsn) == before  # no row, no audit entry
    # The pool recovers to its full size: three transactions hold three connections at once.
    barrier = asyncio.Barrier(3)

    async def hold(tx: store.Store) -> None:
        await tx.ping()
        await barrier.wait()

    async with asyncio.timeout(20):
        await asyncio.gather(*(pg.in_tx(hold) for _ in range(3)))
    assert pg.pool.get_size() == 3
    await assert_pool_clean(pg, db_dsn)


async def test_a_query_on_a_terminated_pool_connection_is_unavailable_once(
    pg: store.PgStore, db_dsn: str
) -> None:
    await pg.ping()
    conn = await asyncpg.connect(db_dsn)
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = 'txstore'"
        )
    finally:
        await conn.close()
    async with asyncio.timeout(20):
        outcomes = []
        for _ in range(2):
            try:
                await Queries(pg).get_default_organization()
                outcomes.append("ok")
            except store.errors.NotFound:
                outcomes.append("ok")
            except DatabaseUnavailable:
                outcomes.append("unavailable")
    assert outcomes[-1] == "ok"
    await assert_pool_clean(pg, db_dsn)


SLOW_COMMIT = """
CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_sleep(30); RETURN NULL; END $$;
CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON items
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit();
"""


async def _terminate_commit(dsn: str) -> None:
    """Wait until a COMMIT of the store is running, then terminate its backend."""
    conn = await asyncpg.connect(dsn)
    try:
        while True:
            killed = await conn.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name = 'txstore' "
                "AND state = 'active' AND query = 'COMMIT'"
            )
            if killed:
                return
            await asyncio.sleep(0.01)
    finally:
        await conn.close()


async def test_a_connection_lost_during_commit_says_the_outcome_is_unknown(
    empty_db_dsn: str,
) -> None:
    conn = await asyncpg.connect(empty_db_dsn)
    await conn.execute(SCHEMA + SLOW_COMMIT)
    await conn.close()
    pg = await store.connect(empty_db_dsn, min_size=1, max_size=2)
    try:
        async with asyncio.timeout(20):
            killer = asyncio.create_task(_terminate_commit(empty_db_dsn))
            with pytest.raises(CommitOutcomeUnknown, match="may or may not have committed") as e:
                await pg.in_tx(lambda tx: tx.execute(INSERT_ITEM, (1, "x")), tx_id="paying")
            await killer
        assert isinstance(e.value, DatabaseUnavailable)
        assert e.value.tx_id == "paying"
        await assert_pool_clean(pg, empty_db_dsn)
    finally:
        await pg.close()
