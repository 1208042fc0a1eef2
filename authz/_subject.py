"""Who is acting: the subject, system identities, and the context variable that carries them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import MappingProxyType

from authz._rbac import ORG_ROLES, SITE_ROLES, Action, Object, Perms, Scope
from authz.errors import UnknownRole

__all__ = [
    "Acting",
    "DecisionCache",
    "Subject",
    "SystemIdentity",
    "acting",
    "as_subject",
    "current_subject",
]


@dataclass(frozen=True, slots=True)
class SystemIdentity:
    """A named, explicit permission set for server internals or one background worker.

    ``permissions`` apply site-wide; nothing outside them is allowed (there is
    no wildcard). ``id`` is the actor id recorded for what the identity does.
    """

    name: str
    id: uuid.UUID
    description: str
    permissions: Perms


@dataclass(frozen=True, slots=True)
class Subject:
    """The acting principal.

    ``site_roles`` name roles of :data:`SITE_ROLES`; ``org_roles`` maps an
    organization id to roles of :data:`ORG_ROLES` held there. ``groups`` is
    carried for policies that need it (no built-in role reads it). ``scope``
    caps what the roles grant (an API key's scope). ``system`` is set only for
    system identities, whose subjects have no roles.

    Raises:
        UnknownRole: a site or organization role name is not defined.
    """

    id: uuid.UUID
    site_roles: frozenset[str] = frozenset()
    org_roles: Mapping[uuid.UUID, frozenset[str]] = field(default_factory=dict)
    groups: frozenset[str] = frozenset()
    scope: Scope = Scope.ALL
    system: SystemIdentity | None = None

    def __post_init__(self) -> None:
        site = frozenset(self.site_roles)
        org = {o: frozenset(r) for o, r in self.org_roles.items()}
        unknown = sorted(site - SITE_ROLES.keys()) + sorted(
            {r for rs in org.values() for r in rs} - ORG_ROLES.keys()
        )
        if unknown:
            raise UnknownRole(
                f"subject {self.id}: unknown role(s) {', '.join(unknown)}; site roles are "
                f"{sorted(SITE_ROLES)}, organization roles {sorted(ORG_ROLES)}"
            )
        object.__setattr__(self, "site_roles", site)
        object.__setattr__(self, "org_roles", MappingProxyType(org))
        object.__setattr__(self, "groups", frozenset(self.groups))

    @classmethod
    def user(
        cls,
        id: uuid.UUID,
        site_roles: Iterable[str] = ("member",),
        org_roles: Mapping[uuid.UUID, Iterable[str]] | None = None,
        *,
        groups: Iterable[str] = (),
        scope: Scope = Scope.ALL,
    ) -> Subject:
        """A user subject; members hold ``member`` on the site by default.

        Raises:
            UnknownRole: a role name is not defined.
        """
        return cls(
            id,
            frozenset(site_roles),
            {o: frozenset(r) for o, r in (org_roles or {}).items()},
            frozenset(groups),
            scope,
        )


class DecisionCache:
    """Decisions of one subject binding (a request or a worker tick).

    Decisions are pure functions of an immutable subject, an action and an
    object, so a cached answer never goes stale; the bound keeps memory flat
    for long bindings.
    """

    __slots__ = ("_d", "hits", "max_size", "misses")

    def __init__(self, max_size: int = 4096) -> None:
        self._d: dict[tuple[Action, Object], bool] = {}
        self.max_size = max_size
        self.hits = 0
        self.misses = 0

    def get(self, action: Action, obj: Object) -> bool | None:
        """The cached decision, or None when there is none yet."""
        found = self._d.get((action, obj))
        if found is None:
            self.misses += 1
        else:
            self.hits += 1
        return found

    def put(self, action: Action, obj: Object, allowed: bool) -> None:
        """Remember a decision; a full cache starts over rather than grow."""
        if len(self._d) >= self.max_size:
            self._d.clear()
        self._d[(action, obj)] = allowed


@dataclass(eq=False, slots=True)
class Acting:
    """One binding of a subject: the subject, its decision cache, and whether its
    user row was checked for revocation (done once per binding)."""

    subject: Subject
    decisions: DecisionCache = field(default_factory=DecisionCache)
    revoked: bool | None = None  # None: not checked yet


_ACTING: ContextVar[Acting | None] = ContextVar("txstore_authz_subject", default=None)


@contextmanager
def as_subject(subject: Subject) -> Iterator[Subject]:
    """Act as ``subject`` inside the block, across awaits and in tasks started in it.

    Each block gets a fresh decision cache, so decisions live as long as the
    request or transaction the block spans.
    """
    token = _ACTING.set(Acting(subject))
    try:
        yield subject
    finally:
        _ACTING.reset(token)


def current_subject() -> Subject | None:
    """The subject bound by the innermost :func:`as_subject` (or system identity), if any."""
    bound = _ACTING.get()
    return None if bound is None else bound.subject


def acting() -> Acting | None:
    """The current binding with its decision cache (for the store layer)."""
    return _ACTING.get()
