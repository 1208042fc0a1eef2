"""Configured project checks (``audit-table``, ``authz-policies``) loaded by dotted path."""

from __future__ import annotations

import textwrap
from pathlib import Path

from store._lint import Finding, Project, run_rules, select_rules

RULE = "checks"

# the checks live in packages named for this test, so they never collide with the real ones
CHECKS = {
    "lintfake_audit/__init__.py": """\
        from dataclasses import dataclass
        from pathlib import Path


        @dataclass
        class Problem:
            file: Path
            line: int
            message: str


        def check_table() -> list[Problem]:
            here = Path(__file__).resolve().parent / "_table.py"
            return [Problem(here, 7, "users.email is not classified TRACK, IGNORE or SECRET")]


        def check_clean() -> list[Problem]:
            return []


        def check_crash() -> list[Problem]:
            raise RuntimeError("table not loaded")
        """,
    "lintfake_audit/_table.py": "",
}


def _write(root: Path, checks: str) -> None:
    pyproject = f"[tool.txstore]\n\n[tool.txstore.lint]\n{checks}\n"
    for relpath, text in {"pyproject.toml": pyproject, **CHECKS}.items():
        (root / relpath).parent.mkdir(parents=True, exist_ok=True)
        (root / relpath).write_text(textwrap.dedent(text))


def _lint(root: Path) -> list[Finding]:
    return run_rules(Project(root), select_rules([RULE]))


def test_check_without_problems_has_no_findings(tmp_path: Path) -> None:
    _write(tmp_path, 'checks = ["lintfake_audit:check_clean"]')
    assert _lint(tmp_path) == []


def test_problems_become_findings_under_the_derived_rule_id(tmp_path: Path) -> None:
    _write(tmp_path, 'checks = ["lintfake_audit:check_table"]')
    assert _lint(tmp_path) == [
        Finding(
            "lintfake_audit/_table.py",
            7,
            "lintfake_audit-table",
            "users.email is not classified TRACK, IGNORE or SECRET",
        )
    ]


def test_a_table_names_the_rule_id(tmp_path: Path) -> None:
    _write(tmp_path, 'checks = { audit-table = "lintfake_audit:check_table" }')
    assert [f.rule for f in _lint(tmp_path)] == ["audit-table"]


def test_a_missing_check_is_a_finding(tmp_path: Path) -> None:
    _write(tmp_path, 'checks = { authz-policies = "lintfake_audit:check_policies" }')
    assert _lint(tmp_path) == [
        Finding(
            "pyproject.toml",
            4,
            "authz-policies",
            "configured check 'lintfake_audit:check_policies' is not available: "
            "module lintfake_audit has no function check_policies",
        )
    ]


def test_a_missing_module_is_a_finding(tmp_path: Path) -> None:
    _write(tmp_path, 'checks = ["lintfake_nothing:check_table"]')
    [finding] = _lint(tmp_path)
    assert (finding.path, finding.line, finding.rule) == (
        "pyproject.toml",
        4,
        "lintfake_nothing-table",
    )
    assert "No module named 'lintfake_nothing'" in finding.message


def test_a_crashing_check_is_a_finding(tmp_path: Path) -> None:
    _write(tmp_path, 'checks = { audit-table = "lintfake_audit:check_crash" }')
    assert _lint(tmp_path) == [
        Finding(
            "pyproject.toml",
            4,
            "audit-table",
            "configured check 'lintfake_audit:check_crash' raised RuntimeError: table not loaded",
        )
    ]
