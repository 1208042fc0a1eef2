"""Actions, objects and the built-in roles.

A role grants actions on object types at up to three levels: ``site`` (any
object), ``org`` (objects of an organization the subject holds the role in;
organization roles only) and ``owned`` (objects the subject owns; for an
organization role, only those inside that organization).
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import ClassVar

__all__ = [
    "ORG_ROLES",
    "SITE_ROLES",
    "Action",
    "Object",
    "Perms",
    "Role",
    "Scope",
    "perms",
]


class Action(enum.StrEnum):
    """What a subject does to an object."""

    READ = "read"
    CREATE = "create"
    UPDATE = "update"
    UPDATE_PERSONAL = "update_personal"  # one's own profile and password
    DELETE = "delete"
    ASSIGN_ROLE = "assign_role"  # site or organization roles
    USE = "use"  # record activity: last seen, last used
    PURGE = "purge"  # retention deletes; system identities only


#: Object type -> the actions granted on it.
Perms = Mapping[str, frozenset[Action]]


def perms(spec: Mapping[str, Iterable[Action | str]]) -> Perms:
    """Freeze ``{type: actions}`` into a read-only :data:`Perms`.

    Raises:
        ValueError: an action is not an :class:`Action`.
    """
    return MappingProxyType({t: frozenset(Action(a) for a in acts) for t, acts in spec.items()})


@dataclass(frozen=True, slots=True)
class Object:
    """What a decision is about: a type, an id, and who owns it where.

    ``owner_id`` and ``org_id`` are None when the object has no owner (an
    organization) or belongs to no organization (a user, an API key). An object
    with neither stands for the whole site (``count_workspaces_per_organization``).
    """

    type: str
    id: str
    owner_id: uuid.UUID | None = None
    org_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class Role:
    """A named set of grants at site, organization and owner level.

    ``assigns`` names the roles a holder may grant or take away (the ceiling
    of role assignment): site roles and organization roles alike, an
    organization role's only in the organization where it is held.
    """

    name: str
    site: Perms = field(default_factory=lambda: perms({}))
    org: Perms = field(default_factory=lambda: perms({}))
    owned: Perms = field(default_factory=lambda: perms({}))
    assigns: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Scope:
    """A ceiling on what a subject's roles grant, as API key scopes set.

    ``permissions`` None means no ceiling (the ``all`` scope).
    """

    name: str
    permissions: Perms | None = None

    def allows(self, object_type: str, action: Action) -> bool:
        """Whether this scope leaves ``action`` on ``object_type`` to the roles."""
        return self.permissions is None or action in self.permissions.get(object_type, ())

    ALL: ClassVar[Scope]  # set below: no ceiling
    APPLICATION_CONNECT: ClassVar[Scope]  # set below: one's workspaces and nothing else


Scope.ALL = Scope("all")
Scope.APPLICATION_CONNECT = Scope(
    "application_connect",
    perms({"user": ["read"], "workspace": ["read", "use"]}),
)

_R, _C, _U, _D = Action.READ, Action.CREATE, Action.UPDATE, Action.DELETE
_UP, _AR, _USE = Action.UPDATE_PERSONAL, Action.ASSIGN_ROLE, Action.USE
_MANAGE = (_R, _C, _U, _D, _USE)

_SITE = frozenset({"owner", "member", "auditor", "user-admin"})
_ORG = frozenset({"org-admin", "org-member", "org-auditor"})

SITE_ROLES: Mapping[str, Role] = MappingProxyType(
    {
        "owner": Role(
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
            assigns=_SITE | _ORG,
        ),
        "member": Role(
            "member",
            owned=perms({"user": [_R, _UP, _USE], "api_key": _MANAGE}),
        ),
        "auditor": Role(
            "auditor",
            site=perms(
                {
                    "audit_log": [_R],
                    "user": [_R],
                    "organization": [_R],
                    "organization_member": [_R],
                }
            ),
        ),
        "user-admin": Role(
            "user-admin",
            site=perms(
                {
                    "user": [_R, _C, _U, _UP, _D, _AR],
                    "organization": [_R],
                    "organization_member": [_R, _C, _U, _D, _AR],
                }
            ),
            # Not "owner": a user admin cannot make anyone (itself included) owner.
            assigns=(_SITE - {"owner"}) | _ORG,
        ),
    }
)

ORG_ROLES: Mapping[str, Role] = MappingProxyType(
    {
        "org-admin": Role(
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
            assigns=_ORG,
        ),
        "org-member": Role(
            "org-member",
            org=perms({"organization": [_R], "organization_member": [_R], "oauth2_app": [_R]}),
            owned=perms({"workspace": _MANAGE}),
        ),
        "org-auditor": Role(
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
    }
)
