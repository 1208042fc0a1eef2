"""``[tool.txstore]`` is found from the start directory up, or exactly at ``--root``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from store._cli import main
from store._config import load_config
from store.errors import ConfigError

TABLE = '[tool.txstore]\nmigrations = "sql/up"\ngenerated = "app/db"\n'


def _project(directory: Path, table: str = TABLE) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "pyproject.toml").write_text(f'[project]\nname = "app"\n\n{table}')
    return directory


def test_settings_are_found_from_a_subdirectory_with_paths_relative_to_the_file(
    tmp_path: Path,
) -> None:
    root = _project(tmp_path / "app")
    deep = root / "src" / "app" / "models"
    deep.mkdir(parents=True)
    config = load_config(deep)
    assert config.root == root.resolve()
    assert config.migrations == root.resolve() / "sql" / "up"
    assert config.generated == root.resolve() / "app" / "db"
    assert config.queries == root.resolve() / "db" / "queries"  # the documented default


def test_a_pyproject_without_the_table_is_skipped_for_the_nearest_one_that_has_it(
    tmp_path: Path,
) -> None:
    root = _project(tmp_path)
    inner = tmp_path / "sub"
    inner.mkdir()
    (inner / "pyproject.toml").write_text('[project]\nname = "other"\n\n[tool.txstore-x]\n')
    assert load_config(inner).root == root.resolve()


def test_no_table_anywhere_is_one_line_naming_the_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(tmp_path)
    message = str(raised.value)
    assert "\n" not in message
    assert str(tmp_path.resolve()) in message
    assert "--root" in message


def test_root_names_the_project_exactly_and_never_searches_above_it(tmp_path: Path) -> None:
    _project(tmp_path)
    inner = tmp_path / "inner"
    inner.mkdir()
    with pytest.raises(ConfigError, match=r"no \[tool.txstore\] table"):
        load_config(root=inner)
    assert load_config(root=tmp_path).root == tmp_path.resolve()


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ('[tool.txstore]\nmigration = "m"\n', "unknown key 'migration'"),
        ("[tool.txstore]\nmigrations = 3\n", "migrations must be a string"),
        ('[tool.txstore]\nlint = "x"\n', "lint must be a table"),
        ("[tool.txstore\n", "not valid TOML"),
    ],
)
def test_malformed_settings_name_the_file_and_the_key(
    tmp_path: Path, table: str, expected: str
) -> None:
    _project(tmp_path, table)
    with pytest.raises(ConfigError, match=expected) as raised:
        load_config(tmp_path)
    assert str(tmp_path / "pyproject.toml") in str(raised.value)


def test_generated_is_required_only_where_it_is_used(tmp_path: Path) -> None:
    _project(tmp_path, "[tool.txstore]\n")
    config = load_config(tmp_path)
    with pytest.raises(ConfigError, match="generated is not set"):
        _ = config.generated


def test_every_command_outside_a_project_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for argv in (
        ["migrate", "status"],
        ["gen", "--check"],
        ["lint"],
        ["dev", "--once"],
        ["demo"],
    ):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1, (argv, err)
        assert f"txstore {argv[0]}: no pyproject.toml with a [tool.txstore] table" in err


def test_root_may_come_before_or_after_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "elsewhere"
    for argv in (["--root", str(missing), "lint"], ["lint", "--root", str(missing)]):
        assert main(argv) == 2
        assert f"{missing}/pyproject.toml: no [tool.txstore] table" in capsys.readouterr().err


def test_help_describes_the_commands_for_a_user() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "store._cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "[tool.txstore]" in shown
    for command in ("migrate", "gen", "lint", "dev", "demo"):
        assert f"\n    {command}" in shown or f"  txstore {command}" in shown, command
    assert "sub-command per module" not in shown  # not the module's own docstring
