"""The ``query-naming`` rule, through ``store._gen``'s parser and naming check."""

from __future__ import annotations

import textwrap
from pathlib import Path

from store._lint import Finding, Project, run_rules, select_rules

RULE = "query-naming"

CLEAN = """\
    -- name: GetUserByID :one
    SELECT * FROM users WHERE id = @id;

    -- name: CountUsersPerOrganization :many
    SELECT organization_id, count(*) FROM users GROUP BY organization_id;
    """


def _write(root: Path, queries: str) -> None:
    (root / "pyproject.toml").write_text('[tool.txstore]\nqueries = "queries"\n')
    (root / "queries").mkdir()
    (root / "queries" / "users.sql").write_text(textwrap.dedent(queries))


def _lint(root: Path) -> list[Finding]:
    return run_rules(Project(root), select_rules([RULE]))


def test_clean_queries_have_no_findings(tmp_path: Path) -> None:
    _write(tmp_path, CLEAN)
    assert _lint(tmp_path) == []


def test_by_on_a_grouped_query(tmp_path: Path) -> None:
    _write(
        tmp_path,
        CLEAN
        + """\

        -- name: CountUsersByOrganization :many
        SELECT organization_id, count(*) FROM users GROUP BY organization_id;
        """,
    )
    [finding] = _lint(tmp_path)
    assert (finding.path, finding.line, finding.rule) == ("queries/users.sql", 7, RULE)
    assert "CountUsersByOrganization has GROUP BY" in finding.message


def test_by_a_column_the_query_does_not_filter_on(tmp_path: Path) -> None:
    _write(tmp_path, "-- name: GetUserByEmail :one\nSELECT * FROM users WHERE id = @id;\n")
    [finding] = _lint(tmp_path)
    assert (finding.path, finding.line, finding.rule) == ("queries/users.sql", 1, RULE)
    assert "GetUserByEmail is named By email" in finding.message


def test_a_query_file_the_parser_rejects_is_reported(tmp_path: Path) -> None:
    _write(tmp_path, "-- name: GetUserByID :sometimes\nSELECT * FROM users WHERE id = @id;\n")
    [finding] = _lint(tmp_path)
    assert (finding.path, finding.line, finding.rule) == ("queries/users.sql", 1, RULE)
