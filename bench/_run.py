"""One contender in its own process: ``python -m bench._run NAME DSN WORLD_JSON``.

Prints one JSON object: per operation, the median microseconds per call over
several rounds, sequential and 8-way concurrent.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from typing import Any

import structlog

from bench._contenders import CONTENDERS, Op, World
from bench._layers import LAYERED

CONCURRENCY = 8


async def _sequential(op: Op, n: int, offset: int) -> float:
    started = time.perf_counter()
    for i in range(offset, offset + n):
        await op(i)
    return (time.perf_counter() - started) / n


async def _concurrent(op: Op, n: int, offset: int) -> float:
    per_task = n // CONCURRENCY

    async def worker(w: int) -> None:
        base = offset + w * per_task
        for i in range(base, base + per_task):
            await op(i)

    started = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(CONCURRENCY)))
    return (time.perf_counter() - started) / (per_task * CONCURRENCY)


async def measure(name: str, dsn: str, world: World, n: int, rounds: int) -> dict[str, Any]:
    contender = await {**CONTENDERS, **LAYERED}[name](dsn, world)
    results: dict[str, Any] = {"label": contender.name, "notes": contender.notes, "ops": {}}
    try:
        for op_name, op in contender.ops.items():
            await _sequential(op, max(n // 10, 20), 0)  # warm caches and prepared statements
            seq = [await _sequential(op, n, r * n) for r in range(rounds)]
            entry = {"seq_us": statistics.median(seq) * 1e6}
            if not contender.extra.get("sequential_only"):
                conc = [await _concurrent(op, n, (rounds + r) * n) for r in range(rounds)]
                entry["conc8_us"] = statistics.median(conc) * 1e6
            results["ops"][op_name] = entry
    finally:
        await contender.close()
    return results


def main() -> None:
    name, dsn, world_json, loop_name = sys.argv[1:5]
    n, rounds = int(sys.argv[5]), int(sys.argv[6])
    world = World.from_json(json.loads(world_json))
    # Production logging: INFO and above, so debug events cost a no-op call.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(20))
    if loop_name == "uvloop":
        import uvloop

        result = uvloop.run(measure(name, dsn, world, n, rounds))
    else:
        result = asyncio.run(measure(name, dsn, world, n, rounds))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
