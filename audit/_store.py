"""AuditStore: records field-tracked diffs of declared mutations, in the statement or the
transaction of the change."""

from __future__ import annotations

import dataclasses
import datetime
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NoReturn, TypeVar

import structlog
from pydantic import BaseModel

from audit._auditors import Auditor, DatabaseAuditor
from audit._config import Config
from audit._diff import diff
from audit._entry import AuditEntry, current_request
from audit._plan import SINGLE_KIND, Plan, Plans
from audit._statement import Statement, derive, raced
from audit.errors import (
    AuditConfigError,
    MissingActor,
    NoSingleStatement,
    QueryRefused,
    UndeclaredMutation,
)
from authz import current_subject
from store import Isolation, Query, ServerVersion, Store, errors
from store._query import BATCH_INDEX, PRIMITIVE_KINDS, Kind, wrong_kind
from store._query import derive as derive_query

__all__ = ["AuditStore", "AuditTx"]

T = TypeVar("T")
RowT = TypeVar("RowT")

_log = structlog.get_logger("txstore.audit")

#: The server below: its version, how to ask for it, or None (the form every version runs).
Server = ServerVersion | Callable[[], Awaitable[ServerVersion]] | None


class _Shared:
    """What every handle of one AuditStore shares: the compiled plans, the auditor,
    and each audited query's single-statement form (None where the transaction
    form is kept)."""

    __slots__ = ("ask", "auditor", "file", "newer", "old_new", "plans", "statements")

    def __init__(self, plans: Plans, auditor: Auditor, file: str, server: Server) -> None:
        """Derive every audited query's single-statement form, in each shape ``server`` may take.

        Raises:
            AuditConfigError: a bulk mutation or an upsert has no single-statement form.
        """
        self.plans = plans
        self.auditor = auditor
        self.file = file
        # Until the server is known (``ask`` answers), the form every version runs.
        self.ask = None if isinstance(server, ServerVersion) or server is None else server
        self.old_new = isinstance(server, ServerVersion) and server.returning_old_new
        self.statements: dict[str, Statement | None] = {}  # every supported version
        self.newer: dict[str, Statement | None] = {}  # RETURNING OLD (PostgreSQL 18)
        maybe_newer = self.old_new or self.ask is not None
        refused: list[str] = []
        for name, plan in plans.audited.items():
            statement, why = _single(plan, auditor, old_new=False)
            self.statements[name] = statement
            if maybe_newer and statement is not None:
                self.newer[name] = _single(plan, auditor, old_new=True)[0]
            if statement is None and (plan.bulk or plan.batch or plan.statement == "UPSERT"):
                what = (
                    "a batch"
                    if plan.batch
                    else "a bulk mutation"
                    if plan.bulk
                    else "an upsert (INSERT ... ON CONFLICT)"
                )
                refused.append(
                    f"{name} ({plan.query.source if plan.query else '?'}) is {what} "
                    f"that cannot be audited per row in one statement ({why}); declare it "
                    f"Unaudited(reason) in {file}, or change the query or the auditor"
                )
        if refused:
            raise AuditConfigError(refused)

    def statement(self, plan: Plan | None, query: Query[Any]) -> Statement | None:
        """The single-statement form to run for ``query`` (the declared query itself)."""
        if plan is None or query is not plan.query:
            return None
        if self.old_new:
            newer = self.newer.get(plan.name)
            if newer is not None:
                return newer
        return self.statements.get(plan.name)

    async def know_server(self) -> None:
        """Ask the store below for its version, once, before the first statement runs
        (outside any transaction: inside one the outer store is not to be used).

        Raises:
            Whatever asking raises (``DatabaseUnavailable``...); asked again next time.
        """
        ask = self.ask
        if ask is not None:
            self.old_new = (await ask()).returning_old_new
            self.ask = None

    def batch_args(
        self, query: Query[Any], statement: Statement, args: Sequence[tuple[object, ...]]
    ) -> list[tuple[object, ...]]:
        """Each set's arguments for a batch's single-statement form (see :func:`_batched`).

        Raises:
            MissingActor: no subject is acting.
        """
        bound = self.bound(query, statement)
        if statement.query.params[-1].name != BATCH_INDEX:
            return [a + bound for a in args]
        return [(*a[:-1], *bound, a[-1]) for a in args]

    def bound(self, query: Query[Any], statement: Statement) -> tuple[object, ...]:
        """The entry values the statement binds after the query's own arguments.

        Raises:
            MissingActor: no subject is acting.
        """
        subject = current_subject()
        if subject is None:
            raise MissingActor(query.name)
        request = current_request()
        values = (  # user_id, time, ip, user_agent, request_id: ENTRY_VALUES' order
            subject.id,
            datetime.datetime.now(datetime.UTC),
            request.ip,
            request.user_agent,
            request.request_id,
        )
        return tuple(map(values.__getitem__, statement.at))

    async def single(
        self, store: Store, statement: Statement, query: Query[RowT], args: tuple[object, ...]
    ) -> RowT:
        """The change and its entry in one statement on ``store``."""
        derived: Query[RowT] = statement.query
        for attempt in range(1, _UPSERT_RUNS + 1):
            try:
                return await store.fetch_one(derived, args + self.bound(query, statement))
            except errors.NotFound:
                if not statement.rerun_when_empty or attempt == _UPSERT_RUNS:
                    raise
                # The upsert met a row committed after its snapshot and left it alone
                # (its old values were not read); a new statement has a new snapshot.
                _log.debug("audit upsert ran again: no row came back", query=query.name)
        raise AssertionError("unreachable")

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
            reason = wrong_kind(declared.kind)
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
        """Old row, mutation, diff, entry: all on ``tx``, one transaction.

        Raises:
            QueryRefused: ``plan`` is an upsert (only its single statement tells an
                insert from an update soundly).
        """
        if plan.statement == "UPSERT":
            _refuse(
                query,
                "fetch_one",
                "an upsert is audited only in its single statement, which this variant of "
                "the declared query cannot take; with AuthzStore, put AuditStore over it",
            )
        subject = current_subject()
        if subject is None:
            raise MissingActor(query.name)
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


