"""What the generated code knows about one query, and how a row becomes a value."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from store.errors import NotFound

__all__ = ["DriverRunner", "Kind", "Param", "Query", "QueryRunner", "RowT"]

RowT = TypeVar("RowT")


class Kind(enum.StrEnum):
    """How a query's result is returned."""

    ONE = "one"  # exactly one row, else NotFound
    MANY = "many"  # a list of rows
    EXEC = "exec"  # nothing
    EXECROWS = "execrows"  # the affected row count


@dataclass(frozen=True, slots=True)
class Param:
    """One bind parameter, in ``$n`` order."""

    name: str
    pg_type: str
    nullable: bool = False


@dataclass(frozen=True, slots=True, eq=False)
class Query(Generic[RowT]):
    """A prepared-statement-ready query with everything the layers need to know.

    ``decode`` turns an asyncpg ``Record`` into the method's return value (a row
    model, or a scalar for one-column results); it is None for ``:exec`` and
    ``:execrows``. ``tables`` lists the base tables the query reads or writes;
    ``mutates`` is the table an INSERT/UPDATE/DELETE writes, if any.
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
    # The declared query this one was derived from by a layer (the audit layer's
    # single-statement form); the layers below decide on the declared one.
    origin: Query[Any] | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return f"<Query {self.name} :{self.kind} at {self.source}>"

    def for_update(self) -> Query[RowT]:
        """This query with ``FOR UPDATE``: the same rows, locked until the transaction ends."""
        return dataclasses.replace(self, sql=_locking_sql(self.sql))

    def is_variant_of(self, other: Query[Any]) -> bool:
        """True when this is ``other``, ``other.for_update()`` (the same rows, locked),
        or a query a layer derived from ``other`` (``origin``).

        Layers use it to accept the variants another layer derived under the
        same name, and nothing else.
        """
        if self.origin is not None:
            return self.origin is other or self.origin.is_variant_of(other)
        return self is other or self.sql == other.sql or self.sql == _locking_sql(other.sql)


def _locking_sql(sql: str) -> str:
    return sql.rstrip().rstrip(";") + "\nFOR UPDATE"


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
        """Run a ``:one`` query; raises ``NotFound`` when no row comes back."""
        row = await self._call(query, "fetchrow", args)
        if row is None:
            raise NotFound(query.name)
        assert query.decode is not None
        return query.decode(row)

    async def fetch_many(self, query: Query[RowT], args: tuple[object, ...]) -> list[RowT]:
        """Run a ``:many`` query."""
        rows = await self._call(query, "fetch", args)
        decode = query.decode
        assert decode is not None
        return [decode(row) for row in rows]

    async def execute(self, query: Query[None], args: tuple[object, ...]) -> None:
        """Run an ``:exec`` query."""
        await self._call(query, "execute", args)

    async def execute_rows(self, query: Query[None], args: tuple[object, ...]) -> int:
        """Run an ``:execrows`` query; returns the affected row count from the command tag."""
        status: str = await self._call(query, "execute", args)
        return int(status.rsplit(" ", 1)[-1]) if status[-1:].isdigit() else 0
