"""Variants of the application's authorization model, for tests of its checks."""

from __future__ import annotations

from typing import Any

import authz

from workspaces import db
from workspaces import policies as p


def variant(**changes: Any) -> authz.Model:
    """The reference model with ``changes`` (keyword arguments of ``authz.Model``).

    Raises:
        authz.errors.PolicyError: the variant is inconsistent.
    """
    fields: dict[str, Any] = {
        "queries": db.QUERIES,
        "policies": p.POLICIES,
        "actions": p.ACTIONS,
        "object_types": p.OBJECT_TYPES,
        "site_roles": p.SITE_ROLES,
        "org_roles": p.ORG_ROLES,
        "system_identities": (p.SYSTEM_RESTRICTED, p.AUDIT_PURGER),
        "scopes": (p.APPLICATION_CONNECT,),
        "revoked": p.revoked,
        "source": p.MODEL.source,
    }
    fields.update(changes)
    return authz.Model(**fields)
