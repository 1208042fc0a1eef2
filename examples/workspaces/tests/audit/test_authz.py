"""The audit layer with the authorization layer: who writes entries and who reads them."""

from __future__ import annotations

import datetime
import uuid

import pytest
from authz import Subject, as_subject
from authz.errors import NotAuthorized

from tests._layers import raw, with_audit, with_authz
from tests.audit._support import ACME, ALICE, BOB, GLOBEX, OWNER, search_entries
from workspaces.db import Queries, models

NOW = datetime.datetime(2024, 7, 1, 9, 30, tzinfo=datetime.UTC)
ORG_AUDITOR = Subject.user(uuid.uuid4(), org_roles={ACME: ("org-auditor",)})


async def _workspace(s: Queries, organization: uuid.UUID, name: str) -> models.Workspace:
    return await s.insert_workspace(
        id=uuid.uuid4(),
        owner_id=ALICE,
        organization_id=organization,
        name=name,
        autostart_schedule=None,
        ttl=None,
        created_at=NOW,
    )


async def _search(s: Queries) -> list[models.SearchAuditLogsRow]:
    return await search_entries(s, resource_type="workspace")


async def test_entries_are_written_as_system_restricted_and_org_auditors_see_their_org(
    pg: Queries,
) -> None:
    audited = with_audit(with_authz(pg))  # the default order: audit over authz
    with as_subject(OWNER):
        in_acme = await _workspace(audited, ACME, "acme-dev")
        in_globex = await _workspace(audited, GLOBEX, "globex-dev")

    with as_subject(ORG_AUDITOR):
        seen = await _search(with_authz(pg))

    assert {e.resource_id for e in await _search(pg)} == {str(in_acme.id), str(in_globex.id)}
    assert [e.resource_id for e in seen] == [str(in_acme.id)]
    assert all(e.organization_id == ACME for e in seen)


async def test_a_user_who_may_not_write_audit_rows_still_gets_an_entry(pg: Queries) -> None:
    with as_subject(OWNER), pytest.raises(NotAuthorized):
        await with_authz(pg).insert_audit_log(
            id=uuid.uuid4(),
            time=NOW,
            user_id=ALICE,
            org_id=None,
            ip=None,
            user_agent=None,
            request_id=None,
            resource_type="workspace",
            resource_id="forged",
            resource_target="",
            action=models.AuditAction.CREATE,
            diff={},
            status_code=200,
            additional_fields={},
        )


async def test_authorized_updates_over_the_audit_layer_are_audited(pg: Queries) -> None:
    layered = with_authz(with_audit(pg))  # authz checks first, audit below it
    with as_subject(OWNER):
        workspace = await _workspace(layered, ACME, "rename-me")
        await layered.update_workspace_name(name="renamed", id=workspace.id)
    with as_subject(Subject.user(BOB)), pytest.raises(NotAuthorized):
        await layered.update_workspace_name(name="stolen", id=workspace.id)

    created, renamed = reversed(await _search(pg))
    assert created.action is models.AuditAction.CREATE
    assert renamed.diff == {"name": {"old": "rename-me", "new": "renamed"}}
    assert renamed.organization_id == ACME


async def test_an_audited_update_over_authz_locks_checks_and_records(pg: Queries) -> None:
    audited = with_audit(with_authz(pg))  # the locking lookup runs through authz
    with as_subject(OWNER):
        workspace = await _workspace(audited, ACME, "before")
        renamed = await audited.update_workspace_name(id=workspace.id, name="after")
    assert renamed.name == "after"
    writes = [e for e in await _search(pg) if e.action == models.AuditAction.WRITE]
    assert [(e.resource_id, e.diff) for e in writes] == [
        (str(workspace.id), {"name": {"old": "before", "new": "after"}})
    ]

    with as_subject(ORG_AUDITOR), pytest.raises(NotAuthorized):
        await audited.update_workspace_name(id=workspace.id, name="sneaky")
    assert (await pg.get_workspace_by_id(id=workspace.id)).name == "after"
    assert len([e for e in await _search(pg) if e.action == models.AuditAction.WRITE]) == 1


async def test_an_audited_update_is_one_statement_through_every_layer(pg: Queries) -> None:
    from prometheus_client import CollectorRegistry
    from store.metrics import MetricsStore, StoreMetrics

    metrics = StoreMetrics(CollectorRegistry())
    try:
        audited = with_audit(with_authz(MetricsStore(raw(pg), metrics)))
        with as_subject(OWNER):
            workspace = await _workspace(audited, ACME, "once")
            await audited.update_workspace_name(id=workspace.id, name="twice")

        def calls(query: str) -> float:
            value = metrics.registry.get_sample_value(
                "txstore_query_duration_seconds_count", {"query": query, "outcome": "ok"}
            )
            return value or 0.0

        # The old row is locked and read, the write checked by authorization's
        # predicate and the entry inserted by the one statement the audit layer
        # derived: no separate read of the row, no separate insert of the entry.
        assert calls("insert_workspace") == 1
        assert calls("update_workspace_name") == 1
        assert calls("get_workspace_by_id") == 0
        assert calls("insert_audit_log") == 0
        transactions = metrics.registry.get_sample_value(
            "txstore_transactions_total", {"tx_id": "update_workspace_name", "outcome": "commit"}
        )
        assert transactions is None  # atomic as one statement: no BEGIN/COMMIT around it
        assert len(await _search(pg)) == 2
    finally:
        metrics.close()
