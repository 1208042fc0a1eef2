"""Audit declarations are complete and current (workspaces/auditing.py, audit/_plan.py)."""

from __future__ import annotations

import dataclasses
from typing import Any

import audit
import pytest
import store

from tests.audit._config import variant
from workspaces.auditing import AUDIT, MUTATIONS, RESOURCES, TABLE
from workspaces.db import QUERIES, models


def _messages(**kwargs: Any) -> list[str]:
    return [str(p) for p in variant(**kwargs).problems()]


def test_shipped_declarations_cover_every_write_of_an_auditable_table() -> None:
    assert AUDIT.problems() == []
    written = {q.name for q in QUERIES.values() if q.mutates and q.mutates != "audit_logs"}
    assert set(MUTATIONS) == written


def test_a_write_without_a_declaration_fails_construction_naming_the_file() -> None:
    mutations = {k: v for k, v in MUTATIONS.items() if k != "update_user_status"}

    [message] = _messages(mutations=mutations)
    assert message.startswith("workspaces/auditing.py:")
    assert "update_user_status (db/queries/users.sql:" in message
    assert "has no audit declaration" in message
    with pytest.raises(audit.errors.AuditConfigError, match="update_user_status"):
        variant(mutations=mutations).plans()


async def test_audit_store_construction_refuses_an_incomplete_table(db_dsn: str) -> None:
    class UserWithNickname(models.User):
        nickname: str

    table = [
        dataclasses.replace(e, model=UserWithNickname) if e.table == "users" else e for e in TABLE
    ]
    pg = await store.connect(db_dsn)
    try:
        with pytest.raises(
            audit.errors.AuditConfigError, match=r"workspaces/auditing\.py:\d+: .*nickname"
        ):
            audit.AuditStore(pg, variant(table=table))
    finally:
        await pg.close()


def test_a_declaration_naming_no_query_is_stale() -> None:
    [message] = _messages(
        mutations={
            **MUTATIONS,
            "update_user_shoe_size": audit.Audited(
                models.AuditAction.WRITE, audit.Lookup("get_user_by_id")
            ),
        }
    )
    assert "MUTATIONS['update_user_shoe_size'] is stale: there is no query" in message


def test_a_declaration_of_a_query_that_writes_no_auditable_table_is_stale() -> None:
    [message] = _messages(mutations={**MUTATIONS, "get_user_by_id": audit.Unaudited("read")})
    assert "get_user_by_id writes no auditable table" in message


@pytest.mark.parametrize(
    ("name", "declaration", "expected"),
    [
        (
            "update_user_last_seen_at",
            audit.Audited(models.AuditAction.WRITE, audit.Lookup("get_user_by_id")),
            "a bulk UPDATE is Audited(an update action or 'delete', key=",
        ),
        (
            "update_user_last_seen_at",
            audit.Audited(models.AuditAction.WRITE, key=("nickname",)),
            "a bulk UPDATE is Audited(",
        ),
        (
            "update_user_status",
            audit.Audited(models.AuditAction.WRITE, audit.Lookup("get_user_by_id"), key=("id",)),
            "key is for bulk UPDATEs only",
        ),
        ("insert_user", audit.Audited(models.AuditAction.WRITE), "an INSERT is Audited('create')"),
        (
            "delete_api_key",
            audit.Audited(models.AuditAction.DELETE, audit.Lookup("get_api_key_by_id")),
            "a DELETE ... RETURNING * is Audited('delete') with no old",
        ),
        ("update_user_status", audit.Audited(models.AuditAction.WRITE), "an UPDATE is Audited("),
        (
            "update_user_status",
            audit.Audited(models.AuditAction.WRITE, audit.Lookup("get_workspace_by_id")),
            "must be a ':one' SELECT * of users alone",
        ),
        (
            "update_member_roles",
            audit.Audited(models.AuditAction.WRITE, audit.Lookup("get_user_by_id")),
            "must be a ':one' SELECT * of organization_members",
        ),
        (
            "update_user_status",
            audit.Audited(
                models.AuditAction.WRITE, audit.Lookup("get_user_by_id", lock="get_user_by_email")
            ),
            "lock query get_user_by_email must",
        ),
        ("update_user_status", audit.Unaudited(" "), "Unaudited update_user_status needs a reason"),
    ],
)
def test_a_declaration_that_does_not_fit_its_query_is_refused(
    name: str, declaration: audit.Audited | audit.Unaudited, expected: str
) -> None:
    [message] = _messages(mutations={**MUTATIONS, name: declaration})
    assert expected in message


