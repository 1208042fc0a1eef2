"""The decision: ``authorize(subject, action, obj)``, and the same rule as a SQL predicate.

Both read the model's role tables in the same way, so a filtered list returns
exactly the rows :meth:`authz.Model.authorize` allows (a property test holds
them to it).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from authz._rbac import Object, Role
from authz._subject import Subject

__all__ = ["Grants", "RoleTables", "assignable", "authorize", "grants"]


@dataclass(frozen=True, slots=True)
class RoleTables:
    """An application's roles by name: site roles and organization roles."""

    site: Mapping[str, Role]
    org: Mapping[str, Role]


def authorize(roles: RoleTables, subject: Subject, action: str, obj: Object) -> bool:
    """Whether ``subject`` may do ``action`` on ``obj``. Deterministic, no side effects.

    A system identity may do what its permission set lists, on any object. A
    user subject needs, within its scope, a grant at site level, at owner level
    (``obj`` is theirs), from a role held in ``obj``'s organization, or the
    row's own open condition. Raises ``KeyError`` for a role the tables lack
    (``AuthzStore`` checks role names before it asks).
    """
    kind = obj.type
    if subject.system is not None:
        return action in subject.system.permissions.get(kind, ())
    if not subject.scope.allows(kind, action):
        return False
    if action in obj.open_to:
        return True
    owned = obj.owner_id is not None and obj.owner_id == subject.id
    site = roles.site
    for name in subject.site_roles:
        role = site[name]
        if action in role.site.get(kind, ()) or (owned and action in role.owned.get(kind, ())):
            return True
    if obj.org_id is not None:
        org = roles.org
        for name in subject.org_roles.get(obj.org_id, ()):
            role = org[name]
            if action in role.org.get(kind, ()) or (owned and action in role.owned.get(kind, ())):
                return True
    return False


def assignable(
    roles: RoleTables, subject: Subject, org_id: uuid.UUID | None = None
) -> frozenset[str]:
    """The roles ``subject`` may grant or take away: site roles, or those of ``org_id``.

    The union of what its site roles assign and, for an organization, what its
    roles there assign. System identities assign none. Raises nothing.
    """
    if subject.system is not None:
        return frozenset()
    found: set[str] = set()
    for name in subject.site_roles:
        found |= roles.site[name].assigns
    if org_id is not None:
        for name in subject.org_roles.get(org_id, ()):
            found |= roles.org[name].assigns
    return frozenset(found)


@dataclass(frozen=True, slots=True)
class Grants:
    """Where ``subject`` may do one action on one object type, as a list filter sees it.

    ``everywhere``: on every object. ``owned``: on objects it owns, anywhere.
    ``orgs``: on every object of these organizations. ``owned_in``: on the
    objects it owns inside these organizations. ``open``: on rows whose open
    condition grants the action (a user subject the scope lets through).
    """

    everywhere: bool
    owned: bool
    orgs: tuple[uuid.UUID, ...]
    owned_in: tuple[uuid.UUID, ...]
    open: bool = False


def grants(roles: RoleTables, subject: Subject, action: str, object_type: str) -> Grants:
    """Summarise :func:`authorize` for every object of ``object_type`` at once. Raises nothing."""
    if subject.system is not None:
        everywhere = action in subject.system.permissions.get(object_type, ())
        return Grants(everywhere, False, (), ())
    if not subject.scope.allows(object_type, action):
        return Grants(False, False, (), ())
    site = [roles.site[n] for n in subject.site_roles]
    if any(action in r.site.get(object_type, ()) for r in site):
        return Grants(True, False, (), (), True)
    owned = any(action in r.owned.get(object_type, ()) for r in site)
    orgs: list[uuid.UUID] = []
    owned_in: list[uuid.UUID] = []
    for org, names in subject.org_roles.items():
        held = [roles.org[n] for n in names]
        if any(action in r.org.get(object_type, ()) for r in held):
            orgs.append(org)
        elif not owned and any(action in r.owned.get(object_type, ()) for r in held):
            owned_in.append(org)
    return Grants(False, owned, tuple(sorted(orgs)), tuple(sorted(owned_in)), True)
