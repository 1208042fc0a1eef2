"""The vocabulary of an authorization model: actions, objects, roles and scopes.

A role grants actions on object types at up to three levels: ``site`` (any
object), ``org`` (objects of an organization the subject holds the role in;
organization roles only) and ``owned`` (objects the subject owns; for an
organization role, only those inside that organization). Which roles, object
types and actions exist is the application's to declare (:class:`authz.Model`).
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import ClassVar

__all__ = ["Action", "Object", "Perms", "Role", "Scope", "perms"]


class Action(enum.StrEnum):
    """Common verbs; an application adds its own actions as plain strings."""

    READ = "read"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    ASSIGN_ROLE = "assign_role"  # grant or take away roles
    USE = "use"  # record activity, take an advisory lock
    PURGE = "purge"  # retention deletes; system identities only


#: Object type -> the actions granted on it.
Perms = Mapping[str, frozenset[str]]


def perms(spec: Mapping[str, Iterable[str]]) -> Perms:
    """Freeze ``{type: actions}`` into a read-only :data:`Perms`. Raises nothing."""
    return MappingProxyType({t: frozenset(str(a) for a in acts) for t, acts in spec.items()})


@dataclass(frozen=True, slots=True)
class Object:
    """What a decision is about: a type, an id, and who owns it where.

    ``owner_id`` and ``org_id`` are None when the object has no owner or
    belongs to no organization; an object with neither and id ``*`` stands for
    every object of its type. ``open_to`` lists the actions its row's own
    condition (:class:`authz.Open`) grants to every user subject.
    """

    type: str
    id: str
    owner_id: uuid.UUID | None = None
    org_id: uuid.UUID | None = None
    open_to: frozenset[str] = frozenset()


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

    ``permissions`` None means no ceiling (:attr:`Scope.ALL`).
    """

    name: str
    permissions: Perms | None = None

    def allows(self, object_type: str, action: str) -> bool:
        """Whether this scope leaves ``action`` on ``object_type`` to the roles."""
        return self.permissions is None or action in self.permissions.get(object_type, ())

    ALL: ClassVar[Scope]  # set below: no ceiling


Scope.ALL = Scope("all")
