"""Project settings: the ``[tool.txstore]`` table of the application's ``pyproject.toml``.

Every command and the pytest plugin read the application's settings through
:func:`load_config`. The table is found from a start directory upwards (the
current directory for commands, pytest's rootdir for the plugin), or exactly
in the directory ``--root`` names. There is no fallback: a project without the
table gets a one-line :class:`~store.errors.ConfigError`, never another
project's migrations.
"""

from __future__ import annotations

import argparse
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from store.errors import ConfigError

__all__ = ["PATH_KEYS", "TABLE_KEYS", "Config", "config_for", "find_pyproject", "load_config"]

#: Path settings and their defaults, relative to the directory of ``pyproject.toml``.
PATH_KEYS: dict[str, str] = {
    "migrations": "db/migrations",
    "fixtures": "db/fixtures",
    "queries": "db/queries",
    "schema_dump": "db/schema.sql",
}

#: Sub-tables other parts of txstore read (``[tool.txstore.lint]``, ...).
TABLE_KEYS: frozenset[str] = frozenset({"lint", "naming", "gen"})

#: Plain string settings that are not paths.
STRING_KEYS: frozenset[str] = frozenset({"demo", "generated"})


@dataclass(frozen=True)
class Config:
    """One application's settings, with every path made absolute.

    ``table`` is the raw ``[tool.txstore]`` table, for the sub-tables
    (``lint``, ``naming``, ``gen``) that their own modules validate.
    """

    root: Path
    pyproject: Path
    migrations: Path
    fixtures: Path
    queries: Path
    schema_dump: Path
    generated_dir: Path | None = None
    demo: str | None = None
    table: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def generated(self) -> Path:
        """Where ``txstore gen`` writes the typed module (``generated``, a package directory).

        Raises:
            ConfigError: the application did not set ``generated``.
        """
        if self.generated_dir is None:
            raise ConfigError(
                f"{self.pyproject}: [tool.txstore] generated is not set; name the package "
                'directory txstore gen writes, e.g. generated = "myapp/db"'
            )
        return self.generated_dir


def _txstore_table(pyproject: Path) -> dict[str, Any] | None:
    try:
        document = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{pyproject}: not valid TOML: {exc}") from None
    tool = document.get("tool")
    table = tool.get("txstore") if isinstance(tool, dict) else None
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(f"{pyproject}: [tool.txstore] must be a table")
    return table


def find_pyproject(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` with a ``[tool.txstore]`` table in ``start`` or above it."""
    start = start.resolve()
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file() and _txstore_table(candidate) is not None:
            return candidate
    return None


def load_config(start: Path | None = None, *, root: Path | None = None) -> Config:
    """Read the application's ``[tool.txstore]`` settings.

    With ``root``, the table must be in ``root/pyproject.toml`` (a command's
    ``--root DIR``); otherwise the nearest ``pyproject.toml`` holding the table
    in ``start`` (default: the current directory) or a parent is used.

    Raises:
        ConfigError: no such table, unreadable TOML, an unknown key or a value
            of the wrong type; the message names the file and the key.
    """
    if root is not None:
        pyproject = root.resolve() / "pyproject.toml"
        if not pyproject.is_file() or _txstore_table(pyproject) is None:
            raise ConfigError(f"{pyproject}: no [tool.txstore] table (given by --root)")
    else:
        where = (start or Path.cwd()).resolve()
        found = find_pyproject(where)
        if found is None:
            raise ConfigError(
                f"no pyproject.toml with a [tool.txstore] table in {where} or any parent; "
                "run from your project or pass --root DIR"
            )
        pyproject = found
    table = _txstore_table(pyproject) or {}
    known = PATH_KEYS.keys() | TABLE_KEYS | STRING_KEYS
    for key, value in table.items():
        if key not in known:
            raise ConfigError(
                f"{pyproject}: [tool.txstore] has unknown key {key!r}; "
                f"known keys: {', '.join(sorted(known))}"
            )
        if key in TABLE_KEYS and not isinstance(value, dict):
            raise ConfigError(f"{pyproject}: [tool.txstore] {key} must be a table")
        if (key in PATH_KEYS or key in STRING_KEYS) and not isinstance(value, str):
            raise ConfigError(f"{pyproject}: [tool.txstore] {key} must be a string")
    base = pyproject.parent
    paths = {key: base / str(table.get(key, default)) for key, default in PATH_KEYS.items()}
    demo = table.get("demo")
    generated = table.get("generated")
    return Config(
        root=base,
        pyproject=pyproject,
        generated_dir=base / generated if isinstance(generated, str) else None,
        demo=demo if isinstance(demo, str) else None,
        table=table,
        **paths,
    )


def config_for(args: argparse.Namespace) -> Config:
    """The settings a command runs with: ``--root DIR`` when given, else found from the cwd.

    Raises:
        ConfigError: as :func:`load_config`.
    """
    root: Path | None = getattr(args, "root", None)
    return load_config(root=root) if root is not None else load_config()
