"""One contender in its own process, measuring on command.

``python -m bench._run NAME DSN WORLD_JSON LOOP`` builds the contender, prints
a JSON line describing it, then reads commands from stdin, one per line, and
answers each with one line:

- ``seq OP N OFFSET`` / ``conc OP N OFFSET``: run N calls (sequentially, or
  from 8 tasks), answer the microseconds per call;
- ``quit``: close and exit.

The orchestrator sends one round at a time to each contender in turn, so every
contender meets the same moments of machine noise.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

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


async def serve(name: str, dsn: str, world: World) -> None:
    contender = await {**CONTENDERS, **LAYERED}[name](dsn, world)
    loop = asyncio.get_running_loop()
    print(
        json.dumps(
            {
                "label": contender.name,
                "ops": sorted(contender.ops),
                "concurrent": not contender.extra.get("sequential_only"),
            }
        ),
        flush=True,
    )
    try:
        while True:
            line = (await loop.run_in_executor(None, sys.stdin.readline)).split()
            if not line or line[0] == "quit":
                return
            mode, op_name, n, offset = line[0], line[1], int(line[2]), int(line[3])
            run = _sequential if mode == "seq" else _concurrent
            print(f"{await run(contender.ops[op_name], n, offset) * 1e6:.3f}", flush=True)
    finally:
        await contender.close()


def main() -> None:
    name, dsn, world_json, loop_name = sys.argv[1:5]
    world = World.from_json(json.loads(world_json))
    # Production logging: INFO and above, so debug events cost a no-op call,
    # and loggers cached on first use (otherwise structlog rebuilds the bound
    # logger behind every module-level get_logger() proxy on every event).
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(20),
        cache_logger_on_first_use=True,
    )
    if loop_name == "uvloop":
        import uvloop

        uvloop.run(serve(name, dsn, world))
    else:
        asyncio.run(serve(name, dsn, world))


if __name__ == "__main__":
    main()
