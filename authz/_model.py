"""The application's authorization model, handed to ``AuthzStore`` as one object."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from authz._authorize import Grants, RoleTables, assignable, authorize, grants
from authz._check import Problem, check_policies, relative
from authz._policy import Policy, Resource, any_subject, system_only
from authz._rbac import Action, Object, Role, Scope
from authz._subject import Subject, SystemIdentity
from authz.errors import PolicyError, UnknownIdentity, UnknownRole
from store import FRAMEWORK_QUERIES, Kind, Query, Store
from store.errors import NotFound

__all__ = ["FRAMEWORK_POLICIES", "Model", "Revoked"]

#: How an application says a subject lost access since its session began.
Revoked = Callable[[Store, Subject], Awaitable[bool]]

#: Policies of the framework's own queries (store.FRAMEWORK_QUERIES); a model may override them.
FRAMEWORK_POLICIES: Mapping[str, Policy] = MappingProxyType(
    {
        "txstore.locks.TryAcquire": system_only("advisory_lock", Action.USE),
        "txstore.locks.Acquire": system_only("advisory_lock", Action.USE),
        "txstore.pubsub.Publish": any_subject("a notification carries no row; channels are code"),
    }
)
_FRAMEWORK_TYPES = frozenset({"advisory_lock"})
_FRAMEWORK_ACTIONS = frozenset({Action.USE.value})


def _revoked_by(query: Query[Any]) -> Revoked:
    """A revocation that runs ``query`` (``:one``, the subject id its one parameter)."""

    async def revoked(store: Store, subject: Subject) -> bool:
        try:
            return bool(await store.fetch_one(query, (subject.id,)))
        except NotFound:
            return False  # an id with no row is not revoked (bootstrap and test subjects)

    return revoked


def _caller_file(depth: int) -> Path:
    return Path(sys._getframe(depth).f_code.co_filename).resolve()  # where the model is declared


def _vocabulary(policy: Policy) -> tuple[set[str], set[str]]:
    """Object types and actions a policy decides with (its helper's fields)."""
    types: set[str] = set()
    actions: set[str] = set()
    resource = getattr(policy, "resource", None)
    if isinstance(resource, Resource):
        types.add(resource.type)
        if resource.open is not None:
            actions |= resource.open.actions
    kind = getattr(policy, "type", None)
    if isinstance(kind, str):
        types.add(kind)
    action = getattr(policy, "action", None)
    if isinstance(action, str):
        actions.add(action)
    inner = getattr(policy, "policy", None)
    if isinstance(inner, Policy):
        more_types, more_actions = _vocabulary(inner)
        types |= more_types
        actions |= more_actions | {Action.ASSIGN_ROLE.value}
    return types, actions


class Model:
    """Everything domain-specific the authorization layer knows, declared by the application.

    ``queries`` is the application's generated ``QUERIES``; ``policies`` maps
    each query name to its :class:`Policy` (deny by default: a query without
    one is a problem). ``actions`` and ``object_types`` are the vocabulary;
    ``site_roles`` and ``org_roles`` the roles a subject may hold;
    ``system_identities`` the only identities the store honours; ``revoked``
    says whether a user subject lost access, asked once per subject binding on
    the store below authorization: an async callable ``(store, subject) ->
    bool``, or a ``:one`` query of the application taking the subject id and
    returning a boolean (no row: not revoked), or None (no revocation).
    Problems name ``source``, the file that declares the policies (by default
    the file that constructs the model).

    Raises:
        PolicyError: the model is inconsistent: a query without a policy, a
            policy naming no query or not fitting it, a role, identity or
            policy using an undeclared action or object type, a role assigning
            an unknown role, a name declared twice.
    """

    __slots__ = (
        "_tables",
        "actions",
        "default_site_roles",
        "object_types",
        "policies",
        "queries",
        "revoked",
        "scopes",
        "source",
        "system_identities",
    )

    def __init__(
        self,
        *,
        queries: Mapping[str, Query[Any]],
        policies: Mapping[str, Policy],
        object_types: Iterable[str],
        actions: Iterable[str] = tuple(Action),
        site_roles: Iterable[Role] = (),
        org_roles: Iterable[Role] = (),
        system_identities: Iterable[SystemIdentity] = (),
        scopes: Iterable[Scope] = (),
        revoked: Revoked | Query[Any] | None = None,
        source: str | Path | None = None,
    ) -> None:
        self.source = Path(source).resolve() if source is not None else _caller_file(2)
        self.queries: Mapping[str, Query[Any]] = MappingProxyType({**FRAMEWORK_QUERIES, **queries})
        self.policies: Mapping[str, Policy] = MappingProxyType({**FRAMEWORK_POLICIES, **policies})
        self.object_types = frozenset(object_types) | _FRAMEWORK_TYPES
        self.actions = frozenset(str(a) for a in actions) | _FRAMEWORK_ACTIONS
        site = tuple(site_roles)
        org = tuple(org_roles)
        self._tables = RoleTables(
            MappingProxyType({r.name: r for r in site}), MappingProxyType({r.name: r for r in org})
        )
        identities = tuple(system_identities)
        self.system_identities: Mapping[str, SystemIdentity] = MappingProxyType(
            {i.name: i for i in identities}
        )
        self.scopes: Mapping[str, Scope] = MappingProxyType(
            {s.name: s for s in (Scope.ALL, *scopes)}
        )
        self.revoked: Revoked | None = (
            _revoked_by(revoked) if isinstance(revoked, Query) else revoked
        )
        problems = [str(p) for p in self.problems(site, org, identities)]
        if isinstance(revoked, Query) and (
            revoked.kind is not Kind.ONE or len(revoked.params) != 1
        ):
            problems.append(
                f"{relative(self.source)}:1: revocation query {revoked.name} ({revoked.source}) "
                "must be :one with the subject id its only parameter"
            )
        if problems:
            raise PolicyError(problems)

    # -- checks -----------------------------------------------------------------
    def problems(
        self,
        site: tuple[Role, ...] = (),
        org: tuple[Role, ...] = (),
        identities: tuple[SystemIdentity, ...] = (),
    ) -> list[Problem]:
        """Every defect of the model, each naming :attr:`source`. Raises nothing."""
        where = relative(self.source)
        found = check_policies(self.policies, self.queries, file=self.source)

        def problem(message: str) -> None:
            found.append(Problem(where, 1, message))

        names = [r.name for r in (*site, *org)]
        for name in sorted({n for n in names if names.count(n) > 1}):
            problem(f"role {name!r} is declared twice")
        every = set(names)
        for role in (*site, *org):
            if role in site and role.org:
                problem(f"site role {role.name!r} has org grants; make it an org role")
            if role in org and role.site:
                problem(f"org role {role.name!r} has site grants; make it a site role")
            for grant in (role.site, role.org, role.owned):
                self._vocab(f"role {role.name!r}", grant, problem)
            for unknown in sorted(role.assigns - every):
                problem(f"role {role.name!r} assigns unknown role {unknown!r}")
        seen: dict[object, str] = {}
        for identity in identities:
            for key in (identity.name, identity.id):
                if key in seen:
                    problem(f"system identity {identity.name!r} clashes with {seen[key]!r}")
                seen[key] = identity.name
            self._vocab(f"system identity {identity.name!r}", identity.permissions, problem)
        for name, policy in self.policies.items():
            types, actions = _vocabulary(policy)
            for kind in sorted(types - self.object_types):
                problem(f"policy for {name}: object type {kind!r} is not declared")
            for action in sorted(actions - self.actions):
                problem(f"policy for {name}: action {action!r} is not declared")
        return found

    def _vocab(self, what: str, grant: Mapping[str, Iterable[str]], problem: Any) -> None:
        for kind, actions in grant.items():
            if kind not in self.object_types:
                problem(f"{what} grants on undeclared object type {kind!r}")
            for action in sorted(set(actions) - self.actions):
                problem(f"{what} grants undeclared action {action!r}")

    def check_subject(self, subject: Subject) -> None:
        """Check ``subject`` holds only roles of this model, or is one of its identities.

        Raises:
            UnknownRole: a site or organization role name is not declared.
            UnknownIdentity: a system identity that is not in the model.
        """
        if subject.system is not None:
            if self.system_identities.get(subject.system.name) != subject.system:
                raise UnknownIdentity(
                    f"system identity {subject.system.name!r} is not in the model; "
                    f"declared: {sorted(self.system_identities)}"
                )
            return
        tables = self._tables
        unknown = sorted(subject.site_roles - tables.site.keys()) + sorted(
            {r for rs in subject.org_roles.values() for r in rs} - tables.org.keys()
        )
        if unknown:
            raise UnknownRole(
                f"subject {subject.id}: unknown role(s) {', '.join(unknown)}; site roles are "
                f"{sorted(tables.site)}, org roles {sorted(tables.org)}"
            )

    # -- subjects -----------------------------------------------------------------
    def user(
        self,
        id: uuid.UUID,
        site_roles: Iterable[str] = (),
        org_roles: Mapping[uuid.UUID, Iterable[str]] | None = None,
        *,
        groups: Iterable[str] = (),
        scope: Scope = Scope.ALL,
    ) -> Subject:
        """A user subject, checked against this model's roles.

        Raises:
            UnknownRole: a role name is not declared.
        """
        subject = Subject.user(id, site_roles, org_roles, groups=groups, scope=scope)
        self.check_subject(subject)
        return subject

    def identity(self, name: str) -> SystemIdentity:
        """The declared system identity called ``name``.

        Raises:
            UnknownIdentity: there is none.
        """
        found = self.system_identities.get(name)
        if found is None:
            raise UnknownIdentity(
                f"no system identity {name!r}; declared: {sorted(self.system_identities)}"
            )
        return found

    # -- decisions --------------------------------------------------------------------
    @property
    def site_roles(self) -> Mapping[str, Role]:
        """Site roles by name."""
        return self._tables.site

    @property
    def org_roles(self) -> Mapping[str, Role]:
        """Organization roles by name."""
        return self._tables.org

    def authorize(self, subject: Subject, action: str, obj: Object) -> bool:
        """Whether ``subject`` may do ``action`` on ``obj``.

        Raises:
            KeyError: the subject holds a role the model does not declare
                (``check_subject`` first; ``AuthzStore`` does).
        """
        return authorize(self._tables, subject, action, obj)

    def grants(self, subject: Subject, action: str, object_type: str) -> Grants:
        """Where ``subject`` may do ``action`` on objects of ``object_type``, for list filters.

        Raises:
            KeyError: the subject holds an undeclared role.
        """
        return grants(self._tables, subject, action, object_type)

    def assignable(self, subject: Subject, org_id: uuid.UUID | None = None) -> frozenset[str]:
        """The roles ``subject`` may grant or take away (site, or in ``org_id``).

        Raises:
            KeyError: the subject holds an undeclared role.
        """
        return assignable(self._tables, subject, org_id)

    def __repr__(self) -> str:
        return f"<authz.Model from {relative(self.source)}: {len(self.policies)} policies>"
