"""The generic policy helpers every entry of the policy table is built from.

A policy decides one query method: it builds the :class:`Object` the decision
is about (from the fetched row, from the call's parameters, or from the
current row fetched first), asks the guard, and runs the query on the inner
store. Each also says what it needs from its query, so a policy that cannot
apply (a read policy on a DELETE, a filtered list without the marker) is found
at construction rather than at run time.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol, TypeVar, cast

from authz._rbac import Action, Object, Role
from authz._subject import Subject
from authz.errors import UnknownRole
from store import Kind, Query, Store
from store.errors import NotFound

__all__ = [
    "MARKER",
    "BatchCall",
    "Call",
    "Guard",
    "Open",
    "Policy",
    "Resource",
    "Via",
    "any_subject",
    "check_args",
    "filtered",
    "insert",
    "mutate",
    "read",
    "roles",
    "site",
    "system_only",
]

T = TypeVar("T")
#: What a list query's SQL holds where the authorization predicate goes.
MARKER = "TRUE /*authorize_filter*/"
#: One of the inner store's four primitives.
Call = Callable[[Query[Any], tuple[object, ...]], Awaitable[T]]
#: One of the inner store's two batch primitives (``execute_batch``, ``fetch_batch``).
BatchCall = Callable[[Query[Any], Sequence[tuple[object, ...]]], Awaitable[T]]


@dataclass(frozen=True, slots=True)
class Via:
    """A column found on another row: run ``query`` with the value of ``arg``, read ``column``."""

    query: Query[Any]
    arg: str
    column: str


@dataclass(frozen=True, slots=True)
class Open:
    """A row condition beyond ownership: rows whose ``column`` equals ``value``
    allow ``actions`` to every user subject (within its scope).

    "Published posts are readable by any signed-in user" is
    ``Open("published", True)``. It holds for one row (checked on the row a
    read fetched) and, as ``column = value`` in SQL, for a filtered list.
    System identities keep to their permission sets.
    """

    column: str
    value: object = True
    actions: frozenset[str] = frozenset({"read"})


@dataclass(frozen=True, slots=True)
class Resource:
    """How an object type's id, owner and organization are read from a row or parameters.

    Names are columns of a row or parameters of a query (the generated code
    names parameters after the columns they fill). ``id=()`` stands for every
    object of the type that the other fields select. ``open`` is an optional
    row condition that grants actions to every user subject.
    """

    type: str
    id: tuple[str, ...]
    owner: str | None
    org: str | Via | None
    open: Open | None = None

    def fields(self) -> set[str]:
        """The column or parameter names this resource reads."""
        names = set(self.id)
        if self.owner is not None:
            names.add(self.owner)
        if isinstance(self.org, Via):
            names.add(self.org.arg)
        elif self.org is not None:
            names.add(self.org)
        return names

    async def object(self, get: Callable[[str], Any], inner: Store, *, row: bool = False) -> Object:
        """The object a row (``get=getattr``, ``row=True``) or a call's parameters describe.

        Raises:
            NotFound: a :class:`Via` row does not exist.
        """
        org: Any = None
        if isinstance(self.org, Via):
            via = self.org
            org = getattr(await inner.fetch_one(via.query, (get(via.arg),)), via.column)
        elif self.org is not None:
            org = get(self.org)
        ident = ":".join(str(get(c)) for c in self.id) if self.id else "*"
        owner = None if self.owner is None else get(self.owner)
        opened: frozenset[str] = frozenset()
        if row and self.open is not None and get(self.open.column) == self.open.value:
            opened = self.open.actions
        return Object(self.type, ident, owner, org, opened)


class Guard(Protocol):
    """What a policy asks of the store that runs it."""

    @property
    def inner(self) -> Store: ...

    @property
    def subject(self) -> Subject: ...

    def check(self, query: Query[Any], action: str, obj: Object) -> None: ...

    def deny(self, query: Query[Any], action: str, obj: Object) -> NoReturn: ...

    def filtered(
        self, query: Query[Any], resource: Resource, action: str
    ) -> tuple[Query[Any], tuple[object, ...]]: ...

    def roles(self, org: bool) -> Mapping[str, Role]:
        """The model's organization roles (``org``) or site roles."""
        ...

    def assignable(self, org_id: Any) -> frozenset[str]:
        """The roles the subject may grant or take away (site, or in organization ``org_id``)."""
        ...

    @property
    def locked(self) -> dict[tuple[str, tuple[object, ...]], Object] | None:
        """Objects of rows this transaction read ``FOR UPDATE``, by (get query, arguments).

        None outside a transaction. A locked row cannot change under the
        transaction, and the store clears the memo after every write it runs,
        so a mutation's check may reuse the object instead of fetching the row
        again.
        """
        ...


