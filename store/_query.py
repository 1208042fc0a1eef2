"""What the generated code knows about one query, and how a row becomes a value."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from store.errors import NotFound, WrongPrimitive

__all__ = [
    "BATCH_INDEX",
    "PRIMITIVE_KINDS",
    "DriverRunner",
    "Kind",
    "Param",
    "Query",
    "QueryRunner",
    "RowT",
    "batch_groups",
    "batch_position",
    "derive",
    "wrong_kind",
    "wrong_primitive",
]

RowT = TypeVar("RowT")


class Kind(enum.StrEnum):
    """How a query's result is returned."""

    ONE = "one"  # exactly one row, else NotFound
    MANY = "many"  # a list of rows
    EXEC = "exec"  # nothing
    EXECROWS = "execrows"  # the affected row count
    COPYFROM = "copyfrom"  # many rows inserted with COPY; the count copied
    BATCHEXEC = "batchexec"  # one statement for many argument sets, pipelined; nothing
    BATCHMANY = "batchmany"  # a list of rows per argument set
    BATCHONE = "batchone"  # one row per argument set, else NotFound


#: The parameter a ``:batchmany`` / ``:batchone`` query's generated SQL ends its
#: parameters with, and returns as its last result column: the position of the
#: argument set that produced each row (the driver returns the rows of every
#: set as one flat list). The generated method passes ``0, 1, 2...``.
BATCH_INDEX = "txstore_batch_index"


#: The query kinds each primitive runs: its own kind, and ``execute_rows`` runs
#: an ``:exec`` too (it only adds the row count). Layers that decide from a
#: query refuse any other pairing: a ``:one`` write run by ``execute`` would
#: skip whatever the layer does with the returned row.
PRIMITIVE_KINDS: Mapping[str, frozenset[Kind]] = {
    "fetch_one": frozenset({Kind.ONE}),
    "fetch_many": frozenset({Kind.MANY}),
    "execute": frozenset({Kind.EXEC}),
    "execute_rows": frozenset({Kind.EXECROWS, Kind.EXEC}),
    "execute_batch": frozenset({Kind.BATCHEXEC, Kind.COPYFROM}),
    "fetch_batch": frozenset({Kind.BATCHMANY, Kind.BATCHONE}),
}


#: Parameter types whose datetimes asyncpg would read as UTC when naive: the
#: timestamp itself, its arrays, and the ranges and multiranges of it.
ZONED_TYPES = frozenset(
    {"timestamptz", "timestamptz[]", "tstzrange", "tstzrange[]", "tstzmultirange"}
)


@dataclass(frozen=True, slots=True)
class Param:
    """One bind parameter, in ``$n`` order.

    ``zoned`` lists where a composite argument holds ``timestamptz`` values (or
    their arrays and ranges): each path is attribute positions, outermost
    first, an array on the way standing for each of its elements. The store
    refuses a naive ``datetime`` there, as it does for a ``timestamptz``
    parameter itself. ``txstore gen`` writes it.
    """

    name: str
    pg_type: str
    nullable: bool = False
    zoned: tuple[tuple[int, ...], ...] = ()


