"""The migrations advisory lock: one runner per database at a time.

A session-level lock held on a connection of its own, so it outlives each
migration's transaction and the statements of ``no-transaction`` files. When the
connection drops, the server releases the lock.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg

from migrations._timeouts import timeout_ms
from migrations.errors import MigrationLockTimeout

__all__ = ["LOCK_KEY", "migration_lock"]

#: Advisory lock key (bigint) reserved for migration runners; never reuse it elsewhere.
LOCK_KEY = int.from_bytes(hashlib.sha256(b"txstore.migrations").digest()[:8]) & (2**63 - 1)

_HOLDER_QUERY = """
SELECT a.pid, a.application_name, host(a.client_addr) AS client_addr, a.usename,
       a.backend_start, a.state
FROM pg_catalog.pg_locks l
JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
JOIN pg_catalog.pg_database d ON d.oid = l.database
WHERE l.locktype = 'advisory' AND l.granted
  AND d.datname = current_database()
  AND l.classid::bigint = $1 AND l.objid::bigint = $2 AND l.objsubid = 1
"""


async def describe_holder(conn: asyncpg.Connection) -> str:
    """Who holds the lock now, as one phrase for an error message."""
    rows = await conn.fetch(_HOLDER_QUERY, LOCK_KEY >> 32, LOCK_KEY & 0xFFFF_FFFF)
    if not rows:
        return "another session that released it just now (run again)"
    parts = []
    for row in rows:
        client = row["client_addr"] or "local socket"
        app = row["application_name"] or "(no application_name)"
        parts.append(
            f"pid {row['pid']} (application_name {app!r}, client {client}, "
            f"user {row['usename']}, connected {row['backend_start']:%Y-%m-%d %H:%M:%S%z})"
        )
    return "; ".join(parts)


@contextlib.asynccontextmanager
async def migration_lock(
    conn: asyncpg.Connection, *, wait: float, directory: Path
) -> AsyncIterator[None]:
    """Hold the migrations lock on ``conn`` for the duration of the block.

    ``wait`` (seconds) <= 0 tries once without waiting.

    Raises:
        MigrationLockTimeout: the lock was not granted in time; names the holder.
    """
    if wait <= 0:
        acquired = await conn.fetchval("SELECT pg_catalog.pg_try_advisory_lock($1)", LOCK_KEY)
    else:
        # lock_timeout bounds the wait inside the server, so no polling is needed.
        # Rounded up: a wait is never shorter than asked (and never 0, which is "off").
        await conn.execute(f"SET lock_timeout = {timeout_ms(wait, 'wait')}")
        try:
            await conn.execute(f"SELECT pg_catalog.pg_advisory_lock({LOCK_KEY})")
            acquired = True
        except asyncpg.exceptions.LockNotAvailableError:
            acquired = False
        finally:
            await conn.execute("RESET lock_timeout")
    if not acquired:
        raise MigrationLockTimeout(directory, wait, await describe_holder(conn))
    try:
        yield
    finally:
        if not conn.is_closed():
            with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
                await conn.execute(f"SELECT pg_catalog.pg_advisory_unlock({LOCK_KEY})")
