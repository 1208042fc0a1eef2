"""Writing new files: the next migration pair and a fixture for the latest version."""

from __future__ import annotations

from pathlib import Path

from migrations._files import load, scan, snake_case
from migrations.errors import FixtureError, MalformedFileName

__all__ = ["create", "create_fixture"]

_UP_TEMPLATE = """\
-- {stem}: {title}
--
-- Runs in its own transaction. For CREATE INDEX CONCURRENTLY and the like, make
-- the first line `-- txstore:no-transaction` (statements then run one by one).

"""
_DOWN_TEMPLATE = """\
-- {stem}: undo {title}
--
-- Revert exactly what the up file does, in reverse order.

"""
_FIXTURE_TEMPLATE = """\
-- Fixture for migration {stem} ({up_name}).
--
-- Runs right after that migration, in the same transaction, when migrations run
-- with fixtures (the test suite does: up with fixtures, down, up again). Insert a
-- few realistic rows that use what this migration added or changed, so later
-- migrations are tested against data, not empty tables. Use fixed ids, not
-- random ones, so runs are repeatable.

"""


def _name_or_raise(directory: Path, name: str) -> str:
    snake = snake_case(name)
    if not snake:
        raise MalformedFileName(
            directory / f"NNNNNN_{name}.sql", "a name with at least one letter or digit"
        )
    return snake


def create(directory: Path, name: str) -> tuple[Path, Path]:
    """Write the next-numbered ``.up.sql``/``.down.sql`` pair; return their paths.

    The number is one more than the highest in ``directory`` (000001 for an empty or
    missing directory, which is created); ``name`` is snake_cased.

    Raises:
        MalformedFileName: ``name`` has no letters or digits, or an existing file in
            ``directory`` has a malformed name.
    """
    snake = _name_or_raise(directory, name)
    version = max((f.version for f in scan(directory)), default=0) + 1
    stem = f"{version:06d}_{snake}"
    directory.mkdir(parents=True, exist_ok=True)
    up_path = directory / f"{stem}.up.sql"
    down_path = directory / f"{stem}.down.sql"
    title = snake.replace("_", " ")
    up_path.write_text(_UP_TEMPLATE.format(stem=stem, title=title))
    down_path.write_text(_DOWN_TEMPLATE.format(stem=stem, title=title))
    return up_path, down_path


def create_fixture(directory: Path, fixtures: Path, name: str) -> Path:
    """Write a fixture file for the latest migration in ``directory``; return its path.

    Raises:
        FixtureError: ``directory`` holds no migration, or the fixture file exists.
        MalformedFileName, DuplicateVersion, MissingDownFile, MissingUpFile, VersionGap:
            the migrations directory is invalid (see :func:`load`), or ``name`` has no
            letters or digits.
    """
    snake = _name_or_raise(fixtures, name)
    migrations = load(directory)
    if not migrations:
        raise FixtureError(directory, "no migrations yet; create one before its fixture")
    latest = migrations[-1]
    fixtures.mkdir(parents=True, exist_ok=True)
    path = fixtures / f"{latest.version:06d}_{snake}.sql"
    if path.exists():
        raise FixtureError(path, "fixture already exists; pick another name")
    path.write_text(_FIXTURE_TEMPLATE.format(stem=latest.stem, up_name=latest.up_path.name))
    return path
