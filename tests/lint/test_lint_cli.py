"""``txstore lint``: output format, exit codes, ignores, and the repository itself."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from store._cli import _COMMANDS
from store._lint import Project, all_rules
from store._lint.cli import main

REPO = Path(__file__).resolve().parents[2]

PYPROJECT = """\
[tool.txstore]

[tool.txstore.lint]
forbidden = { store = ["authz"] }
"""

VIOLATIONS = {
    "store/__init__.py": "",
    "store/_b.py": "x = 1\nimport authz\n",
    "store/_a.py": """\
        import authz


        async def f(store):
            await store.in_tx(lambda tx: store.ping())
        """,
    "authz/__init__.py": "",
}


def _write(root: Path, files: dict[str, str], pyproject: str = PYPROJECT) -> Path:
    for relpath, text in {"pyproject.toml": pyproject, **files}.items():
        (root / relpath).parent.mkdir(parents=True, exist_ok=True)
        (root / relpath).write_text(textwrap.dedent(text))
    return root


def test_findings_are_printed_sorted_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(tmp_path, VIOLATIONS)
    assert main(["--root", str(tmp_path), "--rule", "imports", "--rule", "outer-store-in-tx"]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        "store/_a.py:1: imports: store must not import authz (import authz)",
        "store/_a.py:5: outer-store-in-tx: in_tx closure '<lambda>' uses the outer store "
        "'store'; use the transaction parameter 'tx'",
        "store/_b.py:2: imports: store must not import authz (import authz)",
    ]
    assert err == "txstore lint: 3 finding(s)\n"


def test_clean_tree_prints_ok_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(tmp_path, {"store/__init__.py": "import os\n"})
    # generated-current has its own tests; a tree without queries has nothing generated
    assert main(["--root", str(tmp_path), "--skip", "generated-current"]) == 0
    out, _ = capsys.readouterr()
    assert out == f"ok: {len(all_rules()) - 1} rules, 1 Python files, no findings\n"


def test_per_file_and_inline_ignores(tmp_path: Path) -> None:
    pyproject = PYPROJECT + 'per-file-ignores = { "store/_b*.py" = ["imports"] }\n'
    files = {
        **VIOLATIONS,
        "store/_a.py": "import authz  # txstore-lint: ignore[imports] -- the one allowed edge\n",
    }
    _write(tmp_path, files, pyproject)
    assert main(["--root", str(tmp_path), "--rule", "imports"]) == 0


def test_syntax_errors_are_findings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(tmp_path, {"store/__init__.py": "def broken(:\n"})
    assert main(["--root", str(tmp_path), "--rule", "imports"]) == 1
    assert capsys.readouterr().out.startswith("store/__init__.py:1: syntax: ")


def test_unknown_rule_and_missing_project_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--root", str(tmp_path), "--rule", "nope"]) == 2
    assert main(["--root", str(tmp_path)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "txstore lint: unknown rule(s): nope",
        f"txstore lint: {tmp_path}/pyproject.toml: no [tool.txstore] table (given by --root)",
    ]


def test_every_rule_has_an_id_and_a_description() -> None:
    rules = all_rules()
    assert [r.ID for r in rules] == sorted({r.ID for r in rules})
    assert all(r.DESCRIPTION for r in rules)


def test_lint_is_a_txstore_command() -> None:
    assert _COMMANDS["lint"] == "store._lint.cli"


def test_the_repository_is_clean(capsys: pytest.CaptureFixture[str]) -> None:
    """``txstore lint`` on this checkout exits 0.

    Depends on every rule's inputs in the framework: the import boundaries of
    store/authz/audit/migrations and the migrations and fixtures its tests use
    (the reference application, linted as its own project by its own tests).
    """
    assert Project(REPO).root == REPO
    code = main(["--root", str(REPO)])
    out, _ = capsys.readouterr()
    assert code == 0, out


def test_an_undecodable_file_is_one_finding_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(tmp_path, VIOLATIONS)
    (tmp_path / "store/_c.py").write_bytes(b"x = 1\n# caf\xe9\n")  # Latin-1, no coding line
    assert main(["--root", str(tmp_path), "--rule", "imports"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert "store/_c.py:2: syntax: not utf-8: byte at offset 11" in out
    # The inline-ignore reader reads it too (a finding in it is checked for ignores).
    (tmp_path / "store/_c.py").write_bytes(b"import authz  # caf\xe9\n")
    assert main(["--root", str(tmp_path), "--rule", "imports"]) == 1