@dataclass(frozen=True, slots=True, eq=False)
class Query(Generic[RowT]):
    """A prepared-statement-ready query with everything the layers need to know.

    ``decode`` turns an asyncpg ``Record`` into the method's return value (a row
    model, or a scalar for one-column results); it is None for ``:exec``,
    ``:execrows``, ``:batchexec`` and ``:copyfrom``. For a ``:copyfrom`` query
    (an ``INSERT INTO t (a, b) VALUES ($1, $2)`` run as ``COPY``) ``columns``
    are the table columns its parameters fill, in parameter order, and
    ``mutates`` is the table the rows are copied into. ``tables`` lists the
    base tables the query reads or writes; ``mutates`` is the table an
    INSERT/UPDATE/DELETE writes, if any.
    ``authorize_filter`` is set for list queries (and writes checked in their
    own WHERE clause) whose SQL holds the placeholder
    ``TRUE /*authorize_filter*/`` (written as ``-- @authorize_filter [alias]`` in
    the source); its value is the table alias (or table name) that the
    authorization layer qualifies its predicate's columns with when it replaces
    the placeholder.
    """

    name: str
    kind: Kind
    sql: str
    params: tuple[Param, ...]
    decode: Callable[[Mapping[str, Any]], RowT] | None
    source: str  # "queries/users.sql:12"
    tables: tuple[str, ...] = ()
    mutates: str | None = None
    authorize_filter: str | None = None
    doc: str = ""
    columns: tuple[str, ...] = field(default=())
    #: Derived from ``params`` at construction: each parameter that may hold a
    #: ``timestamptz`` value, with the paths to it (``()``: the argument itself;
    #: see :attr:`Param.zoned`). The store refuses a naive datetime there.
    zoned_at: tuple[tuple[int, tuple[tuple[int, ...], ...]], ...] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "zoned_at",
            tuple(
                (i, ((),) if p.pg_type in ZONED_TYPES else p.zoned)
                for i, p in enumerate(self.params)
                if p.pg_type in ZONED_TYPES or p.zoned
            ),
        )

    def __repr__(self) -> str:
        return f"<Query {self.name} :{self.kind} at {self.source}>"

    def for_update(self) -> Query[RowT]:
        """This query with ``FOR UPDATE``: the same rows, locked until the transaction ends.

        The variant is made once per query and remembered, so layers recognise
        it as this query's (see :meth:`is_variant_of`).
        """
        return _derived(self, _locking_sql(self.sql), self.params, self.authorize_filter, True)

    def same_as(self, other: Query[Any]) -> bool:
        """True when every field of this query equals ``other``'s (decoders by identity)."""
        return self is other or (
            self.name == other.name
            and self.kind is other.kind
            and self.sql == other.sql
            and self.params == other.params
            and self.decode is other.decode
            and self.source == other.source
            and self.tables == other.tables
            and self.mutates == other.mutates
            and self.authorize_filter == other.authorize_filter
            and self.doc == other.doc
            and self.columns == other.columns
        )

    def differences(self, other: Query[Any]) -> list[str]:
        """The names of the fields in which this query differs from ``other``."""
        return [
            f.name
            for f in dataclasses.fields(self)
            if f.init  # not what is derived from the others (zoned_at)
            and (
                self.decode is not other.decode
                if f.name == "decode"
                else getattr(self, f.name) != getattr(other, f.name)
            )
        ]

    def is_variant_of(
        self, declared: Query[Any], *, derived: bool = False, above: bool = False
    ) -> bool:
        """True when this query may stand for ``declared``.

        That is: it is ``declared``, equal to it in every field, or the locking
        variant ``declared.for_update()``; with ``derived=True`` also a variant
        that a layer below derived from it with :func:`derive` (the
        authorization layer's filtered form); with ``above=True`` a variant a
        layer above derived for the layers below (``derive(for_below=True)``:
        the audit layer's single-statement form). A hand-built query that differs
        from ``declared`` in any field is none of these.
        """
        if self is declared:
            return True
        origin = _ORIGINS.get(id(self))
        if (
            origin is not None
            and origin[0] is self
            and (derived or origin[2] or (above and id(self) in _FOR_BELOW))
        ):
            return origin[1].same_as(declared)
        return self.same_as(declared)


# Variants the framework derived from a query, by identity: id(variant) ->
# (variant, base, locking). Only this module and derive() add to it, so a
# hand-built Query is never in it. Each (base, sql, params) is made once, so
# the table grows with the number of distinct variants, not with the calls.
_ORIGINS: dict[int, tuple[Query[Any], Query[Any], bool]] = {}
_VARIANTS: dict[tuple[int, str, tuple[Param, ...], str | None], Query[Any]] = {}
# Variants derived above for the layers below (ids in _ORIGINS).
_FOR_BELOW: set[int] = set()


def _derived(
    base: Query[RowT],
    sql: str,
    params: tuple[Param, ...],
    authorize_filter: str | None,
    locking: bool,
) -> Query[RowT]:
    key = (id(base), sql, params, authorize_filter)
    found = _VARIANTS.get(key)
    origin = None if found is None else _ORIGINS.get(id(found))
    if found is not None and origin is not None and origin[1] is base:
        return found
    variant = dataclasses.replace(base, sql=sql, params=params, authorize_filter=authorize_filter)
    _VARIANTS[key] = variant
    _ORIGINS[id(variant)] = (variant, base, locking)
    return variant


def _locking_sql(sql: str) -> str:
    return sql.rstrip().rstrip(";") + "\nFOR UPDATE"


