"""The single-statement form: bulk mutations audited per row, refusals, the fallback."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import uuid
from typing import Any

import audit
import pytest
import structlog
from authz import Subject, as_subject
from authz.errors import NotAuthorized

from tests._layers import raw, with_audit, with_authz
from tests.audit._support import ACME, ALICE, BOB, GLOBEX, OWNER, search_entries
from workspaces.auditing import AUDIT
from workspaces.db import Queries, models

NOW = datetime.datetime(2024, 7, 1, 9, 30, tzinfo=datetime.UTC)
OUTSIDER = Subject.user(uuid.uuid4(), org_roles={GLOBEX: ("org-admin",)})


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


async def _writes(s: Queries, resource_type: str = "workspace") -> list[models.SearchAuditLogsRow]:
    rows = await search_entries(s, resource_type=resource_type)
    return [r for r in rows if r.action is not models.AuditAction.CREATE]


async def test_a_bulk_update_writes_one_entry_per_row_in_one_statement(pg: Queries) -> None:
    from prometheus_client import CollectorRegistry
    from store.metrics import MetricsStore, StoreMetrics

    metrics = StoreMetrics(CollectorRegistry())
    try:
        audited = with_audit(with_authz(MetricsStore(raw(pg), metrics)))
        with as_subject(OWNER):
            mine = [await _workspace(audited, ACME, f"ws{i}") for i in range(3)]
            other = await _workspace(audited, GLOBEX, "elsewhere")
            changed = await audited.update_workspaces_ttl_by_organization_id(
                ttl=60_000, organization_id=ACME
            )
        statements = metrics.registry.get_sample_value(
            "txstore_query_duration_seconds_count",
            {"query": "update_workspaces_ttl_by_organization_id", "outcome": "ok"},
        )
    finally:
        metrics.close()

    assert changed == 3
    assert statements == 1
    writes = await _writes(pg)
    assert sorted(w.resource_id for w in writes) == sorted(str(w.id) for w in mine)
    assert {w.organization_id for w in writes} == {ACME}
    assert all(w.diff == {"ttl": {"old": None, "new": 60_000}} for w in writes)
    assert all(w.user_id == ALICE and w.action is models.AuditAction.WRITE for w in writes)
    assert (await pg.get_workspace_by_id(id=other.id)).ttl is None


async def test_a_bulk_update_that_changes_nothing_tracked_writes_no_entry(pg: Queries) -> None:
    audited = with_audit(pg)
    with as_subject(OWNER):
        await _workspace(audited, ACME, "same")
        await audited.update_workspaces_ttl_by_organization_id(ttl=5, organization_id=ACME)
        # updated_at changes again (IGNORE), ttl does not: no second entry
        await audited.update_workspaces_ttl_by_organization_id(ttl=5, organization_id=ACME)
    assert len(await _writes(pg)) == 1


async def test_a_denied_bulk_update_changes_and_audits_nothing(pg: Queries) -> None:
    audited = with_audit(with_authz(pg))
    with as_subject(OWNER):
        workspace = await _workspace(audited, ACME, "guarded")
    with as_subject(OUTSIDER), pytest.raises(NotAuthorized):
        await audited.update_workspaces_ttl_by_organization_id(ttl=1, organization_id=ACME)
    assert (await pg.get_workspace_by_id(id=workspace.id)).ttl is None
    assert await _writes(pg) == []


async def test_a_denied_single_row_write_is_neither_changed_nor_audited(pg: Queries) -> None:
    audited = with_audit(with_authz(pg))
    with as_subject(OWNER):
        workspace = await _workspace(audited, ACME, "mine")
    with (
        structlog.testing.capture_logs() as events,
        as_subject(OUTSIDER),
        pytest.raises(NotAuthorized),
    ):
        await audited.update_workspace_name(id=workspace.id, name="taken")
    assert (await pg.get_workspace_by_id(id=workspace.id)).name == "mine"
    assert await _writes(pg) == []
    assert any(e["event"] == "authorization denied" for e in events)


async def test_bulk_key_revocation_records_each_key_with_its_old_row(pg: Queries) -> None:
    audited = with_audit(pg)
    with as_subject(OWNER):
        for n in range(2):
            await audited.insert_api_key(
                id=f"key{n}prefix",
                hashed_secret=f"bulk-revocation-hash-{n}".encode(),
                user_id=BOB,
                expires_at=NOW + datetime.timedelta(days=1),
                created_at=NOW,
                login_type=models.LoginType.PASSWORD,
                lifetime_seconds=86400,
                ip_address=ipaddress.ip_address("192.0.2.1"),
                scopes=["all"],
                token_name=f"k{n}",
            )
        revoked = await audited.delete_api_keys_by_user_id(user_id=BOB)
    deletes = await _writes(pg, "api_key")
    assert revoked == 2
    assert sorted(d.resource_id for d in deletes) == ["key0prefix", "key1prefix"]
    assert all(d.action is models.AuditAction.DELETE for d in deletes)
    diffs: list[Any] = [d.diff for d in deletes]
    assert all(d["hashed_secret"] == {"secret": True} for d in diffs)
    assert all(d["scopes"] == {"old": ["all"], "new": None} for d in diffs)


async def test_concurrent_bulk_updates_chain_their_entries(pg: Queries) -> None:
    audited = with_audit(pg)
    with as_subject(OWNER):
        workspace = await _workspace(audited, ACME, "raced")

        async def set_ttl(ttl: int) -> None:
            await audited.update_workspaces_ttl_by_organization_id(ttl=ttl, organization_id=ACME)

        await asyncio.gather(*(set_ttl(n) for n in range(1, 21)))
    writes = await _writes(pg)
    assert len(writes) == 20
    # Each entry's old value is the previous one's new value: one path from None.
    diffs: list[Any] = [w.diff for w in writes]
    step = {d["ttl"]["old"]: d["ttl"]["new"] for d in diffs}
    assert len(step) == 20
    value, seen = None, 0
    while value in step:
        value, seen = step[value], seen + 1
    assert seen == 20
    assert value == (await pg.get_workspace_by_id(id=workspace.id)).ttl


def test_a_bulk_mutation_a_log_cannot_take_per_row_is_refused_at_construction(
    pg: Queries,
) -> None:
    with pytest.raises(audit.errors.AuditConfigError) as refused:
        audit.AuditStore(raw(pg), AUDIT, audit.LogAuditor())
    message = str(refused.value)
    assert "update_workspaces_ttl_by_organization_id (db/queries/workspaces.sql:" in message
    assert "delete_api_keys_by_user_id" in message
    assert "is not a table" in message


async def test_a_sink_that_is_not_a_table_keeps_the_transaction_form_and_says_so(
    pg: Queries,
) -> None:
    with structlog.testing.capture_logs() as events:
        audited = with_audit(pg, audit.combine(AUDIT.auditor, audit.LogAuditor()))
        with as_subject(OWNER):
            await _workspace(audited, ACME, "logged")
    fallbacks = [e for e in events if e["event"].startswith("audit in a transaction")]
    assert {e["query"] for e in fallbacks} >= {"update_user_profile", "insert_workspace"}
    [created] = await search_entries(pg, resource_type="workspace")
    assert created.action is models.AuditAction.CREATE
    assert any(e["event"] == "audit" and e["query"] == "insert_workspace" for e in events)
