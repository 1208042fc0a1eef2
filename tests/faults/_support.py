"""Helpers of the fault tests: a server we may stop and restart, and pool/server checks."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path

import asyncpg

from store import PgStore
from store._localpg import TEST_SETTINGS, LocalCluster, default_base_dir, free_port

__all__ = ["assert_pool_clean", "cluster_root", "persistent_cluster"]


@contextlib.contextmanager
def cluster_root() -> Iterator[Path]:
    """A directory the server user can reach, removed afterwards.

    It sits next to the ephemeral clusters (tmpfs when available) but outside
    their base directory, so another run's sweep never mistakes it for debris.
    """
    base = default_base_dir().parent / "txstore-faults"
    base.mkdir(mode=0o711, exist_ok=True)
    base.chmod(0o711)
    root = base / f"{os.getpid()}-{secrets.token_hex(4)}"
    root.mkdir(mode=0o711)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def persistent_cluster(
    root: Path, *, name: str = "primary", settings: Mapping[str, str] | None = None
) -> Iterator[LocalCluster]:
    """A cluster on ``root/name/data``, fixed port: ``stop()``, ``start()`` restarts it."""
    cluster = LocalCluster(
        data_dir=root / name / "data",
        port=free_port(),
        settings={**TEST_SETTINGS, **(settings or {})},
    )
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


async def assert_pool_clean(pg: PgStore, admin_dsn: str) -> None:
    """Every pooled connection is idle, and no session of the store is left in a transaction.

    A cancelled caller returns while its shielded rollback and release are still
    running, so this waits (bounded) for them to land before asserting.
    """
    conn = await asyncpg.connect(admin_dsn)
    try:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10):
                while not await _clean(pg, conn):  # noqa: ASYNC110  # no event to wait on
                    await asyncio.sleep(0.01)
        assert pg.pool.get_idle_size() == pg.pool.get_size()
        stuck = await _stuck(conn)
    finally:
        await conn.close()
    assert stuck == [], f"sessions not idle: {stuck}"


async def _stuck(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT pid, state, query FROM pg_stat_activity "
        "WHERE datname = current_database() AND application_name = 'txstore' "
        "AND state <> 'idle'"
    )


async def _clean(pg: PgStore, conn: asyncpg.Connection) -> bool:
    return pg.pool.get_idle_size() == pg.pool.get_size() and not await _stuck(conn)
