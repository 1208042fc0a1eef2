"""Audit declarations: every query that writes an auditable table, audited or not.

This is the one file to edit when a query writing an audited table is added
or renamed. ``MUTATIONS`` maps the query method name to :class:`Audited` (how
to find the old row) or :class:`Unaudited` (why not); ``RESOURCES`` says how a
row of each audited table names itself in an entry. A writing query without
a declaration, or a declaration naming no query, fails ``AuditStore``
construction and the test suite.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from audit._declare import Audited, Lookup, Resource, Unaudited, Via
from store import models

__all__ = ["MUTATIONS", "RESOURCES"]

CREATE = models.AuditAction.CREATE
WRITE = models.AuditAction.WRITE
DELETE = models.AuditAction.DELETE

_USER = Lookup("get_user_by_id")
_ORGANIZATION = Lookup("get_organization_by_id")
_MEMBER = Lookup("get_organization_member")
_WORKSPACE = Lookup("get_workspace_by_id")
_APP = Lookup("get_oauth2_provider_app_by_id")

RESOURCES: Final[Mapping[str, Resource]] = {
    "users": Resource("user", target="username"),
    "organizations": Resource("organization", target="name", organization="id"),
    "organization_members": Resource(
        "organization_member", id="user_id", organization="organization_id"
    ),
    "workspaces": Resource("workspace", target="name", organization="organization_id"),
    "oauth2_provider_apps": Resource("oauth2_app", target="name", organization="organization_id"),
    "oauth2_provider_app_secrets": Resource(
        "oauth2_app_secret",
        target="secret_prefix",
        organization=Via("get_oauth2_provider_app_by_id", "organization_id", {"id": "app_id"}),
    ),
    "api_keys": Resource("api_key", target="token_name"),
}

MUTATIONS: Final[Mapping[str, Audited | Unaudited]] = {
    # users
    "insert_user": Audited(CREATE),
    "update_user_profile": Audited(WRITE, _USER),
    "update_user_status": Audited(WRITE, _USER),
    "update_user_rbac_roles": Audited(WRITE, _USER),
    "update_user_hashed_password": Audited(WRITE, _USER),
    "soft_delete_user": Audited(DELETE, _USER),
    "update_user_last_seen_at": Unaudited("activity bookkeeping on every request"),
    # organizations and members
    "insert_organization": Audited(CREATE),
    "update_organization": Audited(WRITE, _ORGANIZATION),
    "delete_organization": Audited(DELETE),
    "insert_organization_member": Audited(CREATE),
    "update_member_roles": Audited(WRITE, _MEMBER),
    "delete_organization_member": Audited(DELETE),
    # workspaces
    "insert_workspace": Audited(CREATE),
    "update_workspace_name": Audited(WRITE, _WORKSPACE),
    "update_workspace_autostart": Audited(WRITE, _WORKSPACE),
    "update_workspace_ttl": Audited(WRITE, _WORKSPACE),
    "update_workspace_dormant_at": Audited(WRITE, _WORKSPACE),
    "soft_delete_workspace": Audited(DELETE, _WORKSPACE),
    "update_workspace_last_used_at": Unaudited("activity bookkeeping on every connection"),
    # OAuth2 apps and their secrets
    "insert_oauth2_provider_app": Audited(CREATE),
    "update_oauth2_provider_app": Audited(WRITE, _APP),
    "delete_oauth2_provider_app": Audited(DELETE),
    "insert_oauth2_provider_app_secret": Audited(CREATE),
    "delete_oauth2_provider_app_secret": Audited(DELETE),
    "update_oauth2_provider_app_secret_last_used_at": Unaudited(
        "usage bookkeeping on every token exchange"
    ),
    # API keys
    "insert_api_key": Audited(CREATE),
    "delete_api_key": Audited(DELETE),
    "update_api_key_usage": Unaudited(
        "usage bookkeeping on every request: last use, sliding expiry, client address"
    ),
    "delete_api_keys_by_user_id": Unaudited(
        "bulk sign-out (:execrows, no rows to diff); the caller audits the user-level action"
    ),
    "delete_expired_api_keys": Unaudited("retention purge of keys that already expired"),
}
