# Test data: token names, display secrets and prefixes are fixed strings, not credentials.
# ruff: noqa: S106
"""Minimal row factories for the authorization tests: valid rows with defaults.

They write through whatever store they are given; the tests pass the bare
``PgStore`` so setting up never depends on the layer under test.
"""

from __future__ import annotations

import datetime
import itertools
import secrets
import string
import uuid

from workspaces.db import Queries, models

_seq = itertools.count(1)
NOW = datetime.datetime(2024, 3, 10, 12, 0, tzinfo=datetime.UTC)


def _n() -> int:
    return next(_seq)


async def organization(store: Queries, *, is_default: bool = False) -> models.Organization:
    n = _n()
    return await store.insert_organization(
        id=uuid.uuid4(),
        name=f"org-{n}-{secrets.token_hex(3)}",
        display_name=f"Org {n}",
        description="",
        icon="",
        is_default=is_default,
        created_at=NOW,
    )


async def user(
    store: Queries, roles: list[str] | None = None, *, created_at: datetime.datetime = NOW
) -> models.User:
    tag = f"u{_n()}-{secrets.token_hex(3)}"
    return await store.insert_user(
        id=uuid.uuid4(),
        email=f"{tag}@example.com",
        username=tag,
        name=tag,
        hashed_password=b"x",
        status=models.UserStatus.ACTIVE,
        rbac_roles=["member"] if roles is None else roles,
        avatar_url=None,
        login_type=models.LoginType.PASSWORD,
        created_at=created_at,
    )


async def member(
    store: Queries, org: models.Organization, who: models.User, roles: list[str]
) -> models.OrganizationMember:
    return await store.insert_organization_member(
        organization_id=org.id, user_id=who.id, roles=roles, created_at=NOW
    )


async def workspace(
    store: Queries,
    owner: models.User,
    org: models.Organization,
    *,
    created_at: datetime.datetime = NOW,
) -> models.Workspace:
    return await store.insert_workspace(
        id=uuid.uuid4(),
        owner_id=owner.id,
        organization_id=org.id,
        name=f"ws-{_n()}",
        autostart_schedule=None,
        ttl=None,
        created_at=created_at,
    )


async def app(store: Queries, org: models.Organization) -> models.OAuth2ProviderApp:
    return await store.insert_oauth2_provider_app(
        id=uuid.uuid4(),
        organization_id=org.id,
        name=f"app-{_n()}-{secrets.token_hex(3)}",
        callback_url="https://example.com/cb",
        icon="",
        metadata=None,
        created_at=NOW,
    )


async def secret(store: Queries, of: models.OAuth2ProviderApp) -> models.OAuth2ProviderAppSecret:
    return await store.insert_oauth2_provider_app_secret(
        id=uuid.uuid4(),
        app_id=of.id,
        hashed_secret=b"h",
        display_secret="abc",
        secret_prefix=secrets.token_hex(6),
        created_at=NOW,
    )


def key_id() -> str:
    return "".join(secrets.choice(string.ascii_letters) for _ in range(10))


async def api_key(
    store: Queries,
    owner: models.User,
    *,
    expires_at: datetime.datetime = NOW + datetime.timedelta(days=1),
    token_name: str | None = None,
) -> models.APIKey:
    return await store.insert_api_key(
        id=key_id(),
        hashed_secret=b"h",
        user_id=owner.id,
        expires_at=expires_at,
        created_at=NOW,
        login_type=models.LoginType.PASSWORD,
        lifetime_seconds=86400,
        ip_address=None,
        scopes=["all"],
        token_name=token_name,
    )


async def audit_log(
    store: Queries,
    actor: uuid.UUID,
    org: uuid.UUID | None,
    *,
    time: datetime.datetime = NOW,
) -> models.AuditLog:
    return await store.insert_audit_log(
        id=uuid.uuid4(),
        time=time,
        user_id=actor,
        org_id=org,
        ip=None,
        user_agent=None,
        request_id=None,
        resource_type="workspace",
        resource_id="x",
        resource_target="",
        action=models.AuditAction.CREATE,
        diff={},
        status_code=200,
        additional_fields={},
    )
