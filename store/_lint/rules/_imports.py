"""``imports``: the boundaries of ``[tool.txstore.lint]`` ``forbidden``, ``private`` and ``public``.

Every import counts: ``import x``, ``from x import y`` (as ``x`` and ``x.y``),
relative imports, and imports inside functions or ``TYPE_CHECKING`` blocks.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator

from store._lint._finding import Finding
from store._lint._project import Project, SourceFile

__all__ = ["DESCRIPTION", "ID", "check"]

ID = "imports"
DESCRIPTION = "imports across forbidden package boundaries or of private modules"


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _imported(source: SourceFile) -> Iterator[tuple[int, str, list[str]]]:
    """(line, statement as written, candidate module names) for every import in ``source``.

    ``from x import a, b`` is one statement with candidates ``x``, ``x.a`` and
    ``x.b`` (``a`` may be a submodule); ``import a, b`` is one per name.
    """
    for node in ast.walk(source.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, f"import {alias.name}", [alias.name]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = source.package.split(".") if source.package else []
                keep = len(base_parts) - (node.level - 1)
                if keep < 1:
                    continue  # beyond the top-level package: Python rejects it, nothing to resolve
                module = ".".join(p for p in (*base_parts[:keep], node.module or "") if p)
            else:
                module = node.module or ""
            names = [alias.name for alias in node.names]
            written = f"from {'.' * node.level}{node.module or ''} import {', '.join(names)}"
            candidates = [module, *(f"{module}.{n}" for n in names if n != "*")]
            yield node.lineno, written, [c for c in candidates if c.strip(".")]


def _check_source(project: Project, source: SourceFile) -> Iterator[Finding]:
    forbidden = project.settings.forbidden
    for line, written, candidates in _imported(source):
        reported: set[str] = set()
        for importer, banned in forbidden.items():
            if not _within(source.module, importer):
                continue
            for target in banned:
                if target not in reported and any(_within(c, target) for c in candidates):
                    reported.add(target)
                    yield Finding(
                        source.relpath,
                        line,
                        ID,
                        f"{importer} must not import {target} ({written})",
                    )
        for package in project.settings.public:
            hidden = next(
                (
                    c
                    for c in candidates
                    if _within(c, package)
                    and any(part.startswith("_") for part in c.split(".")[package.count(".") + 1 :])
                ),
                None,
            )
            if hidden is not None:
                yield Finding(
                    source.relpath,
                    line,
                    ID,
                    f"{hidden} is private to {package}; use its public names ({written})",
                )
        for private in project.settings.private:
            parent = private.rpartition(".")[0]
            if any(_within(c, private) for c in candidates) and not _within(source.module, parent):
                yield Finding(
                    source.relpath,
                    line,
                    ID,
                    f"{private} is private to {parent or 'its package'} ({written})",
                )
                break


def check(project: Project) -> Iterable[Finding]:
    """Yield one finding per import crossing a configured boundary."""
    for source in project.sources:
        yield from _check_source(project, source)
