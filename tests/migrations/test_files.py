"""Loading a migrations directory: every malformed tree gives an error naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrations import (
    DuplicateVersion,
    FixtureError,
    MalformedFileName,
    MissingDownFile,
    MissingUpFile,
    VersionGap,
    load,
)
from migrations._files import fixture_files, runs_outside_transaction, snake_case

SMALL_TREE = {
    "000001_create_accounts.up.sql": "CREATE TABLE accounts (id integer PRIMARY KEY);\n",
    "000001_create_accounts.down.sql": "DROP TABLE accounts;\n",
    "000002_add_account_name.up.sql": "ALTER TABLE accounts ADD COLUMN name text;\n",
    "000002_add_account_name.down.sql": "ALTER TABLE accounts DROP COLUMN name;\n",
    "000003_create_notes.up.sql": "CREATE TABLE notes (id integer PRIMARY KEY);\n",
    "000003_create_notes.down.sql": "DROP TABLE notes;\n",
}


def write_tree(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


def test_load_returns_pairs_in_order_with_checksums(tmp_path: Path) -> None:
    directory = write_tree(tmp_path / "m", SMALL_TREE)
    loaded = load(directory)
    assert [(m.version, m.name) for m in loaded] == [
        (1, "create_accounts"),
        (2, "add_account_name"),
        (3, "create_notes"),
    ]
    assert loaded[0].down_path == directory / "000001_create_accounts.down.sql"
    assert all(len(m.checksum) == 64 for m in loaded)
    assert len({m.checksum for m in loaded}) == 3


def test_missing_directory_holds_no_migrations(tmp_path: Path) -> None:
    assert load(tmp_path / "nowhere") == []


def test_non_sql_files_are_ignored(tmp_path: Path) -> None:
    directory = write_tree(tmp_path / "m", {**SMALL_TREE, "README.md": "notes"})
    assert len(load(directory)) == 3


@pytest.mark.parametrize(
    "name",
    [
        "1_create.up.sql",
        "000004_Create.up.sql",
        "000004_create.sql",
        "000004-create.up.sql",
        "000004_create.upp.sql",
    ],
)
def test_malformed_name_is_named(tmp_path: Path, name: str) -> None:
    directory = write_tree(tmp_path / "m", {**SMALL_TREE, name: "SELECT 1;"})
    with pytest.raises(MalformedFileName, match=name.replace(".", r"\.")) as info:
        load(directory)
    assert info.value.path == directory / name


def test_duplicate_number_names_both_files(tmp_path: Path) -> None:
    directory = write_tree(
        tmp_path / "m",
        {**SMALL_TREE, "000003_other.up.sql": "SELECT 1;", "000003_other.down.sql": "SELECT 1;"},
    )
    with pytest.raises(DuplicateVersion, match="duplicate migration number 000003") as info:
        load(directory)
    assert directory / "000003_other.up.sql" in info.value.paths
    assert directory / "000003_create_notes.up.sql" in info.value.paths


def test_missing_down_file_is_named(tmp_path: Path) -> None:
    files = {k: v for k, v in SMALL_TREE.items() if k != "000002_add_account_name.down.sql"}
    directory = write_tree(tmp_path / "m", files)
    with pytest.raises(MissingDownFile, match=r"000002_add_account_name\.down\.sql") as info:
        load(directory)
    assert info.value.path == directory / "000002_add_account_name.up.sql"


def test_missing_up_file_is_named(tmp_path: Path) -> None:
    files = {k: v for k, v in SMALL_TREE.items() if k != "000003_create_notes.up.sql"}
    directory = write_tree(tmp_path / "m", files)
    with pytest.raises(MissingUpFile, match=r"000003_create_notes\.up\.sql"):
        load(directory)


def test_gap_in_numbering_is_named(tmp_path: Path) -> None:
    directory = write_tree(
        tmp_path / "m",
        {**SMALL_TREE, "000005_later.up.sql": "SELECT 1;", "000005_later.down.sql": "SELECT 1;"},
    )
    with pytest.raises(VersionGap, match=r"000005_later\.up\.sql.*expected number 000004"):
        load(directory)


def test_numbering_starts_at_one(tmp_path: Path) -> None:
    directory = write_tree(
        tmp_path / "m", {"000002_x.up.sql": "SELECT 1;", "000002_x.down.sql": "SELECT 1;"}
    )
    with pytest.raises(VersionGap, match="expected number 000001"):
        load(directory)


def test_fixtures_group_by_version_in_name_order(tmp_path: Path) -> None:
    loaded = load(write_tree(tmp_path / "m", SMALL_TREE))
    fixtures = write_tree(
        tmp_path / "f",
        {"000001_b.sql": "", "000001_a.sql": "", "000003_notes.sql": "", "notes.txt": ""},
    )
    assert fixture_files(fixtures, loaded) == {
        1: [fixtures / "000001_a.sql", fixtures / "000001_b.sql"],
        3: [fixtures / "000003_notes.sql"],
    }


def test_fixture_for_unknown_version_is_named(tmp_path: Path) -> None:
    loaded = load(write_tree(tmp_path / "m", SMALL_TREE))
    fixtures = write_tree(tmp_path / "f", {"000009_orphan.sql": ""})
    with pytest.raises(FixtureError, match=r"000009_orphan\.sql.*does not exist"):
        fixture_files(fixtures, loaded)


def test_malformed_fixture_name_is_named(tmp_path: Path) -> None:
    loaded = load(write_tree(tmp_path / "m", SMALL_TREE))
    fixtures = write_tree(tmp_path / "f", {"seed.sql": ""})
    with pytest.raises(MalformedFileName, match=r"seed\.sql"):
        fixture_files(fixtures, loaded)


def test_missing_fixtures_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FixtureError, match="does not exist"):
        fixture_files(tmp_path / "nope", [])


def test_no_transaction_marker_must_open_the_file() -> None:
    assert runs_outside_transaction("\n-- txstore:no-transaction\nCREATE INDEX CONCURRENTLY i;")
    assert not runs_outside_transaction("SELECT 1;\n-- txstore:no-transaction\n")
    assert not runs_outside_transaction("")


def test_snake_case() -> None:
    assert snake_case("Add Users.email") == "add_users_email"
    assert snake_case("addUserEmail") == "add_user_email"
    assert snake_case("  --  ") == ""
