"""The plugin serves the project pytest runs in, found from its rootdir, and no other."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PYTEST_INI = """
[tool.pytest.ini_options]
asyncio_mode = "auto"
asyncio_default_fixture_loop_scope = "function"
"""

USES_DB = """
import asyncpg


async def test_the_database_has_this_projects_schema_only(db_dsn: str) -> None:
    conn = await asyncpg.connect(db_dsn)
    try:
        assert await conn.fetchval("SELECT to_regclass('public.notes')") is not None
        assert await conn.fetchval("SELECT to_regclass('public.users')") is None
    finally:
        await conn.close()
"""

PLAIN = """
def test_nothing_to_do_with_databases() -> None:
    assert sum([1, 2]) == 3
"""


def _pytest(project: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TXSTORE_", "PYTEST_"))}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_a_project_without_txstore_settings_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "other"\n' + PYTEST_INI)
    (tmp_path / "test_plain.py").write_text(PLAIN)
    run = _pytest(tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "txstore:" not in run.stdout  # no header, so no server was started for it


def test_db_dsn_without_settings_fails_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "other"\n' + PYTEST_INI)
    (tmp_path / "test_db.py").write_text(USES_DB)
    run = _pytest(tmp_path)
    assert run.returncode != 0
    assert "no pyproject.toml with a [tool.txstore] table" in run.stdout + run.stderr


def test_a_project_gets_databases_migrated_with_its_own_migrations(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "notes"\n\n[tool.txstore]\nmigrations = "db/migrations"\n'
        + PYTEST_INI
    )
    migrations = tmp_path / "db" / "migrations"
    migrations.mkdir(parents=True)
    (migrations / "000001_notes.up.sql").write_text("CREATE TABLE notes (id bigint);\n")
    (migrations / "000001_notes.down.sql").write_text("DROP TABLE notes;\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_db.py").write_text(USES_DB)
    run = _pytest(tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "txstore: PostgreSQL from" in run.stdout
