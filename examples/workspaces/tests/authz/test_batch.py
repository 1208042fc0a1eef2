"""The batch primitives under authorization: every argument set decided as its single
call would be, before anything runs."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import pytest
import structlog
from authz import AuthzStore, as_subject
from authz.errors import NoSubject, NotAuthorized
from store import Store

from tests._batches import (
    BATCHES,
    COPY_WORKSPACES,
    RENAME_WORKSPACES,
    WORKSPACE_OF_EACH,
    WORKSPACES_OF_EACH_OWNER,
)
from tests.authz._model import variant
from tests.authz._world import World
from workspaces import policies as p
from workspaces.db import Queries

NOW = datetime.datetime(2026, 2, 1, tzinfo=datetime.UTC)

MODEL = variant(
    queries={**p.MODEL.queries, **BATCHES},
    policies={
        **p.POLICIES,
        # Each batch form under the policy of the single query it repeats.
        "rename_workspaces": p.POLICIES["update_workspace_name"],
        "copy_workspaces": p.POLICIES["insert_workspace"],
        "workspace_of_each": p.POLICIES["get_workspace_by_id"],
        "workspaces_of_each_owner": p.POLICIES["list_workspaces_by_owner_id"],
        "rename_each": p.POLICIES["update_workspace_name"],
        "create_each": p.POLICIES["insert_workspace"],
    },
)


def _denials(events: Iterable[Mapping[str, Any]], query: str) -> int:
    return sum(1 for e in events if e["event"] == "authorization denied" and e["query"] == query)


async def _names(pg: Queries, world: World) -> tuple[str, str]:
    return (
        (await pg.get_workspace_by_id(id=world.ws.id)).name,
        (await pg.get_workspace_by_id(id=world.ws_b.id)).name,
    )


async def test_one_denied_set_of_a_batch_write_writes_nothing(pg: Queries, world: World) -> None:
    guarded = AuthzStore(pg.store, MODEL)
    before = await _names(pg, world)
    with (
        as_subject(world.subject(world.member_a)),  # owns ws; ws_b is in B
        structlog.testing.capture_logs() as events,
        pytest.raises(NotAuthorized),
    ):
        await guarded.execute_batch(
            RENAME_WORKSPACES, [("mine", world.ws.id), ("stolen", world.ws_b.id)]
        )
    assert _denials(events, "rename_workspaces") == 1
    assert await _names(pg, world) == before
    with as_subject(world.subject(world.member_a)):
        assert await guarded.execute_batch(RENAME_WORKSPACES, [("mine", world.ws.id)]) == 1
    assert await _names(pg, world) == ("mine", before[1])


async def test_a_copy_is_checked_row_by_row_like_the_insert(pg: Queries, world: World) -> None:
    guarded = AuthzStore(pg.store, MODEL)
    mine = (uuid.uuid4(), world.member_a.id, world.org_a.id, "copied", NOW)
    theirs = (uuid.uuid4(), world.outsider.id, world.org_b.id, "planted", NOW)
    with as_subject(world.subject(world.member_a)), pytest.raises(NotAuthorized):
        await guarded.execute_batch(COPY_WORKSPACES, [mine, theirs])
    assert await pg.list_workspaces_by_owner_id(
        owner_id=world.outsider.id, limit_rows=10, offset_rows=0
    ) == [world.ws_b]
    with as_subject(world.subject(world.member_a)):
        assert await guarded.execute_batch(COPY_WORKSPACES, [mine]) == 1
    assert (await pg.get_workspace_by_id(id=mine[0])).name == "copied"


async def test_a_batch_read_checks_every_row_it_returns(pg: Queries, world: World) -> None:
    guarded = AuthzStore(pg.store, MODEL)
    with as_subject(world.subject(world.member_a)):
        with pytest.raises(NotAuthorized):
            await guarded.fetch_batch(WORKSPACE_OF_EACH, [(world.ws.id, 0), (world.ws_b.id, 1)])
        assert await guarded.fetch_batch(WORKSPACE_OF_EACH, [(world.ws.id, 0)]) == [[world.ws]]


async def test_a_filtered_batch_list_filters_every_set(pg: Queries, world: World) -> None:
    guarded = AuthzStore(pg.store, MODEL)
    sets = [(world.member_a.id, 0), (world.outsider.id, 1)]
    with as_subject(world.subject(world.member_a)):
        assert await guarded.fetch_batch(WORKSPACES_OF_EACH_OWNER, sets) == [[world.ws], []]
    with as_subject(world.subject(world.outsider)):
        assert await guarded.fetch_batch(WORKSPACES_OF_EACH_OWNER, sets) == [[], [world.ws_b]]


async def test_a_batch_in_a_transaction_is_checked_on_the_handle(pg: Queries, world: World) -> None:
    guarded = AuthzStore(pg.store, MODEL)
    before = await _names(pg, world)

    async def work(tx: Store) -> None:
        await tx.execute_batch(RENAME_WORKSPACES, [("mine", world.ws.id)])
        await tx.execute_batch(RENAME_WORKSPACES, [("stolen", world.ws_b.id)])

    with as_subject(world.subject(world.member_a)), pytest.raises(NotAuthorized):
        await guarded.in_tx(work)
    assert await _names(pg, world) == before


async def test_a_batch_without_a_subject_is_refused(pg: Queries, world: World) -> None:
    guarded = AuthzStore(pg.store, MODEL)
    with pytest.raises(NoSubject):
        await guarded.execute_batch(RENAME_WORKSPACES, [("x", world.ws.id)])
    with pytest.raises(NoSubject):
        await guarded.fetch_batch(WORKSPACE_OF_EACH, [(world.ws.id, 0)])
