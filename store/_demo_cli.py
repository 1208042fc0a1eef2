"""``txstore demo``: run the application's demo on an embedded PostgreSQL.

The application names its demo in ``[tool.txstore] demo = "package.module:function"``;
the function takes the DSN of a fresh, empty database and the project's
:class:`~store._config.Config`, and may be ``async``. The framework starts the
server (or uses ``--dsn``), calls it, and stops the server.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from store._config import Config, config_for
from store._localpg import LocalCluster
from store.errors import ConfigError, StoreError

__all__ = ["HELP", "add_arguments", "load_demo", "run"]

HELP = "run your application's demo ([tool.txstore] demo) on an embedded PostgreSQL"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register ``--dsn``."""
    parser.add_argument(
        "--dsn",
        default=os.environ.get("TXSTORE_DSN"),
        help="use this database instead of starting an embedded server (default: $TXSTORE_DSN)",
    )


def load_demo(config: Config) -> Callable[[str, Config], Any]:
    """Import the callable ``[tool.txstore] demo`` names.

    Raises:
        ConfigError: the key is missing, malformed, or names nothing importable.
    """
    spec = config.demo
    if spec is None:
        raise ConfigError(f"{config.pyproject}: [tool.txstore] demo is not set")
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ConfigError(
            f"{config.pyproject}: [tool.txstore] demo must be 'package.module:function', "
            f"not {spec!r}"
        )
    if str(config.root) not in sys.path:
        sys.path.insert(0, str(config.root))  # the application's package, as pytest would
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"{config.pyproject}: [tool.txstore] demo: {exc}") from None
    function = getattr(module, attr, None)
    if not callable(function):
        raise ConfigError(f"{config.pyproject}: [tool.txstore] demo: {spec} is not a function")
    return function  # type: ignore[no-any-return]  # checked callable above


def _call(function: Callable[[str, Config], Any], dsn: str, config: Config) -> None:
    result = function(dsn, config)
    if inspect.isawaitable(result):
        asyncio.run(_await(result))


async def _await(awaitable: Any) -> None:
    await awaitable


def run(args: argparse.Namespace) -> int:
    """Run the demo; returns 0, 1 when the server cannot start, 2 for bad settings."""
    config = config_for(args)
    function = load_demo(config)
    if args.dsn:
        print("  server: given by --dsn / TXSTORE_DSN", flush=True)
        _call(function, args.dsn, config)
        return 0
    started = time.perf_counter()
    try:
        cluster = LocalCluster()
        cluster.start()
    except StoreError as exc:
        print(f"txstore demo: {exc}", file=sys.stderr)
        return 1
    try:
        ready = (time.perf_counter() - started) * 1e3
        binaries = cluster.binaries
        print(f"\n== embedded PostgreSQL {binaries.major}", flush=True)
        print(f"  ready in {ready:.0f} ms ({binaries.source})", flush=True)
        print(f"  DSN {cluster.dsn()}", flush=True)
        _call(function, cluster.dsn(), config)
    finally:
        stopping = time.perf_counter()
        cluster.stop()
        print(f"\n== done\n  server stopped in {(time.perf_counter() - stopping) * 1e3:.0f} ms")
    return 0
