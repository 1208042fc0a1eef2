"""The ``generated-current`` rule: ``txstore gen --check`` run in-process on the linted tree.

These tests need PostgreSQL, as ``txstore gen`` does: ``$TXSTORE_DSN`` or local
PostgreSQL binaries for an ephemeral cluster (not the pytest plugin's database).
"""

from __future__ import annotations

import argparse
import contextlib
import io
from pathlib import Path

import pytest

from store._gen import cli as gen_cli
from store._lint import Finding, Project, run_rules, select_rules

RULE = "generated-current"

FILES = {
    "pyproject.toml": (
        '[tool.txstore]\nmigrations = "schema/migrations"\nqueries = "queries"\n'
        'schema_dump = "schema/schema.sql"\ngenerated = "store/_generated"\n'
    ),
    "schema/migrations/000001_notes.up.sql": "CREATE TABLE notes (id bigint PRIMARY KEY);\n",
    "schema/migrations/000001_notes.down.sql": "DROP TABLE notes;\n",
    "queries/notes.sql": "-- name: GetNoteByID :one\nSELECT * FROM notes WHERE id = @id;\n",
}


def _generated_tree(root: Path) -> Path:
    for relpath, text in FILES.items():
        (root / relpath).parent.mkdir(parents=True, exist_ok=True)
        (root / relpath).write_text(text)
    with contextlib.chdir(root), contextlib.redirect_stdout(io.StringIO()):
        assert gen_cli.run(argparse.Namespace(check=False, dsn=None)) == 0
    return root


def _lint(root: Path) -> list[Finding]:
    return run_rules(Project(root), select_rules([RULE]))


def test_freshly_generated_tree_is_current(tmp_path: Path) -> None:
    assert _lint(_generated_tree(tmp_path)) == []


def test_each_stale_file_is_a_finding(tmp_path: Path) -> None:
    root = _generated_tree(tmp_path)
    with (root / "store/_generated/queries.py").open("a") as generated:
        generated.write("# edited by hand\n")
    (root / "schema/schema.sql").unlink()
    message = "stale generated file; run `txstore gen` and commit it"
    assert _lint(root) == [
        Finding("schema/schema.sql", 1, RULE, message),
        Finding("store/_generated/queries.py", 1, RULE, message),
    ]


def test_an_unreachable_database_is_a_finding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for relpath, text in FILES.items():
        (tmp_path / relpath).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relpath).write_text(text)
    monkeypatch.setenv("TXSTORE_DSN", "postgresql://lint@127.0.0.1:1/nowhere?connect_timeout=2")
    [finding] = _lint(tmp_path)
    assert (finding.path, finding.line, finding.rule) == ("store/_generated", 1, RULE)
