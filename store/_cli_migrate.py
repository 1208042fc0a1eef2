"""``txstore migrate``: apply, revert, inspect and author migrations.

Directories come from ``[tool.txstore]`` in ``pyproject.toml``; the database from
``--dsn`` or ``TXSTORE_DSN``. Errors print as one line on stderr: exit status 2
for a usage or configuration problem, 1 for a migration error.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import traceback
from collections.abc import Callable

import asyncpg

import migrations
from migrations._dsn import redact
from store._config import Config, config_for
from store._localpg import find_binaries
from store.errors import ConfigError, PostgresNotFound

__all__ = ["HELP", "add_arguments", "run"]

HELP = "apply, revert, inspect and author database migrations"


class _UsageError(Exception):
    """Bad invocation or configuration: exit status 2."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``migrate`` sub-commands to ``parser``."""
    database = argparse.ArgumentParser(add_help=False)
    database.add_argument(
        "--dsn",
        default=None,
        help="database URL or libpq keyword DSN (default: the TXSTORE_DSN environment variable)",
    )
    locking = argparse.ArgumentParser(add_help=False)
    locking.add_argument(
        "--lock-timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="how long to wait for another runner's migrations lock (default: 60)",
    )
    both = [database, locking]
    sub = parser.add_subparsers(dest="migrate_command", required=True, metavar="COMMAND")

    up = sub.add_parser("up", parents=both, help="apply pending migrations")
    up.add_argument("--target", type=int, metavar="V", help="stop after version V")
    up.add_argument(
        "--with-fixtures", action="store_true", help="also run each version's fixture files"
    )
    down = sub.add_parser("down", parents=both, help="revert the last N applied migrations")
    down.add_argument("steps", nargs="?", type=int, default=1, metavar="N", help="default: 1")
    goto = sub.add_parser("goto", parents=both, help="migrate up or down to version V")
    goto.add_argument("version", type=int, metavar="V", help="0 reverts everything")
    sub.add_parser("status", parents=[database], help="show applied and pending migrations")
    create = sub.add_parser("create", help="write the next up/down migration pair")
    create.add_argument("name", help="what the migration does, e.g. add_user_email")
    renumber = sub.add_parser(
        "renumber", help="after a merge, move new migrations after the committed ones"
    )
    renumber.add_argument(
        "--base",
        default="HEAD",
        metavar="REF",
        help="files tracked at this git ref count as committed (default: HEAD)",
    )
    fixture = sub.add_parser("create-fixture", help="write a fixture for the latest migration")
    fixture.add_argument("name", help="what the fixture holds, e.g. two_orgs")
    dump = sub.add_parser("dump", parents=[database], help="write the schema dump")
    dump.add_argument("--check", action="store_true", help="fail when the dump is stale")


def _dsn(args: argparse.Namespace) -> str:
    dsn: str | None = args.dsn or os.environ.get("TXSTORE_DSN")
    if not dsn:
        raise _UsageError("no database given; pass --dsn URL or set TXSTORE_DSN")
    return dsn


def _pg_dump() -> str:
    try:
        return find_binaries().tool("pg_dump")
    except PostgresNotFound:
        return "pg_dump"


def _name(version: int, name: str) -> str:
    return f"{version:06d}_{name}"


def _print_versions(verb: str, versions: list[int], names: dict[int, str]) -> None:
    if not versions:
        print("nothing to do")
    for version in versions:
        print(f"{verb} {_name(version, names.get(version, '?'))}")


def _up(args: argparse.Namespace, config: Config) -> int:
    fixtures = config.fixtures if args.with_fixtures else None
    versions = asyncio.run(
        migrations.up(
            _dsn(args),
            directory=config.migrations,
            fixtures=fixtures,
            target=args.target,
            lock_timeout=args.lock_timeout,
        )
    )
    names = {m.version: m.name for m in migrations.load(config.migrations)}
    _print_versions("applied", versions, names)
    return 0


def _down(args: argparse.Namespace, config: Config) -> int:
    names = {m.version: m.name for m in migrations.load(config.migrations)}
    versions = asyncio.run(
        migrations.down(
            _dsn(args),
            directory=config.migrations,
            steps=args.steps,
            lock_timeout=args.lock_timeout,
        )
    )
    _print_versions("reverted", versions, names)
    return 0


