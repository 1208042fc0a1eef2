"""``python -m workspaces_service`` (``make service``): run the service on 127.0.0.1.

Without ``--dsn`` (or ``$WORKSPACES_DSN``) it starts a throw-away local PostgreSQL
with txstore's own tooling (``store.testing.LocalCluster``, as ``txstore dev``
does), migrates it, seeds a user with an API key and prints the key. With a DSN
it serves that database as it is (migrate it with ``txstore migrate up``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Iterator

import migrations
import store
import structlog
import uvicorn
from store.testing import LocalCluster
from workspaces import stack
from workspaces.db import CONSTRAINTS, Queries

from workspaces_service.app import create_app
from workspaces_service.seed import seed_user


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m workspaces_service", description=__doc__)
    parser.add_argument("--port", type=int, default=8080, help="port on 127.0.0.1 (8080)")
    parser.add_argument(
        "--dsn",
        default=os.environ.get("WORKSPACES_DSN"),
        help="serve this database instead of a local one (default: $WORKSPACES_DSN)",
    )
    return parser.parse_args(argv)


@contextlib.contextmanager
def _database(dsn: str | None) -> Iterator[tuple[str, bool]]:
    if dsn:
        yield dsn, False
        return
    with LocalCluster() as cluster:
        print(
            f"PostgreSQL {cluster.binaries.major} started on 127.0.0.1:{cluster.port}", flush=True
        )
        yield cluster.dsn(), True


async def _prepare(dsn: str) -> None:
    applied = await migrations.up(dsn, directory=stack.MIGRATIONS)
    print(f"migrated: {len(applied)} migration(s) applied", flush=True)
    bare = Queries(await store.connect(dsn, min_size=1, max_size=2, constraints=CONSTRAINTS))
    try:
        seeded = await seed_user(bare, "alice", org_roles=("org-admin",))
    finally:
        await bare.store.close()
    print(
        f"user alice in organization {seeded.organization.name} ({seeded.organization.id})\n"
        f"API key (shown once): {seeded.key.token}",
        flush=True,
    )


async def _serve(dsn: str, port: int, local: bool) -> None:
    if local:
        await _prepare(dsn)
        print(
            f"try: curl -H 'Authorization: Bearer <key>' http://127.0.0.1:{port}/workspaces",
            flush=True,
        )
    config = uvicorn.Config(create_app(dsn), host="127.0.0.1", port=port, log_level="info")
    await uvicorn.Server(config).serve()


def main(argv: list[str] | None = None) -> int:
    """Run until Ctrl-C; 1 when the local server cannot start."""
    args = _parse(argv)
    # Per-query debug events are for tests and tracing; a console wants requests.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    try:
        with _database(args.dsn) as (dsn, local):
            asyncio.run(_serve(dsn, args.port, local))
    except store.errors.StoreError as exc:
        print(f"workspaces_service: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl-C once it has shut down
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
