"""The decision: ``authorize(subject, action, obj)``, and the same rule as a SQL predicate.

Both read the same role tables in the same way, so a filtered list returns
exactly the rows :func:`authorize` allows (a property test holds them to it).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from authz._rbac import ORG_ROLES, SITE_ROLES, Action, Object
from authz._subject import Subject

__all__ = ["Grants", "assignable", "authorize", "grants"]


def authorize(subject: Subject, action: Action | str, obj: Object) -> bool:
    """Whether ``subject`` may do ``action`` on ``obj``. Deterministic, no side effects.

    A system identity may do what its permission set lists, on any object. A
    user subject needs a grant at site level, at owner level (``obj`` is
    theirs), or from a role held in ``obj``'s organization, within its scope.

    Raises:
        ValueError: ``action`` is not an :class:`Action`.
    """
    action = Action(action)
    kind = obj.type
    if subject.system is not None:
        return action in subject.system.permissions.get(kind, ())
    if not subject.scope.allows(kind, action):
        return False
    owned = obj.owner_id is not None and obj.owner_id == subject.id
    for name in subject.site_roles:
        role = SITE_ROLES[name]
        if action in role.site.get(kind, ()) or (owned and action in role.owned.get(kind, ())):
            return True
    if obj.org_id is not None:
        for name in subject.org_roles.get(obj.org_id, ()):
            role = ORG_ROLES[name]
            if action in role.org.get(kind, ()) or (owned and action in role.owned.get(kind, ())):
                return True
    return False


def assignable(subject: Subject, org_id: uuid.UUID | None = None) -> frozenset[str]:
    """The roles ``subject`` may grant or take away: site roles, or those of ``org_id``.

    The union of what its site roles assign and, for an organization, what its
    roles there assign. System identities assign none.
    """
    if subject.system is not None:
        return frozenset()
    found: set[str] = set()
    for name in subject.site_roles:
        found |= SITE_ROLES[name].assigns
    if org_id is not None:
        for name in subject.org_roles.get(org_id, ()):
            found |= ORG_ROLES[name].assigns
    return frozenset(found)


@dataclass(frozen=True, slots=True)
class Grants:
    """Where ``subject`` may do one action on one object type, as a list filter sees it.

    ``everywhere``: on every object. ``owned``: on objects it owns, anywhere.
    ``orgs``: on every object of these organizations. ``owned_in``: on the
    objects it owns inside these organizations.
    """

    everywhere: bool
    owned: bool
    orgs: tuple[uuid.UUID, ...]
    owned_in: tuple[uuid.UUID, ...]


def grants(subject: Subject, action: Action, object_type: str) -> Grants:
    """Summarise :func:`authorize` for every object of ``object_type`` at once."""
    if subject.system is not None:
        everywhere = action in subject.system.permissions.get(object_type, ())
        return Grants(everywhere, False, (), ())
    if not subject.scope.allows(object_type, action):
        return Grants(False, False, (), ())
    site = [SITE_ROLES[n] for n in subject.site_roles]
    if any(action in r.site.get(object_type, ()) for r in site):
        return Grants(True, False, (), ())
    owned = any(action in r.owned.get(object_type, ()) for r in site)
    orgs: list[uuid.UUID] = []
    owned_in: list[uuid.UUID] = []
    for org, names in subject.org_roles.items():
        roles = [ORG_ROLES[n] for n in names]
        if any(action in r.org.get(object_type, ()) for r in roles):
            orgs.append(org)
        elif not owned and any(action in r.owned.get(object_type, ()) for r in roles):
            owned_in.append(org)
    return Grants(False, owned, tuple(sorted(orgs)), tuple(sorted(owned_in)))
