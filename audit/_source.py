"""Where the entries of the declarative tables are, so a problem can name its line."""

from __future__ import annotations

import ast
import functools
from pathlib import Path
from types import ModuleType

__all__ = ["Located", "locate"]


class Located:
    """Line numbers of one table module: assignments, dict keys, ``Auditable`` calls."""

    def __init__(self, path: Path) -> None:
        cwd = Path.cwd()
        self.file = path.relative_to(cwd).as_posix() if path.is_relative_to(cwd) else str(path)
        self.assignments: dict[str, int] = {}
        self.keys: dict[tuple[str, str], int] = {}  # (assigned name, dict key) -> line
        self.tables: dict[str, int] = {}  # Auditable(table=...) -> line
        self.fields: dict[tuple[str, str], int] = {}  # (table, field) -> line
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            target, value = _assignment(node)
            if target is None or value is None:
                continue
            self.assignments[target] = node.lineno
            if isinstance(value, ast.Dict):
                for key in value.keys:
                    if isinstance(key, ast.Constant) and isinstance(key.value, str):
                        self.keys[(target, key.value)] = key.lineno
        for call in ast.walk(tree):
            if isinstance(call, ast.Call) and _name(call.func) == "Auditable":
                self._auditable(call)

    def _auditable(self, call: ast.Call) -> None:
        keywords = {k.arg: k.value for k in call.keywords}
        table = keywords.get("table")
        if not (isinstance(table, ast.Constant) and isinstance(table.value, str)):
            return
        self.tables[table.value] = call.lineno
        fields = keywords.get("fields")
        if isinstance(fields, ast.Dict):
            for key in fields.keys:
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    self.fields[(table.value, key.value)] = key.lineno

    def line(self, *candidates: int | None) -> int:
        """The first known line among ``candidates``, else 1."""
        return next((c for c in candidates if c), 1)


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    return node.attr if isinstance(node, ast.Attribute) else None


def _assignment(node: ast.stmt) -> tuple[str | None, ast.expr | None]:
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return node.target.id, node.value
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
        return (target.id if isinstance(target, ast.Name) else None), node.value
    return None, None


@functools.cache
def _located(path: Path) -> Located:
    return Located(path)


def locate(source: ModuleType | Path) -> Located:
    """The line map of a module's source file, or of a file (parsed once)."""
    if isinstance(source, ModuleType):
        assert source.__file__ is not None
        source = Path(source.__file__)
    return _located(source.resolve())
