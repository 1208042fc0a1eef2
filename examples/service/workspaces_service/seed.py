"""A first organization, user and API key, so a fresh database has someone to serve."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass

from workspaces.db import LoginType, Organization, Queries, User, UserStatus

from workspaces_service.keys import NewKey, issue_key

__all__ = ["Seeded", "seed_user"]


@dataclass(frozen=True, slots=True)
class Seeded:
    """What :func:`seed_user` created; ``key.token`` is the only copy of the secret."""

    organization: Organization
    user: User
    key: NewKey


async def seed_user(
    queries: Queries,
    username: str,
    *,
    organization: Organization | None = None,
    org_roles: tuple[str, ...] = ("org-member",),
    key_lifetime: datetime.timedelta = datetime.timedelta(days=1),
    key_scopes: tuple[str, ...] = ("all",),
) -> Seeded:
    """A user (site role ``member``) in ``organization`` (created when None) with one key.

    ``queries`` is a bare store (below authorization): this is bootstrap, like a
    migration's fixture, done before any subject exists.

    Raises:
        store.errors.UniqueViolation: the username or e-mail is taken.
    """
    now = datetime.datetime.now(datetime.UTC)
    if organization is None:
        organization = await queries.insert_organization(
            id=uuid.uuid4(),
            name=f"{username}-org",
            display_name=f"{username.title()}'s organization",
            description="",
            icon="",
            is_default=False,
            created_at=now,
        )
    user = await queries.insert_user(
        id=uuid.uuid4(),
        email=f"{username}@example.com",
        username=username,
        name=username.title(),
        hashed_password=b"",
        status=UserStatus.ACTIVE,
        rbac_roles=["member"],
        avatar_url=None,
        login_type=LoginType.NONE,
        created_at=now,
    )
    await queries.insert_organization_member(
        organization_id=organization.id, user_id=user.id, roles=list(org_roles), created_at=now
    )
    key = await issue_key(queries, user.id, lifetime=key_lifetime, scopes=key_scopes, now=now)
    return Seeded(organization=organization, user=user, key=key)
