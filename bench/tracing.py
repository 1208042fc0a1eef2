"""Tracing costs: PgStore alone (what a service without ``txstore[otel]`` runs) against
TracingStore over it with the OpenTelemetry API only (no SDK: non-recording spans)
and with the SDK recording every span.

Run: ``.venv/bin/python -m bench.tracing``. Starts a local PostgreSQL.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence

import asyncpg
import structlog
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

import store
from store._localpg import LocalCluster
from store.tracing import TracingStore
from tests.store._queries import (
    ENSURE_COUNTER,
    GET_COUNTER,
    GET_ITEM,
    INSERT_ITEM,
    SCHEMA,
    SET_COUNTER,
)

Call = Callable[[], Awaitable[object]]


class _Drop(SpanExporter):
    """Exports nowhere: the cost measured is the SDK's, not a collector's."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


async def _medians(calls: Sequence[Call], rounds: int = 3000) -> list[tuple[float, float]]:
    """(wall, CPU) medians per call, interleaved so load on the machine hits all alike.

    The CPU time of this process is what a layer adds; the wall time also holds
    the server's work and, on a busy machine, the wait for a core.
    """
    times: list[list[tuple[float, float]]] = [[] for _ in calls]
    for i in range(rounds + 300):
        for fn, out in zip(calls, times, strict=True):
            started, cpu = time.perf_counter(), time.process_time()
            await fn()
            if i >= 300:
                out.append((time.perf_counter() - started, time.process_time() - cpu))
    return [(statistics.median(w for w, _ in t), statistics.median(c for _, c in t)) for t in times]


def _otel_imported_by_the_store() -> list[str]:
    code = (
        "import sys, store, store.metrics, authz, audit, migrations; "
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return [m for m in out.strip("[]\n").split(", ") if m]


async def stores(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(SCHEMA)
    finally:
        await conn.close()
    pg = await store.connect(dsn, min_size=1, max_size=1)
    await pg.execute(INSERT_ITEM, (1, "bench"))
    await pg.execute(ENSURE_COUNTER, ("bench",))
    sdk = TracerProvider()
    sdk.add_span_processor(BatchSpanProcessor(_Drop(), max_queue_size=100_000))
    variants: list[tuple[str, store.Store]] = [
        ("PgStore, no tracing layer", pg),
        ("TracingStore, API only", TracingStore(pg)),
        ("TracingStore, SDK recording", TracingStore(pg, tracer_provider=sdk)),
    ]

    def pk(s: store.Store) -> Call:
        return lambda: s.fetch_one(GET_ITEM, (1,))

    def tx2(s: store.Store) -> Call:
        async def two(tx: store.Store) -> None:
            value = await tx.fetch_one(GET_COUNTER, ("bench",))
            await tx.execute(SET_COUNTER, ("bench", value + 1))

        return lambda: s.in_tx(two, tx_id="bench")

    for label, make in (("primary-key read", pk), ("2-statement transaction", tx2)):
        medians = await _medians([make(s) for _, s in variants])
        wall0, cpu0 = medians[0]
        print(f"{label}:")
        for (name, _), (wall, cpu) in zip(variants, medians, strict=True):
            print(
                f"  {name:30} wall {wall * 1e6:7.1f} us ({(wall - wall0) * 1e6:+6.1f})"
                f"   CPU {cpu * 1e6:6.1f} us ({(cpu - cpu0) * 1e6:+5.1f})"
            )
    sdk.shutdown()
    await pg.close()


def main() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    print(
        f"opentelemetry modules imported by the store's packages: {_otel_imported_by_the_store()}"
    )
    with LocalCluster() as cluster:
        asyncio.run(stores(cluster.dsn()))


if __name__ == "__main__":
    main()
