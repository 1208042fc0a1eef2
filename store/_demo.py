"""``txstore demo``: a walk through txstore on an embedded local PostgreSQL."""

from __future__ import annotations

import argparse
import asyncio
import os
import time

import migrations
from store._config import load_config
from store._localpg import LocalCluster

__all__ = ["HELP", "add_arguments", "run"]

HELP = "start an embedded PostgreSQL, migrate it and walk through the framework"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dsn",
        default=os.environ.get("TXSTORE_DSN"),
        help="use this server instead of starting an embedded one (default: $TXSTORE_DSN)",
    )


def _say(title: str, text: str = "") -> None:
    print(f"{title:<28} {text}".rstrip(), flush=True)


async def _walk(dsn: str) -> None:
    config = load_config()
    started = time.perf_counter()
    applied = await migrations.up(dsn, directory=config.migrations)
    took = (time.perf_counter() - started) * 1e3
    _say("migrated", f"{len(applied)} migration(s) applied in {took:.0f} ms")
    state = await migrations.status(dsn, directory=config.migrations)
    _say("schema version", f"{state.current} ({len(state.pending)} pending)")
    for row in state.applied:
        _say(f"  {row.version:06d}", f"{row.name}  sha256:{row.checksum[:12]}")


def run(args: argparse.Namespace) -> int:
    """Run the demo; returns the exit code."""
    if args.dsn:
        _say("server", "given by --dsn / TXSTORE_DSN")
        asyncio.run(_walk(args.dsn))
        return 0
    started = time.perf_counter()
    with LocalCluster() as cluster:
        ready = (time.perf_counter() - started) * 1e3
        source = f"{cluster.binaries.source}, PostgreSQL {cluster.binaries.major}"
        _say("embedded PostgreSQL", f"ready in {ready:.0f} ms ({source})")
        _say("DSN", cluster.dsn())
        asyncio.run(_walk(cluster.dsn()))
        stopping = time.perf_counter()
    _say("stopped", f"in {(time.perf_counter() - stopping) * 1e3:.0f} ms")
    return 0
