"""Project settings from ``[tool.txstore]`` in the nearest ``pyproject.toml``."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Config", "load_config"]


@dataclass(frozen=True)
class Config:
    """Where a project keeps its migrations, fixtures, queries and schema dump."""

    root: Path
    migrations: Path
    fixtures: Path
    queries: Path
    schema_dump: Path
    generated: Path


def _find_pyproject(start: Path) -> Path | None:
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file() and "[tool.txstore]" in candidate.read_text():
            return candidate
    return None


def load_config(start: Path | None = None) -> Config:
    """Read ``[tool.txstore]`` from the nearest ``pyproject.toml`` above ``start``.

    Falls back to the txstore checkout this module lives in, so the reference
    schema works from any directory.
    """
    pyproject = _find_pyproject((start or Path.cwd()).resolve()) or _find_pyproject(
        Path(__file__).resolve().parent
    )
    if pyproject is None:
        raise FileNotFoundError("no pyproject.toml with a [tool.txstore] table found")
    table = tomllib.loads(pyproject.read_text())["tool"]["txstore"]
    root = pyproject.parent

    def path(key: str, default: str) -> Path:
        return root / str(table.get(key, default))

    return Config(
        root=root,
        migrations=path("migrations", "schema/migrations"),
        fixtures=path("fixtures", "schema/fixtures"),
        queries=path("queries", "queries"),
        schema_dump=path("schema_dump", "schema/schema.sql"),
        generated=path("generated", "db"),
    )