def _goto(args: argparse.Namespace, config: Config) -> int:
    dsn = _dsn(args)
    before = asyncio.run(migrations.status(dsn, directory=config.migrations)).current
    versions = asyncio.run(
        migrations.goto(
            dsn, args.version, directory=config.migrations, lock_timeout=args.lock_timeout
        )
    )
    names = {m.version: m.name for m in migrations.load(config.migrations)}
    _print_versions("applied" if args.version >= before else "reverted", versions, names)
    return 0


def _status(args: argparse.Namespace, config: Config) -> int:
    state = asyncio.run(migrations.status(_dsn(args), directory=config.migrations))
    print(
        f"database at {state.current:06d}: "
        f"{len(state.applied)} applied, {len(state.pending)} pending"
    )
    for row in state.applied:
        print(
            f"  applied  {_name(row.version, row.name)}  "
            f"{row.applied_at:%Y-%m-%d %H:%M:%S%z}  sha256 {row.checksum[:12]}"
        )
    for migration in state.pending:
        print(f"  pending  {migration.stem}")
    for problem in state.problems:
        print(f"problem: {problem}", file=sys.stderr)
    return 1 if state.problems else 0


def _create(args: argparse.Namespace, config: Config) -> int:
    for path in migrations.create(config.migrations, args.name):
        print(f"created {path}")
    return 0


def _renumber(args: argparse.Namespace, config: Config) -> int:
    renames = migrations.renumber(config.migrations, config.fixtures, base=args.base)
    if not renames:
        print("nothing to renumber")
    for old, new in renames:
        print(f"renamed {old} -> {new.name}")
    return 0


def _create_fixture(args: argparse.Namespace, config: Config) -> int:
    path = migrations.create_fixture(config.migrations, config.fixtures, args.name)
    print(f"created {path}")
    return 0


def _dump(args: argparse.Namespace, config: Config) -> int:
    dsn = _dsn(args)
    state = asyncio.run(migrations.status(dsn, directory=config.migrations))
    if state.pending or state.problems:
        raise _UsageError(
            f"{config.migrations}: the database is at {state.current:06d} with "
            f"{len(state.pending)} pending migration(s) or problems; "
            "run `txstore migrate up` (and `status`) first"
        )
    if args.check:
        try:
            migrations.check_schema_dump(dsn, config.schema_dump, pg_dump=_pg_dump())
        except migrations.SchemaDumpStale as exc:
            sys.stdout.write(exc.diff)
            raise
        print(f"{config.schema_dump} is up to date")
        return 0
    migrations.dump_schema(dsn, config.schema_dump, pg_dump=_pg_dump())
    print(f"wrote {config.schema_dump}")
    return 0


_HANDLERS: dict[str, Callable[[argparse.Namespace, Config], int]] = {
    "up": _up,
    "down": _down,
    "goto": _goto,
    "status": _status,
    "create": _create,
    "renumber": _renumber,
    "create-fixture": _create_fixture,
    "dump": _dump,
}


def run(args: argparse.Namespace) -> int:
    """Run one ``migrate`` sub-command; return the exit status (0 ok, 1 failed, 2 usage).

    Nothing it prints carries the DSN's password, whatever the DSN's form: the
    errors below never hold it, and any other exception's traceback is
    printed with the password masked.
    """
    try:
        config = config_for(args)
        return _HANDLERS[args.migrate_command](args, config)
    except (_UsageError, FileNotFoundError) as exc:
        print(f"txstore migrate: {exc}", file=sys.stderr)
        return 2
    except (
        migrations.MigrationError,
        OSError,
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
    ) as exc:
        print(f"txstore migrate: {_redacted(args, str(exc))}", file=sys.stderr)
        return 1
    except ConfigError:
        raise  # reported by the txstore command as a configuration problem (exit 2)
    except Exception:  # a bug: keep its traceback for the report, without the password
        print(_redacted(args, traceback.format_exc()), end="", file=sys.stderr)
        return 1


def _redacted(args: argparse.Namespace, text: str) -> str:
    dsn = getattr(args, "dsn", None) or os.environ.get("TXSTORE_DSN") or ""
    return redact(dsn, text) if dsn else text
