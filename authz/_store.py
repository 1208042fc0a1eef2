"""AuthzStore: a full ``Store`` that checks the acting subject on every query."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

import structlog

from authz._filter import Filters
from authz._model import Model
from authz._policy import BatchCall, Call, Policy, Resource
from authz._rbac import Action, Object, Role
from authz._subject import Acting, Subject, acting
from authz.errors import NoSubject, NotAuthorized, QueryRefused
from store import Isolation, Query, Store
from store._query import PRIMITIVE_KINDS, wrong_kind
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
        model = self.table.model
        allowed = decisions.get(action, obj, model)
        if allowed is None:
            allowed = model.authorize(self.bound.subject, action, obj)
            decisions.put(action, obj, allowed, model)
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
        bound = self.bound
        model = self.table.model
        key = (id(model), action, resource.type)
        known = bound.grants.get(key)
        if known is not None and known[0] is model:
            grants = known[1]
        else:
            grants = model.grants(bound.subject, action, resource.type)
            bound.grants[key] = (model, grants)
        return self.table.filters.apply(query, resource, grants, bound.subject.id, action)


class AuthzStore:
    """Wraps a ``Store``; every query runs under its declared policy for the current subject.

    The subject is read from the context (:func:`authz.as_subject`) at each
    call. Reads of one row that the subject may not see, and writes it may not
    make, raise :class:`NotAuthorized` (a ``NotFound``); list queries are
    filtered in SQL. ``in_tx`` wraps the transaction handle in the same checks.
    Every decision is made from the declared query of the caller's query's
    name; a ``Query`` object that differs from it, or a primitive that does not
    run its kind, raises :class:`QueryRefused` (a logged ``NotAuthorized``).

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

    def _known_revoked(self, bound: Acting) -> bool | None:
        """Whether this model found the binding's subject revoked; None: not asked yet."""
        model = self._table.model
        known = bound.revoked.get(id(model))
        return known[1] if known is not None and known[0] is model else None

    async def _revoked(self, bound: Acting) -> bool:
        """Check a binding's subject against the model, then ask the application's
        revocation, and remember the answer for the binding and model (see
        :meth:`_known_revoked`); True when it is revoked.

        Subjects are built by trusted code (authentication), so a role is taken
        as given once it exists in the model; what the database can still say
        is that the subject lost access since its session began.
        """
        model = self._table.model
        model.check_subject(bound.subject)
        revoked = (
            model.revoked is not None
            and bound.subject.system is None
            and await model.revoked(self._inner, bound.subject)
        )
        bound.revoked[id(model)] = (model, revoked)
        return revoked

    @property
    def derived_queries(self) -> int:
        """How many filtered list queries have been derived (one per query and predicate shape)."""
        return len(self._table.filters)

    def _declared(
        self, bound: Acting, query: Query[Any], primitive: str
    ) -> tuple[Query[Any], Policy]:
        """The declared query ``query`` stands for and its policy; refuses anything else.

        The decision is built from what this returns, never from the caller's
        object: a hand-built ``Query`` equal to the declared one in every
        field is replaced by it, and only the variants the framework derives
        (``declared.for_update()``, and the audit layer's single-statement form,
        which still carries the marker this layer fills) run as given.
        """
        table = self._table
        name = query.name
        declared = table.queries.get(name)
        policy = table.policies.get(name)
        if declared is None or policy is None:
            self._refuse(bound, query, primitive, "no query of that name is declared")
        if query is not declared:
            if not query.is_variant_of(declared, above=True):
                self._refuse(
                    bound,
                    query,
                    primitive,
                    f"the Query object differs from the declared {name} ({declared.source}) in "
                    f"{', '.join(query.differences(declared))}; call the declared query",
                )
            if query.same_as(declared):
                query = declared
        if declared.kind not in PRIMITIVE_KINDS[primitive]:
            self._refuse(
                bound,
                query,
                primitive,
                wrong_kind(declared.kind),
            )
        return query, policy

    @staticmethod
    def _refuse(bound: Acting, query: Query[Any], primitive: str, reason: str) -> NoReturn:
        subject = bound.subject
        _log.warning(
            "authorization denied",
            subject_id=str(subject.id),
            identity=subject.system.name if subject.system else None,
            action="run",
            object_type="query",
            query=query.name,
            primitive=primitive,
            reason=reason,
        )
        raise QueryRefused(query.name, primitive, reason)

    async def _run(
        self, query: Query[Any], args: tuple[object, ...], call: Call[T], primitive: str
    ) -> T:
        query, policy, guard = await self._guard(query, primitive)
        result = await policy.run(guard, query, args, call)
        if guard.locked and query.mutates is not None:
            guard.locked.clear()  # a write may have changed what a remembered object says
        return result

    async def _run_batch(
        self,
        query: Query[Any],
        args: Sequence[tuple[object, ...]],
        call: BatchCall[T],
        primitive: str,
    ) -> T:
        query, policy, guard = await self._guard(query, primitive)
        result = await policy.run_batch(guard, query, args, call)
        if guard.locked and query.mutates is not None:
            guard.locked.clear()
        return result

    async def _guard(self, query: Query[Any], primitive: str) -> tuple[Query[Any], Policy, _Guard]:
        """The declared query, its policy and the call's guard; refuses what may not run."""
        bound = acting()
        if bound is None:
            raise NoSubject(query.name)
        query, policy = self._declared(bound, query, primitive)
        revoked = self._known_revoked(bound)
        if revoked is None:
            try:
                revoked = await self._revoked(bound)
            except OuterStoreUsedInTransaction as misuse:  # name the call that was made
                raise OuterStoreUsedInTransaction(query.name, misuse.tx_id) from None
        if revoked:
            _log.warning(
                "authorization denied: subject revoked",
                subject_id=str(bound.subject.id),
                query=query.name,
            )
            raise NotAuthorized(
                query.name, Action.READ if query.mutates is None else Action.UPDATE, "subject"
            )
        return query, policy, _Guard(self._inner, bound, self._table, self._locked)

    async def fetch_one(self, query: Query[RowT], args: tuple[object, ...]) -> RowT:
        """Run a ``:one`` query under its policy.

        Raises:
            NoSubject: no subject is bound.
            NotAuthorized: the subject may not (logged), or ``QueryRefused``.
            QueryRefused: ``query`` is not a declared query, or not a ``:one``.
            store.errors.NotFound: no row.
        """
        return await self._run(query, args, self._inner.fetch_one, "fetch_one")

    async def fetch_many(self, query: Query[RowT], args: tuple[object, ...]) -> list[RowT]:
        """Run a ``:many`` query under its policy (a list is filtered in SQL).

        Raises:
            NoSubject: no subject is bound.
            QueryRefused: ``query`` is not a declared query, or not a ``:many``.
        """
        return await self._run(query, args, self._inner.fetch_many, "fetch_many")

    async def execute(self, query: Query[None], args: tuple[object, ...]) -> None:
        """Run an ``:exec`` query under its policy.

        Raises:
            NoSubject: no subject is bound.
            NotAuthorized: the subject may not (logged).
            QueryRefused: ``query`` is not a declared query, or not an ``:exec``.
        """
        await self._run(query, args, self._inner.execute, "execute")

    async def execute_rows(self, query: Query[None], args: tuple[object, ...]) -> int:
        """Run an ``:execrows`` (or ``:exec``) query under its policy; returns the row count.

        Raises:
            NoSubject: no subject is bound.
            NotAuthorized: the subject may not (logged).
            QueryRefused: ``query`` is not a declared query, or of another kind.
        """
        return await self._run(query, args, self._inner.execute_rows, "execute_rows")

    async def execute_batch(self, query: Query[None], args: Sequence[tuple[object, ...]]) -> int:
        """Run a ``:batchexec`` or ``:copyfrom`` query: every argument set is decided
        as the single call would be, and the batch runs only if all are allowed.

        Raises:
            NoSubject: no subject is bound.
            NotAuthorized: the subject may not, for at least one set (nothing ran).
            QueryRefused: ``query`` is not a declared query, or of another kind.
        """
        return await self._run_batch(query, args, self._inner.execute_batch, "execute_batch")

    async def fetch_batch(
        self, query: Query[RowT], args: Sequence[tuple[object, ...]]
    ) -> list[list[RowT]]:
        """Run a ``:batchmany`` or ``:batchone`` query under its policy, set by set.

        Writes are decided for every set before the batch runs; a read checked
        row by row (``read()``) checks every row it returns; a filtered list is
        filtered in SQL for every set.

        Raises:
            NoSubject: no subject is bound.
            NotAuthorized: the subject may not, for at least one set (nothing written).
            QueryRefused: ``query`` is not a declared query, or of another kind.
            store.errors.NotFound: a ``:batchone`` set found no row.
        """
        return await self._run_batch(query, args, self._inner.fetch_batch, "fetch_batch")

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
        if self._known_revoked(bound) is None:
            await self._revoked(bound)  # checks the subject against the model (raises if unknown)
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
