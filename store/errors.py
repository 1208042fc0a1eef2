"""Every error the store raises.

This module imports no sibling module. Misuse errors (a programming mistake in
the caller) and database errors (something the data or the server said) are
separate trees under :class:`StoreError`, so a handler can tell a bug from a
conflict.
"""

from __future__ import annotations

import enum

__all__ = [
    "CheckViolation",
    "CommitOutcomeUnknown",
    "ConcurrentTransactionUse",
    "ConfigError",
    "ConstraintViolation",
    "DatabaseError",
    "DatabaseUnavailable",
    "ForeignKeyViolation",
    "InvalidChannel",
    "LockIdCollision",
    "LockNameConflict",
    "LockTimeout",
    "MisuseError",
    "NotFound",
    "NotNullViolation",
    "OuterStoreUsedInTransaction",
    "PayloadTooLarge",
    "PostgresNotFound",
    "PostgresStartError",
    "PubSubClosed",
    "QueryCanceled",
    "SerializationFailure",
    "StatementTimeout",
    "StoreClosed",
    "StoreError",
    "TransactionAborted",
    "TransactionClosed",
    "UnregisteredLock",
    "WrongPrimitive",
]


class StoreError(Exception):
    """Base of every txstore store error."""


# -- misuse -------------------------------------------------------------------


class MisuseError(StoreError):
    """The caller used the store in a way that is always a bug."""


class StoreClosed(MisuseError, RuntimeError):
    """The store (its pool) was closed; nothing can run on it any more.

    Also a ``RuntimeError``, which the pool raised before it had a name.
    """

    def __init__(self) -> None:
        super().__init__("cannot run: the store is closed")


class _TxMisuse(MisuseError):
    """One message shape for every transaction misuse."""

    reason: str = ""

    def __init__(self, method: str, tx_id: str) -> None:
        self.method = method
        self.tx_id = tx_id
        super().__init__(f"cannot run {method}: transaction {tx_id!r} {self.reason}")


class OuterStoreUsedInTransaction(_TxMisuse):
    """The outer store was used while an ``in_tx`` closure of this task was running.

    Use the ``tx`` handle the closure received instead.
    """

    reason = "is running in this task; use its tx handle, not the outer store"


class TransactionClosed(_TxMisuse):
    """A transaction handle was used after its closure returned."""

    reason = "is closed"


class ConcurrentTransactionUse(_TxMisuse):
    """Two operations ran at once on one transaction handle.

    A nested ``in_tx`` occupies its parent handle until it returns, and a
    closure that returns while a statement it started is still running cannot
    commit (``method`` is then ``COMMIT``; nothing was committed).
    """

    reason = "is busy with another operation; await one call at a time on a tx handle"


class TransactionAborted(_TxMisuse):
    """The transaction can only roll back: a savepoint could be neither rolled back nor released.

    A nested closure ended while a task it started was still running a
    statement (or a nested ``in_tx``) on the transaction, or the savepoint's
    rollback was interrupted. Its writes must not commit, so every later call
    on any handle of the transaction raises this, and the outermost ``in_tx``
    raises it instead of committing. ``why`` says what happened.
    """

    def __init__(self, method: str, tx_id: str, why: str) -> None:
        self.why = why
        self.reason = f"was aborted ({why}) and can only roll back"
        super().__init__(method, tx_id)


# -- pub/sub and advisory locks ----------------------------------------------------


class InvalidChannel(MisuseError, ValueError):
    """A channel name is empty, too long, or has characters outside ``[A-Za-z0-9_.:-]``."""


class PayloadTooLarge(MisuseError, ValueError):
    """A payload is over ``limit`` bytes (7999) in UTF-8, or holds a NUL character.

    Raised before anything is sent; ``size`` is the payload's UTF-8 length.
    """

    def __init__(self, channel: str, size: int, limit: int = 7999) -> None:
        super().__init__(
            f"cannot publish on {channel!r}: the payload is {size} bytes in UTF-8; NOTIFY "
            f"takes at most {limit}. Publish an id and let subscribers read the row"
        )
        self.channel = channel
        self.size = size


class PubSubClosed(MisuseError):
    """``subscribe`` was called on a :class:`PubSub` that is not started or already closed."""


class LockIdCollision(MisuseError):
    """Two names map to one lock id; rename one of them."""


class LockNameConflict(MisuseError):
    """A name was registered again with a different id (ids are never reused or moved)."""


