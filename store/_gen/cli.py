"""``txstore gen``: write (or ``--check``) the generated query code and schema dump."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import migrations
from store._config import Config, config_for
from store._gen._generate import generate, server_dsn
from store._gen._naming import DEFAULT_NAMING, Naming
from store._gen.errors import GenError

__all__ = ["HELP", "add_arguments", "run"]

HELP = "generate typed query code and the schema dump from queries/*.sql"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register ``--check`` and ``--dsn``."""
    parser.add_argument(
        "--check",
        action="store_true",
        help="regenerate in memory; exit 1 naming each stale file",
    )
    parser.add_argument(
        "--dsn",
        help="a database to migrate and prepare queries on (default: $TXSTORE_DSN, "
        "else an ephemeral local PostgreSQL)",
    )


def _naming(config: Config) -> Naming:
    return DEFAULT_NAMING.extended(config.table.get("naming", {}))


async def _outputs(config: Config, dsn: str | None) -> dict[Path, str]:
    async with server_dsn(dsn) as url:
        files, dump = await generate(
            queries=config.queries,
            migration_dir=config.migrations,
            dsn=url,
            root=config.root,
            naming=_naming(config),
            schema_dump=True,
        )
    outputs = {config.generated / name: text for name, text in files.items()}
    if dump is not None:
        outputs[config.schema_dump] = dump
    return outputs


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def run(args: argparse.Namespace) -> int:
    """Generate; with ``--check`` compare instead of writing.

    Returns 0 when written (or current), 1 when ``--check`` found stale files, 2
    on a generation error (printed as ``file:line: message`` lines).
    """
    config = config_for(args)
    try:
        outputs = asyncio.run(_outputs(config, args.dsn))
    except GenError as exc:
        print(f"txstore gen: nothing written:\n{exc}", file=sys.stderr)
        return 2
    except migrations.MigrationError as exc:  # the database (its DSN masked) or a migration
        print(f"txstore gen: nothing written: {exc}", file=sys.stderr)
        return 2
    stale = sorted(
        path
        for path, text in outputs.items()
        # Bytes, not text: a generated file that is not UTF-8 is stale, not a crash.
        if not path.is_file() or path.read_bytes() != text.encode("utf-8")
    )
    if args.check:
        for path in stale:
            print(f"stale: {_shown(path, config.root)} (run `txstore gen`)", file=sys.stderr)
        if stale:
            return 1
        print(f"txstore gen: {len(outputs)} files up to date")
        return 0
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(outputs[path], encoding="utf-8")
    print(f"txstore gen: wrote {len(stale)} of {len(outputs)} files")
    return 0
