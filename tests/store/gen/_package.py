"""A generated package written to disk, the checks an application would run on it, and
the comparison with a corpus's golden files."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[3]
BIN = Path(sys.executable).parent


def write_package(files: dict[str, str], tmp_path: Path, name: str) -> Path:
    """Write ``txstore gen``'s files as the package ``name`` under ``tmp_path``."""
    package = tmp_path / name
    package.mkdir()
    for file, text in files.items():
        (package / file).write_text(text, encoding="utf-8")
    return package


def _run(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # mypy does not follow the editable install's import hook: point it at the checkout.
    env = {**os.environ, "MYPYPATH": str(ROOT)}
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False, env=env)


async def assert_imports_type_checks_and_lints(package: Path) -> None:
    """``package`` imports, passes ``mypy --strict`` and the project's ruff settings."""
    name, cwd = package.name, package.parent
    imported = await asyncio.to_thread(
        _run, sys.executable, "-c", f"import {name}.queries", cwd=cwd
    )
    assert imported.returncode == 0, imported.stderr
    mypy = await asyncio.to_thread(
        _run, str(BIN / "mypy"), "--strict", "--no-incremental", name, cwd=cwd
    )
    assert mypy.returncode == 0, mypy.stdout
    ruff = await asyncio.to_thread(
        _run,
        str(BIN / "ruff"),
        "check",
        "--config",
        str(ROOT / "pyproject.toml"),
        str(package),
        cwd=cwd,  # as in an application: txstore (store) is a third-party package
    )
    assert ruff.returncode == 0, ruff.stdout


def assert_matches_golden(files: dict[str, str], expected_dir: Path) -> None:
    """``files`` are the ``*.golden`` files of ``expected_dir``, file for file.

    With ``TXSTORE_UPDATE_GOLDEN`` set, they are written there first (a refresh).
    """
    if os.environ.get("TXSTORE_UPDATE_GOLDEN"):
        for name, text in files.items():
            (expected_dir / f"{name}.golden").write_text(text, encoding="utf-8")
    expected = {
        p.name.removesuffix(".golden"): p.read_text() for p in expected_dir.glob("*.golden")
    }
    assert sorted(files) == sorted(expected)
    for name, text in files.items():
        assert text == expected[name], f"{name} differs; TXSTORE_UPDATE_GOLDEN=1 refreshes it"
