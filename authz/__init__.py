"""Authorization: who is acting, what they may do, and a ``Store`` that enforces it.

An application declares its model (actions, object types, roles, system
identities, a policy per query, revocation) as one :class:`Model` and wraps
its store in ``AuthzStore(inner, model)``.
"""

from authz._authorize import Grants
from authz._check import Problem, check_policies
from authz._model import FRAMEWORK_POLICIES, Model, Revoked
from authz._policy import (
    Guard,
    Open,
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
from authz._rbac import Action, Object, Perms, Role, Scope, perms
from authz._store import AuthzStore
from authz._subject import (
    DecisionCache,
    Subject,
    SystemIdentity,
    as_subject,
    current_decisions,
    current_subject,
)
from authz._system import as_system, system_identity

__all__ = [
    "FRAMEWORK_POLICIES",
    "Action",
    "AuthzStore",
    "DecisionCache",
    "Grants",
    "Guard",
    "Model",
    "Object",
    "Open",
    "Perms",
    "Policy",
    "Problem",
    "Resource",
    "Revoked",
    "Role",
    "Scope",
    "Subject",
    "SystemIdentity",
    "Via",
    "any_subject",
    "as_subject",
    "as_system",
    "check_args",
    "check_policies",
    "current_decisions",
    "current_subject",
    "filtered",
    "insert",
    "mutate",
    "perms",
    "read",
    "roles",
    "site",
    "system_identity",
    "system_only",
]
