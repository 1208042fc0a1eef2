"""AuthzStore: a full ``Store`` that checks the acting subject on every query."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

import structlog

from authz._check import relative
from authz._filter import Filters
from authz._model import Model
from authz._policy import Call, Policy, Resource
from authz._rbac import Action, Object, Role
from authz._subject import Acting, Subject, acting
from authz.errors import NoSubject, NotAuthorized, PolicyError
from store import Isolation, Query, Store
from store.errors import OuterStoreUsedInTransaction

__all__ = ["AuthzStore"]

T = TypeVar("T")
RowT = TypeVar("RowT")
_log = structlog.get_logger("txstore.authz")


@dataclass(frozen=True, slots=True)
class _Table:
    """What a store and every transaction handle it wraps share."""

    model: Model
    filters: Filters
    # Plain dicts of the model's read-only mappings: looked up on every query.
    policies: dict[str, Policy]
    queries: dict[str, Query[Any]]


@dataclass(frozen=True, slots=True)
class _Guard:
    """One call's view: the inner store and the binding of the acting subject."""

    inner: Store
    bound: Acting
    table: _Table
    locked: dict[tuple[str, tuple[object, ...]], Object] | None

    @property
    def subject(self) -> Subject:
        return self.bound.subject

    def check(self, query: Query[Any], action: str, obj: Object) -> None:
        decisions = self.bound.decisions
        allowed = decisions.get(action, obj)
        if allowed is None:
            allowed = self.table.model.authorize(self.bound.subject, action, obj)
            decisions.put(action, obj, allowed)
        if not allowed:
            self.deny(query, action, obj)

    def roles(self, org: bool) -> Mapping[str, Role]:
        model = self.table.model
        return model.org_roles if org else model.site_roles

    def assignable(self, org_id: Any) -> frozenset[str]:
        return self.table.model.assignable(self.bound.subject, org_id)

    def deny(self, query: Query[Any], action: str, obj: Object) -> NoReturn:
        subject = self.bound.subject
        _log.warning(
            "authorization denied",
            subject_id=str(subject.id),
            identity=subject.system.name if subject.system else None,
            action=str(action),
            object_type=obj.type,
            object_id=obj.id,
            query=query.name,
        )
        raise NotAuthorized(query.name, action, obj.type)

    def filtered(
        self, query: Query[Any], resource: Resource, action: str
    ) -> tuple[Query[Any], tuple[object, ...]]:
        subject = self.bound.subject
        grants = self.table.model.grants(subject, action, resource.type)
        return self.table.filters.apply(query, resource, grants, subject.id, action)


class AuthzStore:
    """Wraps a ``Store``; every query runs under its declared policy for the current subject.

    The subject is read from the context (:func:`authz.as_subject`) at each
    call. Reads of one row that the subject may not see, and writes it may not
    make, raise :class:`NotAuthorized` (a ``NotFound``); list queries are
    filtered in SQL. ``in_tx`` wraps the transaction handle in the same checks.

    ``model`` is the application's :class:`authz.Model`: its queries, policies,
    roles, system identities and how a subject is revoked. A binding's subject
    is checked against the model (roles, identities) and for revocation once,
    on its first call.
    """

    __slots__ = ("_inner", "_locked", "_table")

    def __init__(self, inner: Store, model: Model) -> None:
        """Wrap ``inner`` with the checks of ``model``. Raises nothing (the model
        checked itself when it was built)."""
        self._inner: Store = inner
        self._locked: dict[tuple[str, tuple[object, ...]], Object] | None = None
        self._table = _Table(model, Filters(), dict(model.policies), dict(model.queries))

    @property
    def model(self) -> Model:
        """The application's authorization model."""
        return self._table.model

    @classmethod
    def _wrap(cls, inner: Store, table: _Table) -> AuthzStore:
        store = cls.__new__(cls)
        store._inner = inner
        store._table = table
        store._locked = {}  # a transaction handle: rows it locks stay as read
        return store

    async def _admit(self, bound: Acting) -> bool:
        """Check a binding's subject against the model, then ask the application's
        revocation (once per binding); True when it is revoked.

        Subjects are built by trusted code (authentication), so a role is taken
        as given once it exists in the model; what the database can still say
        is that the subject lost access since its session began.
        """
        model = self._table.model
        model.check_subject(bound.subject)
        if model.revoked is None or bound.subject.system is not None:
            return False
        return await model.revoked(self._inner, bound.subject)

    @property
    def derived_queries(self) -> int:
        """How many filtered list queries have been derived (one per query and predicate shape)."""
        return len(self._table.filters)

    async def _run(self, query: Query[Any], args: tuple[object, ...], call: Call[T]) -> T:
        bound = acting()
        if bound is None:
            raise NoSubject(query.name)
        table = self._table
        policy = table.policies.get(query.name)
        known = table.queries.get(query.name)
        if policy is None or known is None or not query.is_variant_of(known):
            raise PolicyError(
                [
                    f"no policy for query {query.name} ({query.source}); declare one in "
                    f"{relative(table.model.source)}"
                ]
            )
        if bound.revoked is None:
            try:
                bound.revoked = await self._admit(bound)
            except OuterStoreUsedInTransaction as misuse:  # name the call that was made
                raise OuterStoreUsedInTransaction(query.name, misuse.tx_id) from None
        if bound.revoked:
            _log.warning(
                "authorization denied: subject revoked",
                subject_id=str(bound.subject.id),
                query=query.name,
            )
            raise NotAuthorized(
                query.name, Action.READ if query.mutates is None else Action.UPDATE, "subject"
            )
        locked = self._locked
        result = await policy.run(_Guard(self._inner, bound, table, locked), query, args, call)
        if locked and query.mutates is not None:
            locked.clear()  # a write may have changed what a remembered object says
        return result

    async def fetch_one(self, query: Query[RowT], args: tuple[object, ...]) -> RowT:
        return await self._run(query, args, self._inner.fetch_one)

    async def fetch_many(self, query: Query[RowT], args: tuple[object, ...]) -> list[RowT]:
        return await self._run(query, args, self._inner.fetch_many)

    async def execute(self, query: Query[None], args: tuple[object, ...]) -> None:
        await self._run(query, args, self._inner.execute)

    async def execute_rows(self, query: Query[None], args: tuple[object, ...]) -> int:
        return await self._run(query, args, self._inner.execute_rows)

    async def in_tx(
        self,
        fn: Callable[[Store], Awaitable[T]],
        *,
        isolation: Isolation | str | None = None,
        read_only: bool = False,
        tx_id: str = "tx",
        retries: int = 3,
    ) -> T:
        """Run ``fn`` in a transaction of the inner store, its handle wrapped in the same checks.

        Raises:
            NoSubject: no subject is bound.
            OuterStoreUsedInTransaction: this store is used inside one of its own closures.
        """
        bound = acting()
        if bound is None:
            raise NoSubject("in_tx")
        if bound.revoked is None:
            bound.revoked = await self._admit(bound)
        table = self._table
        return await self._inner.in_tx(
            lambda tx: fn(AuthzStore._wrap(tx, table)),
            isolation=isolation,
            read_only=read_only,
            tx_id=tx_id,
            retries=retries,
        )

    async def ping(self) -> None:
        """Ping the inner store.

        Raises:
            NoSubject: no subject is bound.
        """
        if acting() is None:
            raise NoSubject("ping")
        await self._inner.ping()

    async def close(self) -> None:
        """Close the inner store (needs no subject: shutdown runs outside requests)."""
        await self._inner.close()


_: type[Store] = AuthzStore
