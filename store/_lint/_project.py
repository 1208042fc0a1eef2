"""The tree being linted: its paths, its ``[tool.txstore.lint]`` settings and its Python sources."""

from __future__ import annotations

import ast
import io
import tokenize
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from store._config import Config, load_config

__all__ = ["LintSettings", "Project", "SourceFile", "check_id"]

# directories that never hold project code
_ALWAYS_SKIPPED = frozenset({"__pycache__", "build", "dist", "node_modules", "venv"})


@dataclass(frozen=True)
class LintSettings:
    """``[tool.txstore.lint]``: import boundaries, excluded paths and the configured checks.

    ``forbidden`` maps a package to the packages it must not import; ``private``
    lists modules importable only from inside their parent package; ``public``
    lists packages (txstore's, say) whose private ``_name`` modules the project
    must not import at all, only their public names; ``checks``
    maps a rule id to a ``"module:function"`` returning problems; ``exclude``
    lists paths (relative to the root) whose Python files are not linted;
    ``per_file_ignores`` maps a glob (relative to the root) to rule ids not
    reported for matching files, for code that breaks a rule on purpose.
    """

    forbidden: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    private: tuple[str, ...] = ()
    public: tuple[str, ...] = ()
    checks: Mapping[str, str] = field(default_factory=dict)
    exclude: tuple[str, ...] = ()
    per_file_ignores: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> LintSettings:
        """Build settings from the parsed TOML table; raises ``ValueError`` on a malformed one."""
        forbidden = table.get("forbidden", {})
        ignores = table.get("per-file-ignores", {})
        if not isinstance(forbidden, dict) or not isinstance(ignores, dict):
            raise ValueError(
                "[tool.txstore.lint] forbidden/per-file-ignores must be tables of lists"
            )
        return cls(
            forbidden={str(k): tuple(_strings(v, f"forbidden.{k}")) for k, v in forbidden.items()},
            private=tuple(_strings(table.get("private", []), "private")),
            public=tuple(_strings(table.get("public", []), "public")),
            checks=_checks(table.get("checks", {})),
            exclude=tuple(_strings(table.get("exclude", []), "exclude")),
            per_file_ignores={
                str(k): tuple(_strings(v, f"per-file-ignores.{k}")) for k, v in ignores.items()
            },
        )


def _strings(value: object, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"[tool.txstore.lint] {key} must be a list of strings")
    return [str(v) for v in value]


def check_id(target: str) -> str:
    """The rule id of a ``"module:function"`` check: ``audit:check_table`` -> ``audit-table``."""
    module, _, function = target.partition(":")
    name = function.removeprefix("check_").replace("_", "-")
    return f"{module.split('.')[0]}-{name}"


def _checks(value: object) -> dict[str, str]:
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    return {check_id(target): target for target in _strings(value, "checks")}


@dataclass(frozen=True)
class SourceFile:
    """One parsed Python file: where it is, its dotted module name and its syntax tree."""

    path: Path
    relpath: str
    module: str
    is_package: bool
    tree: ast.Module

    @property
    def package(self) -> str:
        """The package relative imports in this file are resolved against."""
        return self.module if self.is_package else self.module.rpartition(".")[0]


class Project:
    """The tree under ``root``: its txstore paths, lint settings and Python files.

    Raises ``ConfigError`` when ``root`` has no ``pyproject.toml`` with a
    ``[tool.txstore]`` table, and ``ValueError`` for malformed lint settings.
    """

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.pyproject = self.root / "pyproject.toml"
        self.config: Config = load_config(root=self.root)
        self.settings = LintSettings.from_table(self.config.table.get("lint", {}))
        self.unparsable: list[tuple[str, int, str]] = []

    def relative(self, path: Path | str) -> str:
        """``path`` relative to the root, POSIX style; unchanged when it lies outside the root."""
        candidate = Path(path)
        if not candidate.is_absolute():
            return candidate.as_posix()
        try:
            return candidate.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return candidate.as_posix()

    def line_of(self, path: Path, needle: str) -> int:
        """The first line of ``path`` containing ``needle``, or 1 when none does."""
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return 1
        return next((n for n, text in enumerate(lines, 1) if needle in text), 1)

    def _excluded(self, relpath: str) -> bool:
        return any(
            relpath == e or relpath.startswith(e.rstrip("/") + "/") for e in self.settings.exclude
        )

    def _python_paths(self, directory: Path) -> Iterator[Path]:
        for entry in sorted(directory.iterdir()):
            relpath = entry.relative_to(self.root).as_posix()
            if self._excluded(relpath):
                continue
            if entry.is_dir():
                if entry.name.startswith(".") or entry.name in _ALWAYS_SKIPPED:
                    continue
                if entry.name.endswith(".egg-info"):
                    continue
                yield from self._python_paths(entry)
            elif entry.suffix == ".py":
                yield entry

    @cached_property
    def sources(self) -> list[SourceFile]:
        """Every Python file under the root that parses; the others land in ``unparsable``."""
        result = []
        for path in self._python_paths(self.root):
            relpath = path.relative_to(self.root).as_posix()
            try:
                tree = ast.parse(_source_text(path), filename=relpath)
            except UnicodeDecodeError as error:
                line = error.object[: error.start].count(b"\n") + 1
                self.unparsable.append(
                    (relpath, line, f"not {error.encoding}: byte at offset {error.start}")
                )
                continue
            except SyntaxError as error:
                self.unparsable.append((relpath, error.lineno or 1, error.msg))
                continue
            parts = list(path.relative_to(self.root).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts.pop()
            result.append(SourceFile(path, relpath, ".".join(parts), is_package, tree))
        return result


def _source_text(path: Path) -> str:
    """A Python file's text, decoded as Python would (UTF-8 unless a coding line says).

    Raises:
        UnicodeDecodeError: the bytes are not in that encoding.
        SyntaxError: the coding line names an unknown encoding.
    """
    data = path.read_bytes()
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    if encoding == "utf-8-sig":
        data = data.removeprefix(b"\xef\xbb\xbf")
        encoding = "utf-8"
    return data.decode(encoding)