def _locking(query: Query[Any]) -> bool:
    return query.sql.rstrip().upper().endswith("FOR UPDATE")


def _args(query: Query[Any], args: tuple[object, ...]) -> Callable[[str], Any]:
    return dict(zip((p.name for p in query.params), args, strict=True)).__getitem__


def _missing(needed: set[str], have: tuple[str, ...] | list[str], what: str) -> list[str]:
    gone = sorted(needed - set(have))
    return [f"needs {what} {', '.join(gone)}"] if gone else []


class Policy(abc.ABC):
    """One query method's rule. ``describe`` is how docs and messages name it."""

    __slots__ = ()

    @abc.abstractmethod
    def problems(self, query: Query[Any]) -> list[str]:
        """Why this policy cannot apply to ``query`` (empty when it can)."""

    @abc.abstractmethod
    async def run(self, g: Guard, query: Query[Any], args: tuple[object, ...], call: Call[T]) -> T:
        """Decide and run ``query`` through ``call`` (an inner primitive).

        Raises:
            NotAuthorized: the subject may not.
            NotFound: the row does not exist.
        """

    @abc.abstractmethod
    def describe(self) -> str: ...

    async def check(self, g: Guard, query: Query[Any], args: tuple[object, ...]) -> None:
        """Decide one argument set of a batch without running it; the base class denies.

        Raises:
            NotAuthorized: the subject may not.
            NotFound: a row the decision reads does not exist.
        """
        g.deny(query, "run", Object("query", query.name))

    async def run_batch(
        self,
        g: Guard,
        query: Query[Any],
        args: Sequence[tuple[object, ...]],
        call: BatchCall[T],
    ) -> T:
        """Decide every argument set as the single call would, then run the batch once.

        Nothing runs unless every set is allowed, so a denied set leaves nothing written.

        Raises:
            NotAuthorized: the subject may not, for at least one set.
            NotFound: a row a decision reads does not exist.
        """
        for values in args:
            await self.check(g, query, values)
        return await call(query, args)


@dataclass(frozen=True, slots=True)
class _FetchThenCheck(Policy):
    resource: Resource
    action: str

    def problems(self, query: Query[Any]) -> list[str]:
        found = (
            []
            if query.kind in (Kind.ONE, Kind.BATCHONE)
            else [f"fetch-then-check needs :one or :batchone, not :{query.kind}"]
        )
        if query.mutates is not None:
            found.append(f"fetch-then-check would run the write to {query.mutates} before checking")
        needed = self.resource.fields()
        if self.resource.open is not None:
            needed.add(self.resource.open.column)
        return found + _missing(needed, query.columns, "result columns")

    async def run(self, g: Guard, query: Query[Any], args: tuple[object, ...], call: Call[T]) -> T:
        row = await call(query, args)
        obj = await self.resource.object(row.__getattribute__, g.inner, row=True)
        g.check(query, self.action, obj)
        locked = g.locked
        if locked is not None and _locking(query):
            locked[(query.name, args)] = obj
        return row

    async def run_batch(
        self,
        g: Guard,
        query: Query[Any],
        args: Sequence[tuple[object, ...]],
        call: BatchCall[T],
    ) -> T:
        # A read (problems() refuses writes): every row is checked before any is returned.
        groups = await call(query, args)
        for group in cast("list[list[Any]]", groups):
            for row in group:
                obj = await self.resource.object(row.__getattribute__, g.inner, row=True)
                g.check(query, self.action, obj)
        return groups

    def describe(self) -> str:
        return f"fetch then check {self.action} {self.resource.type}"


