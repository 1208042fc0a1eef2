"""Authorization: who is acting, what they may do, and a ``Store`` that enforces it."""

from authz._authorize import authorize
from authz._check import Problem, check_policies
from authz._policies import POLICIES, RESOURCES
from authz._policy import Policy, Resource, Via
from authz._rbac import ORG_ROLES, SITE_ROLES, Action, Object, Role, Scope
from authz._store import AuthzStore
from authz._subject import DecisionCache, Subject, SystemIdentity, as_subject, current_subject
from authz._system import (
    AUDIT_PURGER,
    SYSTEM_IDENTITIES,
    SYSTEM_RESTRICTED,
    as_audit_purger,
    as_system,
    as_system_restricted,
    register_identity,
)

__all__ = [
    "AUDIT_PURGER",
    "ORG_ROLES",
    "POLICIES",
    "RESOURCES",
    "SITE_ROLES",
    "SYSTEM_IDENTITIES",
    "SYSTEM_RESTRICTED",
    "Action",
    "AuthzStore",
    "DecisionCache",
    "Object",
    "Policy",
    "Problem",
    "Resource",
    "Role",
    "Scope",
    "Subject",
    "SystemIdentity",
    "Via",
    "as_audit_purger",
    "as_subject",
    "as_system",
    "as_system_restricted",
    "authorize",
    "check_policies",
    "current_subject",
    "register_identity",
]
