"""The ``txstore`` command: one sub-command per module, each with ``add_arguments`` and ``run``."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, cast

from store.errors import ConfigError

__all__ = ["main"]

DESCRIPTION = """\
txstore: typed, transactional PostgreSQL access for your application.

Every command reads your application's settings from the [tool.txstore] table
of the nearest pyproject.toml, from the current directory upwards; --root DIR
(before or after the command) names the project directory instead.
"""

EPILOG = """\
typical use:
  txstore migrate create add_posts   write db/migrations/NNNNNN_add_posts.{up,down}.sql
  txstore migrate up                 apply pending migrations to $TXSTORE_DSN
  txstore gen                        write the typed module from your query files
  txstore gen --check                fail when the committed module is stale (CI)
  txstore lint                       check import boundaries, in_tx closures, naming
  txstore dev                        keep a local PostgreSQL for this project running

'txstore COMMAND --help' describes a command's options.
"""

# sub-command name -> module providing ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``
_COMMANDS: dict[str, str] = {
    "migrate": "store._cli_migrate",
    "gen": "store._gen.cli",
    "lint": "store._lint.cli",
    "dev": "store._dev",
    "demo": "store._demo_cli",
}


class _Command(Protocol):
    HELP: str

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


def _load(module: str) -> _Command:
    return cast(_Command, importlib.import_module(module))


def _add_root(parser: argparse.ArgumentParser, *, default: object) -> None:
    parser.add_argument(
        "--root",
        type=Path,
        default=default,
        metavar="DIR",
        help="the project directory whose pyproject.toml has [tool.txstore] "
        "(default: found from the current directory upwards)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``txstore`` argument parser, with one sub-parser per command."""
    parser = argparse.ArgumentParser(
        prog="txstore",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_root(parser, default=None)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in _COMMANDS.items():
        try:
            command = _load(module)
        except ImportError as missing:  # an optional extra is not installed
            sub.add_parser(name, help=f"unavailable: {missing}")
            continue
        child = sub.add_parser(name, help=command.HELP, description=command.HELP)
        # SUPPRESS: a --root given before the command survives when none is given after it
        _add_root(child, default=argparse.SUPPRESS)
        command.add_arguments(child)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``txstore`` command line; returns the exit code (2 for bad settings)."""
    args = build_parser().parse_args(argv)
    try:
        command = _load(_COMMANDS[args.command])
    except ImportError as missing:
        print(f"txstore {args.command}: {missing}", file=sys.stderr)
        return 2
    try:
        return command.run(args)
    except ConfigError as exc:
        print(f"txstore {args.command}: {exc}", file=sys.stderr)
        return 2


def console() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    sys.exit(main())
