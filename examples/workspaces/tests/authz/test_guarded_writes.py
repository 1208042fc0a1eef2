"""Writes checked in their own WHERE clause: one statement decides and writes.

A write query with the ``-- @authorize_filter`` marker runs with the subject's
predicate in its WHERE clause, so the check sees the row version the write
changes. The row is fetched only when the write matched nothing, to tell a
missing row from a forbidden one.
"""

from __future__ import annotations

import asyncio
import datetime
import uuid
from collections.abc import AsyncIterator

import asyncpg
import authz
import pytest
import pytest_asyncio
import structlog
from authz.errors import NotAuthorized
from prometheus_client import CollectorRegistry
from store.errors import NotFound
from store.metrics import MetricsStore, StoreMetrics

from tests._layers import raw, with_authz
from tests.authz._world import World
from workspaces.db import QUERIES, Queries
from workspaces.policies import MODEL

LATER = datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC)


@pytest_asyncio.fixture
async def metrics() -> AsyncIterator[StoreMetrics]:
    metrics = StoreMetrics(CollectorRegistry())
    yield metrics
    metrics.close()


def _calls(metrics: StoreMetrics, query: str) -> float:
    """How many times the store below the authorization layer ran ``query``."""
    return sum(
        sample.value
        for family in metrics.registry.collect()
        for sample in family.samples
        if sample.name == "txstore_query_duration_seconds_count"
        and sample.labels.get("query") == query
    )


def test_every_marked_write_has_a_column_resource() -> None:
    # The policy table accepts the markers (a Via resource with one is a problem).
    assert [str(p) for p in MODEL.problems()] == []
    marked = [
        name
        for name, q in QUERIES.items()
        if q.mutates is not None and q.authorize_filter is not None
    ]
    assert "update_workspace_name" in marked
    assert "update_user_last_seen_at" in marked


async def test_an_allowed_write_runs_without_fetching_the_row_first(
    pg: Queries, world: World, metrics: StoreMetrics
) -> None:
    guarded = with_authz(MetricsStore(raw(pg), metrics))
    with authz.as_subject(world.subject(world.member_a)):
        renamed = await guarded.update_workspace_name(id=world.ws.id, name="renamed")
        await guarded.update_workspace_last_used_at(id=world.ws.id, last_used_at=LATER)
    assert renamed.name == "renamed"
    assert (await pg.get_workspace_by_id(id=world.ws.id)).last_used_at == LATER
    assert _calls(metrics, "update_workspace_name") == 1
    assert _calls(metrics, "update_workspace_last_used_at") == 1
    assert _calls(metrics, "get_workspace_by_id") == 0


@pytest.mark.parametrize("kind", ["one", "exec"])
async def test_a_forbidden_write_changes_nothing_and_is_denied(
    pg: Queries, world: World, metrics: StoreMetrics, kind: str
) -> None:
    guarded = with_authz(MetricsStore(raw(pg), metrics))

    async def write() -> None:
        if kind == "one":
            await guarded.update_workspace_name(id=world.ws.id, name="stolen")
        else:
            await guarded.update_workspace_last_used_at(id=world.ws.id, last_used_at=LATER)

    with (
        structlog.testing.capture_logs() as events,
        authz.as_subject(world.subject(world.loner)),
        pytest.raises(NotAuthorized),
    ):
        await write()
    row = await pg.get_workspace_by_id(id=world.ws.id)
    assert (row.name, row.last_used_at) == (world.ws.name, world.ws.last_used_at)
    denied = [
        (e["object_type"], e["object_id"]) for e in events if e["event"] == "authorization denied"
    ]
    assert denied == [("workspace", str(world.ws.id))]
    assert _calls(metrics, "get_workspace_by_id") == 1  # fetched only to tell why


async def test_a_missing_row_is_not_found_not_a_denial(pg: Queries, world: World) -> None:
    guarded = with_authz(pg)
    with authz.as_subject(world.subject(world.member_a)):
        with pytest.raises(NotFound) as one:
            await guarded.update_workspace_name(id=uuid.uuid4(), name="nobody")
        with pytest.raises(NotFound) as exec_:
            await guarded.update_workspace_last_used_at(id=uuid.uuid4(), last_used_at=LATER)
    assert not isinstance(one.value, NotAuthorized)
    assert not isinstance(exec_.value, NotAuthorized)


async def test_a_row_excluded_by_the_write_itself_is_not_found(pg: Queries, world: World) -> None:
    guarded = with_authz(pg)
    with authz.as_subject(world.subject(world.member_a)):
        await guarded.soft_delete_workspace(id=world.ws.id)
        # The owner may rename it, but the write skips deleted workspaces.
        with pytest.raises(NotFound) as raised:
            await guarded.update_workspace_name(id=world.ws.id, name="ghost")
    assert not isinstance(raised.value, NotAuthorized)


async def _wait_for_lock_wait(admin: asyncpg.Connection) -> None:
    # By the statement, not the application name: behind PgBouncer a server
    # session does not carry the client's. Only this database's: a test on another
    # worker may be waiting on a workspace lock of its own.
    while not await admin.fetchval(  # noqa: ASYNC110  # polling the server
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE wait_event_type = 'Lock' AND query LIKE '%UPDATE workspaces%'"
        " AND pid <> pg_backend_pid() AND datname = current_database()"
    ):
        await asyncio.sleep(0.01)


async def test_an_owner_change_during_the_write_is_seen_by_the_check(
    db_dsn: str, pg: Queries, world: World
) -> None:
    # The workspace changes hands while the owner's rename waits for its row
    # lock. Checked before the write, the rename would go through on the
    # strength of the old owner; checked in the write, it sees the new one.
    guarded = with_authz(pg)
    # No statement cache: db_dsn may lead through PgBouncer in transaction mode.
    other = await asyncpg.connect(db_dsn, statement_cache_size=0)
    admin = await asyncpg.connect(db_dsn, statement_cache_size=0)
    try:
        async with asyncio.timeout(20):
            handover = other.transaction()
            await handover.start()
            await other.execute("SELECT 1 FROM workspaces WHERE id = $1 FOR UPDATE", world.ws.id)

            async def rename() -> object:
                with authz.as_subject(world.subject(world.member_a)):
                    return await guarded.update_workspace_name(id=world.ws.id, name="mine")

            renaming = asyncio.create_task(rename())
            await _wait_for_lock_wait(admin)
            await other.execute(
                "UPDATE workspaces SET owner_id = $2 WHERE id = $1", world.ws.id, world.loner.id
            )
            await handover.commit()
            with pytest.raises(NotAuthorized):
                await renaming
    finally:
        await other.close()
        await admin.close()
    row = await pg.get_workspace_by_id(id=world.ws.id)
    assert (row.name, row.owner_id) == (world.ws.name, world.loner.id)
