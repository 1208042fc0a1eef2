"""Who is acting: the subject, system identities, and the context variable that carries them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

from authz._rbac import Object, Perms, Scope

if TYPE_CHECKING:
    from authz._authorize import Grants
    from authz._model import Model

__all__ = [
    "Acting",
    "DecisionCache",
    "Subject",
    "SystemIdentity",
    "acting",
    "as_subject",
    "current_decisions",
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

    ``site_roles`` name site roles of the application's model; ``org_roles``
    maps an organization id to organization roles held there. ``groups`` is
    carried for policies that need it (no built-in rule reads it). ``scope``
    caps what the roles grant (an API key's scope). ``system`` is set only for
    system identities, whose subjects have no roles. Role names are checked
    against the model by :meth:`authz.Model.user` and by ``AuthzStore`` on a
    binding's first query (:class:`authz.errors.UnknownRole`).
    """

    id: uuid.UUID
    site_roles: frozenset[str] = frozenset()
    org_roles: Mapping[uuid.UUID, frozenset[str]] = field(default_factory=dict)
    groups: frozenset[str] = frozenset()
    scope: Scope = Scope.ALL
    system: SystemIdentity | None = None

    def __post_init__(self) -> None:
        org = {o: frozenset(r) for o, r in self.org_roles.items()}
        object.__setattr__(self, "site_roles", frozenset(self.site_roles))
        object.__setattr__(self, "org_roles", MappingProxyType(org))
        object.__setattr__(self, "groups", frozenset(self.groups))

    @classmethod
    def user(
        cls,
        id: uuid.UUID,
        site_roles: Iterable[str] = (),
        org_roles: Mapping[uuid.UUID, Iterable[str]] | None = None,
        *,
        groups: Iterable[str] = (),
        scope: Scope = Scope.ALL,
    ) -> Subject:
        """A user subject holding ``site_roles`` and ``org_roles``. Raises nothing."""
        return cls(
            id,
            frozenset(site_roles),
            {o: frozenset(r) for o, r in (org_roles or {}).items()},
            frozenset(groups),
            scope,
        )


class DecisionCache:
    """Decisions of one subject binding (a request or a worker tick).

    Decisions are pure functions of an immutable subject, the model that
    decides, an action and an object, so a cached answer never goes stale; the
    bound keeps memory flat for long bindings. ``model`` tells apart the
    decisions of two models asked under one binding (two ``AuthzStore``
    instances built on different models).
    """

    __slots__ = ("_d", "hits", "max_size", "misses")

    def __init__(self, max_size: int = 4096) -> None:
        # (id of the model, action, object) -> (the model, to compare; the decision)
        self._d: dict[tuple[int, str, Object], tuple[object, bool]] = {}
        self.max_size = max_size
        self.hits = 0
        self.misses = 0

    def get(self, action: str, obj: Object, model: object = None) -> bool | None:
        """The cached decision, or None when there is none yet."""
        found = self._d.get((id(model), action, obj))
        if found is None or found[0] is not model:
            self.misses += 1
            return None
        self.hits += 1
        return found[1]

    def put(self, action: str, obj: Object, allowed: bool, model: object = None) -> None:
        """Remember a decision; a full cache starts over rather than grow."""
        if len(self._d) >= self.max_size:
            self._d.clear()
        self._d[(id(model), action, obj)] = (model, allowed)


@dataclass(eq=False, slots=True)
class Acting:
    """One binding of a subject: the subject, its decision cache, and whether it
    was checked against the model and for revocation (done once per binding and
    model)."""

    subject: Subject
    decisions: DecisionCache = field(default_factory=DecisionCache)
    #: Whether the subject is revoked, by the model that asked (its own ``revoked``
    #: callable): asked once per binding and model, the model kept to compare.
    revoked: dict[int, tuple[Model, bool]] = field(default_factory=dict)
    #: A list filter's grants, by (model, action, object type): pure functions of the
    #: subject, so they are summarised once per binding (the model kept to compare).
    grants: dict[tuple[int, str, str], tuple[Model, Grants]] = field(default_factory=dict)


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


def current_decisions() -> DecisionCache | None:
    """The decision cache of the innermost binding, if any (for metrics and tests)."""
    bound = _ACTING.get()
    return None if bound is None else bound.decisions


def acting() -> Acting | None:
    """The current binding with its decision cache (for the store layer)."""
    return _ACTING.get()
