"""``txstore dev``: a local PostgreSQL for this checkout, migrated, kept between runs.

The data directory lives inside the checkout (``<root>/.txstore/dev/data``).
Each checkout gets its own block of ports: a base port plus an offset from a
FNV-64a hash of the checkout's absolute path (50 buckets, 20 ports apart), so
several checkouts run side by side. An explicit port wins over the offset:
``--port`` first, then ``TXSTORE_DEV_PORT``; ``--no-offset`` (or
``TXSTORE_DEV_NO_OFFSET=1``) uses the base port itself.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import asyncpg

import migrations
from migrations.errors import MigrationError
from store._config import config_for
from store._localpg import LocalCluster
from store.errors import StoreError

__all__ = [
    "BUCKETS",
    "DEFAULT_PORT",
    "HELP",
    "STEP",
    "PortChoice",
    "add_arguments",
    "fnv1a_64",
    "port_offset",
    "resolve_port",
    "run",
]

HELP = "run a local PostgreSQL for this checkout (migrated, kept between runs) until Ctrl-C"

DEFAULT_PORT = 54320
BUCKETS = 50
STEP = 20
PORT_ENV = "TXSTORE_DEV_PORT"
NO_OFFSET_ENV = "TXSTORE_DEV_NO_OFFSET"
DATABASE = "txstore"
#: A development server keeps its data, so durability stays on; losing the last
#: commits in a crash is fine.
DEV_SETTINGS: Mapping[str, str] = {"synchronous_commit": "off", "max_connections": "200"}

_FNV_OFFSET_BASIS = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_MASK64 = 2**64 - 1

PortSource = Literal["default", "offset", "explicit"]


def fnv1a_64(data: bytes) -> int:
    """The 64-bit FNV-1a hash of ``data``."""
    h = _FNV_OFFSET_BASIS
    for byte in data:
        h = ((h ^ byte) * _FNV_PRIME) & _MASK64
    return h


def port_offset(root: Path) -> int:
    """The port offset of the checkout at ``root``: one of ``0, 20, ..., 980``."""
    return (fnv1a_64(str(root.absolute()).encode()) % BUCKETS) * STEP


@dataclass(frozen=True)
class PortChoice:
    """A port and where it came from (``detail`` says which setting, for the banner)."""

    port: int
    source: PortSource
    detail: str


class UsageError(ValueError):
    """A setting is malformed: exit status 2."""


def _parse_port(text: str, where: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise UsageError(f"{where}: {text!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise UsageError(f"{where}: {port} is outside 1-65535")
    return port


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def resolve_port(
    root: Path,
    *,
    flag: int | None = None,
    env: Mapping[str, str] | None = None,
    no_offset: bool = False,
    base: int = DEFAULT_PORT,
) -> PortChoice:
    """The server port: ``--port`` > ``TXSTORE_DEV_PORT`` > base + checkout offset > base.

    The offset is skipped with ``no_offset`` or ``TXSTORE_DEV_NO_OFFSET=1``.

    Raises:
        UsageError: a port is not an integer in 1-65535.
    """
    env = os.environ if env is None else env
    if flag is not None:
        return PortChoice(_parse_port(str(flag), "--port"), "explicit", "--port")
    if text := env.get(PORT_ENV, "").strip():
        return PortChoice(_parse_port(text, PORT_ENV), "explicit", PORT_ENV)
    if no_offset or _truthy(env.get(NO_OFFSET_ENV)):
        why = "--no-offset" if no_offset else NO_OFFSET_ENV
        return PortChoice(base, "default", f"{why}: no offset")
    offset = port_offset(root)
    return PortChoice(base + offset, "offset", f"{base} + {offset} from a hash of {root}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="the server's data directory (default: <root>/.txstore/dev/data)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help=f"the server port (default: ${PORT_ENV}, else {DEFAULT_PORT} + a per-checkout offset)",
    )
    parser.add_argument(
        "--no-offset",
        action="store_true",
        help=f"use {DEFAULT_PORT} without the per-checkout offset (also ${NO_OFFSET_ENV}=1)",
    )
    parser.add_argument(
        "--no-migrate", action="store_true", help="start the server without running migrations"
    )
    parser.add_argument(
        "--once", action="store_true", help="stop and exit right after printing the banner"
    )


def _say(label: str, text: str = "") -> None:
    print(f"  {label:<10} {text}".rstrip(), flush=True)


async def _prepare(cluster: LocalCluster, migrations_dir: Path | None) -> str:
    """Create the dev database when missing, migrate it; return its DSN."""
    admin = await asyncpg.connect(cluster.dsn())
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE)
        if not exists:
            await admin.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await admin.close()
    dsn = cluster.dsn(DATABASE)
    if migrations_dir is not None:
        started = time.perf_counter()
        applied = await migrations.up(dsn, directory=migrations_dir)
        state = await migrations.status(dsn, directory=migrations_dir)
        took = (time.perf_counter() - started) * 1e3
        _say(
            "migrated",
            f"{len(applied)} applied in {took:.0f} ms; schema version {state.current} "
            f"({len(state.pending)} pending)",
        )
    return dsn


def _server_alive(data_dir: Path) -> bool:
    try:
        pid = int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return False
    return Path(f"/proc/{pid}").exists()


def _wait_for_signal(cluster: LocalCluster) -> None:
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(0.5):
            if not _server_alive(cluster.data_dir):
                raise StoreError(f"the server exited on its own; see {cluster.log_file}")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run(args: argparse.Namespace) -> int:
    """Start, migrate and serve the checkout's PostgreSQL; returns the exit code.

    Exit status 2 for a malformed setting, 1 when the server cannot start or
    migrations fail.
    """
    config = config_for(args)
    root = config.root.absolute()
    data_dir = (args.data_dir or root / ".txstore" / "dev" / "data").absolute()
    try:
        choice = resolve_port(root, flag=args.port, no_offset=args.no_offset)
    except UsageError as exc:
        print(f"txstore dev: {exc}", file=sys.stderr)
        return 2
    reused = (data_dir / "PG_VERSION").exists()
    started = time.perf_counter()
    try:
        cluster = LocalCluster(data_dir=data_dir, port=choice.port, settings=DEV_SETTINGS)
        cluster.start()
    except StoreError as exc:
        print(f"txstore dev: {exc}", file=sys.stderr)
        return 1
    try:
        ready = (time.perf_counter() - started) * 1e3
        binaries = cluster.binaries
        print(f"txstore dev: PostgreSQL {binaries.major} for {root}", flush=True)
        _say("data", f"{data_dir} ({'reused' if reused else 'created'})")
        _say("port", f"{choice.port} ({choice.source}: {choice.detail})")
        _say("server", f"ready in {ready:.0f} ms ({binaries.source}: {binaries.bindir})")
        try:
            dsn = asyncio.run(_prepare(cluster, None if args.no_migrate else config.migrations))
        except (OSError, asyncpg.PostgresError, MigrationError, StoreError) as exc:
            print(f"txstore dev: {exc}", file=sys.stderr)
            return 1
        _say("DSN", dsn)
        _say("export", f"TXSTORE_DSN={dsn}")
        if args.once:
            return 0
        print("  running; Ctrl-C to stop", flush=True)
        try:
            _wait_for_signal(cluster)
        except StoreError as exc:
            print(f"txstore dev: {exc}", file=sys.stderr)
            return 1
        return 0
    finally:
        stopping = time.perf_counter()
        cluster.stop()
        _say("stopped", f"in {(time.perf_counter() - stopping) * 1e3:.0f} ms")
