"""The audit classification table: every field of every auditable model.

This is the one file to edit when a migration adds, renames or drops a column
of an audited table. Each field is ``TRACK`` (old and new values recorded),
``IGNORE`` (never recorded) or ``SECRET`` (recorded as "changed", never with a
value). ``IGNORE`` and ``SECRET`` entries carry the reason. ``check_table()``
fails, naming this file, when a field is missing or no longer exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from audit._field import IGNORE, SECRET, TRACK, Auditable
from store import models

__all__ = ["NOT_AUDITED", "TABLE"]

_CREATED = (IGNORE, "set once on insert; the create entry's time records it")
_UPDATED = (IGNORE, "changes with every write; each entry's time records it")

TABLE: Final[tuple[Auditable, ...]] = (
    Auditable(
        table="users",
        model=models.User,
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
        model=models.Organization,
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
        model=models.OrganizationMember,
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
        model=models.Workspace,
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
        model=models.OAuth2ProviderApp,
        fields={
            "id": TRACK,
            "organization_id": TRACK,
            "name": TRACK,
            "callback_url": TRACK,
            "icon": TRACK,
            "created_at": _CREATED,
            "updated_at": _UPDATED,
        },
    ),
    Auditable(
        table="oauth2_provider_app_secrets",
        model=models.OAuth2ProviderAppSecret,
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
        model=models.APIKey,
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
