"""Transaction-scoped advisory locks from a registry of named, never-reused ids."""

from store._locks import (
    ACQUIRE,
    REGISTRY,
    TRY_ACQUIRE,
    AdvisoryLock,
    LockIdCollision,
    LockNameConflict,
    LockRegistry,
    UnregisteredLock,
    acquire,
    lock_id,
    register,
    try_acquire,
)

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
