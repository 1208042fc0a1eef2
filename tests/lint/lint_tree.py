"""Small project trees for the lint tests, written into ``tmp_path``."""

from __future__ import annotations

import textwrap
from pathlib import Path

from store._lint import Finding, Project, all_rules, run_rules

__all__ = ["PYPROJECT", "line_of", "lint", "write_tree"]

PYPROJECT = """\
[tool.txstore]
migrations = "schema/migrations"
fixtures = "schema/fixtures"
queries = "queries"
schema_dump = "schema/schema.sql"
generated = "store/_generated"

[tool.txstore.lint]
forbidden = { store = ["authz", "audit"], authz = ["audit"], migrations = ["store", "audit"] }
private = ["store._generated"]
"""


def write_tree(root: Path, files: dict[str, str], *, pyproject: str = PYPROJECT) -> Path:
    """Write ``files`` (relative path -> dedented text) and a ``pyproject.toml`` under ``root``."""
    for relpath, text in {"pyproject.toml": pyproject, **files}.items():
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def line_of(root: Path, relpath: str, marker: str) -> int:
    """The line of ``relpath`` that holds ``marker`` (a comment such as ``# <- here``)."""
    lines = (root / relpath).read_text().splitlines()
    matching = [n for n, text in enumerate(lines, 1) if marker in text]
    assert len(matching) == 1, f"{marker!r} occurs {len(matching)} times in {relpath}"
    return matching[0]


def lint(root: Path, rule: str) -> list[Finding]:
    """Run one rule over the tree at ``root``."""
    chosen = [r for r in all_rules() if rule == r.ID]
    assert chosen, f"no rule {rule!r}"
    return run_rules(Project(root), chosen)
