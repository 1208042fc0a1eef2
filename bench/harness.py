"""Test-harness numbers: cluster start, template build, per-test database clone.

Run: ``.venv/bin/python -m bench.harness``.
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import tempfile
import time
import uuid

import asyncpg

from store._config import load_config
from store._localpg import LocalCluster, default_base_dir
from store.testing import TestServer


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:7.1f} ms"


def cluster_starts(rounds: int = 5) -> None:
    base = default_base_dir().parent / f"txstore-bench-{uuid.uuid4().hex[:6]}"
    try:
        cold_started = time.perf_counter()
        with LocalCluster(base_dir=base):
            cold = time.perf_counter() - cold_started
        warm: list[float] = []
        stops: list[float] = []
        for _ in range(rounds):
            started = time.perf_counter()
            cluster = LocalCluster(base_dir=base)
            cluster.start()
            warm.append(time.perf_counter() - started)
            stopping = time.perf_counter()
            cluster.stop()
            stops.append(time.perf_counter() - stopping)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(f"cluster start, first (initdb)        {_ms(cold)}")
    print(f"cluster start, cached initdb (med {rounds}) {_ms(statistics.median(warm))}")
    print(f"cluster stop (median of {rounds})          {_ms(statistics.median(stops))}")


async def _clone_cycle(server: TestServer, template: str, strategy: str) -> float:
    name = f"txstore_t_bench_{uuid.uuid4().hex[:8]}"
    started = time.perf_counter()
    admin = await asyncpg.connect(server.admin_dsn)
    await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY {strategy}')
    conn = await asyncpg.connect(server.dsn(name))
    await conn.fetchval("SELECT 1")
    await conn.close()
    await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    await admin.close()
    return time.perf_counter() - started


async def _databases(server: TestServer, rounds: int) -> None:
    config = load_config()
    started = time.perf_counter()
    template = await server.ensure_template(config.migrations)
    print(f"template build (migrate to head)     {_ms(time.perf_counter() - started)}")
    started = time.perf_counter()
    await server.ensure_template(config.migrations)
    print(f"template reuse (unchanged files)     {_ms(time.perf_counter() - started)}")
    for strategy in ("FILE_COPY", "WAL_LOG"):
        times = [await _clone_cycle(server, template, strategy) for _ in range(rounds)]
        print(
            f"clone+connect+drop {strategy:<9} med {rounds} {_ms(statistics.median(times))}"
            f"  (p90 {_ms(statistics.quantiles(times, n=10)[-1]).strip()})"
        )
    started = time.perf_counter()
    name = await server.create_database(template)
    created = time.perf_counter() - started
    await server.drop_database(name)
    print(f"plugin create_database (one)         {_ms(created)}")


def main(rounds: int = 50) -> None:
    print(f"# txstore test harness ({tempfile.gettempdir()}, base {default_base_dir()})")
    cluster_starts()
    with LocalCluster() as cluster:
        server = TestServer(admin_dsn=cluster.dsn(), source="bench")
        asyncio.run(_databases(server, rounds))


if __name__ == "__main__":
    main()
