"""The ``migrations`` rule: pairs, numbering (via ``migrations.load``) and fixtures."""

from __future__ import annotations

import textwrap
from pathlib import Path

from store._lint import Finding, Project, run_rules, select_rules

RULE = "migrations"

PYPROJECT = """\
[tool.txstore]
migrations = "schema/migrations"
fixtures = "schema/fixtures"
queries = "queries"
"""


def _write(root: Path, files: dict[str, str], pyproject: str = PYPROJECT) -> None:
    for relpath, text in {"pyproject.toml": pyproject, **files}.items():
        (root / relpath).parent.mkdir(parents=True, exist_ok=True)
        (root / relpath).write_text(textwrap.dedent(text))


def _line(root: Path, relpath: str, marker: str) -> int:
    lines = (root / relpath).read_text().splitlines()
    [line] = [n for n, text in enumerate(lines, 1) if marker in text]
    return line


def _lint(root: Path) -> list[Finding]:
    return run_rules(Project(root), select_rules([RULE]))


CLEAN = {
    "schema/migrations/000001_users.up.sql": "CREATE TABLE users (id int);\n",
    "schema/migrations/000001_users.down.sql": "DROP TABLE users;\n",
    "schema/migrations/000002_orgs.up.sql": "CREATE TABLE orgs (id int);\n",
    "schema/migrations/000002_orgs.down.sql": "DROP TABLE orgs;\n",
    "schema/fixtures/000001_users.sql": "INSERT INTO users VALUES (1);\n",
    "schema/fixtures/000002_orgs.sql": "INSERT INTO orgs VALUES (1);\n",
}


def test_clean_migrations_have_no_findings(tmp_path: Path) -> None:
    _write(tmp_path, CLEAN)
    assert _lint(tmp_path) == []


def test_missing_down_file(tmp_path: Path) -> None:
    files = {**CLEAN}
    del files["schema/migrations/000002_orgs.down.sql"]
    _write(tmp_path, files)
    assert _lint(tmp_path) == [
        Finding(
            "schema/migrations/000002_orgs.up.sql",
            1,
            RULE,
            "missing down file; create schema/migrations/000002_orgs.down.sql",
        )
    ]


def test_duplicate_number(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            **CLEAN,
            "schema/migrations/000002_teams.up.sql": "",
            "schema/migrations/000002_teams.down.sql": "",
        },
    )
    [finding] = _lint(tmp_path)
    assert (finding.path, finding.line, finding.rule) == (
        "schema/migrations/000002_orgs.down.sql",
        1,
        RULE,
    )
    assert "duplicate migration number 000002" in finding.message


def test_gap_in_numbering(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            **CLEAN,
            "schema/migrations/000004_teams.up.sql": "",
            "schema/migrations/000004_teams.down.sql": "",
            "schema/fixtures/000004_teams.sql": "",
        },
    )
    assert _lint(tmp_path) == [
        Finding(
            "schema/migrations/000004_teams.up.sql",
            1,
            RULE,
            "gap in migration numbering; expected number 000003 here",
        )
    ]


def test_migration_without_fixture(tmp_path: Path) -> None:
    files = {**CLEAN}
    del files["schema/fixtures/000002_orgs.sql"]
    _write(tmp_path, files)
    assert _lint(tmp_path) == [
        Finding(
            "schema/migrations/000002_orgs.up.sql",
            1,
            RULE,
            "migration 000002_orgs has no fixture; add schema/fixtures/000002_orgs.sql",
        )
    ]


def test_fixture_without_migration(tmp_path: Path) -> None:
    _write(tmp_path, {**CLEAN, "schema/fixtures/000009_ghost.sql": ""})
    assert _lint(tmp_path) == [
        Finding(
            "schema/fixtures/000009_ghost.sql",
            1,
            RULE,
            "fixture for migration 000009, which does not exist",
        )
    ]