def derive(
    base: Query[RowT],
    *,
    sql: str,
    params: tuple[Param, ...],
    authorize_filter: str | None = None,
    for_below: bool = False,
) -> Query[RowT]:
    """A layer's variant of ``base`` with other SQL and parameters, recognised as ``base``'s.

    For the framework's layers only: a layer above accepts it where it
    accepts ``base`` (see :meth:`Query.is_variant_of` with ``derived=True``).
    With ``for_below`` (the audit layer's single-statement form, which still
    carries ``authorize_filter`` and its marker for the authorization layer to
    fill) the layers below accept it too (``above=True``). Not exported from
    ``store``: an application has no reason to call it.
    """
    variant = _derived(base, sql, params, authorize_filter, False)
    if for_below:
        _FOR_BELOW.add(id(variant))
    return variant


class QueryRunner:
    """The four primitives every generated query method is written against.

    Each store layer implements them once, generically; the generated
    ``Queries`` mixin turns them into one typed method per query.
    """

    __slots__ = ()

    async def fetch_one(self, query: Query[RowT], args: tuple[object, ...]) -> RowT:
        """Run a ``:one`` query; raises ``NotFound`` when no row comes back."""
        raise NotImplementedError

    async def fetch_many(self, query: Query[RowT], args: tuple[object, ...]) -> list[RowT]:
        """Run a ``:many`` query."""
        raise NotImplementedError

    async def execute(self, query: Query[None], args: tuple[object, ...]) -> None:
        """Run an ``:exec`` query."""
        raise NotImplementedError

    async def execute_rows(self, query: Query[None], args: tuple[object, ...]) -> int:
        """Run an ``:execrows`` query; returns the affected row count."""
        raise NotImplementedError

    async def execute_batch(self, query: Query[None], args: Sequence[tuple[object, ...]]) -> int:
        """Run a ``:batchexec`` or ``:copyfrom`` query for every argument set, atomically."""
        raise NotImplementedError

    async def fetch_batch(
        self, query: Query[RowT], args: Sequence[tuple[object, ...]]
    ) -> list[list[RowT]]:
        """Run a ``:batchmany`` or ``:batchone`` query for every argument set, atomically."""
        raise NotImplementedError


_RUN_BY = {
    Kind.ONE: "fetch_one",
    Kind.MANY: "fetch_many",
    Kind.EXEC: "execute",
    Kind.EXECROWS: "execute_rows",
    Kind.COPYFROM: "execute_batch",
    Kind.BATCHEXEC: "execute_batch",
    Kind.BATCHMANY: "fetch_batch",
    Kind.BATCHONE: "fetch_batch",
}


def wrong_kind(kind: Kind) -> str:
    """Why another primitive may not run a ``kind`` query: one wording for every layer."""
    return f"it is a :{kind} query, run by {_RUN_BY[kind]}"


def wrong_primitive(query: Query[Any], primitive: str) -> WrongPrimitive:
    """The error for ``query`` run by a ``primitive`` that does not run its kind."""
    return WrongPrimitive(query.name, primitive, wrong_kind(query.kind))