@dataclass(frozen=True, slots=True)
class _CheckThenRun(Policy):
    resource: Resource
    action: str

    def problems(self, query: Query[Any]) -> list[str]:
        return _missing(self.resource.fields(), [p.name for p in query.params], "parameters")

    async def run(self, g: Guard, query: Query[Any], args: tuple[object, ...], call: Call[T]) -> T:
        await self.check(g, query, args)
        return await call(query, args)

    async def check(self, g: Guard, query: Query[Any], args: tuple[object, ...]) -> None:
        g.check(query, self.action, await self.resource.object(_args(query, args), g.inner))

    def describe(self) -> str:
        return f"check {self.action} {self.resource.type} from the parameters, then run"


@dataclass(frozen=True, slots=True)
class _FetchCheckMutate(Policy):
    """Check a write against the current row.

    With the ``-- @authorize_filter`` marker in the write's WHERE clause (and
    the organization a column of the written table), the check is part of the
    statement: the subject's predicate replaces the marker, as for a filtered
    list, and PostgreSQL evaluates it on the row version it writes, so one
    round trip decides and writes, and no concurrent change of owner or
    organization can slip between a check and the write. Only when the write
    matches nothing is the row fetched, to tell a missing row (``NotFound``)
    from a forbidden one (``NotAuthorized``, logged). Without the marker, the
    row is fetched with ``get`` and checked first.
    """

    resource: Resource
    action: str
    get: Query[Any]

    def problems(self, query: Query[Any]) -> list[str]:
        found = [] if query.mutates else ["fetch-check-mutate needs an INSERT/UPDATE/DELETE"]
        if self.get.kind is not Kind.ONE or self.get.mutates is not None:
            found.append(f"{self.get.name} must be a :one read")
        if query.authorize_filter is not None and isinstance(self.resource.org, Via):
            found.append(
                "a write checked in its WHERE clause needs the org as a column of the "
                f"written table; remove the authorize_filter marker ({query.source})"
            )
        found += _missing(
            {p.name for p in self.get.params},
            [p.name for p in query.params],
            f"parameters of {self.get.name}:",
        )
        return found + _missing(self.resource.fields(), self.get.columns, "columns")

    async def run(self, g: Guard, query: Query[Any], args: tuple[object, ...], call: Call[T]) -> T:
        locked = g.locked
        # A row this transaction read FOR UPDATE cannot have changed: check that.
        obj = locked.get((self.get.name, self._get_args(query, args))) if locked else None
        if obj is None and query.authorize_filter is not None:
            derived, extra = g.filtered(query, self.resource, self.action)
            wrote, result = await _write_where_allowed(g.inner, derived, args + extra, call)
            if wrote:
                return cast(T, result)
            # Nothing matched: the row is missing (NotFound here), excluded by the
            # write's own conditions, or not the subject's to change (a denial).
            g.check(query, self.action, await self._current(g, query, args))
            if query.kind is Kind.ONE:
                raise NotFound(query.name)
            return cast(T, result)
        if obj is None:
            obj = await self._current(g, query, args)
        g.check(query, self.action, obj)
        return await call(query, args)

    async def check(self, g: Guard, query: Query[Any], args: tuple[object, ...]) -> None:
        # A batch is decided set by set from the current rows (the marker, if
        # any, stays TRUE: the sets are all checked before the one statement runs).
        locked = g.locked
        obj = locked.get((self.get.name, self._get_args(query, args))) if locked else None
        if obj is None:
            obj = await self._current(g, query, args)
        g.check(query, self.action, obj)

    def _get_args(self, query: Query[Any], args: tuple[object, ...]) -> tuple[object, ...]:
        by_name = _args(query, args)
        return tuple(by_name(p.name) for p in self.get.params)

    async def _current(self, g: Guard, query: Query[Any], args: tuple[object, ...]) -> Object:
        """The object of the row as it is now; raises ``NotFound`` when there is none."""
        current = await g.inner.fetch_one(self.get, self._get_args(query, args))
        return await self.resource.object(current.__getattribute__, g.inner, row=True)

    def describe(self) -> str:
        return f"fetch with {self.get.name}, check {self.action} {self.resource.type}, then run"


