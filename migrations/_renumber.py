"""Renumber new migrations after a branch merge, so they run after the committed ones."""

from __future__ import annotations

import subprocess
from collections import defaultdict
from pathlib import Path

from migrations._files import MigrationFile, parse_fixture_name, scan
from migrations.errors import RenumberError

__all__ = ["committed_files", "renumber"]


def committed_files(directory: Path, base: str = "HEAD") -> set[str]:
    """Names of the files in ``directory`` that git tracks at ``base``.

    Raises:
        RenumberError: git is not installed, ``directory`` is not in a git checkout,
            or ``base`` is not a commit.
    """
    if not directory.is_dir():
        return set()
    try:
        result = subprocess.run(
            ["git", "ls-tree", "-r", "--name-only", base, "--", "."],
            cwd=directory,
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise RenumberError(directory, f"cannot run git: {exc}") from exc
    if result.returncode != 0:
        raise RenumberError(directory, f"git ls-tree {base} failed: {result.stderr.strip()}")
    return {Path(line).name for line in result.stdout.splitlines() if line}


def _new_fixture_paths(
    fixtures: Path, moves: dict[int, int], committed: set[str], ambiguous: set[int]
) -> list[tuple[Path, Path]]:
    renames: list[tuple[Path, Path]] = []
    if not fixtures.is_dir():
        return renames
    for path in sorted(fixtures.iterdir()):
        parsed = parse_fixture_name(path) if path.suffix == ".sql" else None
        if parsed is None or path.name in committed:
            continue
        version, description = parsed
        if version in ambiguous:
            raise RenumberError(
                path,
                f"several new migrations are numbered {version:06d}; rename this fixture "
                "by hand to the migration it belongs to",
            )
        if version in moves:
            renames.append((path, path.with_name(f"{moves[version]:06d}_{description}.sql")))
    return renames


def renumber(
    directory: Path,
    fixtures: Path | None,
    *,
    committed: set[str] | None = None,
    base: str = "HEAD",
) -> list[tuple[Path, Path]]:
    """Move new migrations after the committed ones, keeping their order; return the renames.

    A migration is committed when one of its files is in ``committed`` (file names),
    or, when ``committed`` is None, tracked by git at ``base``. New migrations are
    numbered from one past the highest committed version, in their current order;
    their uncommitted fixtures follow them. Nothing changes when they already are.

    Raises:
        MalformedFileName: a file in ``directory`` has a malformed name.
        RenumberError: git could not list the committed files, or a new fixture's
            number is shared by several new migrations.
    """
    if committed is None:
        committed = committed_files(directory, base)
        if fixtures is not None:
            committed |= committed_files(fixtures, base)
    stems: dict[tuple[int, str], list[MigrationFile]] = defaultdict(list)
    for file in scan(directory):
        stems[(file.version, file.name)].append(file)
    new = sorted(
        key for key, files in stems.items() if not any(f.path.name in committed for f in files)
    )
    highest = max((key[0] for key in stems if key not in new), default=0)
    moves: dict[int, int] = {}
    renames: list[tuple[Path, Path]] = []
    new_versions = [version for version, _ in new]
    ambiguous = {v for v in new_versions if new_versions.count(v) > 1}
    for offset, (version, name) in enumerate(new, start=1):
        target = highest + offset
        if target == version:
            continue
        moves[version] = target
        for file in stems[(version, name)]:
            renames.append(
                (file.path, file.path.with_name(f"{target:06d}_{name}.{file.direction}.sql"))
            )
    if fixtures is not None and moves:
        renames.extend(_new_fixture_paths(fixtures, moves, committed, ambiguous))
    moving = {old for old, _ in renames}
    for old, final in renames:
        if final.exists() and final not in moving:
            raise RenumberError(final, f"exists already; cannot move {old.name} onto it")
    # Two steps, so a file never lands on a name another moving file still has.
    temporary = [(old, old.with_name(f".renumber-{old.name}")) for old, _ in renames]
    for old, tmp in temporary:
        old.rename(tmp)
    for (_, tmp), (_, final) in zip(temporary, renames, strict=True):
        tmp.rename(final)
    return renames
