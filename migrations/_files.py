"""The migrations directory: file names, pairs, numbering and checksums."""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from migrations.errors import (
    DuplicateVersion,
    FixtureError,
    MalformedFileName,
    MissingDownFile,
    MissingUpFile,
    UndecodableFile,
    VersionGap,
)

__all__ = [
    "NO_TRANSACTION_MARKER",
    "Migration",
    "MigrationFile",
    "fixture_files",
    "load",
    "scan",
    "snake_case",
]

#: First line of a file that must run outside a transaction (``CREATE INDEX CONCURRENTLY``).
NO_TRANSACTION_MARKER = "-- txstore:no-transaction"

_MIGRATION_NAME = re.compile(r"^(\d{6})_([a-z0-9][a-z0-9_]*)\.(up|down)\.sql$")
_FIXTURE_NAME = re.compile(r"^(\d{6})_([a-z0-9][a-z0-9_]*)\.sql$")
MIGRATION_PATTERN = "NNNNNN_description.up.sql / NNNNNN_description.down.sql (lower snake_case)"
FIXTURE_PATTERN = "NNNNNN_description.sql, NNNNNN being the migration's number"


def decode_text(path: Path, data: bytes) -> str:
    """``data`` (read from ``path``) as text: UTF-8, a leading byte-order mark dropped.

    Raises:
        UndecodableFile: ``data`` is not valid UTF-8; names the file, line and byte offset.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise UndecodableFile(path, exc.start, line, data[exc.start]) from exc


def read_sql(path: Path) -> str:
    """The text of a migration or fixture file.

    Raises:
        UndecodableFile: the file is not valid UTF-8.
    """
    return decode_text(path, path.read_bytes())


def checksum(path: Path) -> str:
    """sha256 (hex) of the file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def runs_outside_transaction(sql: str) -> bool:
    for line in sql.splitlines():
        if line.strip():
            return line.strip().lower() == NO_TRANSACTION_MARKER
    return False


@dataclass(frozen=True)
class MigrationFile:
    """One ``NNNNNN_description.(up|down).sql`` file, before pairing."""

    version: int
    name: str
    direction: str
    path: Path

    @property
    def stem(self) -> str:
        return f"{self.version:06d}_{self.name}"


@dataclass(frozen=True)
class Migration:
    """A validated up/down pair.

    ``checksum`` is the sha256 of the up file's bytes, recorded when it is applied.
    """

    version: int
    name: str
    up_path: Path
    down_path: Path
    checksum: str

    @property
    def stem(self) -> str:
        """``NNNNNN_description``, the file name without direction and extension."""
        return f"{self.version:06d}_{self.name}"

    def up_sql(self) -> str:
        """The up file's text."""
        return read_sql(self.up_path)

    def down_sql(self) -> str:
        """The down file's text."""
        return read_sql(self.down_path)


def scan(directory: Path) -> list[MigrationFile]:
    """Every migration file in ``directory``, sorted; duplicates and gaps are allowed here.

    Raises:
        MalformedFileName: a ``.sql`` file whose name does not match the pattern.
    """
    files: list[MigrationFile] = []
    if not directory.is_dir():
        return files
    for path in sorted(directory.iterdir()):
        if path.suffix != ".sql" or not path.is_file():
            continue
        match = _MIGRATION_NAME.match(path.name)
        if match is None:
            raise MalformedFileName(path, MIGRATION_PATTERN)
        files.append(MigrationFile(int(match.group(1)), match.group(2), match.group(3), path))
    files.sort(key=lambda f: (f.version, f.name, f.direction))
    return files


def load(directory: Path) -> list[Migration]:
    """Parse and validate the migrations in ``directory``, in version order.

    Versions must start at 1 and increase by one; each has exactly one up and one
    down file. A directory that does not exist holds no migrations.

    Raises:
        MalformedFileName: a ``.sql`` file with a name that is not ``NNNNNN_description.up.sql``
            or ``.down.sql``.
        DuplicateVersion: two migrations share a number.
        MissingDownFile: an up file without its down file.
        MissingUpFile: a down file without its up file.
        VersionGap: numbering skips a version (or does not start at 000001).
    """
    by_version: dict[int, dict[str, dict[str, Path]]] = defaultdict(dict)
    for file in scan(directory):
        by_version[file.version].setdefault(file.name, {})[file.direction] = file.path
    migrations: list[Migration] = []
    for version in sorted(by_version):
        names = by_version[version]
        if len(names) > 1:
            paths = [p for pair in names.values() for p in sorted(pair.values())]
            raise DuplicateVersion(version, paths)
        ((name, pair),) = names.items()
        stem = directory / f"{version:06d}_{name}"
        if "down" not in pair:
            raise MissingDownFile(pair["up"], stem.with_name(stem.name + ".down.sql"))
        if "up" not in pair:
            raise MissingUpFile(pair["down"], stem.with_name(stem.name + ".up.sql"))
        expected = len(migrations) + 1
        if version != expected:
            raise VersionGap(pair["up"], expected)
        migrations.append(Migration(version, name, pair["up"], pair["down"], checksum(pair["up"])))
    return migrations


def fixture_files(fixtures: Path, migrations: list[Migration]) -> dict[int, list[Path]]:
    """Fixture files by the migration version they belong to, each list in name order.

    Raises:
        FixtureError: ``fixtures`` is not a directory, or a fixture's number names no
            migration.
        MalformedFileName: a ``.sql`` file not named ``NNNNNN_description.sql``.
    """
    if not fixtures.is_dir():
        raise FixtureError(fixtures, "fixtures directory does not exist")
    known = {m.version for m in migrations}
    result: dict[int, list[Path]] = defaultdict(list)
    for path in sorted(fixtures.iterdir()):
        if path.suffix != ".sql" or not path.is_file():
            continue
        match = _FIXTURE_NAME.match(path.name)
        if match is None:
            raise MalformedFileName(path, FIXTURE_PATTERN)
        version = int(match.group(1))
        if version not in known:
            raise FixtureError(path, f"fixture for migration {version:06d}, which does not exist")
        result[version].append(path)
    return dict(result)


def parse_fixture_name(path: Path) -> tuple[int, str] | None:
    match = _FIXTURE_NAME.match(path.name)
    return (int(match.group(1)), match.group(2)) if match else None


def snake_case(name: str) -> str:
    """``"Add Users.email"`` -> ``"add_users_email"``; camelCase words are split too."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip())
    return re.sub(r"[^a-z0-9]+", "_", spaced.lower()).strip("_")