class UnregisteredLock(MisuseError, LookupError):
    """A lock name was used without being registered first."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"advisory lock {name!r} is not registered; call store.locks.register({name!r}) "
            "where the worker that uses it is defined"
        )
        self.name = name


class WrongPrimitive(MisuseError, TypeError):
    """A query was run by a primitive that does not run its kind (``fetch_many`` on an ``:exec``).

    Refused before anything runs. The message has the shape the authorization
    and audit layers use: ``cannot run {query} through {primitive}: {reason}``.
    """

    def __init__(self, query: str, primitive: str, reason: str) -> None:
        super().__init__(f"cannot run {query} through {primitive}: {reason}")
        self.query = query
        self.primitive = primitive
        self.reason = reason


# -- set-up -------------------------------------------------------------------


class ConfigError(StoreError):
    """The application's ``[tool.txstore]`` settings are missing or malformed.

    The message is one line naming the ``pyproject.toml`` and the key.
    """


class PostgresNotFound(StoreError):
    """No PostgreSQL server binaries were found to start a local cluster."""


class PostgresStartError(StoreError):
    """A local PostgreSQL cluster failed to initialise or start."""


# -- database -------------------------------------------------------------------


class DatabaseError(StoreError):
    """PostgreSQL reported an error; ``sqlstate`` is its code."""

    sqlstate: str | None = None

    def __init__(self, message: str, *, sqlstate: str | None = None) -> None:
        super().__init__(message)
        if sqlstate is not None:
            self.sqlstate = sqlstate


class DatabaseUnavailable(DatabaseError):
    """The database cannot be reached or refused the connection.

    ``host`` names the server; the message carries a hint and never a password.
    """

    def __init__(self, message: str, *, host: str = "", sqlstate: str | None = None) -> None:
        super().__init__(message, sqlstate=sqlstate)
        self.host = host


class CommitOutcomeUnknown(DatabaseUnavailable):
    """The connection was lost while ``COMMIT`` was in flight: it may or may not have committed.

    Do not re-run the transaction blindly; check whether its effect is there
    (an idempotency key with a unique constraint makes that a lookup).
    ``tx_id`` names the transaction.
    """

    def __init__(
        self, message: str, *, tx_id: str, host: str = "", sqlstate: str | None = None
    ) -> None:
        super().__init__(message, host=host, sqlstate=sqlstate)
        self.tx_id = tx_id


class NotFound(DatabaseError):
    """A ``:one`` query returned no row (or a ``:batchone`` argument set, ``index``)."""

    def __init__(self, query: str, index: int | None = None) -> None:
        where = "" if index is None else f" for argument set {index}"
        super().__init__(f"{query}: no row found{where}")
        self.query = query
        self.index = index


class ConstraintViolation(DatabaseError):
    """A constraint rejected the row.

    ``constraint`` is the generated enum member when the constraint is known to
    the generated code, else the raw constraint name. ``column`` is the column
    (or the key's columns) when PostgreSQL names it. Neither the message nor
    any attribute carries the row's values (see docs/design.md, "What errors
    never carry").
    """

    def __init__(
        self,
        message: str,
        *,
        constraint: enum.Enum | str | None,
        table: str | None = None,
        column: str | None = None,
        sqlstate: str | None = None,
    ) -> None:
        super().__init__(message, sqlstate=sqlstate)
        self.constraint = constraint
        self.table = table
        self.column = column


class UniqueViolation(ConstraintViolation):
    """A unique constraint or index rejected the row (23505)."""

    sqlstate = "23505"


class ForeignKeyViolation(ConstraintViolation):
    """A foreign key rejected the row (23503)."""

    sqlstate = "23503"


class CheckViolation(ConstraintViolation):
    """A CHECK constraint rejected the row (23514)."""

    sqlstate = "23514"


class NotNullViolation(ConstraintViolation):
    """A NULL was written to a NOT NULL column (23502)."""

    sqlstate = "23502"


class SerializationFailure(DatabaseError):
    """A serialization failure or deadlock outlived every retry.

    ``attempts`` is how many times the outermost closure ran.
    """

    def __init__(self, message: str, *, attempts: int, sqlstate: str | None = None) -> None:
        super().__init__(message, sqlstate=sqlstate)
        self.attempts = attempts


class QueryCanceled(DatabaseError):
    """The server canceled the statement (57014)."""

    sqlstate = "57014"


class StatementTimeout(QueryCanceled):
    """``statement_timeout`` elapsed; the transaction was rolled back."""


class LockTimeout(DatabaseError):
    """``lock_timeout`` elapsed while waiting for a lock (55P03)."""

    sqlstate = "55P03"
