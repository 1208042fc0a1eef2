"""``txstore lint``: run every architecture rule and print one line per finding."""

from __future__ import annotations

import argparse
import sys

from store._config import config_for
from store._lint._project import Project
from store._lint._runner import all_rules, run_rules, select_rules

__all__ = ["HELP", "add_arguments", "main", "run"]

HELP = "check import boundaries, in_tx closures, query naming, migrations and generated code"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--rule``, ``--skip`` and ``--list`` to the ``lint`` sub-command."""
    parser.add_argument(
        "--rule",
        action="append",
        default=None,
        metavar="ID",
        help="run only this rule (repeatable)",
    )
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        metavar="ID",
        help="do not run this rule (repeatable), e.g. generated-current without PostgreSQL",
    )
    parser.add_argument("--list", action="store_true", help="list the rules and exit")


def run(args: argparse.Namespace) -> int:
    """Print findings as ``file:line: rule-id: message``, sorted; 1 if any, else 0 and ``ok``."""
    rules = all_rules()
    if args.list:
        for rule in rules:
            print(f"{rule.ID}: {rule.DESCRIPTION}")
        return 0
    try:
        if args.rule:
            rules = select_rules(args.rule)
        skipped = {rule.ID for rule in select_rules(args.skip)}
    except KeyError as error:
        print(f"txstore lint: {error.args[0]}", file=sys.stderr)
        return 2
    rules = [rule for rule in rules if rule.ID not in skipped]
    try:
        project = Project(config_for(args).root)
    except ValueError as error:
        print(f"txstore lint: {error}", file=sys.stderr)
        return 2
    findings = run_rules(project, rules)
    for finding in findings:
        print(finding)
    if findings:
        print(f"txstore lint: {len(findings)} finding(s)", file=sys.stderr)
        return 1
    print(f"ok: {len(rules)} rules, {len(project.sources)} Python files, no findings")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run ``txstore lint`` on its own (``python -m store._lint.cli``); returns the exit code."""
    from store._cli import main as txstore

    return txstore(["lint", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
