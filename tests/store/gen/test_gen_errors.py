"""Bad query files stop ``txstore gen`` with file:line and write nothing."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from store._config import Config, load_config
from store._gen import cli

MIGRATION = """
CREATE TABLE things (id bigint PRIMARY KEY, owner_id bigint NOT NULL, name text);
"""


def _project(tmp_path: Path, queries: str) -> Config:
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "000001_things.up.sql").write_text(MIGRATION)
    (tmp_path / "migrations" / "000001_things.down.sql").write_text("DROP TABLE things;\n")
    (tmp_path / "queries").mkdir()
    (tmp_path / "queries" / "things.sql").write_text(queries)
    (tmp_path / "pyproject.toml").write_text(
        "[tool.txstore]\n"
        'migrations = "migrations"\nfixtures = "fixtures"\nqueries = "queries"\n'
        'schema_dump = "schema.sql"\ngenerated = "generated"\n'
    )
    return load_config(root=tmp_path)


def _gen(config: Config, dsn: str, monkeypatch: pytest.MonkeyPatch, *, check: bool = False) -> int:
    return cli.run(argparse.Namespace(check=check, dsn=dsn, root=config.root))


GOOD = "-- name: GetThingByID :one\nSELECT * FROM things WHERE id = @id;\n"

CASES = {
    "malformed annotation": (
        GOOD + "\n-- name: get thing :one\nSELECT 1;\n",
        "things.sql:4: malformed annotation",
    ),
    "unknown kind": (
        GOOD + "\n-- name: GetThings :all\nSELECT 1;\n",
        "things.sql:4: unknown kind :all",
    ),
    "duplicate name": (GOOD + "\n" + GOOD, "things.sql:4: duplicate query name GetThingByID"),
    "server rejects the SQL": (
        GOOD + "\n-- name: ListThings :many\n-- Doc.\nSELECT id,\n  colour\nFROM things;\n",
        'things.sql:7: PostgreSQL rejected ListThings: column "colour" does not exist',
    ),
    "parser rejects the SQL": (
        GOOD + "\n-- name: ListThings :many\nSELECT id\nFROM things\nWHERE;\n",
        "things.sql:7: SQL rejected: syntax error",
    ),
    "nullable names an unknown param": (
        GOOD + "\n-- name: ListThings :many\n-- nullable: nope\nSELECT * FROM things;\n",
        "things.sql:5: -- nullable: names 'nope'",
    ),
    "marker after ORDER BY": (
        GOOD + "\n-- name: ListThings :many\nSELECT * FROM things\nORDER BY id\n"
        "-- @authorize_filter\n;\n",
        "things.sql:7: SQL rejected: syntax error",
    ),
    "ByX on a column that is not filtered": (
        "-- name: GetThingByName :one\nSELECT * FROM things WHERE id = @id;\n",
        "things.sql:1: GetThingByName is named By name",
    ),
    "ByX on a grouped query": (
        "-- name: CountThingsByOwnerID :many\n"
        "SELECT owner_id, count(*) FROM things WHERE owner_id = @owner_id GROUP BY owner_id;\n",
        "things.sql:1: CountThingsByOwnerID has GROUP BY",
    ),
    "copyfrom into a SELECT": (
        GOOD + "\n-- name: CopyThings :copyfrom\nSELECT * FROM things WHERE id = @id;\n",
        "things.sql:4: CopyThings is :copyfrom: COPY needs INSERT INTO t (a, b, ...)",
    ),
    "copyfrom with an expression": (
        "-- name: CopyThings :copyfrom\n"
        "INSERT INTO things (id, owner_id) VALUES (@id, @owner_id + 1);\n",
        "things.sql:1: CopyThings is :copyfrom: COPY copies values as they are",
    ),
    "copyfrom with RETURNING": (
        "-- name: CopyThings :copyfrom\n"
        "INSERT INTO things (id, owner_id) VALUES (@id, @owner_id) RETURNING id;\n",
        "things.sql:1: CopyThings is :copyfrom: COPY takes no WITH, ON CONFLICT or RETURNING",
    ),
    "batchone without RETURNING": (
        "-- name: RenameThings :batchone\nUPDATE things SET name = @name WHERE id = @id;\n",
        "things.sql:1: RenameThings is :batchone: an INSERT, UPDATE or DELETE needs RETURNING",
    ),
    "batch without parameters": (
        "-- name: TouchThings :batchexec\nUPDATE things SET name = 'x';\n",
        "things.sql:1: TouchThings is :batchexec but takes no parameters",
    ),
    "batchmany the server rejects": (
        "-- name: ThingsOf :batchmany\nSELECT id\nFROM things\nWHERE colour = @colour;\n",
        'things.sql:4: PostgreSQL rejected ThingsOf: column "colour" does not exist',
    ),
    "missing semicolon": (
        GOOD + "\n-- name: ListThings :many\nSELECT 1\n",
        "things.sql:5: query must end",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
async def test_bad_query_file_names_file_and_line_and_writes_nothing(
    case: str,
    empty_db_dsn: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    queries, expected = CASES[case]
    config = _project(tmp_path, queries)
    assert await _run(config, empty_db_dsn, monkeypatch) == 1
    assert expected in capsys.readouterr().err
    assert not config.generated.exists()
    assert not config.schema_dump.exists()


async def _run(config: Config, dsn: str, monkeypatch: pytest.MonkeyPatch, **kw: bool) -> int:
    import asyncio

    # cli.run drives its own event loop; keep it off the test's loop.
    return await asyncio.to_thread(_gen, config, dsn, monkeypatch, **kw)


async def test_good_names_pass_the_naming_rule(
    empty_db_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _project(
        tmp_path,
        GOOD + "\n-- name: ListThingsByOwnerIDAndName :many\n"
        "SELECT * FROM things WHERE owner_id = @owner_id AND name = @name;\n"
        "\n-- name: CountThingsPerOwner :many\n"
        "SELECT owner_id, count(*) AS things FROM things GROUP BY owner_id;\n"
        "\n-- name: CountThingsGroupedByOwner :many\n"
        "SELECT owner_id, count(*) AS things FROM things GROUP BY owner_id;\n",
    )
    assert await _run(config, empty_db_dsn, monkeypatch) == 0
    assert (config.generated / "queries.py").is_file()


async def test_check_names_stale_files_and_passes_once_written(
    empty_db_dsn: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = _project(tmp_path, GOOD)
    assert await _run(config, empty_db_dsn, monkeypatch, check=True) == 1
    err = capsys.readouterr().err
    assert "stale: generated/queries.py" in err
    assert "stale: schema.sql" in err
    assert not config.generated.exists()
    assert await _run(config, empty_db_dsn, monkeypatch) == 0
    capsys.readouterr()
    assert await _run(config, empty_db_dsn, monkeypatch, check=True) == 0
    out = capsys.readouterr()
    assert out.err == ""
    assert out.out.count("\n") == 1


async def test_failing_migration_is_one_line_and_writes_nothing(
    empty_db_dsn: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = _project(tmp_path, GOOD)
    (config.migrations / "000002_bad.up.sql").write_text("CREATE TABLE broken (id nope);\n")
    (config.migrations / "000002_bad.down.sql").write_text("DROP TABLE broken;\n")
    assert await _run(config, empty_db_dsn, monkeypatch) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "000002_bad.up.sql:1:" in err
    assert 'type "nope" does not exist' in err
    assert not config.generated.exists()


async def test_schema_without_tables_or_enums_generates_an_importable_package(
    empty_db_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _project(tmp_path, "-- name: Answer :one\nSELECT 42 AS answer;\n")
    (config.migrations / "000001_things.up.sql").write_text("SELECT 1;\n")
    assert await _run(config, empty_db_dsn, monkeypatch) == 0
    init = (config.generated / "__init__.py").read_text()
    assert "from .models import" not in init
    compile(init, "__init__.py", "exec")


async def test_every_problem_is_reported_at_once(
    empty_db_dsn: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    queries = (
        "-- name: CopyThings :copyfrom\nINSERT INTO things (id) VALUES ($1 + 1);\n\n"
        "-- name: Weird :all\nSELECT 1;\n\n"
        "-- name: Gap :many\nSELECT $2::int AS x;\n"
    )
    config = _project(tmp_path, queries)
    assert await _run(config, empty_db_dsn, monkeypatch) == 1
    err = capsys.readouterr().err
    assert "things.sql:1: CopyThings is :copyfrom: COPY copies values as they are" in err
    assert "things.sql:4: unknown kind :all" in err
    assert "things.sql:7: Gap: parameter $1 is never used" in err


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://app:S3cr/et@127.0.0.1/db",  # a raw '/' in the password
        "postgresql://app:S3cret@127.0.0.1:99999999/db",
        "host=127.0.0.1 port=1 password='S3cret pw'",  # nothing listens on port 1
    ],
    ids=["raw-slash", "huge-port", "keywords-closed-port"],
)
async def test_an_unusable_dsn_is_one_line_without_its_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], dsn: str
) -> None:
    config = _project(tmp_path, GOOD)
    assert await _run(config, dsn, monkeypatch) == 1
    err = capsys.readouterr().err
    assert err.startswith("txstore gen: nothing written: ")
    assert err.count("\n") == 1
    assert "S3cr" not in err
    assert not config.generated.exists()


async def test_query_file_that_is_not_utf8_is_named_with_line_and_offset(
    empty_db_dsn: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = _project(tmp_path, GOOD)
    (config.queries / "latin1.sql").write_bytes(
        b"-- name: ListThings :many\n-- Caf\xe9 things.\nSELECT * FROM things;\n"
    )
    assert await _run(config, empty_db_dsn, monkeypatch) == 1
    err = capsys.readouterr().err
    assert "latin1.sql:2: not valid UTF-8 (byte 0xe9 at offset 32); save the file as UTF-8" in err
    assert "Traceback" not in err
    assert not config.generated.exists()


async def test_a_generated_file_that_is_not_utf8_is_stale_not_a_crash(
    empty_db_dsn: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = _project(tmp_path, GOOD)
    assert await _run(config, empty_db_dsn, monkeypatch) == 0
    (config.generated / "queries.py").write_bytes(b"# caf\xe9\n")
    capsys.readouterr()
    assert await _run(config, empty_db_dsn, monkeypatch, check=True) == 1
    assert capsys.readouterr().err == "stale: generated/queries.py (run `txstore gen`)\n"
    assert await _run(config, empty_db_dsn, monkeypatch) == 0
    assert await _run(config, empty_db_dsn, monkeypatch, check=True) == 0


async def test_a_migration_that_fails_is_one_line(
    empty_db_dsn: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = _project(tmp_path, GOOD)
    (config.migrations / "000002_bad.up.sql").write_text("SELECT 1/0;\n")
    (config.migrations / "000002_bad.down.sql").write_text("SELECT 1;\n")
    assert await _run(config, empty_db_dsn, monkeypatch) == 1
    err = capsys.readouterr().err
    assert err.startswith("txstore gen: nothing written: ")
    assert "000002_bad.up.sql:1" in err
    assert "division by zero" in err
    assert "Traceback" not in err