def test_lookup_parameters_are_matched_by_name_or_mapped() -> None:
    renamed = {
        **QUERIES,
        "get_user_by_id": dataclasses.replace(
            QUERIES["get_user_by_id"], params=(store.Param("user_id", "uuid"),)
        ),
    }
    assert "has no parameter 'user_id'" in _messages(queries=renamed)[0]
    mapped = {
        k: (
            audit.Audited(v.action, audit.Lookup("get_user_by_id", {"user_id": "id"}))
            if isinstance(v, audit.Audited) and v.old and v.old.query == "get_user_by_id"
            else v
        )
        for k, v in MUTATIONS.items()
    }
    assert _messages(mutations=mapped, queries=renamed) == []


def test_resources_name_attributes_the_row_has() -> None:
    resources = {
        **RESOURCES,
        "users": audit.Resource("user", target="nickname"),
        "planets": audit.Resource("planet"),
    }
    messages = _messages(resources=resources)
    assert any("RESOURCES['users'].target: the row has no 'nickname'" in m for m in messages)
    assert any("RESOURCES['planets'] names no auditable table" in m for m in messages)


def test_a_resource_organization_found_through_another_query_is_checked() -> None:
    via = audit.Via("get_oauth2_provider_app_by_id", "owner_id", {"id": "app_id"})
    resources = {
        **RESOURCES,
        "oauth2_provider_app_secrets": audit.Resource("oauth2_app_secret", org=via),
    }
    [message] = _messages(resources=resources)
    assert "get_oauth2_provider_app_by_id returns no 'owner_id'" in message


def test_locking_lookups_append_for_update_to_the_get_query() -> None:
    plans = AUDIT.plans()
    lookup = plans.audited["update_member_roles"].lookup
    assert lookup is not None
    assert lookup.name == "get_organization_member"
    assert lookup.sql.rstrip().endswith("FOR UPDATE")
    assert plans.audited["delete_api_key"].hard_delete
    assert "update_api_key_usage" in plans.unaudited


def test_an_upsert_is_declared_as_an_update_with_its_lookup() -> None:
    # Its inserted rows take the create action by themselves; declared as a plain
    # insert it would record every update as a create.
    for wrong in (
        audit.Audited(models.AuditAction.CREATE),
        audit.Audited(models.AuditAction.WRITE),
    ):
        [message] = _messages(mutations={**MUTATIONS, "upsert_organization_member": wrong})
        assert "MUTATIONS['upsert_organization_member']: an INSERT ... ON CONFLICT DO UPDATE" in (
            message
        )
    # ON CONFLICT DO NOTHING only ever inserts: a plain create.
    [message] = _messages(
        mutations={
            **MUTATIONS,
            "insert_organization_member_if_absent": audit.Audited(
                models.AuditAction.WRITE, audit.Lookup("get_organization_member")
            ),
        }
    )
    assert "an INSERT is Audited('create') with no old lookup" in message


def test_an_upsert_lookup_must_lock() -> None:
    unlocked = audit.Audited(
        models.AuditAction.WRITE, audit.Lookup("get_organization_member", lock=False)
    )
    [message] = _messages(mutations={**MUTATIONS, "upsert_organization_member": unlocked})
    assert "MUTATIONS['upsert_organization_member']: an upsert's Lookup must lock" in message
