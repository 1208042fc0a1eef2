"""The ``txstore`` command: one sub-command per module, each with ``add_arguments`` and ``run``."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Protocol, cast

__all__ = ["main"]

# sub-command name -> module providing ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``
_COMMANDS: dict[str, str] = {
    "migrate": "store._cli_migrate",
    "gen": "store._gen.cli",
    "lint": "store._lint.cli",
    "dev": "store._dev",
}


class _Command(Protocol):
    HELP: str

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


def _load(module: str) -> _Command:
    return cast(_Command, importlib.import_module(module))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="txstore", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, module in _COMMANDS.items():
        try:
            command = _load(module)
        except ImportError as missing:  # an optional extra is not installed
            sub.add_parser(name, help=f"unavailable: {missing}")
            continue
        command.add_arguments(sub.add_parser(name, help=command.HELP, description=command.HELP))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``txstore`` command line; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        command = _load(_COMMANDS[args.command])
    except ImportError as missing:
        print(f"txstore {args.command}: {missing}", file=sys.stderr)
        return 2
    return command.run(args)


def console() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    sys.exit(main())
