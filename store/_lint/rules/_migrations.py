"""``migrations``: up/down pairs, unique contiguous numbers, and a fixture for every migration.

Pairing and numbering come from ``migrations.load``, so the lint and the
runner agree on what a valid directory is; this rule adds the fixture check
(``NNNNNN_description.sql`` in the fixtures directory for every version).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import migrations
from migrations.errors import MigrationError
from store._lint._finding import Finding
from store._lint._project import Project

__all__ = ["DESCRIPTION", "ID", "check"]

ID = "migrations"
DESCRIPTION = "migration pairs, unique contiguous numbers, a fixture for every migration"

_FIXTURE = re.compile(r"^(\d{6})_.+\.sql$")


def _error_path(error: MigrationError) -> Path | None:
    paths = getattr(error, "paths", None)
    if paths:
        return Path(paths[0])
    for attribute in ("path", "directory"):
        value = getattr(error, attribute, None)
        if isinstance(value, Path):
            return value
    return None


def _from_error(project: Project, error: MigrationError) -> Finding:
    path = _error_path(error) or project.config.migrations
    message = str(error)
    for prefix in (f"{path}: ",):
        message = message.removeprefix(prefix)
    message = message.replace(f"{project.root}/", "")
    return Finding(project.relative(path), 1, ID, message)


def _fixture_versions(fixtures: Path) -> dict[int, list[Path]]:
    found: dict[int, list[Path]] = {}
    if fixtures.is_dir():
        for path in sorted(fixtures.glob("*.sql")):
            match = _FIXTURE.match(path.name)
            if match is not None:
                found.setdefault(int(match.group(1)), []).append(path)
    return found


def _fixture_findings(project: Project, loaded: list[migrations.Migration]) -> Iterator[Finding]:
    fixtures = _fixture_versions(project.config.fixtures)
    fixtures_dir = project.relative(project.config.fixtures)
    for migration in loaded:
        if migration.version not in fixtures:
            yield Finding(
                project.relative(migration.up_path),
                1,
                ID,
                f"migration {migration.stem} has no fixture; "
                f"add {fixtures_dir}/{migration.stem}.sql",
            )
    versions = {m.version for m in loaded}
    for version, paths in sorted(fixtures.items()):
        if version not in versions:
            for path in paths:
                yield Finding(
                    project.relative(path),
                    1,
                    ID,
                    f"fixture for migration {version:06d}, which does not exist",
                )


def check(project: Project) -> Iterable[Finding]:
    """Yield the first structural problem of the migrations directory, then missing fixtures."""
    try:
        loaded = migrations.load(project.config.migrations)
    except MigrationError as error:
        return [_from_error(project, error)]
    return list(_fixture_findings(project, loaded))
