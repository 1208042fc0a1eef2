"""The batch primitives under audit (audit/_store.py): an audited ``:batchexec`` writes
each row's entry in the statement that changes it; a batch the layer cannot audit row
by row is refused when the store is built."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Awaitable, Callable

import audit
import pytest
from audit import Audited, Config, Lookup, Unaudited
from audit.errors import AuditConfigError, MissingActor
from authz import AuthzStore, as_subject
from store import PgStore, ServerVersion, Store
from store.errors import NotFound, UniqueViolation

from tests._batches import BATCHES, COPY_WORKSPACES, CREATE_EACH, RENAME_EACH, RENAME_WORKSPACES
from tests.audit._support import ACME, ALICE, OWNER, search_entries
from tests.authz.test_batch import MODEL
from workspaces.auditing import AUDIT, MUTATIONS, WRITE
from workspaces.db import Queries, SearchAuditLogsRow, models

NOW = datetime.datetime(2024, 7, 1, 9, 30, tzinfo=datetime.UTC)


def _version(pg: Queries) -> Callable[[], Awaitable[ServerVersion]]:
    """How the stores below ask the server's version (as ``connect_stack`` passes it)."""
    assert isinstance(pg.store, PgStore)
    return pg.store.server_version


def _config(**declared: Audited | Unaudited) -> Config:
    return Config(
        queries={**AUDIT.queries, **BATCHES},
        table=AUDIT.table,
        not_audited=AUDIT.not_audited,
        mutations={
            **MUTATIONS,
            "rename_workspaces": Audited(WRITE, key=("id",)),
            "copy_workspaces": Unaudited("bulk load of migrated rows"),
            "rename_each": Audited(WRITE, Lookup("get_workspace_by_id")),
            "create_each": Audited(AUDIT.create),
            **declared,
        },
        resources=AUDIT.resources,
        auditor=AUDIT.auditor,
        create=AUDIT.create,
        delete=AUDIT.delete,
        source=AUDIT.source,
    )


async def _workspace(pg: Queries, name: str) -> models.Workspace:
    return await pg.insert_workspace(
        id=uuid.uuid4(),
        owner_id=ALICE,
        organization_id=ACME,
        name=name,
        autostart_schedule=None,
        ttl=None,
        created_at=NOW,
    )


async def _entries(pg: Queries, ws: models.Workspace) -> list[SearchAuditLogsRow]:
    return await search_entries(pg, resource_type="workspace", resource_id=ws.id)


@pytest.mark.parametrize("order", ["audit", "audit>authz"])
@pytest.mark.parametrize("where", ["store", "transaction"])
async def test_an_audited_batch_writes_one_entry_per_row(
    pg: Queries, order: str, where: str
) -> None:
    one, two = await _workspace(pg, "one"), await _workspace(pg, "two")
    below: Store = pg.store if order == "audit" else AuthzStore(pg.store, MODEL)
    audited = audit.AuditStore(below, _config(), server=_version(pg))
    sets = [("uno", one.id), ("dos", two.id)]

    async def run(s: Store) -> int:
        return await s.execute_batch(RENAME_WORKSPACES, sets)

    with as_subject(OWNER):
        assert await (run(audited) if where == "store" else audited.in_tx(run)) == 2
    for ws, new in ((one, "uno"), (two, "dos")):
        (entry,) = await _entries(pg, ws)
        assert entry.user_id == ALICE
        assert entry.action == WRITE
        assert entry.diff == {"name": {"old": ws.name, "new": new}}
        assert (await pg.get_workspace_by_id(id=ws.id)).name == new


async def test_a_failing_set_leaves_neither_changes_nor_entries(pg: Queries) -> None:
    one, two = await _workspace(pg, "one"), await _workspace(pg, "two")
    audited = audit.AuditStore(pg.store, _config(), server=_version(pg))
    with as_subject(OWNER), pytest.raises(UniqueViolation):
        # The second set takes the name the first one's row still has: a live
        # workspace's name is unique per owner.
        await audited.execute_batch(RENAME_WORKSPACES, [("three", two.id), ("ONE", two.id)])
    for ws in (one, two):
        assert await _entries(pg, ws) == []
        assert (await pg.get_workspace_by_id(id=ws.id)).name == ws.name


async def test_an_audited_batch_needs_an_actor(pg: Queries) -> None:
    one = await _workspace(pg, "one")
    audited = audit.AuditStore(pg.store, _config(), server=_version(pg))
    with pytest.raises(MissingActor):
        await audited.execute_batch(RENAME_WORKSPACES, [("uno", one.id)])
    assert (await pg.get_workspace_by_id(id=one.id)).name == "one"


async def test_an_unaudited_copy_runs_and_an_audited_one_is_refused_at_construction(
    pg: Queries,
) -> None:
    audited = audit.AuditStore(pg.store, _config(), server=_version(pg))
    row = (uuid.uuid4(), ALICE, ACME, "copied", NOW)
    with as_subject(OWNER):
        assert await audited.execute_batch(COPY_WORKSPACES, [row]) == 1
    with pytest.raises(
        AuditConfigError, match=r"copy_workspaces \(tests/_batches.py\) is :copyfrom"
    ):
        audit.AuditStore(pg.store, _config(copy_workspaces=Audited(AUDIT.create)))


@pytest.mark.parametrize("order", ["audit", "audit>authz", "authz>audit"])
async def test_an_audited_batchone_writes_one_entry_per_row_and_returns_the_rows(
    pg: Queries, order: str
) -> None:
    one, two = await _workspace(pg, "one"), await _workspace(pg, "two")
    config = _config()
    layered: Store
    if order == "audit":
        layered = audit.AuditStore(pg.store, config, server=_version(pg))
    elif order == "audit>authz":
        layered = audit.AuditStore(AuthzStore(pg.store, MODEL), config, server=_version(pg))
    else:
        layered = AuthzStore(audit.AuditStore(pg.store, config, server=_version(pg)), MODEL)
    with as_subject(OWNER):
        rows = await layered.fetch_batch(RENAME_EACH, [("uno", one.id, 0), ("dos", two.id, 1)])
    assert [[(w.id, w.name) for w in group] for group in rows] == [
        [(one.id, "uno")],
        [(two.id, "dos")],
    ]
    for ws, new in ((one, "uno"), (two, "dos")):
        (entry,) = await _entries(pg, ws)
        assert entry.diff == {"name": {"old": ws.name, "new": new}}


async def test_an_audited_batchone_set_without_a_row_writes_nothing(pg: Queries) -> None:
    one = await _workspace(pg, "one")
    audited = audit.AuditStore(pg.store, _config(), server=_version(pg))
    with as_subject(OWNER), pytest.raises(NotFound):
        await audited.fetch_batch(RENAME_EACH, [("uno", one.id, 0), ("gone", uuid.uuid4(), 1)])
    assert await _entries(pg, one) == []
    assert (await pg.get_workspace_by_id(id=one.id)).name == "one"


async def test_an_audited_batchmany_insert_writes_an_entry_per_row(pg: Queries) -> None:
    audited = audit.AuditStore(pg.store, _config(), server=_version(pg))
    ids = [uuid.uuid4(), uuid.uuid4()]
    sets = [(ws, ALICE, ACME, f"new-{i}", NOW, i) for i, ws in enumerate(ids)]
    with as_subject(OWNER):
        groups = await audited.fetch_batch(CREATE_EACH, sets)
    assert [[w.id for w in group] for group in groups] == [[ids[0]], [ids[1]]]
    for ws in groups:
        (entry,) = await _entries(pg, ws[0])
        assert entry.action == AUDIT.create
