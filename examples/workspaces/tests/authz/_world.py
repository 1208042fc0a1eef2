# Test data: token names, display secrets and prefixes are fixed strings, not credentials.
# ruff: noqa: S106
"""A small world of two organizations and the people in them, for authorization tests."""

from __future__ import annotations

from dataclasses import dataclass

import authz

from tests.authz import _factories as f
from workspaces.db import Queries, models


@dataclass(frozen=True)
class World:
    """Organization A holds every kind of row; B is where the outsider is admin."""

    org_a: models.Organization
    org_b: models.Organization
    org_empty: models.Organization
    member_a: models.User  # site member, org-member of A, owns the A rows
    admin_a: models.User  # site member, org-admin of A
    outsider: models.User  # site member, org-admin of B
    site_owner: models.User
    user_admin: models.User
    auditor: models.User
    loner: models.User  # in no organization
    ws: models.Workspace
    ws_b: models.Workspace
    app: models.OAuth2ProviderApp
    secret: models.OAuth2ProviderAppSecret
    key: models.APIKey
    log: models.AuditLog

    def subject(self, who: models.User) -> authz.Subject:
        """The subject of ``who``, with the roles the world gave them."""
        org_roles = {
            self.member_a.id: {self.org_a.id: ["org-member"]},
            self.admin_a.id: {self.org_a.id: ["org-admin"]},
            self.outsider.id: {self.org_b.id: ["org-admin"]},
        }.get(who.id, {})
        return authz.Subject.user(who.id, who.rbac_roles, org_roles)


async def build(store: Queries) -> World:
    """Create the world through ``store`` (the bare store, not the layer under test)."""
    org_a = await f.organization(store, is_default=True)
    org_b = await f.organization(store)
    org_empty = await f.organization(store)
    member_a = await f.user(store)
    admin_a = await f.user(store)
    outsider = await f.user(store)
    site_owner = await f.user(store, ["owner"])
    user_admin = await f.user(store, ["user-admin"])
    auditor = await f.user(store, ["auditor"])
    loner = await f.user(store)
    await f.member(store, org_a, member_a, ["org-member"])
    await f.member(store, org_a, admin_a, ["org-admin"])
    await f.member(store, org_b, outsider, ["org-admin"])
    ws = await f.workspace(store, member_a, org_a)
    ws_b = await f.workspace(store, outsider, org_b)
    app = await f.app(store, org_a)
    secret = await f.secret(store, app)
    key = await f.api_key(store, member_a, token_name="cli")
    log = await f.audit_log(store, member_a.id, org_a.id)
    return World(
        org_a, org_b, org_empty, member_a, admin_a, outsider, site_owner, user_admin, auditor,
        loner, ws, ws_b, app, secret, key, log,
    )  # fmt: skip
