"""Writing the next migration pair and a fixture for the latest version."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrations import FixtureError, MalformedFileName, create, create_fixture, load


def test_create_writes_numbered_snake_cased_pairs(tmp_path: Path) -> None:
    directory = tmp_path / "migrations"
    up_path, down_path = create(directory, "Create Users")
    assert (up_path.name, down_path.name) == (
        "000001_create_users.up.sql",
        "000001_create_users.down.sql",
    )
    assert "txstore:no-transaction" in up_path.read_text()  # the header explains the marker
    assert create(directory, "addUserEmail")[0].name == "000002_add_user_email.up.sql"
    # The templates are comment-only, so the new pair loads.
    assert [m.version for m in load(directory)] == [1, 2]


def test_create_rejects_an_empty_name(tmp_path: Path) -> None:
    with pytest.raises(MalformedFileName, match="at least one letter"):
        create(tmp_path, " -- ")


def test_create_fixture_targets_the_latest_version(tmp_path: Path) -> None:
    directory = tmp_path / "migrations"
    fixtures = tmp_path / "fixtures"
    create(directory, "create users")
    create(directory, "create orgs")
    path = create_fixture(directory, fixtures, "Two Orgs")
    assert path == fixtures / "000002_two_orgs.sql"
    header = path.read_text()
    assert "000002_create_orgs" in header
    assert "same transaction" in header


def test_create_fixture_needs_a_migration(tmp_path: Path) -> None:
    with pytest.raises(FixtureError, match="no migrations yet"):
        create_fixture(tmp_path / "migrations", tmp_path / "fixtures", "seed")


def test_create_fixture_does_not_overwrite(tmp_path: Path) -> None:
    directory = tmp_path / "migrations"
    create(directory, "create users")
    create_fixture(directory, tmp_path / "fixtures", "seed")
    with pytest.raises(FixtureError, match="already exists"):
        create_fixture(directory, tmp_path / "fixtures", "seed")
