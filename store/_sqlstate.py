"""The one place where asyncpg's exceptions become txstore's.

Each SQLSTATE maps to one error class; everything the store raises for a
database problem comes through :func:`translate`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

import asyncpg

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

__all__ = [
    "READ_ONLY",
    "RETRYABLE",
    "is_retryable",
    "read_only_server",
    "redact",
    "safe_target",
    "translate",
    "unavailable",
]

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

#: read_only_sql_transaction: a write on a read-only transaction or server.
READ_ONLY = "25006"


def read_only_server(conn: asyncpg.Connection) -> bool:
    """True when the server of ``conn`` refuses writes for every session right now.

    A standby (``in_hot_standby``), or a primary whose ``default_transaction_read_only``
    was turned on, as HA managers do while they fail over. Both settings are
    reported by the server (PostgreSQL 14+) whenever they change, before the
    error a write then gets; a transaction the caller began ``READ ONLY`` sets
    neither.
    """
    try:
        settings = conn.get_settings()
    except asyncpg.InterfaceError:  # the proxy of a connection already lost
        return False
    return (
        getattr(settings, "in_hot_standby", "off") == "on"
        or getattr(settings, "default_transaction_read_only", "off") == "on"
    )


def is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, asyncpg.PostgresError) and exc.sqlstate in RETRYABLE


def _constraint(name: str | None, lookup: Mapping[str, enum.Enum]) -> enum.Enum | str | None:
    if name is None:
        return None
    return lookup.get(name, name)


def translate(
    exc: asyncpg.PostgresError,
    where: str,
    constraints: Mapping[str, enum.Enum],
    conn: asyncpg.Connection | None = None,
) -> DatabaseError:
    """Turn a server error raised while running ``where`` on ``conn`` into a txstore error.

    A write refused because the whole server is read-only (``conn`` given, see
    :func:`read_only_server`) is ``DatabaseUnavailable``: after a failover the
    connection may point at the old primary, now a standby, and only a new
    connection finds the writable one.
    """
    sqlstate: str = exc.sqlstate or ""
    detail = getattr(exc, "detail", None)
    message = f"{where}: {exc}" + (f" ({detail})" if detail else "")
    if cls := _CONSTRAINTS.get(sqlstate):
        return cls(
            message,
            constraint=_constraint(getattr(exc, "constraint_name", None), constraints),
            table=getattr(exc, "table_name", None),
            sqlstate=sqlstate,
        )
    if sqlstate in RETRYABLE:
        return SerializationFailure(message, attempts=1, sqlstate=sqlstate)
    if sqlstate == "57014":
        cls_cancel = StatementTimeout if "statement timeout" in str(exc) else QueryCanceled
        return cls_cancel(message, sqlstate=sqlstate)
    if sqlstate == "55P03":
        return LockTimeout(message, sqlstate=sqlstate)
    if sqlstate == READ_ONLY and conn is not None and read_only_server(conn):
        return DatabaseUnavailable(
            f"{message}; the server is read-only (a standby, or a primary blocking writes "
            "during a failover): this connection is dropped and the next call reconnects",
            sqlstate=sqlstate,
        )
    if sqlstate.startswith(_UNAVAILABLE_PREFIXES):
        return DatabaseUnavailable(message, sqlstate=sqlstate)
    return DatabaseError(message, sqlstate=sqlstate)


def safe_target(dsn: str) -> str:
    """``host:port/db`` of a DSN, with no user name or password."""
    try:
        parts = urlsplit(dsn)
        hostport = parts.netloc.rpartition("@")[2]
    except ValueError:
        return "(unparseable DSN)"
    return f"{hostport or 'localhost'}{parts.path or ''}"


def redact(dsn: str, text: str) -> str:
    """``text`` with the DSN's password, if any, replaced by ``***``."""
    try:
        password = urlsplit(dsn).password if "://" in dsn else None
    except ValueError:
        password = None
    return text.replace(password, "***") if password else text


def unavailable(dsn: str, exc: BaseException) -> DatabaseUnavailable:
    """A connection-level failure, named by host, with a hint and never the password."""
    target = safe_target(dsn)
    text = redact(dsn, str(exc))
    if isinstance(exc, ValueError | OverflowError):
        hint = "the DSN is malformed: postgresql://user:password@host:port/dbname"
    elif isinstance(
        exc, asyncpg.InvalidPasswordError | asyncpg.InvalidAuthorizationSpecificationError
    ):
        hint = "check the user name and password"
    elif isinstance(exc, asyncpg.InvalidCatalogNameError):
        hint = "the database does not exist; create it or fix the DSN"
    elif isinstance(exc, asyncpg.TargetServerAttributeNotMatched):
        hint = "no host of the DSN accepts writes now (a failover in progress?)"
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