#: How often an upsert's single statement runs when no row comes back (see
#: ``Statement.rerun_when_empty``) before ``NotFound`` is the answer.
_UPSERT_RUNS = 3


def _single(plan: Plan, auditor: Auditor, *, old_new: bool) -> tuple[Statement | None, str]:
    """The plan's single-statement form, or None and why (also logged as a debug event)."""
    try:
        if not isinstance(auditor, DatabaseAuditor):
            raise NoSingleStatement(f"the auditor {type(auditor).__name__} is not a table")
        assert plan.model is not None
        assert plan.query is not None
        resource = plan.resource
        org: str | tuple[Query[Any], tuple[str, ...], str] | None
        if isinstance(resource.org, str) or resource.org is None:
            org = resource.org
        else:
            assert plan.via is not None
            org = (plan.via, plan.via_args, resource.org.attribute)
        query, index = _single_call(plan.query) if plan.batch else (plan.query, False)
        statement = derive(
            query,
            model=plan.model,
            fields=plan.fields,
            statement=plan.statement,
            lookup=plan.lookup,
            lookup_args=plan.lookup_args,
            key=plan.key,
            resource_type=resource.type,
            resource_id=resource.id,
            resource_target=resource.target,
            org=org,
            action=plan.action,
            sink=auditor.insert,
            created=plan.created,
            old_new=old_new,
        )
        if plan.batch:
            statement = _batched(plan.query, statement, index)
    except (NoSingleStatement, ValueError) as why:
        _log.debug(
            "audit in a transaction: no single-statement form", query=plan.name, reason=str(why)
        )
        return None, str(why)
    return statement, ""


