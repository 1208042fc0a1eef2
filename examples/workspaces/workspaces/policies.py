"""The reference application's authorization model: roles, identities, policies.

This is the one file to edit when a query is added (its policy), a role
changes or a background worker needs an identity. ``MODEL`` is handed to
``authz.AuthzStore``; a query without a policy here fails its construction
(deny by default), and each problem names this file and line.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from authz import (
    Action,
    Model,
    Policy,
    Resource,
    Role,
    Scope,
    Subject,
    Via,
    check_args,
    filtered,
    insert,
    mutate,
    perms,
    read,
    roles,
    site,
    system_identity,
    system_only,
)
from store import Store
from store.errors import NotFound

from workspaces import db

__all__ = [
    "ACTIONS",
    "APPLICATION_CONNECT",
    "AUDIT_PURGER",
    "MODEL",
    "OBJECT_TYPES",
    "ORG_ROLES",
    "POLICIES",
    "RESOURCES",
    "SITE_ROLES",
    "SYSTEM_RESTRICTED",
    "UPDATE_PERSONAL",
]

# -- vocabulary ------------------------------------------------------------------------

#: One's own profile and password (beyond the common verbs of ``authz.Action``).
UPDATE_PERSONAL = "update_personal"
ACTIONS = frozenset({*Action, UPDATE_PERSONAL})
OBJECT_TYPES = frozenset(
    {
        "user",
        "organization",
        "organization_member",
        "workspace",
        "oauth2_app",
        "oauth2_app_secret",
        "api_key",
        "audit_log",
    }
)

# -- roles -------------------------------------------------------------------------------

_R, _C, _U, _D = Action.READ, Action.CREATE, Action.UPDATE, Action.DELETE
_UP, _AR, _USE = UPDATE_PERSONAL, Action.ASSIGN_ROLE, Action.USE
_MANAGE = (_R, _C, _U, _D, _USE)

_SITE_NAMES = frozenset({"owner", "member", "auditor", "user-admin"})
_ORG_NAMES = frozenset({"org-admin", "org-member", "org-auditor"})

SITE_ROLES: tuple[Role, ...] = (
    Role(
        "owner",
        site=perms(
            {
                "user": [*_MANAGE, _UP, _AR],
                "organization": _MANAGE,
                "organization_member": [*_MANAGE, _AR],
                "workspace": _MANAGE,
                "oauth2_app": _MANAGE,
                "oauth2_app_secret": _MANAGE,
                "api_key": _MANAGE,
                "audit_log": [_R],
            }
        ),
        assigns=_SITE_NAMES | _ORG_NAMES,
    ),
    Role("member", owned=perms({"user": [_R, _UP, _USE], "api_key": _MANAGE})),
    Role(
        "auditor",
        site=perms(
            {"audit_log": [_R], "user": [_R], "organization": [_R], "organization_member": [_R]}
        ),
    ),
    Role(
        "user-admin",
        site=perms(
            {
                "user": [_R, _C, _U, _UP, _D, _AR],
                "organization": [_R],
                "organization_member": [_R, _C, _U, _D, _AR],
            }
        ),
        # Not "owner": a user admin cannot make anyone (itself included) owner.
        assigns=(_SITE_NAMES - {"owner"}) | _ORG_NAMES,
    ),
)

ORG_ROLES: tuple[Role, ...] = (
    Role(
        "org-admin",
        org=perms(
            {
                "organization": [_R, _U],
                "organization_member": [_R, _C, _U, _D, _AR],
                "workspace": _MANAGE,
                "oauth2_app": [_R, _C, _U, _D],
                "oauth2_app_secret": [_R, _C, _D, _USE],
                "audit_log": [_R],
            }
        ),
        assigns=_ORG_NAMES,
    ),
    Role(
        "org-member",
        org=perms({"organization": [_R], "organization_member": [_R], "oauth2_app": [_R]}),
        owned=perms({"workspace": _MANAGE}),
    ),
    Role(
        "org-auditor",
        org=perms(
            {
                "organization": [_R],
                "organization_member": [_R],
                "workspace": [_R],
                "audit_log": [_R],
            }
        ),
    ),
)

#: An API key scope: one's workspaces and nothing else.
APPLICATION_CONNECT = Scope(
    "application_connect", perms({"user": ["read"], "workspace": ["read", "use"]})
)

# -- system identities ---------------------------------------------------------------

SYSTEM_RESTRICTED = system_identity(
    "system-restricted",
    "server internals: authenticate requests, look up users and organizations, write audit logs",
    {
        "user": ["read", "use"],
        "organization": ["read"],
        "organization_member": ["read"],
        "api_key": ["read", "use"],
        "oauth2_app": ["read"],
        "oauth2_app_secret": ["read", "use"],
        "audit_log": ["create"],
    },
)

AUDIT_PURGER = system_identity(
    "audit-purger",
    "the purge worker: read and delete old audit logs, delete expired API keys",
    {"audit_log": ["read", "purge"], "api_key": ["purge"], "advisory_lock": ["use"]},
)

# -- how rows name their objects ----------------------------------------------------

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
    org=Via(db.GET_OAUTH2_PROVIDER_APP_BY_ID, "app_id", "organization_id"),
)
# The list of an app's secrets joins the app (alias ``a``) for its organization.
OAUTH2_APP_SECRET_OF_APP = Resource("oauth2_app_secret", ("id",), None, org="organization_id")
# Every membership of one organization (a change of several members at once).
MEMBERS_OF_ORG = Resource("organization_member", (), owner=None, org="organization_id")
# Every workspace of one organization (an organization-wide change).
WORKSPACES_OF_ORG = Resource("workspace", (), owner=None, org="organization_id")
API_KEY = Resource("api_key", ("id",), owner="user_id", org=None)
API_KEYS_OF_USER = Resource("api_key", (), owner="user_id", org=None)
AUDIT_LOG = Resource("audit_log", ("id",), owner="user_id", org="organization_id")

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
        )
    }
)

_APP = db.GET_OAUTH2_PROVIDER_APP_BY_ID
_SECRET = db.GET_OAUTH2_PROVIDER_APP_SECRET_BY_ID
_KEY = db.GET_API_KEY_BY_ID
_ORG = db.GET_ORGANIZATION_BY_ID
_MEMBER = db.GET_ORGANIZATION_MEMBER
_USER = db.GET_USER_BY_ID
_WS = db.GET_WORKSPACE_BY_ID

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
        # an upsert may replace roles: taking one away needs the right to assign it
        "upsert_organization_member": roles(
            insert(MEMBER), "roles", org="organization_id", get=_MEMBER
        ),
        # adds members or roles to members, never takes a role away: the roles it
        # grants must be assignable in the organization
        "upsert_organization_members": roles(
            check_args(MEMBERS_OF_ORG, _C), "roles", org="organization_id"
        ),
        "insert_organization_member_if_absent": roles(
            insert(MEMBER), "roles", org="organization_id"
        ),
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
        "update_user_profile": mutate(USER, UPDATE_PERSONAL, _USER),
        "update_user_status": mutate(USER, _U, _USER),
        "update_user_rbac_roles": roles(
            mutate(USER, Action.ASSIGN_ROLE, _USER), "rbac_roles", get=_USER
        ),
        "update_user_hashed_password": mutate(USER, UPDATE_PERSONAL, _USER),
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
        "update_workspaces_ttl_by_organization_id": check_args(WORKSPACES_OF_ORG, _U),
        "update_workspace_last_used_at": mutate(WORKSPACE, Action.USE, _WS),
        "update_workspace_dormant_at": mutate(WORKSPACE, _U, _WS),
        "soft_delete_workspace": mutate(WORKSPACE, _D, _WS),
        "list_workspaces_by_owner_id": filtered(WORKSPACE),
        "list_workspaces_by_organization_id": filtered(WORKSPACE),
        "list_workspaces": filtered(WORKSPACE),
        "count_workspaces_per_organization": site("workspace", _R),
    }
)


# -- revocation ---------------------------------------------------------------------------


async def revoked(store: Store, subject: Subject) -> bool:
    """True when the subject's user row says deleted or not active.

    Asked once per subject binding, on the store below authorization. An id
    with no user row is not a revocation (tests and bootstrap code act as
    users that were never stored).
    """
    try:
        user = await store.fetch_one(db.GET_USER_BY_ID, (subject.id,))
    except NotFound:
        return False
    return bool(user.deleted) or user.status != db.UserStatus.ACTIVE


MODEL = Model(
    queries=db.QUERIES,
    policies=POLICIES,
    actions=ACTIONS,
    object_types=OBJECT_TYPES,
    site_roles=SITE_ROLES,
    org_roles=ORG_ROLES,
    system_identities=(SYSTEM_RESTRICTED, AUDIT_PURGER),
    scopes=(APPLICATION_CONNECT,),
    revoked=revoked,
)
