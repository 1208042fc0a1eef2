"""The ``imports`` rule: forbidden package edges and private modules."""

from __future__ import annotations

import textwrap
from pathlib import Path

from store._lint import Finding, Project, run_rules, select_rules

RULE = "imports"

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
    "store/__init__.py": "",
    "store/_generated/__init__.py": "",
    "store/_pg.py": """\
        from store._generated import queries
        from . import _generated
        """,
    "authz/__init__.py": "import store\n",
    "audit/__init__.py": "import authz\nfrom store import Store\n",
    "migrations/__init__.py": "import os\n",
}


def test_clean_tree_has_no_findings(tmp_path: Path) -> None:
    _write(tmp_path, CLEAN)
    assert _lint(tmp_path) == []


def test_forbidden_absolute_import(tmp_path: Path) -> None:
    _write(tmp_path, {**CLEAN, "store/_x.py": "import os\nimport authz.subject  # <- here\n"})
    assert _lint(tmp_path) == [
        Finding(
            "store/_x.py",
            _line(tmp_path, "store/_x.py", "<- here"),
            RULE,
            "store must not import authz (import authz.subject)",
        )
    ]


def test_forbidden_import_inside_function_and_type_checking(tmp_path: Path) -> None:
    source = """\
        from typing import TYPE_CHECKING

        if TYPE_CHECKING:
            from audit import AuditStore  # <- type checking


        def build() -> None:
            from authz import AuthzStore  # <- function
        """
    _write(tmp_path, {**CLEAN, "store/_build.py": source})
    findings = _lint(tmp_path)
    assert [(f.path, f.line, f.rule) for f in findings] == [
        ("store/_build.py", _line(tmp_path, "store/_build.py", "<- type checking"), "imports"),
        ("store/_build.py", _line(tmp_path, "store/_build.py", "<- function"), "imports"),
    ]
    assert findings[0].message == "store must not import audit (from audit import AuditStore)"


def test_forbidden_relative_import(tmp_path: Path) -> None:
    pyproject = PYPROJECT.replace("forbidden = {", 'forbidden = { "store._gen" = ["store._lint"], ')
    files = {
        **CLEAN,
        "store/_gen/__init__.py": "",
        "store/_gen/_emit.py": "from .._lint import rules  # <- here\n",
        "store/_lint/__init__.py": "from .._gen import _emit\n",
    }
    _write(tmp_path, files, pyproject=pyproject)
    assert _lint(tmp_path) == [
        Finding(
            "store/_gen/_emit.py",
            1,
            RULE,
            "store._gen must not import store._lint (from .._lint import rules)",
        )
    ]


def test_relative_import_beyond_the_top_level_is_ignored(tmp_path: Path) -> None:
    _write(tmp_path, {**CLEAN, "authz/_policy.py": "from ..audit import diff\n"})
    assert _lint(tmp_path) == []


def test_relative_import_of_a_sibling_resolves_inside_the_package(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            **CLEAN,
            "migrations/_runner.py": "from . import store  # <- here\n",
            "migrations/store.py": "",
        },
    )
    # ``migrations.store`` is not the top-level ``store`` package
    assert _lint(tmp_path) == []


def test_private_module_imported_from_outside_its_package(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {**CLEAN, "authz/_wrap.py": "from store import _generated  # <- here\n"},
    )
    assert _lint(tmp_path) == [
        Finding(
            "authz/_wrap.py",
            _line(tmp_path, "authz/_wrap.py", "<- here"),
            RULE,
            "store._generated is private to store (from store import _generated)",
        )
    ]


def test_private_module_submodule_import(tmp_path: Path) -> None:
    source = "import store._generated.queries  # <- here\n"
    _write(tmp_path, {**CLEAN, "tests/test_x.py": source})
    assert [(f.path, f.line) for f in _lint(tmp_path)] == [
        ("tests/test_x.py", _line(tmp_path, "tests/test_x.py", "<- here"))
    ]


def test_migrations_must_not_import_store(tmp_path: Path) -> None:
    _write(tmp_path, {**CLEAN, "migrations/_run.py": "from store.errors import NotFound\n"})
    assert _lint(tmp_path) == [
        Finding(
            "migrations/_run.py",
            1,
            RULE,
            "migrations must not import store (from store.errors import NotFound)",
        )
    ]


APPLICATION = """\
[tool.txstore]

[tool.txstore.lint]
public = ["store", "authz"]
"""


def test_an_application_importing_a_private_framework_module_is_reported(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "blog/__init__.py": "",
            "blog/app.py": """\
                from store import Query, Store
                from authz import Model
                from store._pg import PgStoreBase
                from authz import _policy
                import store.testing
            """,
        },
        APPLICATION,
    )
    findings = _lint(tmp_path)
    assert [(f.path, f.line) for f in findings] == [("blog/app.py", 3), ("blog/app.py", 4)]
    assert "store._pg is private to store; use its public names" in findings[0].message
    assert "authz._policy is private to authz" in findings[1].message
