"""The one place where asyncpg's exceptions become txstore's.

Each SQLSTATE maps to one error class; everything the store raises for a
database problem comes through :func:`translate`.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import asyncpg

from migrations._dsn import Dsn
from migrations._server_errors import key_columns, scrub, value_free_message
from migrations.errors import MalformedDsn
from store._query import Query
from store.errors import (
    CheckViolation,
    ConstraintViolation,
    DatabaseError,
    DatabaseUnavailable,
    ForeignKeyViolation,
    LockTimeout,
    NotNullViolation,
    QueryCanceled,
    SerializationFailure,
    StatementTimeout,
    UniqueViolation,
)

__all__ = ["RETRYABLE", "is_retryable", "translate", "unavailable"]

#: serialization_failure and deadlock_detected: the transaction may simply be re-run.
RETRYABLE = frozenset({"40001", "40P01"})

_CONSTRAINTS: dict[str, type[ConstraintViolation]] = {
    "23505": UniqueViolation,
    "23503": ForeignKeyViolation,
    "23514": CheckViolation,
    "23502": NotNullViolation,
}
# Class 08 (connection exception), 57P01-57P03 (shutdown, crash, cannot connect now),
# 53300 (too many connections), 28xxx (authentication): the server is not usable.
_UNAVAILABLE_PREFIXES = ("08", "57P0", "53300", "28")

ConstraintLookup = Callable[[str], enum.Enum | str]


def is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, asyncpg.PostgresError) and exc.sqlstate in RETRYABLE


def _constraint(name: str | None, lookup: Mapping[str, enum.Enum]) -> enum.Enum | str | None:
    if name is None:
        return None
    return lookup.get(name, name)


#: asyncpg's wording for an argument its codec refused, before it quotes the value.
_ARGUMENT = re.compile(r"^invalid input for query argument \$(\d+)")


def translate(
    exc: asyncpg.PostgresError,
    where: str,
    constraints: Mapping[str, enum.Enum],
    *,
    query: Query[Any] | None = None,
    args: Sequence[object] = (),
    values: bool = False,
) -> DatabaseError:
    """Turn a server error raised while running ``where`` into a txstore error.

    The message names ``where``, the SQLSTATE, and the constraint, table and
    column when PostgreSQL reports them. Unless ``values`` is true it carries no
    row or argument value: the DETAIL, HINT and CONTEXT fields are left out, a
    data exception's message is cut before the value it quotes, and a refused
    argument is described by its name, type and Python type only. The driver's
    exception (the cause of the returned error) is scrubbed the same way, and
    its own cause (the codec's error, which may quote the value) dropped.
    """
    sqlstate: str = exc.sqlstate or ""
    columns = _columns(exc)  # before the scrub: read from DETAIL's "Key (...)" part
    text = str(exc) if values else _value_free_text(exc, query, args)
    if not values:
        scrub(exc, text)
    facts = [f"SQLSTATE {sqlstate}"] if sqlstate else []
    constraint_name: str | None = getattr(exc, "constraint_name", None)
    table: str | None = getattr(exc, "table_name", None)
    if constraint_name:
        facts.append(f"constraint {constraint_name}")
    if table:
        facts.append(f"table {table}")
    if columns:
        facts.append(f"column {columns}")
    message = f"{where}: {text}" + (f" ({', '.join(facts)})" if facts else "")
    if cls := _CONSTRAINTS.get(sqlstate):
        return cls(
            message,
            constraint=_constraint(constraint_name, constraints),
            table=table,
            column=columns,
            sqlstate=sqlstate,
        )
    if sqlstate in RETRYABLE:
        return SerializationFailure(message, attempts=1, sqlstate=sqlstate)
    if sqlstate == "57014":
        cls_cancel = StatementTimeout if "statement timeout" in str(exc) else QueryCanceled
        return cls_cancel(message, sqlstate=sqlstate)
    if sqlstate == "55P03":
        return LockTimeout(message, sqlstate=sqlstate)
    if sqlstate.startswith(_UNAVAILABLE_PREFIXES):
        return DatabaseUnavailable(message, sqlstate=sqlstate)
    return DatabaseError(message, sqlstate=sqlstate)


def _columns(exc: asyncpg.PostgresError) -> str | None:
    column: str | None = getattr(exc, "column_name", None)
    if column:
        return column
    return key_columns(exc)


def _value_free_text(
    exc: asyncpg.PostgresError, query: Query[Any] | None, args: Sequence[object]
) -> str:
    primary = str(exc.args[0]) if exc.args else type(exc).__name__
    if getattr(exc, "severity", None) is None and (found := _ARGUMENT.match(primary)):
        return _argument_text(int(found.group(1)), exc.__cause__, query, args)
    return value_free_message(exc, primary)


def _argument_text(
    number: int, cause: BaseException | None, query: Query[Any] | None, args: Sequence[object]
) -> str:
    """An argument the driver could not encode: its number, name, type, never its value."""
    param = query.params[number - 1] if query and number <= len(query.params) else None
    named = f" ({param.name} {param.pg_type})" if param else ""
    got = f"; got {type(args[number - 1]).__name__}" if number <= len(args) else ""
    value = args[number - 1] if number <= len(args) else None
    reason = _reason(cause, value)
    return f"invalid input for query argument ${number}{named}{got}: {reason}"


def _reason(cause: BaseException | None, value: object) -> str:
    """Why the codec refused a value, in words that cannot quote it.

    Type and range errors speak of types and limits; a Unicode error's reason
    is fixed text. Anything else (a ValueError quoting a malformed UUID, say)
    is named by its class only.
    """
    if isinstance(cause, UnicodeError) and isinstance(getattr(cause, "reason", None), str):
        return str(cause.reason)  # type: ignore[attr-defined]  # checked on the line above
    if isinstance(cause, TypeError | OverflowError):
        text = str(cause)
        shown = (str(value), repr(value)) if isinstance(value, str | bytes) else ()
        if not any(len(s) >= 3 and s in text for s in shown):
            return text
    kind = type(cause).__name__ if cause is not None else "refused"
    return f"{kind} (the value is not shown)"


def unavailable(dsn: str | Dsn, exc: BaseException) -> DatabaseUnavailable:
    """A connection-level failure, named by host, with a hint and never the password.

    ``dsn`` is read by :class:`migrations._dsn.Dsn` (a URL or keyword string);
    a malformed one (``exc`` a :class:`MalformedDsn`, or unparseable here) is
    reported with its password masked.
    """
    if not isinstance(dsn, Dsn) and not isinstance(exc, MalformedDsn):
        try:
            dsn = Dsn.parse(dsn)
        except MalformedDsn as malformed:
            exc = malformed
    if isinstance(exc, MalformedDsn):
        return DatabaseUnavailable(
            f"cannot connect to {exc.shown}: the DSN is malformed: {exc.reason}",
            host=exc.shown,
        )
    assert isinstance(dsn, Dsn)  # parsed above, or the malformed case returned
    target = dsn.target()
    text = dsn.redact(str(exc))
    if isinstance(exc, ValueError | OverflowError):
        hint = "the driver refused a DSN parameter; see https://magicstack.github.io/asyncpg"
    elif isinstance(
        exc, asyncpg.InvalidPasswordError | asyncpg.InvalidAuthorizationSpecificationError
    ):
        hint = "check the user name and password"
    elif isinstance(exc, asyncpg.InvalidCatalogNameError):
        hint = "the database does not exist; create it or fix the DSN"
    elif isinstance(exc, OSError | TimeoutError):
        hint = "is the server running and reachable from here? (txstore dev starts one)"
    else:
        hint = "check the DSN"
    sqlstate = exc.sqlstate if isinstance(exc, asyncpg.PostgresError) else None
    return DatabaseUnavailable(
        f"cannot connect to {target}: {type(exc).__name__}: {text}; {hint}",
        host=target,
        sqlstate=sqlstate,
    )
