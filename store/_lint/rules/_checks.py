"""Configured project checks: ``audit-table``, ``authz-policies`` and any others.

``[tool.txstore.lint] checks`` names functions by ``"module:function"``, either
as a list (the rule id is derived: ``audit:check_table`` -> ``audit-table``) or
as a table ``{ rule-id = "module:function" }``. Each function takes no
arguments and returns problems with ``file``, ``line`` and ``message``. They are
imported by name, never statically, so ``store`` keeps to its import
boundaries. A configured check that cannot be imported or crashes is a finding.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import ModuleType
from typing import cast

from store._lint._finding import Finding
from store._lint._project import Project

__all__ = ["DESCRIPTION", "ID", "check"]

ID = "checks"
DESCRIPTION = "configured project checks (audit table completeness, authorization policies, ...)"


def _stale(project: Project, top: str) -> dict[str, ModuleType]:
    """Modules of package ``top`` imported from another tree than the one being linted."""
    module = sys.modules.get(top)
    in_root = (project.root / top / "__init__.py").is_file() or (
        project.root / f"{top}.py"
    ).is_file()
    if module is None or not in_root:
        return {}
    origin = Path(getattr(module, "__file__", None) or project.root).resolve()
    if origin.is_relative_to(project.root):
        return {}
    return {n: m for n, m in sys.modules.items() if n == top or n.startswith(top + ".")}


def _load(project: Project, target: str) -> Callable[[], Iterable[object]]:
    """Import ``module:function`` from the linted tree (``--root`` may be another checkout)."""
    module_name, _, function = target.partition(":")
    if not module_name or not function:
        raise ValueError(f"expected 'module:function', got {target!r}")
    stale = _stale(project, module_name.partition(".")[0])
    for name in stale:
        del sys.modules[name]
    sys.path.insert(0, str(project.root))
    try:
        module = importlib.import_module(module_name)
    finally:
        sys.path.remove(str(project.root))
        sys.modules.update(stale)  # the running program keeps the modules it had
    found = getattr(module, function, None)
    if not callable(found):
        raise AttributeError(f"module {module_name} has no function {function}")
    return cast(Callable[[], Iterable[object]], found)


def _problem(project: Project, rule: str, problem: object) -> Finding:
    file = getattr(problem, "file", None) or "pyproject.toml"
    line = getattr(problem, "line", None)
    message = getattr(problem, "message", None) or str(problem)
    path = project.relative(file if isinstance(file, Path) else str(file))
    return Finding(path, line if isinstance(line, int) and line > 0 else 1, rule, str(message))


def _run(project: Project, rule: str, target: str) -> Iterator[Finding]:
    config_line = project.line_of(project.pyproject, target)
    try:
        function = _load(project, target)
    except (ImportError, AttributeError, ValueError) as error:
        yield Finding(
            "pyproject.toml",
            config_line,
            rule,
            f"configured check {target!r} is not available: {error}",
        )
        return
    try:
        problems = list(function())
    except Exception as error:  # a crashing check is reported, not fatal
        yield Finding(
            "pyproject.toml",
            config_line,
            rule,
            f"configured check {target!r} raised {type(error).__name__}: {error}",
        )
        return
    for problem in problems:
        yield _problem(project, rule, problem)


def check(project: Project) -> Iterable[Finding]:
    """Run every configured check, one rule id per check."""
    for rule, target in project.settings.checks.items():
        yield from _run(project, rule, target)
