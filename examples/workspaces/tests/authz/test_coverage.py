# Test data: token names, display secrets and prefixes are fixed strings, not credentials.
# ruff: noqa: S106
"""Every Queries method: allowed for one subject, denied for another, refused with no subject."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import authz
import pytest
import store
from authz.errors import NoSubject, NotAuthorized

from tests._layers import with_authz
from tests.authz import _factories as f
from tests.authz._world import World, build
from workspaces.db import CONSTRAINTS, QUERIES, Queries, models
from workspaces.policies import AUDIT_PURGER, SYSTEM_RESTRICTED

Who = Callable[[World], "models.User | authz.SystemIdentity"]
Run = Callable[[Queries, World], Awaitable[Any]]
T0 = f.NOW
LATER = f.NOW + datetime.timedelta(days=30)


@dataclass(frozen=True)
class Case:
    """How to call one method, who may, and who may not.

    For a list, ``target`` names a row the allowed subject must see and the
    denied one must not (filtered out rather than refused).
    """

    run: Run
    allowed: Who
    denied: Who
    target: Callable[[World], object] | None = None
    key: Callable[[Any], object] = lambda row: row.id


def _member(w: World) -> models.User:
    return w.member_a


def _admin(w: World) -> models.User:
    return w.admin_a


def _outsider(w: World) -> models.User:
    return w.outsider


def _site_owner(w: World) -> models.User:
    return w.site_owner


def _user_admin(w: World) -> models.User:
    return w.user_admin


def _restricted(w: World) -> authz.SystemIdentity:
    return SYSTEM_RESTRICTED


def _purger(w: World) -> authz.SystemIdentity:
    return AUDIT_PURGER


def _new_key(s: Queries, w: World) -> Awaitable[models.APIKey]:
    return s.insert_api_key(
        id=f.key_id(), hashed_secret=b"h", user_id=w.member_a.id, expires_at=LATER,
        created_at=T0, login_type=models.LoginType.PASSWORD, lifetime_seconds=60,
        ip_address=None, scopes=["all"], token_name=None,
    )  # fmt: skip


def _new_log(s: Queries, w: World) -> Awaitable[models.AuditLog]:
    return s.insert_audit_log(
        id=uuid.uuid4(), time=T0, user_id=w.member_a.id, org_id=w.org_a.id, ip=None,
        user_agent=None, request_id=None, resource_type="workspace", resource_id="x",
        resource_target="", action=models.AuditAction.WRITE, diff={}, status_code=200,
        additional_fields={},
    )  # fmt: skip


def _new_user(s: Queries, w: World) -> Awaitable[models.User]:
    return s.insert_user(
        id=uuid.uuid4(), email="new@example.com", username="newbie", name="", hashed_password=b"x",
        status=models.UserStatus.ACTIVE, rbac_roles=["member"], avatar_url=None,
        login_type=models.LoginType.PASSWORD, created_at=T0,
    )  # fmt: skip


def _member_key(row: Any) -> object:
    return (row.organization_id, row.user_id)


CASES: dict[str, Case] = {
    # api_keys.sql
    "insert_api_key": Case(_new_key, _member, _outsider),
    "get_api_key_by_id": Case(lambda s, w: s.get_api_key_by_id(id=w.key.id), _member, _outsider),
    "get_api_key_by_token_name": Case(
        lambda s, w: s.get_api_key_by_token_name(user_id=w.member_a.id, token_name="cli"),
        _member,
        _outsider,
    ),
    "list_api_keys_by_user_id": Case(
        lambda s, w: s.list_api_keys_by_user_id(
            user_id=w.member_a.id, limit_rows=10, offset_rows=0
        ),
        _member,
        _outsider,
        target=lambda w: w.key.id,
    ),
    "update_api_key_usage": Case(
        lambda s, w: s.update_api_key_usage(
            last_used=T0, expires_at=LATER, ip_address=None, id=w.key.id
        ),
        _member,
        _outsider,
    ),
    "delete_api_key": Case(lambda s, w: s.delete_api_key(id=w.key.id), _member, _outsider),
    "delete_api_keys_by_user_id": Case(
        lambda s, w: s.delete_api_keys_by_user_id(user_id=w.member_a.id), _member, _outsider
    ),
    "delete_expired_api_keys": Case(
        lambda s, w: s.delete_expired_api_keys(before=LATER, batch_size=10), _purger, _site_owner
    ),
    # audit_logs.sql
    "insert_audit_log": Case(_new_log, _restricted, _site_owner),
    "get_audit_log_by_id": Case(lambda s, w: s.get_audit_log_by_id(id=w.log.id), _admin, _outsider),
    "search_audit_logs": Case(
        lambda s, w: s.search_audit_logs(
            resource_type=None,
            resource_id=None,
            user_id=None,
            organization_id=None,
            action=None,
            from_time=None,
            to_time=None,
            limit_rows=10,
            offset_rows=0,
        ),
        _admin,
        _outsider,
        target=lambda w: w.log.id,
    ),
    "delete_audit_logs_before": Case(
        lambda s, w: s.delete_audit_logs_before(before=LATER, batch_size=10), _purger, _site_owner
    ),
    # oauth2.sql
    "insert_oauth2_provider_app": Case(
        lambda s, w: s.insert_oauth2_provider_app(
            id=uuid.uuid4(),
            organization_id=w.org_a.id,
            name="new-app",
            callback_url="https://example.com",
            icon="",
            metadata={"contacts": ["ops@example.com"]},
            created_at=T0,
        ),
        _admin,
        _member,
    ),
    "get_oauth2_provider_app_by_id": Case(
        lambda s, w: s.get_oauth2_provider_app_by_id(id=w.app.id), _member, _outsider
    ),
    "list_oauth2_provider_apps": Case(
        lambda s, w: s.list_oauth2_provider_apps(organization_id=None),
        _member,
        _outsider,
        target=lambda w: w.app.id,
    ),
    "update_oauth2_provider_app": Case(
        lambda s, w: s.update_oauth2_provider_app(
            name="renamed",
            callback_url="https://example.com",
            icon="",
            metadata=None,
            updated_at=T0,
            id=w.app.id,
        ),
        _admin,
        _member,
    ),
    "delete_oauth2_provider_app": Case(
        lambda s, w: s.delete_oauth2_provider_app(id=w.app.id), _admin, _member
    ),
    "insert_oauth2_provider_app_secret": Case(
        lambda s, w: s.insert_oauth2_provider_app_secret(
            id=uuid.uuid4(),
            app_id=w.app.id,
            hashed_secret=b"h",
            display_secret="d",
            secret_prefix="prefix-new",
            created_at=T0,
        ),
        _admin,
        _member,
    ),
    "get_oauth2_provider_app_secret_by_id": Case(
        lambda s, w: s.get_oauth2_provider_app_secret_by_id(id=w.secret.id), _admin, _member
    ),
    "get_oauth2_provider_app_secret_by_secret_prefix": Case(
        lambda s, w: s.get_oauth2_provider_app_secret_by_secret_prefix(
            secret_prefix=w.secret.secret_prefix
        ),
        _restricted,
        _member,
    ),
    "list_oauth2_provider_app_secrets_by_app_id": Case(
        lambda s, w: s.list_oauth2_provider_app_secrets_by_app_id(app_id=w.app.id),
        _admin,
        _member,
        target=lambda w: w.secret.id,
    ),
    "update_oauth2_provider_app_secret_last_used_at": Case(
        lambda s, w: s.update_oauth2_provider_app_secret_last_used_at(
            last_used_at=T0, id=w.secret.id
        ),
        _restricted,
        _member,
    ),
    "delete_oauth2_provider_app_secret": Case(
        lambda s, w: s.delete_oauth2_provider_app_secret(id=w.secret.id), _admin, _outsider
    ),
    # organizations.sql
    "get_organization_by_id": Case(
        lambda s, w: s.get_organization_by_id(id=w.org_a.id), _member, _outsider
    ),
    "get_organization_by_name": Case(
        lambda s, w: s.get_organization_by_name(name=w.org_a.name.upper()), _member, _outsider
    ),
    "get_default_organization": Case(lambda s, w: s.get_default_organization(), _member, _outsider),
    "list_organizations": Case(
        lambda s, w: s.list_organizations(limit_rows=10, offset_rows=0),
        _member,
        _outsider,
        target=lambda w: w.org_a.id,
    ),
    "list_organizations_by_user_id": Case(
        lambda s, w: s.list_organizations_by_user_id(user_id=w.member_a.id),
        _member,
        _outsider,
        target=lambda w: w.org_a.id,
    ),
    "insert_organization": Case(
        lambda s, w: s.insert_organization(
            id=uuid.uuid4(),
            name="new-org",
            display_name="",
            description="",
            icon="",
            is_default=False,
            created_at=T0,
        ),
        _site_owner,
        _admin,
    ),
    "update_organization": Case(
        lambda s, w: s.update_organization(
            name="renamed", display_name="", description="", icon="", updated_at=T0, id=w.org_a.id
        ),
        _admin,
        _outsider,
    ),
    "delete_organization": Case(
        lambda s, w: s.delete_organization(id=w.org_empty.id), _site_owner, _admin
    ),
    "insert_organization_member": Case(
        lambda s, w: s.insert_organization_member(
            organization_id=w.org_a.id, user_id=w.loner.id, roles=["org-member"], created_at=T0
        ),
        _admin,
        _outsider,
    ),
    "upsert_organization_member": Case(
        lambda s, w: s.upsert_organization_member(
            organization_id=w.org_a.id, user_id=w.member_a.id, roles=["org-admin"], created_at=T0
        ),
        _admin,
        _outsider,
    ),
    "upsert_organization_members": Case(
        lambda s, w: s.upsert_organization_members(
            organization_id=w.org_a.id,
            user_ids=[w.loner.id, w.member_a.id],
            roles=["org-auditor"],
            created_at=T0,
        ),
        _admin,
        _member,
    ),
    "insert_organization_member_if_absent": Case(
        lambda s, w: s.insert_organization_member_if_absent(
            organization_id=w.org_a.id, user_id=w.loner.id, roles=["org-member"], created_at=T0
        ),
        _admin,
        _outsider,
    ),
    "get_organization_member": Case(
        lambda s, w: s.get_organization_member(organization_id=w.org_a.id, user_id=w.member_a.id),
        _member,
        _outsider,
    ),
    "update_member_roles": Case(
        lambda s, w: s.update_member_roles(
            roles=["org-auditor"], organization_id=w.org_a.id, user_id=w.member_a.id
        ),
        _admin,
        _member,
    ),
    "delete_organization_member": Case(
        lambda s, w: s.delete_organization_member(
            organization_id=w.org_a.id, user_id=w.member_a.id
        ),
        _admin,
        _outsider,
    ),
    "list_organization_members": Case(
        lambda s, w: s.list_organization_members(
            organization_id=w.org_a.id, limit_rows=10, offset_rows=0
        ),
        _member,
        _outsider,
        target=lambda w: (w.org_a.id, w.member_a.id),
        key=_member_key,
    ),
    # users.sql
    "get_user_by_id": Case(lambda s, w: s.get_user_by_id(id=w.member_a.id), _member, _outsider),
    "get_user_by_email": Case(
        lambda s, w: s.get_user_by_email(email=w.member_a.email), _user_admin, _outsider
    ),
    "get_user_by_username": Case(
        lambda s, w: s.get_user_by_username(username=w.member_a.username), _member, _admin
    ),
    "insert_user": Case(_new_user, _user_admin, _admin),
    "update_user_profile": Case(
        lambda s, w: s.update_user_profile(
            email="me@example.org",
            username="me",
            name="Me",
            avatar_url=None,
            updated_at=T0,
            id=w.member_a.id,
        ),
        _member,
        _admin,
    ),
    "update_user_status": Case(
        lambda s, w: s.update_user_status(
            status=models.UserStatus.SUSPENDED, updated_at=T0, id=w.member_a.id
        ),
        _user_admin,
        _member,
    ),
    "update_user_rbac_roles": Case(
        lambda s, w: s.update_user_rbac_roles(rbac_roles=["owner"], id=w.member_a.id),
        _site_owner,
        _member,
    ),
    "update_user_hashed_password": Case(
        lambda s, w: s.update_user_hashed_password(hashed_password=b"y", id=w.member_a.id),
        _member,
        _outsider,
    ),
    "update_user_last_seen_at": Case(
        lambda s, w: s.update_user_last_seen_at(last_seen_at=T0, id=w.member_a.id),
        _restricted,
        _outsider,
    ),
    "soft_delete_user": Case(
        lambda s, w: s.soft_delete_user(id=w.member_a.id), _user_admin, _member
    ),
    "list_users": Case(
        lambda s, w: s.list_users(search=None, status=None, limit_rows=50, offset_rows=0),
        _member,
        _outsider,
        target=lambda w: w.member_a.id,
    ),
    # workspaces.sql
    "insert_workspace": Case(
        lambda s, w: s.insert_workspace(
            id=uuid.uuid4(),
            owner_id=w.member_a.id,
            organization_id=w.org_a.id,
            name="new-ws",
            autostart_schedule=None,
            ttl=None,
            created_at=T0,
        ),
        _member,
        _outsider,
    ),
    "get_workspace_by_id": Case(lambda s, w: s.get_workspace_by_id(id=w.ws.id), _member, _outsider),
    "get_workspace_by_owner_id_and_name": Case(
        lambda s, w: s.get_workspace_by_owner_id_and_name(owner_id=w.member_a.id, name=w.ws.name),
        _admin,
        _outsider,
    ),
    "update_workspace_name": Case(
        lambda s, w: s.update_workspace_name(name="renamed", id=w.ws.id), _member, _outsider
    ),
    "update_workspace_autostart": Case(
        lambda s, w: s.update_workspace_autostart(autostart_schedule="0 9 * * 1", id=w.ws.id),
        _member,
        _outsider,
    ),
    "update_workspace_ttl": Case(
        lambda s, w: s.update_workspace_ttl(ttl=60_000, id=w.ws.id), _member, _outsider
    ),
    "update_workspaces_ttl_by_organization_id": Case(
        lambda s, w: s.update_workspaces_ttl_by_organization_id(
            ttl=60_000, organization_id=w.org_a.id
        ),
        _admin,
        _outsider,
    ),
    "update_workspace_last_used_at": Case(
        lambda s, w: s.update_workspace_last_used_at(last_used_at=T0, id=w.ws.id),
        _member,
        _outsider,
    ),
    "update_workspace_dormant_at": Case(
        lambda s, w: s.update_workspace_dormant_at(dormant_at=T0, id=w.ws.id), _member, _outsider
    ),
    "soft_delete_workspace": Case(
        lambda s, w: s.soft_delete_workspace(id=w.ws.id), _admin, _outsider
    ),
    "list_workspaces_by_owner_id": Case(
        lambda s, w: s.list_workspaces_by_owner_id(
            owner_id=w.member_a.id, limit_rows=10, offset_rows=0
        ),
        _member,
        _outsider,
        target=lambda w: w.ws.id,
    ),
    "list_workspaces_by_organization_id": Case(
        lambda s, w: s.list_workspaces_by_organization_id(
            organization_id=w.org_a.id, after_created_at=None, after_id=None, limit_rows=10
        ),
        _admin,
        _outsider,
        target=lambda w: w.ws.id,
    ),
    "list_workspaces": Case(
        lambda s, w: s.list_workspaces(after_created_at=None, after_id=None, limit_rows=50),
        _member,
        _outsider,
        target=lambda w: w.ws.id,
    ),
    "count_workspaces_per_organization": Case(
        lambda s, w: s.count_workspaces_per_organization(), _site_owner, _admin
    ),
}


def bind(w: World, who: models.User | authz.SystemIdentity) -> AbstractContextManager[object]:
    """Act as a world user (with their roles) or as a system identity."""
    if isinstance(who, authz.SystemIdentity):
        return authz.as_system(who)
    return authz.as_subject(w.subject(who))


def test_every_case_names_a_query_method() -> None:
    assert sorted(CASES.keys() - QUERIES.keys()) == []


@pytest.mark.parametrize("name", sorted(QUERIES))
async def test_method_is_allowed_denied_and_needs_a_subject(name: str, db_dsn: str) -> None:
    case = CASES.get(name)
    if case is None:
        pytest.fail(f"Queries method {name} has no authorization case in {__name__} (CASES)")
    inner = Queries(await store.connect(db_dsn, min_size=1, max_size=2, constraints=CONSTRAINTS))
    try:
        w = await build(inner)
        s = with_authz(inner)
        with pytest.raises(NoSubject):
            await case.run(s, w)
        with bind(w, case.denied(w)):
            if case.target is None:
                with pytest.raises(NotAuthorized):
                    await case.run(s, w)
            else:
                assert case.target(w) not in [case.key(r) for r in await case.run(s, w)]
        with bind(w, case.allowed(w)):
            result = await case.run(s, w)
            if case.target is not None:
                assert case.target(w) in [case.key(r) for r in result]
    finally:
        await inner.store.close()