class DriverRunner(QueryRunner):
    """The four primitives over one driver call, ``_call(query, method, args)``.

    ``method`` is the asyncpg connection method (``fetchrow``, ``fetch``,
    ``execute``); the store on a pool and the transaction handle differ only
    in how they get a connection and what a failure does to it.
    """

    __slots__ = ()

    async def _call(self, query: Query[Any], method: str, args: tuple[object, ...]) -> Any:
        raise NotImplementedError

    async def fetch_one(self, query: Query[RowT], args: tuple[object, ...]) -> RowT:
        """Run a ``:one`` query.

        Raises:
            NotFound: no row came back.
            WrongPrimitive: ``query`` is not a ``:one`` query (nothing ran).
        """
        # Checked before running (an identity test, free on the hot path):
        # the statement must not run only for its result to be refused.
        if query.kind is not Kind.ONE:
            raise wrong_primitive(query, "fetch_one")
        row = await self._call(query, "fetchrow", args)
        if row is None:
            raise NotFound(query.name)
        assert query.decode is not None
        return query.decode(row)

    async def fetch_many(self, query: Query[RowT], args: tuple[object, ...]) -> list[RowT]:
        """Run a ``:many`` query.

        Raises:
            WrongPrimitive: ``query`` is not a ``:many`` query (nothing ran).
        """
        if query.kind is not Kind.MANY:
            raise wrong_primitive(query, "fetch_many")
        rows = await self._call(query, "fetch", args)
        decode = query.decode
        assert decode is not None
        return [decode(row) for row in rows]

    async def execute(self, query: Query[None], args: tuple[object, ...]) -> None:
        """Run an ``:exec`` query.

        Raises:
            WrongPrimitive: ``query`` is not an ``:exec`` query (nothing ran).
        """
        if query.kind is not Kind.EXEC:
            raise wrong_primitive(query, "execute")
        await self._call(query, "execute", args)

    async def execute_rows(self, query: Query[None], args: tuple[object, ...]) -> int:
        """Run an ``:execrows`` (or ``:exec``) query; returns the affected row count.

        Raises:
            WrongPrimitive: ``query`` is a ``:one`` or ``:many`` query (nothing ran).
        """
        if query.kind is not Kind.EXECROWS and query.kind is not Kind.EXEC:
            raise wrong_primitive(query, "execute_rows")
        status: str = await self._call(query, "execute", args)
        return int(status.rsplit(" ", 1)[-1]) if status[-1:].isdigit() else 0

    async def execute_batch(self, query: Query[None], args: Sequence[tuple[object, ...]]) -> int:
        """Run a ``:batchexec`` (pipelined, one round trip) or ``:copyfrom`` (``COPY``)
        query for every argument set; all of them or none take effect.

        Returns the rows a ``:copyfrom`` copied, the argument sets a
        ``:batchexec`` ran.

        Raises:
            WrongPrimitive: ``query`` is of another kind (nothing ran).
        """
        if query.kind is Kind.BATCHEXEC:
            await self._call(query, "executemany", tuple(args))
            return len(args)
        if query.kind is not Kind.COPYFROM:
            raise wrong_primitive(query, "execute_batch")
        status: str = await self._call(query, "copy", tuple(args))
        return int(status.rsplit(" ", 1)[-1]) if status[-1:].isdigit() else 0

    async def fetch_batch(
        self, query: Query[RowT], args: Sequence[tuple[object, ...]]
    ) -> list[list[RowT]]:
        """Run a ``:batchmany`` or ``:batchone`` query for every argument set in one
        round trip; the rows of each set, in the order of the sets.

        All of the sets take effect or none: a ``:batchone`` set that returns no
        row raises ``NotFound`` and nothing is written (inside ``in_tx`` the
        transaction level fails, as with any failed statement).

        Raises:
            NotFound: a ``:batchone`` argument set returned no row.
            WrongPrimitive: ``query`` is of another kind (nothing ran).
            ValueError: an argument set does not carry its own position as its
                ``txstore_batch_index`` argument (nothing ran).
        """
        if query.kind is not Kind.BATCHMANY and query.kind is not Kind.BATCHONE:
            raise wrong_primitive(query, "fetch_batch")
        batch_position(query, args)
        groups = await self._call(query, "fetchmany", tuple(args))
        decode = query.decode
        assert decode is not None
        return [[decode(row) for row in group] for group in groups]


def batch_position(query: Query[Any], args: Sequence[tuple[object, ...]]) -> int:
    """Where ``args`` carry the batch index; checks each set carries its own position.

    Raises:
        ValueError: the query declares no batch index, or a set carries another number.
    """
    position = next((i for i, p in enumerate(query.params) if p.name == BATCH_INDEX), None)
    if position is None:
        raise ValueError(f"{query.name}: a batch query ends its parameters with {BATCH_INDEX}")
    for i, values in enumerate(args):
        if len(values) <= position or values[position] != i:
            raise ValueError(
                f"{query.name}: argument set {i} must carry {i} as its {BATCH_INDEX} "
                f"(parameter ${position + 1})"
            )
    return position


def batch_groups(query: Query[Any], rows: Sequence[Any], count: int) -> list[list[Any]]:
    """The flat rows of a batch, grouped by the argument set (their last column) that made them.

    Raises:
        NotFound: a ``:batchone`` argument set returned no row.
    """
    groups: list[list[Any]] = [[] for _ in range(count)]
    for row in rows:
        groups[row[-1]].append(row)
    if query.kind is Kind.BATCHONE:
        for i, group in enumerate(groups):
            if not group:
                raise NotFound(query.name, i)
            del group[1:]
    return groups
