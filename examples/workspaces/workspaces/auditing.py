"""The reference application's audit configuration: what is recorded, how, and where.

This is the one file to edit when a migration adds, renames or drops a column
of an audited table (``TABLE``: each field ``TRACK``, ``IGNORE`` or
``SECRET``, with the reason for the last two), or when a query writing an
audited table is added or renamed (``MUTATIONS``: ``Audited`` with how to
find the old row, or ``Unaudited`` with why not). ``AUDIT`` is handed to
``audit.AuditStore``; an incomplete or stale entry fails its construction and
``txstore lint``, naming this file and line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from audit import (
    IGNORE,
    SECRET,
    TRACK,
    Auditable,
    Audited,
    Config,
    DatabaseAuditor,
    Lookup,
    Resource,
    Unaudited,
    Via,
)

from workspaces import db
from workspaces.policies import SYSTEM_RESTRICTED

__all__ = ["AUDIT", "MUTATIONS", "NOT_AUDITED", "RESOURCES", "TABLE"]

CREATE = db.AuditAction.CREATE
WRITE = db.AuditAction.WRITE
DELETE = db.AuditAction.DELETE

# -- classification --------------------------------------------------------------------

_CREATED = (IGNORE, "set once on insert; the create entry's time records it")
_UPDATED = (IGNORE, "changes with every write; each entry's time records it")

TABLE: Final[tuple[Auditable, ...]] = (
    Auditable(
        table="users",
        model=db.User,
        fields={
            "id": TRACK,
            "email": TRACK,
            "username": TRACK,
            "name": TRACK,
            "hashed_password": (SECRET, "a password hash can be cracked offline"),
            "status": TRACK,
            "rbac_roles": TRACK,
            "avatar_url": TRACK,
            "deleted": TRACK,
            "last_seen_at": (IGNORE, "activity bookkeeping, written on every request"),
            "login_type": TRACK,
            "created_at": _CREATED,
            "updated_at": _UPDATED,
        },
    ),
    Auditable(
        table="organizations",
        model=db.Organization,
        fields={
            "id": TRACK,
            "name": TRACK,
            "display_name": TRACK,
            "description": TRACK,
            "icon": TRACK,
            "is_default": TRACK,
            "created_at": _CREATED,
            "updated_at": _UPDATED,
        },
    ),
    Auditable(
        table="organization_members",
        model=db.OrganizationMember,
        fields={
            "user_id": TRACK,
            "organization_id": TRACK,
            "roles": TRACK,
            "created_at": _CREATED,
            "updated_at": _UPDATED,
        },
    ),
    Auditable(
        table="workspaces",
        model=db.Workspace,
        fields={
            "id": TRACK,
            "owner_id": TRACK,
            "organization_id": TRACK,
            "name": TRACK,
            "deleted": TRACK,
            "autostart_schedule": TRACK,
            "ttl": TRACK,
            "last_used_at": (IGNORE, "activity bookkeeping, written on every connection"),
            "created_at": _CREATED,
            "updated_at": _UPDATED,
            "dormant_at": TRACK,
        },
    ),
    Auditable(
        table="oauth2_provider_apps",
        model=db.OAuth2ProviderApp,
        fields={
            "id": TRACK,
            "organization_id": TRACK,
            "name": TRACK,
            "callback_url": TRACK,
            "icon": TRACK,
            "metadata": TRACK,
            "created_at": _CREATED,
            "updated_at": _UPDATED,
        },
    ),
    Auditable(
        table="oauth2_provider_app_secrets",
        model=db.OAuth2ProviderAppSecret,
        fields={
            "id": TRACK,
            "app_id": TRACK,
            "hashed_secret": (SECRET, "a hash of a client secret is still a credential"),
            # A short suffix shown in UIs to tell secrets apart (see the column comment).
            "display_secret": TRACK,
            # The public lookup prefix; the rest of the secret is only stored hashed.
            "secret_prefix": TRACK,
            "created_at": _CREATED,
            "last_used_at": (IGNORE, "usage bookkeeping, written on every token exchange"),
        },
    ),
    Auditable(
        table="api_keys",
        model=db.APIKey,
        fields={
            "id": TRACK,  # the public prefix, sent in clear before the secret
            "hashed_secret": (SECRET, "a hash of the key's secret is still a credential"),
            "user_id": TRACK,
            "last_used": (IGNORE, "usage bookkeeping, written on every request"),
            "expires_at": TRACK,
            "created_at": _CREATED,
            "updated_at": _UPDATED,
            "login_type": TRACK,
            "lifetime_seconds": TRACK,
            "ip_address": (IGNORE, "client address of the last use; entries carry their own"),
            "scopes": TRACK,
            "token_name": TRACK,
        },
    ),
)

#: Tables that queries write but that are deliberately not audited, with the reason.
NOT_AUDITED: Final[Mapping[str, str]] = {
    "audit_logs": "the audit log itself: append-only entries and the retention purge",
}

# -- declarations ------------------------------------------------------------------------

_USER = Lookup("get_user_by_id")
_ORGANIZATION = Lookup("get_organization_by_id")
_MEMBER = Lookup("get_organization_member")
_WORKSPACE = Lookup("get_workspace_by_id")
_APP = Lookup("get_oauth2_provider_app_by_id")

RESOURCES: Final[Mapping[str, Resource]] = {
    "users": Resource("user", target="username"),
    "organizations": Resource("organization", target="name", org="id"),
    "organization_members": Resource("organization_member", id="user_id", org="organization_id"),
    "workspaces": Resource("workspace", target="name", org="organization_id"),
    "oauth2_provider_apps": Resource("oauth2_app", target="name", org="organization_id"),
    "oauth2_provider_app_secrets": Resource(
        "oauth2_app_secret",
        target="secret_prefix",
        org=Via("get_oauth2_provider_app_by_id", "organization_id", {"id": "app_id"}),
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
    # an upsert: a create entry when it adds the member, a write entry when it changes roles
    "upsert_organization_member": Audited(WRITE, _MEMBER),
    "insert_organization_member_if_absent": Audited(CREATE),  # ON CONFLICT DO NOTHING
    # a bulk upsert: per member, a create entry when it adds it, a write entry when it
    # adds roles; no lookup (the statement reads and locks the rows it replaces)
    "upsert_organization_members": Audited(WRITE),
    "update_member_roles": Audited(WRITE, _MEMBER),
    "delete_organization_member": Audited(DELETE),
    # workspaces
    "insert_workspace": Audited(CREATE),
    "update_workspace_name": Audited(WRITE, _WORKSPACE),
    "update_workspace_autostart": Audited(WRITE, _WORKSPACE),
    "update_workspace_ttl": Audited(WRITE, _WORKSPACE),
    "update_workspace_dormant_at": Audited(WRITE, _WORKSPACE),
    # bulk: one entry per workspace, written by the same statement
    "update_workspaces_ttl_by_organization_id": Audited(WRITE, key=("id",)),
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
    "delete_api_keys_by_user_id": Audited(DELETE),  # bulk: one entry per revoked key
    "delete_expired_api_keys": Unaudited("retention purge of keys that already expired"),
}


#: Entries go to ``audit_logs``, written as the system-restricted identity: a user
#: allowed to change a row is not thereby allowed to write audit rows.
AUDIT = Config(
    queries=db.QUERIES,
    table=TABLE,
    not_audited=NOT_AUDITED,
    mutations=MUTATIONS,
    resources=RESOURCES,
    auditor=DatabaseAuditor(db.INSERT_AUDIT_LOG, identity=SYSTEM_RESTRICTED),
    create=CREATE,
    delete=DELETE,
)
