"""docs/application.md works as written: its files and commands, in order, on real PostgreSQL.

The page's code blocks whose first line is ``# file: PATH`` or ``-- file: PATH``
are written to a new project directory; its ``sh`` blocks are run there, one
command a line, with the ``txstore`` and ``python`` of this environment.
``pip install`` lines are the one thing not run: txstore is already installed
here (the wheel job, ``scripts/check-wheel.sh``, checks a real install).
``txstore`` commands get ``$TXSTORE_DSN`` (a fresh empty database of the test
server) and the project's own test run gets ``$TXSTORE_TEST_DSN`` (the server).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from store.testing import TestServer

PAGE = Path(__file__).resolve().parents[2] / "docs" / "application.md"
_BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
_FILE = re.compile(r"^(?:#|--) file: (\S+)\n")


def _steps(text: str) -> list[tuple[str, str]]:
    """``("file", path + "\\n" + content)`` and ``("sh", command)`` in page order."""
    steps: list[tuple[str, str]] = []
    for lang, body in _BLOCK.findall(text):
        named = _FILE.match(body)
        if named:
            steps.append(("file", f"{named.group(1)}\n{body[named.end() :]}"))
        elif lang == "sh":
            steps.extend(("sh", line) for line in body.splitlines() if line.strip())
    return steps


def _run(command: str, cwd: Path, env: dict[str, str]) -> None:
    argv = shlex.split(command)
    if argv[0] == "txstore":
        argv[0] = str(Path(sys.executable).parent / "txstore")
    elif argv[0] == "python":
        argv[0] = sys.executable
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"`{command}` failed:\n{done.stdout}\n{done.stderr}"


def test_the_page_has_files_and_commands() -> None:
    steps = _steps(PAGE.read_text(encoding="utf-8"))
    files = {body.partition("\n")[0] for kind, body in steps if kind == "file"}
    commands = [body for kind, body in steps if kind == "sh"]
    assert {"pyproject.toml", "notes/policies.py", "tests/test_notes.py"} <= files
    assert {"txstore gen", "txstore lint", "python -m pytest -q"} <= set(commands)


def test_the_page_runs_start_to_finish(
    tmp_path: Path, pg_server: TestServer, empty_db_dsn: str
) -> None:
    project = tmp_path / "notes-project"
    project.mkdir()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("TXSTORE_", "PYTEST_", "PYTHON"))
    }
    env |= {"TXSTORE_DSN": empty_db_dsn, "TXSTORE_TEST_DSN": pg_server.admin_dsn}
    ran: list[str] = []
    for kind, body in _steps(PAGE.read_text(encoding="utf-8")):
        if kind == "file":
            path, _, content = body.partition("\n")
            (project / path).parent.mkdir(parents=True, exist_ok=True)
            (project / path).write_text(content, encoding="utf-8")
        elif re.match(r"(python -m )?pip install", body):
            continue
        else:
            _run(body, project, env)
            ran.append(body)
    # What the commands were to leave behind.
    assert (project / "notes" / "db" / "queries.py").is_file()
    assert (project / "db" / "schema.sql").read_text(encoding="utf-8").count("CREATE TABLE") == 2
    assert "python -m pytest -q" in ran
