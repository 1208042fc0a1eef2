"""AuditStore: records field-tracked diffs of declared mutations, in the same transaction."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar

import structlog
from pydantic import BaseModel

from audit._auditors import Auditor
from audit._config import Config
from audit._diff import diff
from audit._entry import AuditEntry, current_request
from audit._plan import Plan, Plans
from audit.errors import MissingActor, QueryRefused, UndeclaredMutation
from authz import current_subject
from store import Isolation, Kind, Query, Store, errors
from store._query import PRIMITIVE_KINDS

__all__ = ["AuditStore", "AuditTx"]

T = TypeVar("T")
RowT = TypeVar("RowT")

_log = structlog.get_logger("txstore.audit")
_RUNS = {
    Kind.ONE: "fetch_one",
    Kind.MANY: "fetch_many",
    Kind.EXEC: "execute",
    Kind.EXECROWS: "execute_rows",
}


class _Shared:
    """What every handle of one AuditStore shares: the compiled plans and the auditor."""

    __slots__ = ("auditor", "file", "plans")

    def __init__(self, plans: Plans, auditor: Auditor, file: str) -> None:
        self.plans = plans
        self.auditor = auditor
        self.file = file

    def resolve(self, query: Query[RowT], primitive: str) -> tuple[Query[RowT], Plan | None]:
        """The declared query ``query`` stands for, and its plan if it is audited.

        Everything is decided from the declared query, found by name: a
        hand-built ``Query`` equal to it in every field is replaced by it; only
        the variants the framework derives from it (its locking form, the
        authorization layer's filtered form) run as given. Anything else is
        refused, as is a primitive that does not run the declared query's
        kind, so no primitive can run an audited mutation without its entry.
        """
        plans = self.plans
        name = query.name
        declared = plans.queries.get(name)
        if declared is None:
            _refuse(query, primitive, "no query of that name is declared")
        if query is not declared:
            if not query.is_variant_of(declared, derived=True):
                _refuse(
                    query,
                    primitive,
                    f"the Query object differs from the declared {name} ({declared.source}) in "
                    f"{', '.join(query.differences(declared))}; call the declared query",
                )
            if query.same_as(declared):
                query = declared
        plan = plans.audited.get(name)
        if declared.kind not in PRIMITIVE_KINDS[primitive]:
            reason = f"it is a :{declared.kind} query, run by {_RUNS[declared.kind]}"
            if plan is not None:
                reason += "; an audited mutation writes its entry only through fetch_one"
            _refuse(query, primitive, reason)
        if plan is None and declared.mutates in plans.tables and name not in plans.unaudited:
            raise UndeclaredMutation(
                f"{name} writes auditable table {declared.mutates} but has no audit "
                f"declaration in {self.file}"
            )
        return query, plan

    async def run(
        self, tx: Store, plan: Plan, query: Query[RowT], args: tuple[object, ...]
    ) -> RowT:
        """Old row, mutation, diff, entry: all on ``tx``, one transaction."""
        subject = current_subject()
        if subject is None:
            raise MissingActor(f"{query.name} is audited but runs with no subject")
        old = await _read(tx, plan.lookup, tuple(args[i] for i in plan.lookup_args))
        row = await tx.fetch_one(query, args)
        assert isinstance(row, BaseModel)
        before, after = (row, None) if plan.hard_delete else (old, row)
        changes = diff(before, after, fields=plan.fields)
        if not changes:
            _log.debug("audit skipped: no tracked field changed", query=query.name)
            return row
        resource = plan.resource
        entry = AuditEntry(
            id=uuid.uuid4(),
            time=datetime.datetime.now(datetime.UTC),
            actor_id=subject.id,
            org_id=await _org(tx, plan, row),
            resource_type=resource.type,
            resource_id=str(getattr(row, resource.id)),
            resource_target=_text(getattr(row, resource.target)) if resource.target else "",
            action=plan.action,
            diff=changes,
            request=current_request(),
            query=query.name,
        )
        await self.auditor.record(tx, entry)
        _log.debug(
            "audit entry recorded",
            query=query.name,
            audit_id=str(entry.id),
            resource_type=entry.resource_type,
            resource_id=entry.resource_id,
            action=str(entry.action),
        )
        return row


def _refuse(query: Query[Any], primitive: str, reason: str) -> NoReturn:
    _log.warning("audit refused", query=query.name, primitive=primitive, reason=reason)
    raise QueryRefused(query.name, primitive, reason)


async def _read(tx: Store, lookup: Query[Any] | None, args: tuple[object, ...]) -> Any:
    if lookup is None:
        return None
    try:
        return await tx.fetch_one(lookup, args)
    except errors.NotFound:
        return None  # the mutation itself reports the missing row


async def _org(tx: Store, plan: Plan, row: BaseModel) -> uuid.UUID | None:
    found = plan.resource.org
    if found is None:
        return None
    if isinstance(found, str):
        value: Any = getattr(row, found)
        return value if isinstance(value, uuid.UUID) else None
    assert plan.via is not None
    try:
        parent = await tx.fetch_one(plan.via, tuple(getattr(row, a) for a in plan.via_args))
    except errors.NotFound:
        return None
    value = getattr(parent, found.attribute)
    return value if isinstance(value, uuid.UUID) else None


def _text(value: object) -> str:
    return "" if value is None else str(value)


class _AuditLayer:
    __slots__ = ("_inner", "_shared")

    _inner: Store
    _shared: _Shared

    def _handle(self, tx: Store) -> AuditTx:
        return AuditTx(tx, self._shared)

    async def _audited(self, plan: Plan, query: Query[RowT], args: tuple[object, ...]) -> RowT:
        raise NotImplementedError

    async def fetch_one(self, query: Query[RowT], args: tuple[object, ...]) -> RowT:
        """Run a ``:one`` query; a declared mutation is audited in one transaction.

        Raises:
            QueryRefused: ``query`` is not a declared query, or not a ``:one``.
            MissingActor: an audited mutation ran with no subject.
            UndeclaredMutation: the query writes an auditable table undeclared.
            store.errors.NotFound: no row came back.
        """
        query, plan = self._shared.resolve(query, "fetch_one")
        if plan is None:
            return await self._inner.fetch_one(query, args)
        return await self._audited(plan, query, args)

    async def fetch_many(self, query: Query[RowT], args: tuple[object, ...]) -> list[RowT]:
        """Run a ``:many`` query.

        Raises:
            QueryRefused: ``query`` is not a declared query, or not a ``:many``.
            UndeclaredMutation: the query writes an auditable table undeclared.
        """
        query, _ = self._shared.resolve(query, "fetch_many")
        return await self._inner.fetch_many(query, args)

    async def execute(self, query: Query[None], args: tuple[object, ...]) -> None:
        """Run an ``:exec`` query (never an audited mutation: those are ``:one``).

        Raises:
            QueryRefused: ``query`` is not a declared query, or not an ``:exec``.
            UndeclaredMutation: the query writes an auditable table undeclared.
        """
        query, _ = self._shared.resolve(query, "execute")
        await self._inner.execute(query, args)

    async def execute_rows(self, query: Query[None], args: tuple[object, ...]) -> int:
        """Run an ``:execrows`` (or ``:exec``) query and return the affected row count.

        Raises:
            QueryRefused: ``query`` is not a declared query, or of another kind.
            UndeclaredMutation: the query writes an auditable table undeclared.
        """
        query, _ = self._shared.resolve(query, "execute_rows")
        return await self._inner.execute_rows(query, args)

    async def ping(self) -> None:
        """Check the store below answers."""
        await self._inner.ping()

    async def close(self) -> None:
        """Close the store below."""
        await self._inner.close()

    async def in_tx(
        self,
        fn: Callable[[Store], Awaitable[T]],
        *,
        isolation: Isolation | str | None = None,
        read_only: bool = False,
        tx_id: str = "tx",
        retries: int = 3,
    ) -> T:
        """Run ``fn`` in a transaction of the store below, handing it an audited handle.

        Raises:
            Whatever the store below raises (serialization failures after its
            retries, misuse of the outer store inside the closure, ...).
        """

        async def wrapped(tx: Store) -> T:
            return await fn(self._handle(tx))

        return await self._inner.in_tx(
            wrapped, isolation=isolation, read_only=read_only, tx_id=tx_id, retries=retries
        )


class AuditStore(_AuditLayer):
    """A full ``Store`` that records an audit entry for every declared mutation.

    For a mutation the application's :class:`audit.Config` declares
    ``Audited`` it reads the old row (locked), runs the mutation, diffs the two
    by the config's classification table and hands an :class:`AuditEntry` to
    the auditor, all in one transaction: a mutation called outside ``in_tx``
    gets a transaction of its own, and the change and its entry commit
    together or not at all. A diff with no tracked field writes no entry.
    Only ``fetch_one`` runs an audited mutation, and only the declared query
    (or a variant the framework derived from it) runs at all: anything else
    raises :class:`~audit.errors.QueryRefused` before it reaches the database.
    """

    __slots__ = ()

    def __init__(self, inner: Store, config: Config, auditor: Auditor | None = None) -> None:
        """Wrap ``inner`` with ``config``; ``auditor`` overrides ``config.auditor``.

        Raises:
            AuditConfigError: the classification table or the declarations are
                incomplete or stale (each problem names the file and line to edit).
        """
        self._inner = inner
        self._shared = _Shared(
            config.plans(), config.auditor if auditor is None else auditor, config.file
        )

    async def _audited(self, plan: Plan, query: Query[RowT], args: tuple[object, ...]) -> RowT:
        shared = self._shared

        async def change(tx: Store) -> RowT:
            return await shared.run(tx, plan, query, args)

        return await self._inner.in_tx(change, tx_id=query.name)


class AuditTx(_AuditLayer):
    """The audited handle an ``AuditStore.in_tx`` closure receives."""

    __slots__ = ()

    def __init__(self, inner: Store, shared: _Shared) -> None:
        self._inner = inner
        self._shared = shared

    async def _audited(self, plan: Plan, query: Query[RowT], args: tuple[object, ...]) -> RowT:
        shared = self._shared

        async def change(tx: Store) -> RowT:
            return await shared.run(tx, plan, query, args)

        # A savepoint: if the entry cannot be written, the change is undone even
        # when the caller catches the error and goes on with the transaction.
        return await self._inner.in_tx(change)


_: type[Store] = AuditStore
_tx: type[Store] = AuditTx
