"""Transaction-scoped advisory locks named by stable strings, from a registry of never-reused ids.

A lock's id is derived from its name (the first 8 bytes of its BLAKE2b digest,
as a signed 64-bit integer), so every process agrees on it without
coordination. The registry refuses two names on one id and one name on two
ids; a name must be registered before it is locked, so a typo is an error and
not a lock nobody else takes. Locks are taken with ``pg_advisory_xact_lock``
through a transaction handle's primitives and released when that transaction
ends: never session locks, which would outlive the transaction on a pooled
connection.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from migrations import LOCK_KEY as MIGRATIONS_LOCK_KEY
from store._query import Kind, Param, Query, RowT
from store.errors import LockIdCollision, LockNameConflict, UnregisteredLock

__all__ = [
    "ACQUIRE",
    "REGISTRY",
    "TRY_ACQUIRE",
    "AdvisoryLock",
    "LockIdCollision",
    "LockNameConflict",
    "LockRegistry",
    "UnregisteredLock",
    "acquire",
    "lock_id",
    "register",
    "try_acquire",
]

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def lock_id(name: str) -> int:
    """The lock id of ``name``: the first 8 bytes of BLAKE2b(name), a signed 64-bit integer."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _row_bool(record: Mapping[str, Any]) -> bool:
    return bool(record["acquired"])


#: The queries behind ``try_acquire`` and ``acquire``; layers that dispatch on
#: query names (authorization) declare them like any other query.
TRY_ACQUIRE: Query[bool] = Query(
    name="txstore.locks.TryAcquire",
    kind=Kind.ONE,
    sql="SELECT pg_catalog.pg_try_advisory_xact_lock($1) AS acquired",
    params=(Param("lock_id", "int8"),),
    decode=_row_bool,
    source="store/_locks.py",
    columns=("acquired",),
)
ACQUIRE: Query[None] = Query(
    name="txstore.locks.Acquire",
    kind=Kind.EXEC,
    sql="SELECT pg_catalog.pg_advisory_xact_lock($1)",
    params=(Param("lock_id", "int8"),),
    decode=None,
    source="store/_locks.py",
)


@dataclass(frozen=True, slots=True)
class AdvisoryLock:
    """A registered lock: its stable name and the 64-bit id PostgreSQL sees."""

    name: str
    id: int


class _Runner(Protocol):
    async def fetch_one(self, query: Query[RowT], args: tuple[object, ...]) -> RowT: ...

    async def execute(self, query: Query[None], args: tuple[object, ...]) -> None: ...


class LockRegistry:
    """Lock names and their ids, each id held by one name for the registry's lifetime.

    ``hash_fn`` derives an id from a name (default :func:`lock_id`).
    """

    def __init__(self, hash_fn: Callable[[str], int] = lock_id) -> None:
        self._hash = hash_fn
        self._by_name: dict[str, AdvisoryLock] = {}
        self._by_id: dict[int, AdvisoryLock] = {}

    def register(self, name: str, *, id: int | None = None) -> AdvisoryLock:
        """Register ``name`` (its id derived by the hash unless given) and return its lock.

        Registering a name again with the same id returns the same lock.

        Raises:
            ValueError: ``name`` is empty or ``id`` is outside the signed 64-bit range.
            LockIdCollision: another name already holds the id.
            LockNameConflict: ``name`` is registered with a different id.
        """
        if not name:
            raise ValueError("a lock name must not be empty")
        key = self._hash(name) if id is None else id
        if not _INT64_MIN <= key <= _INT64_MAX:
            raise ValueError(f"lock id {key} of {name!r} is outside the signed 64-bit range")
        known = self._by_name.get(name)
        if known is not None:
            if known.id != key:
                raise LockNameConflict(
                    f"advisory lock {name!r} is registered with id {known.id}; "
                    f"refusing to register it again with id {key}"
                )
            return known
        holder = self._by_id.get(key)
        if holder is not None:
            raise LockIdCollision(
                f"advisory lock {name!r} would get id {key}, which {holder.name!r} "
                "already holds; choose another name"
            )
        lock = AdvisoryLock(name, key)
        self._by_name[name] = lock
        self._by_id[key] = lock
        return lock

    def get(self, name: str | AdvisoryLock) -> AdvisoryLock:
        """The registered lock for ``name``.

        Raises:
            UnregisteredLock: ``name`` was never registered here.
        """
        lock_name = name.name if isinstance(name, AdvisoryLock) else name
        found = self._by_name.get(lock_name)
        if found is None or (isinstance(name, AdvisoryLock) and found != name):
            raise UnregisteredLock(lock_name)
        return found

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def locks(self) -> tuple[AdvisoryLock, ...]:
        """Every registered lock, in registration order."""
        return tuple(self._by_name.values())

    async def try_acquire(self, tx: _Runner, name: str | AdvisoryLock) -> bool:
        """Take the lock for the rest of ``tx``'s transaction if it is free; True when taken.

        For leader election: of several workers running this in their own
        transactions, one gets True and keeps the lock until it commits or
        rolls back. Pass a transaction handle: on a store outside ``in_tx`` the
        lock would be released as soon as the statement ends.

        Raises:
            UnregisteredLock: ``name`` is not registered.
            TransactionClosed, DatabaseUnavailable: as for any query on ``tx``.
        """
        lock = self.get(name)
        return await tx.fetch_one(TRY_ACQUIRE, (lock.id,))

    async def acquire(self, tx: _Runner, name: str | AdvisoryLock) -> None:
        """Wait for the lock and hold it until ``tx``'s transaction ends.

        The wait is bounded by the transaction's ``lock_timeout`` when one is set.

        Raises:
            UnregisteredLock: ``name`` is not registered.
            LockTimeout: ``lock_timeout`` elapsed while waiting.
            TransactionClosed, DatabaseUnavailable: as for any query on ``tx``.
        """
        lock = self.get(name)
        await tx.execute(ACQUIRE, (lock.id,))


#: The process-wide registry behind :func:`register`, :func:`try_acquire` and
#: :func:`acquire`.
REGISTRY = LockRegistry()
# The migrations runner's session lock shares the id space: no name may take its id.
REGISTRY.register("txstore.migrations", id=MIGRATIONS_LOCK_KEY)


def register(name: str, *, id: int | None = None) -> AdvisoryLock:
    """Register ``name`` in the process-wide registry; see :meth:`LockRegistry.register`.

    Raises:
        ValueError: ``name`` is empty or ``id`` is out of range.
        LockIdCollision: another name already holds the id.
        LockNameConflict: ``name`` is registered with a different id.
    """
    return REGISTRY.register(name, id=id)


async def try_acquire(tx: _Runner, name: str | AdvisoryLock) -> bool:
    """Take a registered lock for the rest of ``tx``'s transaction if free; True when taken.

    Raises:
        UnregisteredLock: ``name`` is not registered.
        TransactionClosed, DatabaseUnavailable: as for any query on ``tx``.
    """
    return await REGISTRY.try_acquire(tx, name)


async def acquire(tx: _Runner, name: str | AdvisoryLock) -> None:
    """Wait for a registered lock and hold it until ``tx``'s transaction ends.

    Raises:
        UnregisteredLock: ``name`` is not registered.
        LockTimeout: ``lock_timeout`` elapsed while waiting.
        TransactionClosed, DatabaseUnavailable: as for any query on ``tx``.
    """
    await REGISTRY.acquire(tx, name)