async def _write_where_allowed(
    inner: Store, query: Query[Any], args: tuple[object, ...], call: Call[Any]
) -> tuple[bool, Any]:
    """Run a write whose WHERE holds the subject's predicate: (whether it matched, result)."""
    if query.kind is Kind.ONE:
        try:
            return True, await call(query, args)
        except NotFound:
            return False, None
    if query.kind is Kind.EXEC:  # the row count says whether it matched
        return bool(await inner.execute_rows(query, args)), None
    result = await call(query, args)
    return bool(result), result


@dataclass(frozen=True, slots=True)
class _Filtered(Policy):
    resource: Resource
    action: str

    def problems(self, query: Query[Any]) -> list[str]:
        found = (
            []
            if query.kind in (Kind.MANY, Kind.BATCHMANY)
            else [f"a filtered list needs :many or :batchmany, not :{query.kind}"]
        )
        if query.mutates is not None:
            found.append(f"a filtered list cannot write ({query.mutates})")
        if query.authorize_filter is None or query.sql.count(MARKER) != 1:
            found.append(
                "a filtered list needs exactly one '-- @authorize_filter [alias]' marker in its "
                f"WHERE clause ({query.source})"
            )
        if isinstance(self.resource.org, Via):
            found.append("a filtered list needs the org as a column of the alias")
        return found

    async def run(self, g: Guard, query: Query[Any], args: tuple[object, ...], call: Call[T]) -> T:
        derived, extra = g.filtered(query, self.resource, self.action)
        return await call(derived, args + extra)

    async def run_batch(
        self,
        g: Guard,
        query: Query[Any],
        args: Sequence[tuple[object, ...]],
        call: BatchCall[T],
    ) -> T:
        # The predicate's parameters follow each set's own (the batch index included).
        derived, extra = g.filtered(query, self.resource, self.action)
        return await call(derived, [values + extra for values in args])

    def describe(self) -> str:
        return f"filtered list: {self.action} {self.resource.type} as a SQL predicate"


@dataclass(frozen=True, slots=True)
class _SystemOnly(Policy):
    type: str
    action: str

    def problems(self, query: Query[Any]) -> list[str]:
        return []

    async def run(self, g: Guard, query: Query[Any], args: tuple[object, ...], call: Call[T]) -> T:
        await self.check(g, query, args)
        return await call(query, args)

    async def check(self, g: Guard, query: Query[Any], args: tuple[object, ...]) -> None:
        obj = Object(self.type, "*")
        if g.subject.system is None:
            g.deny(query, self.action, obj)
        g.check(query, self.action, obj)

    def describe(self) -> str:
        return f"system identities with {self.action} {self.type} only"


@dataclass(frozen=True, slots=True)
class _AnySubject(Policy):
    reason: str

    def problems(self, query: Query[Any]) -> list[str]:
        return [] if query.mutates is None else [f"any-subject policy on a write ({query.mutates})"]

    async def run(self, g: Guard, query: Query[Any], args: tuple[object, ...], call: Call[T]) -> T:
        del g  # a subject is bound (the store checked); nothing more is asked of it
        return await call(query, args)

    async def check(self, g: Guard, query: Query[Any], args: tuple[object, ...]) -> None:
        del g, query, args  # a bound subject is all this policy asks for

    def describe(self) -> str:
        return f"any acting subject ({self.reason})"