def _single_call(batch: Query[Any]) -> tuple[Query[Any], bool]:
    """The single-call query each argument set of ``batch`` runs, and whether it has an index.

    A ``:batchmany`` / ``:batchone`` mutation's SQL ends as ``txstore gen`` writes
    it, its RETURNING list then the batch index (its last parameter).

    Raises:
        NoSingleStatement: the batch index is not where the generator puts it.
    """
    kind = SINGLE_KIND[batch.kind]
    if batch.kind is Kind.BATCHEXEC:
        return dataclasses.replace(batch, kind=kind), False
    suffix = f"\n, ${len(batch.params)}::int4 AS {BATCH_INDEX}"
    if not batch.sql.rstrip().endswith(suffix) or batch.params[-1].name != BATCH_INDEX:
        raise NoSingleStatement(f"the batch does not end in RETURNING ...{suffix!r}")
    sql = batch.sql.rstrip().removesuffix(suffix)
    return dataclasses.replace(batch, kind=kind, sql=sql, params=batch.params[:-1]), True


def _batched(batch: Query[Any], statement: Statement, index: bool) -> Statement:
    """``statement`` (of the single call) as the batch's own variant, the index appended.

    The entry values bind after the call's own arguments; the batch index comes last, so
    each set runs as ``args[:-1] + entry values + (index,)`` (:meth:`_Shared.batch_args`).
    """
    if statement.rerun_when_raced:
        raise NoSingleStatement(
            "a batch of a bulk upsert cannot run its statement again when a row races it "
            "(before PostgreSQL 18): make it one bulk upsert"
        )
    sql, params = statement.query.sql, statement.query.params
    if index:
        head, found, tail = sql.rpartition("\nSELECT ")
        select, _, source = tail.rpartition(" FROM audit_change")
        if not found or source.strip():
            raise NoSingleStatement("the single-statement form does not end in its SELECT")
        index_sql = f"${len(params) + 1}::int4 AS {BATCH_INDEX}"
        sql = f"{head}\nSELECT {select}, {index_sql} FROM audit_change"
        params = (*params, batch.params[-1])
    variant = derive_query(
        batch, sql=sql, params=params, authorize_filter=batch.authorize_filter, for_below=True
    )
    return Statement(variant, statement.bound)


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

    async def _attempt(self, call: Callable[[Store], Awaitable[T]]) -> T:
        """One run of a statement that may fail as a whole and run again."""
        raise NotImplementedError

    async def _bulk(
        self,
        statement: Statement,
        query: Query[Any],
        args: tuple[object, ...],
        call: Callable[[Store, tuple[object, ...]], Awaitable[T]],
    ) -> T:
        """A bulk mutation's single statement; a bulk upsert's runs again when a row raced it.

        Raises:
            MissingActor: no subject is acting.
            store.errors.SerializationFailure: every run of a bulk upsert met a row
                inserted concurrently after its snapshot (nothing was written).
        """
        shared = self._shared
        if not statement.rerun_when_raced:
            return await call(self._inner, args + shared.bound(query, statement))
        for attempt in range(1, _UPSERT_RUNS + 1):
            values = args + shared.bound(query, statement)

            def run(s: Store, values: tuple[object, ...] = values) -> Awaitable[T]:
                return call(s, values)

            try:
                return await self._attempt(run)
            except errors.DatabaseError as exc:
                if not raced(exc):
                    raise
                if attempt == _UPSERT_RUNS:
                    raise errors.SerializationFailure(
                        f"{query.name}: in each of {attempt} runs a row of the bulk upsert met "
                        "a row inserted by a concurrent transaction after the statement's "
                        "snapshot; nothing was written",
                        attempts=attempt,
                        sqlstate="40001",
                    ) from exc
                # The statement wrote nothing: a row it upserts was committed after its
                # snapshot (its old values were not read); a new statement sees it.
                _log.debug(
                    "audit upsert ran again: a row was inserted concurrently", query=query.name
                )
        raise AssertionError("unreachable")

    async def _rows(
        self,
        query: Query[Any],
        args: tuple[object, ...],
        primitive: str,
        run: Callable[[Store, Query[Any], tuple[object, ...]], Awaitable[T]],
    ) -> T:
        """``run`` (one primitive) with the declared query, or with its single-statement
        form when it is an audited bulk mutation: one entry per row it changes."""
        shared = self._shared
        query, plan = shared.resolve(query, primitive)
        if shared.ask is not None and plan is not None:
            await shared.know_server()
        statement = shared.statement(plan, query)
        if statement is None:
            return await run(self._inner, query, args)
        derived = statement.query
        return await self._bulk(statement, query, args, lambda s, values: run(s, derived, values))

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
        """Run a ``:many`` query; an audited bulk mutation writes one entry per row with it.

        Raises:
            QueryRefused: ``query`` is not a declared query, or not a ``:many``.
            MissingActor: an audited mutation ran with no subject.
            UndeclaredMutation: the query writes an auditable table undeclared.
        """
        return await self._rows(query, args, "fetch_many", lambda s, q, a: s.fetch_many(q, a))

    async def execute(self, query: Query[None], args: tuple[object, ...]) -> None:
        """Run an ``:exec`` query; an audited bulk mutation writes one entry per row with it.

        Raises:
            QueryRefused: ``query`` is not a declared query, or not an ``:exec``.
            MissingActor: an audited mutation ran with no subject.
            UndeclaredMutation: the query writes an auditable table undeclared.
        """
        await self._rows(query, args, "execute", lambda s, q, a: s.execute(q, a))

    async def execute_rows(self, query: Query[None], args: tuple[object, ...]) -> int:
        """Run an ``:execrows`` (or ``:exec``) query and return the affected row count;
        an audited bulk mutation writes one entry per row with it.

        Raises:
            QueryRefused: ``query`` is not a declared query, or of another kind.
            MissingActor: an audited mutation ran with no subject.
            UndeclaredMutation: the query writes an auditable table undeclared.
        """
        return await self._rows(query, args, "execute_rows", lambda s, q, a: s.execute_rows(q, a))

    async def execute_batch(self, query: Query[None], args: Sequence[tuple[object, ...]]) -> int:
        """Run a ``:batchexec`` or ``:copyfrom`` query; an audited ``:batchexec`` runs its
        single-statement form for every argument set in the same batch, so each row
        gets the entry the single write would give it, atomically with the change.

        Raises:
            QueryRefused: ``query`` is not a declared query, of another kind, or a
                variant of an audited batch other than the declared query.
            MissingActor: an audited batch ran with no subject.
            UndeclaredMutation: the query writes an auditable table undeclared.
        """
        query, statement = await self._batch(query, "execute_batch")
        if statement is None:
            return await self._inner.execute_batch(query, args)
        return await self._inner.execute_batch(
            statement.query, self._shared.batch_args(query, statement, args)
        )

    async def fetch_batch(
        self, query: Query[RowT], args: Sequence[tuple[object, ...]]
    ) -> list[list[RowT]]:
        """Run a ``:batchmany`` or ``:batchone`` query; an audited one runs its
        single-statement form for every argument set, as ``execute_batch`` does.

        Raises:
            QueryRefused: ``query`` is not a declared query, of another kind, or a
                variant of an audited batch other than the declared query.
            MissingActor: an audited batch ran with no subject.
            UndeclaredMutation: the query writes an auditable table undeclared.
            store.errors.NotFound: a ``:batchone`` set found no row (nothing written).
        """
        query, statement = await self._batch(query, "fetch_batch")
        if statement is None:
            return await self._inner.fetch_batch(query, args)
        derived: Query[RowT] = statement.query
        return await self._inner.fetch_batch(
            derived, self._shared.batch_args(query, statement, args)
        )

    async def _batch(
        self, query: Query[RowT], primitive: str
    ) -> tuple[Query[RowT], Statement | None]:
        """The declared query a batch runs, and its single-statement form if it is audited.

        Raises:
            QueryRefused: as ``resolve``; or a variant of an audited batch (construction
                refuses an audited batch without the form, and a variant would run
                unaudited).
        """
        shared = self._shared
        query, plan = shared.resolve(query, primitive)
        if plan is None:
            return query, None
        if shared.ask is not None:
            await shared.know_server()
        statement = shared.statement(plan, query)
        if statement is None:
            _refuse(query, primitive, "an audited batch runs only as its declared query")
        return query, statement

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

        if self._shared.ask is not None:
            await self._shared.know_server()  # before the transaction, whose handles cannot ask
        return await self._inner.in_tx(
            wrapped, isolation=isolation, read_only=read_only, tx_id=tx_id, retries=retries
        )


