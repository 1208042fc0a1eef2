"""The policy table: one declared policy per query method, and nothing else.

To add a query to ``queries/*.sql``, add its entry here (see docs/authz.md).
``AuthzStore`` refuses to construct, and the test suite fails, while a query
method has no entry or an entry names a query that no longer exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from authz._policy import (
    Policy,
    Resource,
    Via,
    any_subject,
    check_args,
    filtered,
    insert,
    mutate,
    read,
    roles,
    site,
    system_only,
)
from authz._rbac import Action
from authz.errors import PolicyError
from store import QUERIES, Query

__all__ = ["POLICIES", "RESOURCES"]

_R, _U, _D = Action.READ, Action.UPDATE, Action.DELETE


def _q(name: str) -> Query[Any]:
    """A query the policies below fetch with; a renamed one fails here, by name."""
    found = QUERIES.get(name)
    if found is None:
        raise PolicyError([f"authz/_policies.py: query {name} used to fetch rows no longer exists"])
    return found


ORGANIZATION = Resource("organization", ("id",), owner=None, org="id")
USER = Resource("user", ("id",), owner="id", org=None)
MEMBER = Resource(
    "organization_member", ("organization_id", "user_id"), owner="user_id", org="organization_id"
)
WORKSPACE = Resource("workspace", ("id",), owner="owner_id", org="organization_id")
OAUTH2_APP = Resource("oauth2_app", ("id",), owner=None, org="organization_id")
OAUTH2_APP_SECRET = Resource(
    "oauth2_app_secret",
    ("id",),
    owner=None,
    org=Via(_q("get_oauth2_provider_app_by_id"), "app_id", "organization_id"),
)
# The list of an app's secrets joins the app (alias ``a``) for its organization.
OAUTH2_APP_SECRET_OF_APP = Resource("oauth2_app_secret", ("id",), None, org="organization_id")
API_KEY = Resource("api_key", ("id",), owner="user_id", org=None)
API_KEYS_OF_USER = Resource("api_key", (), owner="user_id", org=None)
AUDIT_LOG = Resource("audit_log", ("id",), owner="user_id", org="organization_id")
# Not a row: the transaction-scoped advisory locks of store.locks (leader election).
ADVISORY_LOCK = Resource("advisory_lock", (), owner=None, org=None)

#: Every object type and how its rows name id, owner and organization.
RESOURCES: Mapping[str, Resource] = MappingProxyType(
    {
        r.type: r
        for r in (
            ORGANIZATION,
            USER,
            MEMBER,
            WORKSPACE,
            OAUTH2_APP,
            OAUTH2_APP_SECRET,
            API_KEY,
            AUDIT_LOG,
            ADVISORY_LOCK,
        )
    }
)

_APP = _q("get_oauth2_provider_app_by_id")
_SECRET = _q("get_oauth2_provider_app_secret_by_id")
_KEY = _q("get_api_key_by_id")
_ORG = _q("get_organization_by_id")
_MEMBER = _q("get_organization_member")
_USER = _q("get_user_by_id")
_WS = _q("get_workspace_by_id")

POLICIES: Mapping[str, Policy] = MappingProxyType(
    {
        # api_keys.sql
        "insert_api_key": insert(API_KEY),
        "get_api_key_by_id": read(API_KEY),
        "get_api_key_by_token_name": read(API_KEY),
        "list_api_keys_by_user_id": filtered(API_KEY),
        "update_api_key_usage": mutate(API_KEY, Action.USE, _KEY),
        "delete_api_key": mutate(API_KEY, _D, _KEY),
        "delete_api_keys_by_user_id": check_args(API_KEYS_OF_USER, _D),
        "delete_expired_api_keys": system_only("api_key", Action.PURGE),
        # audit_logs.sql
        "insert_audit_log": system_only("audit_log", Action.CREATE),
        "get_audit_log_by_id": read(AUDIT_LOG),
        "search_audit_logs": filtered(AUDIT_LOG),
        "delete_audit_logs_before": system_only("audit_log", Action.PURGE),
        # oauth2.sql
        "insert_oauth2_provider_app": insert(OAUTH2_APP),
        "get_oauth2_provider_app_by_id": read(OAUTH2_APP),
        "list_oauth2_provider_apps": filtered(OAUTH2_APP),
        "update_oauth2_provider_app": mutate(OAUTH2_APP, _U, _APP),
        "delete_oauth2_provider_app": mutate(OAUTH2_APP, _D, _APP),
        "insert_oauth2_provider_app_secret": insert(OAUTH2_APP_SECRET),
        "get_oauth2_provider_app_secret_by_id": read(OAUTH2_APP_SECRET),
        "get_oauth2_provider_app_secret_by_secret_prefix": read(OAUTH2_APP_SECRET),
        "list_oauth2_provider_app_secrets_by_app_id": filtered(OAUTH2_APP_SECRET_OF_APP),
        "update_oauth2_provider_app_secret_last_used_at": mutate(
            OAUTH2_APP_SECRET, Action.USE, _SECRET
        ),
        "delete_oauth2_provider_app_secret": mutate(OAUTH2_APP_SECRET, _D, _SECRET),
        # organizations.sql
        "get_organization_by_id": read(ORGANIZATION),
        "get_organization_by_name": read(ORGANIZATION),
        "get_default_organization": read(ORGANIZATION),
        "list_organizations": filtered(ORGANIZATION),
        "list_organizations_by_user_id": filtered(ORGANIZATION),
        "insert_organization": insert(ORGANIZATION),
        "update_organization": mutate(ORGANIZATION, _U, _ORG),
        "delete_organization": mutate(ORGANIZATION, _D, _ORG),
        "insert_organization_member": roles(insert(MEMBER), "roles", org="organization_id"),
        "get_organization_member": read(MEMBER),
        "update_member_roles": roles(
            mutate(MEMBER, Action.ASSIGN_ROLE, _MEMBER), "roles", org="organization_id", get=_MEMBER
        ),
        "delete_organization_member": mutate(MEMBER, _D, _MEMBER),
        "list_organization_members": filtered(MEMBER),
        # users.sql
        "get_user_by_id": read(USER),
        "get_user_by_email": read(USER),
        "get_user_by_username": read(USER),
        "insert_user": roles(insert(USER), "rbac_roles"),
        "update_user_profile": mutate(USER, Action.UPDATE_PERSONAL, _USER),
        "update_user_status": mutate(USER, _U, _USER),
        "update_user_rbac_roles": roles(
            mutate(USER, Action.ASSIGN_ROLE, _USER), "rbac_roles", get=_USER
        ),
        "update_user_hashed_password": mutate(USER, Action.UPDATE_PERSONAL, _USER),
        "update_user_last_seen_at": mutate(USER, Action.USE, _USER),
        "soft_delete_user": mutate(USER, _D, _USER),
        "list_users": filtered(USER),
        # workspaces.sql
        "insert_workspace": insert(WORKSPACE),
        "get_workspace_by_id": read(WORKSPACE),
        "get_workspace_by_owner_id_and_name": read(WORKSPACE),
        "update_workspace_name": mutate(WORKSPACE, _U, _WS),
        "update_workspace_autostart": mutate(WORKSPACE, _U, _WS),
        "update_workspace_ttl": mutate(WORKSPACE, _U, _WS),
        "update_workspace_last_used_at": mutate(WORKSPACE, Action.USE, _WS),
        "update_workspace_dormant_at": mutate(WORKSPACE, _U, _WS),
        "soft_delete_workspace": mutate(WORKSPACE, _D, _WS),
        "list_workspaces_by_owner_id": filtered(WORKSPACE),
        "list_workspaces_by_organization_id": filtered(WORKSPACE),
        "list_workspaces": filtered(WORKSPACE),
        "count_workspaces_per_organization": site("workspace", _R),
        # framework queries (store.FRAMEWORK_QUERIES)
        "txstore.locks.TryAcquire": system_only("advisory_lock", Action.USE),
        "txstore.locks.Acquire": system_only("advisory_lock", Action.USE),
        "txstore.pubsub.Publish": any_subject("a notification carries no row; channels are code"),
    }
)