@dataclass(frozen=True, slots=True)
class _RoleCeiling(Policy):
    """``policy``, after checking that the subject may assign every role the write changes."""

    policy: Policy
    param: str
    org: str | None
    get: Query[Any] | None

    def problems(self, query: Query[Any]) -> list[str]:
        params = [p.name for p in query.params]
        found = self.policy.problems(query)
        found += _missing({self.param} | ({self.org} if self.org else set()), params, "parameters")
        if self.get is not None:
            found += _missing({p.name for p in self.get.params}, params, f"{self.get.name}:")
            found += _missing({self.param}, self.get.columns, f"{self.get.name} columns")
        return found

    async def run(self, g: Guard, query: Query[Any], args: tuple[object, ...], call: Call[T]) -> T:
        await self._ceiling(g, query, args)
        return await self.policy.run(g, query, args, call)

    async def check(self, g: Guard, query: Query[Any], args: tuple[object, ...]) -> None:
        await self._ceiling(g, query, args)
        await self.policy.check(g, query, args)

    async def _ceiling(self, g: Guard, query: Query[Any], args: tuple[object, ...]) -> None:
        by_name = _args(query, args)
        new = frozenset(cast("list[str] | None", by_name(self.param)) or ())
        known = g.roles(self.org is not None)
        unknown = sorted(new - known.keys())
        if unknown:
            raise UnknownRole(
                f"{query.name}: {self.param} names unknown role(s) {', '.join(unknown)}; "
                f"the roles are {sorted(known)}"
            )
        old: frozenset[str] = frozenset()
        if self.get is not None:
            get = self.get if g.locked is None else self.get.for_update()
            try:
                current = await g.inner.fetch_one(get, tuple(by_name(p.name) for p in get.params))
                old = frozenset(getattr(current, self.param) or ())
            except NotFound:
                pass  # the write reports the missing row
        org = by_name(self.org) if self.org else None
        beyond = (new ^ old) - g.assignable(org)
        if beyond:
            g.deny(query, Action.ASSIGN_ROLE, Object("role", ",".join(sorted(beyond)), None, org))

    def describe(self) -> str:
        return f"{self.policy.describe()}; only roles the subject may assign ({self.param})"


def roles(
    policy: Policy, param: str, *, org: str | None = None, get: Query[Any] | None = None
) -> Policy:
    """``policy``, for a write that sets roles: every role added or removed must be assignable.

    ``param`` is the parameter (and ``get``'s column) holding the role names:
    site roles, or organization roles of the organization in parameter ``org``.
    ``get`` reads the current roles of an existing row, so that taking a role
    away needs the right to assign it too; inserts have none. Inside a
    transaction (and the audit layer runs every audited write in one) the
    current row is read ``FOR UPDATE``, so a concurrent change of its roles
    cannot slip between the check and the write; outside one, it is read
    without a lock. Unknown role names raise :class:`UnknownRole` before
    anything is written.
    """
    return _RoleCeiling(policy, param, org, get)


def any_subject(reason: str) -> Policy:
    """Any bound subject may run the query; for statements that touch no row (say why)."""
    return _AnySubject(reason)


def read(resource: Resource, action: str = Action.READ) -> Policy:
    """Fetch the one row through the inner store, build its object, check ``action`` (read)."""
    return _FetchThenCheck(resource, action)


def insert(resource: Resource) -> Policy:
    """Build the new row's object from the parameters and check ``create`` before inserting."""
    return _CheckThenRun(resource, Action.CREATE)


def check_args(resource: Resource, action: str) -> Policy:
    """Check ``action`` on the object the parameters describe, then run."""
    return _CheckThenRun(resource, action)


def site(type: str, action: str) -> Policy:
    """Check ``action`` on the whole site's objects of ``type`` (site-level grants only)."""
    return _CheckThenRun(Resource(type, (), None, None), action)


def mutate(resource: Resource, action: str, get: Query[Any]) -> Policy:
    """Fetch the current row with ``get`` (parameters matched by name), check, then run."""
    return _FetchCheckMutate(resource, action, get)


def filtered(resource: Resource, action: str = Action.READ) -> Policy:
    """Replace the query's marker with the subject's predicate over ``resource``'s columns."""
    return _Filtered(resource, action)


def system_only(type: str, action: str) -> Policy:
    """Only a system identity whose permission set lists ``action`` on ``type``."""
    return _SystemOnly(type, action)