class AuditStore(_AuditLayer):
    """A full ``Store`` that records an audit entry for every declared mutation.

    For a mutation the application's :class:`audit.Config` declares
    ``Audited`` it runs, where it can, one derived statement that reads the
    old row (locked), writes the change, builds the diff in SQL and inserts
    the entries with the application's sink query (one per changed row; bulk
    mutations only this way). Elsewhere (a sink that is not a table, a field
    type SQL cannot diff as Python does) it reads the old row (locked), runs
    the mutation, diffs the two by the config's classification table and
    hands an :class:`AuditEntry` to the auditor, all in one transaction: a
    mutation called outside ``in_tx`` gets a transaction of its own. Either
    way the change and its entries commit together or not at all. A diff with
    no tracked field writes no entry. An upsert writes a create or a write
    entry by what happened to its row, in its single statement only.
    Each query runs only through the primitive of its kind (a batch through
    ``execute_batch`` or ``fetch_batch``, each argument set audited as its
    single call), and only the declared query (or a variant the framework
    derived from it) runs at all: anything else raises
    :class:`~audit.errors.QueryRefused` before it reaches the database.
    """

    __slots__ = ()

    def __init__(
        self,
        inner: Store,
        config: Config,
        auditor: Auditor | None = None,
        *,
        server: Server = None,
    ) -> None:
        """Wrap ``inner`` with ``config``; ``auditor`` overrides ``config.auditor``.

        ``server`` is the version of the PostgreSQL below, or how to ask for it
        (``PgStore.server_version``, which ``connect_stack`` passes: asked once,
        before the first audited write or transaction): on 18 and later the
        single statements read old rows with ``RETURNING OLD``. Without it they
        take the form every supported version runs (a locked lookup joined in
        the statement).

        Raises:
            AuditConfigError: the classification table or the declarations are
                incomplete or stale (each problem names the file and line to edit),
                or a bulk mutation or an upsert cannot be audited in one statement.
        """
        self._inner = inner
        self._shared = _Shared(
            config.plans(), config.auditor if auditor is None else auditor, config.file, server
        )

    async def _audited(self, plan: Plan, query: Query[RowT], args: tuple[object, ...]) -> RowT:
        shared = self._shared
        if shared.ask is not None:
            await shared.know_server()
        statement = shared.statement(plan, query)
        if statement is not None:
            # One statement is atomic on its own: no transaction around it.
            return await shared.single(self._inner, statement, query, args)

        async def change(tx: Store) -> RowT:
            return await shared.run(tx, plan, query, args)

        return await self._inner.in_tx(change, tx_id=query.name)

    async def _attempt(self, call: Callable[[Store], Awaitable[T]]) -> T:
        # One statement outside a transaction: its failure leaves nothing behind.
        return await call(self._inner)


class AuditTx(_AuditLayer):
    """The audited handle an ``AuditStore.in_tx`` closure receives."""

    __slots__ = ()

    def __init__(self, inner: Store, shared: _Shared) -> None:
        self._inner = inner
        self._shared = shared

    async def _audited(self, plan: Plan, query: Query[RowT], args: tuple[object, ...]) -> RowT:
        shared = self._shared
        statement = shared.statement(plan, query)
        if statement is not None:
            # A failed statement leaves nothing behind: no savepoint is needed.
            return await shared.single(self._inner, statement, query, args)

        async def change(tx: Store) -> RowT:
            return await shared.run(tx, plan, query, args)

        # A savepoint: if the entry cannot be written, the change is undone even
        # when the caller catches the error and goes on with the transaction.
        return await self._inner.in_tx(change)

    async def _attempt(self, call: Callable[[Store], Awaitable[T]]) -> T:
        # A savepoint: the transaction goes on after the statement failed to run again.
        return await self._inner.in_tx(call)


_: type[Store] = AuditStore
_tx: type[Store] = AuditTx
