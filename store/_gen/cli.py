"""``txstore gen``: write (or ``--check``) the generated query code and schema dump."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import asyncpg

import migrations
from store._config import Config, config_for
from store._gen._generate import generate, server_dsn
from store._gen._naming import DEFAULT_NAMING, Naming
from store._gen._settings import GenSettings, settings_from_table
from store._gen.errors import GenError
from store.errors import StoreError

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


def _settings(config: Config) -> tuple[Naming, GenSettings]:
    """``[tool.txstore.naming]`` and ``[tool.txstore.gen]`` of the project.

    Raises:
        GenError: either table is malformed (the message names the file and key).
    """
    try:
        return (
            DEFAULT_NAMING.extended(config.table.get("naming", {})),
            settings_from_table(config.table.get("gen", {})),
        )
    except (TypeError, ValueError) as exc:
        raise GenError(f"{config.pyproject}: {exc}") from exc


async def _outputs(config: Config, dsn: str | None, warnings: list[str]) -> dict[Path, str]:
    naming, settings = _settings(config)
    async with server_dsn(dsn) as url:
        files, dump = await generate(
            queries=config.queries,
            migration_dir=config.migrations,
            dsn=url,
            root=config.root,
            naming=naming,
            schema_dump=True,
            settings=settings,
            warnings=warnings,
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

    Returns 0 when written (or current), 1 when ``--check`` found stale files or
    generation failed: every problem is printed as a ``file:line: message``
    line (a migration that fails, an unreachable server: one line) and
    nothing is written. Warnings go to stderr and do not fail the run.
    """
    config = config_for(args)
    warnings: list[str] = []
    try:
        outputs = asyncio.run(_outputs(config, args.dsn, warnings))
    except GenError as exc:
        print(f"txstore gen: nothing written:\n{exc}", file=sys.stderr)
        return 1
    except (migrations.MigrationError, StoreError, OSError, asyncpg.PostgresError) as exc:
        # The database (its DSN masked), a migration or the server: one line each.
        message = " ".join(str(exc).split())
        print(f"txstore gen: nothing written: {message}", file=sys.stderr)
        return 1
    for warning in warnings:
        print(f"txstore gen: warning: {warning}", file=sys.stderr)
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
