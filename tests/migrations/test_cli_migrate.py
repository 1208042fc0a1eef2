"""``txstore migrate``: each sub-command end to end, errors as one line on stderr."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from urllib.parse import quote

import pytest

from migrations._dsn import Dsn
from store import _cli_migrate
from store._localpg import free_port
from store.testing import TestServer

#: A password holding every character some DSN form treats specially, and its pieces.
ODD = "Odd/pw?x#y@z:q w'v\\u"
ODD_PIECES = (ODD, "Odd/", "pw?x", "x#y", "y@z", "z:q", "w'v", "Odd")


def project(root: Path) -> Path:
    (root / "pyproject.toml").write_text(
        '[tool.txstore]\nmigrations = "db/migrations"\nfixtures = "db/fixtures"\n'
        'schema_dump = "db/schema.sql"\n'
    )
    return root


async def migrate(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    _cli_migrate.add_arguments(parser)
    return await asyncio.to_thread(_cli_migrate.run, parser.parse_args(argv))


@pytest.fixture
def in_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(project(tmp_path))
    monkeypatch.delenv("TXSTORE_DSN", raising=False)
    return tmp_path


async def test_author_apply_inspect_and_revert(
    in_project: Path,
    empty_db_dsn: str,
    pg_server: TestServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert await migrate("create", "create accounts") == 0
    up_file = in_project / "db/migrations/000001_create_accounts.up.sql"
    up_file.write_text("CREATE TABLE accounts (id integer PRIMARY KEY);\n")
    (in_project / "db/migrations/000001_create_accounts.down.sql").write_text(
        "DROP TABLE accounts;"
    )
    assert await migrate("create-fixture", "one account") == 0
    (in_project / "db/fixtures/000001_one_account.sql").write_text(
        "INSERT INTO accounts VALUES (1);"
    )
    capsys.readouterr()

    assert await migrate("up", "--with-fixtures", "--dsn", empty_db_dsn) == 0
    assert capsys.readouterr().out == "applied 000001_create_accounts\n"

    monkeypatch.setenv("TXSTORE_DSN", empty_db_dsn)
    assert await migrate("status") == 0
    out = capsys.readouterr().out
    assert out.startswith("database at 000001: 1 applied, 0 pending\n")
    assert "applied  000001_create_accounts" in out

    if pg_server.binaries is not None:
        monkeypatch.setenv("TXSTORE_PG_BINDIR", str(pg_server.binaries.bindir))
    assert await migrate("dump") == 0
    assert "CREATE TABLE public.accounts" in (in_project / "db/schema.sql").read_text()
    assert await migrate("dump", "--check") == 0

    assert await migrate("down") == 0
    assert capsys.readouterr().out.endswith("reverted 000001_create_accounts\n")
    assert await migrate("dump", "--check") == 2  # not at head: refuses to compare
    assert "run `txstore migrate up`" in capsys.readouterr().err
    assert await migrate("goto", "1") == 0
    assert capsys.readouterr().out == "applied 000001_create_accounts\n"


async def test_missing_dsn_is_a_usage_error(
    in_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await migrate("status") == 2
    err = capsys.readouterr().err
    assert err == "txstore migrate: no database given; pass --dsn URL or set TXSTORE_DSN\n"


async def test_migration_error_is_one_line_without_traceback(
    in_project: Path, empty_db_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = in_project / "db/migrations"
    directory.mkdir(parents=True)
    (directory / "000001_bad.up.sql").write_text("SELECT 1;\nSELECT nope;\n")
    (directory / "000001_bad.down.sql").write_text("")
    assert await migrate("up", "--dsn", empty_db_dsn) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"{directory / '000001_bad.up.sql'}:2: statement" in err
    assert "Traceback" not in err


async def test_bad_tree_is_reported_by_status(
    in_project: Path, empty_db_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = in_project / "db/migrations"
    directory.mkdir(parents=True)
    (directory / "000001_only_up.up.sql").write_text("SELECT 1;")
    assert await migrate("status", "--dsn", empty_db_dsn) == 1
    assert "000001_only_up.up.sql: missing down file" in capsys.readouterr().err


def _keyword(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@pytest.mark.parametrize(
    "dsn",
    [
        f"postgresql://app:{quote(ODD, safe='')}@127.0.0.1:{{port}}/db",
        f"postgres://app:{quote(ODD, safe='')}@127.0.0.1:{{port}}/db",
        f"postgresql://app@127.0.0.1:{{port}}/db?password={quote(ODD, safe='')}",
        f"host=127.0.0.1 port={{port}} user=app dbname=db password={_keyword(ODD)}",
        f"postgresql://app:{quote(ODD, safe='')}@127.0.0.1:{{port}},127.0.0.1:{{port}}/db",
        f"postgresql://app:{ODD}@127.0.0.1:{{port}}/db",  # raw: malformed
        f"postgresql://app:{quote(ODD, safe='')}@127.0.0.1:99999999/db",
        f"host=127.0.0.1 port={{port}} password='{ODD}",  # the quote is never closed
    ],
    ids=["url", "postgres", "query", "keywords", "multi-host", "raw", "huge-port", "unclosed"],
)
@pytest.mark.parametrize("command", ["status", "up", "down", "goto", "dump"])
async def test_no_dsn_form_shows_its_password(
    in_project: Path, capsys: pytest.CaptureFixture[str], dsn: str, command: str
) -> None:
    (in_project / "db/migrations").mkdir(parents=True)
    argv = [command, "0"] if command == "goto" else [command]
    assert await migrate(*argv, "--dsn", dsn.replace("{port}", str(free_port()))) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("txstore migrate: ")
    assert "cannot connect to the database" in err
    for piece in ODD_PIECES:
        assert piece not in err


async def test_a_keyword_dsn_with_a_password_migrates(
    in_project: Path, empty_db_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = Dsn.parse(empty_db_dsn)
    keywords = (
        f"host={url.hosts[0]} port={url.ports[0]} dbname={url.database} "
        f"user={url.user} password={_keyword(ODD)}"  # the test server trusts, so any goes
    )
    (in_project / "db/migrations").mkdir(parents=True)
    assert await migrate("status", "--dsn", keywords) == 0
    assert capsys.readouterr().out.startswith("database at 000000")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"SELECT 1;\n-- \xe9\n", "000001_bad.up.sql:2: not valid UTF-8 (byte 0xe9 at offset 13)"),
        (b"SELECT 1;\nCOMMIT;\n", '000001_bad.up.sql:2: statement "COMMIT" controls the'),
    ],
)
async def test_refused_file_is_one_line_and_nothing_is_recorded(
    in_project: Path,
    empty_db_dsn: str,
    capsys: pytest.CaptureFixture[str],
    content: bytes,
    expected: str,
) -> None:
    directory = in_project / "db/migrations"
    directory.mkdir(parents=True)
    (directory / "000001_bad.up.sql").write_bytes(content)
    (directory / "000001_bad.down.sql").write_text("")
    assert await migrate("up", "--dsn", empty_db_dsn) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert expected in err
    assert "Traceback" not in err
    assert await migrate("status", "--dsn", empty_db_dsn) == 0
    assert capsys.readouterr().out.startswith("database at 000000: 0 applied, 1 pending\n")
