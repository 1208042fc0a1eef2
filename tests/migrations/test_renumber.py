"""Renumbering new migrations after a branch merge."""

from __future__ import annotations

import subprocess
from pathlib import Path

from migrations import load, renumber


def touch(directory: Path, *names: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        (directory / name).write_text(f"-- {name}\n")


def pair(version: int, name: str) -> tuple[str, str]:
    return f"{version:06d}_{name}.up.sql", f"{version:06d}_{name}.down.sql"


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_new_migrations_move_after_committed_ones_in_order(tmp_path: Path) -> None:
    migrations = tmp_path / "m"
    fixtures = tmp_path / "f"
    main = [*pair(1, "base"), *pair(2, "theirs_a"), *pair(3, "theirs_b")]
    mine = [*pair(2, "mine_a"), *pair(3, "mine_b")]
    touch(migrations, *main, *mine)
    touch(fixtures, "000002_theirs.sql", "000002_mine.sql", "000003_mine_b.sql")
    committed = {*main, "000002_theirs.sql"}

    renames = renumber(migrations, fixtures, committed=committed)

    assert {(old.name, new.name) for old, new in renames} == {
        ("000002_mine_a.up.sql", "000004_mine_a.up.sql"),
        ("000002_mine_a.down.sql", "000004_mine_a.down.sql"),
        ("000003_mine_b.up.sql", "000005_mine_b.up.sql"),
        ("000003_mine_b.down.sql", "000005_mine_b.down.sql"),
        ("000002_mine.sql", "000004_mine.sql"),
        ("000003_mine_b.sql", "000005_mine_b.sql"),
    }
    assert [m.name for m in load(migrations)] == [
        "base",
        "theirs_a",
        "theirs_b",
        "mine_a",
        "mine_b",
    ]
    assert names(fixtures) == ["000002_theirs.sql", "000004_mine.sql", "000005_mine_b.sql"]
    assert (migrations / "000004_mine_a.up.sql").read_text() == "-- 000002_mine_a.up.sql\n"


def test_nothing_moves_when_new_migrations_already_come_last(tmp_path: Path) -> None:
    migrations = tmp_path / "m"
    touch(migrations, *pair(1, "base"), *pair(2, "mine"))
    assert renumber(migrations, None, committed=set(pair(1, "base"))) == []
    assert renumber(migrations, None, committed=set()) == []


def test_a_new_migration_after_a_gap_closes_it(tmp_path: Path) -> None:
    migrations = tmp_path / "m"
    touch(migrations, *pair(1, "base"), *pair(5, "mine"))
    renames = renumber(migrations, None, committed=set(pair(1, "base")))
    assert [new.name for _, new in renames] == ["000002_mine.down.sql", "000002_mine.up.sql"]


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def test_committed_means_tracked_in_git_head(tmp_path: Path) -> None:
    migrations = tmp_path / "schema" / "migrations"
    fixtures = tmp_path / "schema" / "fixtures"
    touch(migrations, *pair(1, "base"), *pair(2, "theirs"))
    touch(fixtures, "000002_theirs.sql")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "main")
    touch(migrations, *pair(2, "mine"))
    touch(fixtures, "000002_mine.sql")

    renames = renumber(migrations, fixtures)

    assert {new.name for _, new in renames} == {
        "000003_mine.up.sql",
        "000003_mine.down.sql",
        "000003_mine.sql",
    }
    assert [m.name for m in load(migrations)] == ["base", "theirs", "mine"]
