"""Applying and reverting migrations against a real, empty database."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
import textwrap
import traceback
import uuid
from pathlib import Path

import asyncpg
import pytest

from migrations import (
    AppliedVersionMissing,
    ChecksumMismatch,
    FixtureError,
    InvalidTarget,
    MigrationFailed,
    OutOfOrder,
    TransactionControl,
    UndecodableFile,
    _runner,
    down,
    goto,
    status,
    up,
)

SMALL_TREE: dict[str, str] = {
    # No IF NOT EXISTS anywhere: applying a version twice fails loudly.
    "000001_create_accounts.up.sql": """\
        CREATE TABLE accounts (
            id integer PRIMARY KEY,
            email text NOT NULL
        );
        """,
    "000001_create_accounts.down.sql": "DROP TABLE accounts;\n",
    "000002_add_account_name.up.sql": """\
        ALTER TABLE accounts ADD COLUMN name text NOT NULL DEFAULT '';
        CREATE INDEX accounts_email_idx ON accounts (email);
        """,
    "000002_add_account_name.down.sql": """\
        DROP INDEX accounts_email_idx;
        ALTER TABLE accounts DROP COLUMN name;
        """,
    "000003_create_notes.up.sql": """\
        CREATE TABLE notes (
            id integer PRIMARY KEY,
            account_id integer NOT NULL REFERENCES accounts (id),
            body text NOT NULL CHECK (body <> '')
        );
        -- a semicolon inside a function body must not split the statement
        CREATE FUNCTION note_count() RETURNS bigint LANGUAGE sql AS $$
            SELECT count(*) FROM notes;
        $$;
        """,
    "000003_create_notes.down.sql": """\
        DROP FUNCTION note_count();
        DROP TABLE notes;
        """,
}


def write_tree(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(textwrap.dedent(text))
    return directory


async def fetch(dsn: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(sql)
    finally:
        await conn.close()


async def execute(dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def user_tables(dsn: str) -> set[str]:
    rows = await fetch(
        dsn,
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        " AND tablename <> 'txstore_migrations'",
    )
    return {row["tablename"] for row in rows}


async def recorded_versions(dsn: str) -> list[int]:
    rows = await fetch(dsn, "SELECT version FROM txstore_migrations ORDER BY version")
    return [row["version"] for row in rows]


# -- the happy path ----------------------------------------------------------------------


async def test_up_down_all_the_way_and_up_again(empty_db_dsn: str, tmp_path: Path) -> None:
    directory = write_tree(tmp_path / "m", SMALL_TREE)
    assert await up(empty_db_dsn, directory=directory) == [1, 2, 3]
    assert await user_tables(empty_db_dsn) == {"accounts", "notes"}
    assert await recorded_versions(empty_db_dsn) == [1, 2, 3]

    assert await down(empty_db_dsn, directory=directory, steps=3) == [3, 2, 1]
    assert await user_tables(empty_db_dsn) == set()
    assert await recorded_versions(empty_db_dsn) == []

    assert await up(empty_db_dsn, directory=directory) == [1, 2, 3]
    assert await user_tables(empty_db_dsn) == {"accounts", "notes"}
    assert await up(empty_db_dsn, directory=directory) == []


async def test_up_to_target_then_goto_both_ways(empty_db_dsn: str, tmp_path: Path) -> None:
    directory = write_tree(tmp_path / "m", SMALL_TREE)
    assert await up(empty_db_dsn, directory=directory, target=1) == [1]
    assert await goto(empty_db_dsn, 3, directory=directory) == [2, 3]
    assert await goto(empty_db_dsn, 1, directory=directory) == [3, 2]
    assert await goto(empty_db_dsn, 1, directory=directory) == []
    assert await goto(empty_db_dsn, 0, directory=directory) == [1]
    assert await recorded_versions(empty_db_dsn) == []


async def test_down_defaults_to_one_step_and_stops_at_zero(
    empty_db_dsn: str, tmp_path: Path
) -> None:
    directory = write_tree(tmp_path / "m", SMALL_TREE)
    await up(empty_db_dsn, directory=directory)
    assert await down(empty_db_dsn, directory=directory) == [3]
    assert await down(empty_db_dsn, directory=directory, steps=10) == [2, 1]
    assert await down(empty_db_dsn, directory=directory) == []


async def test_unknown_target_is_rejected(empty_db_dsn: str, tmp_path: Path) -> None:
    directory = write_tree(tmp_path / "m", SMALL_TREE)
    with pytest.raises(InvalidTarget, match="no migration 000004"):
        await up(empty_db_dsn, directory=directory, target=4)
    with pytest.raises(InvalidTarget, match="no migration"):
        await goto(empty_db_dsn, -1, directory=directory)
    with pytest.raises(InvalidTarget, match="-1 steps"):
        await down(empty_db_dsn, directory=directory, steps=-1)


async def test_status_lists_applied_and_pending(empty_db_dsn: str, tmp_path: Path) -> None:
    directory = write_tree(tmp_path / "m", SMALL_TREE)
    before = await status(empty_db_dsn, directory=directory)
    assert (before.current, before.applied, len(before.pending)) == (0, (), 3)
    await up(empty_db_dsn, directory=directory, target=2)
    state = await status(empty_db_dsn, directory=directory)
    assert state.current == 2
    assert [(a.version, a.name) for a in state.applied] == [
        (1, "create_accounts"),
        (2, "add_account_name"),
    ]
    up_file = directory / "000001_create_accounts.up.sql"
    assert state.applied[0].checksum == hashlib.sha256(up_file.read_bytes()).hexdigest()
    assert state.applied[0].applied_at.tzinfo is not None
    assert [m.version for m in state.pending] == [3]
    assert state.problems == ()


async def test_fixtures_run_with_their_version_in_name_order(
    empty_db_dsn: str, tmp_path: Path
) -> None:
    directory = write_tree(tmp_path / "m", SMALL_TREE)
    fixtures = write_tree(
        tmp_path / "f",
        {
            "000001_a_accounts.sql": "INSERT INTO accounts (id, email) VALUES (1, 'a@x');",
            # Needs the row of the fixture before it, and runs before migration 2.
            "000001_b_more.sql": "INSERT INTO accounts SELECT id + 1, 'b@x' FROM accounts;",
            "000003_notes.sql": "INSERT INTO notes VALUES (1, 2, 'hello');",
        },
    )
    assert await up(empty_db_dsn, directory=directory, fixtures=fixtures) == [1, 2, 3]
    rows = await fetch(empty_db_dsn, "SELECT id, email, name FROM accounts ORDER BY id")
    assert [tuple(r) for r in rows] == [(1, "a@x", ""), (2, "b@x", "")]
    assert len(await fetch(empty_db_dsn, "SELECT * FROM notes")) == 1


async def test_missing_fixtures_directory_fails_before_anything_runs(
    empty_db_dsn: str, tmp_path: Path
) -> None:
    directory = write_tree(tmp_path / "m", SMALL_TREE)
    with pytest.raises(FixtureError, match="does not exist"):
        await up(empty_db_dsn, directory=directory, fixtures=tmp_path / "missing")
    assert await user_tables(empty_db_dsn) == set()


# -- concurrency ---------------------------------------------------------------------------


async def test_concurrent_runners_apply_each_migration_once(
    empty_db_dsn: str, tmp_path: Path
) -> None:
    directory = write_tree(tmp_path / "m", SMALL_TREE)
    results = await asyncio.gather(*(up(empty_db_dsn, directory=directory) for _ in range(5)))
    assert sorted(v for applied in results for v in applied) == [1, 2, 3]
    assert await recorded_versions(empty_db_dsn) == [1, 2, 3]


_RUNNER_SCRIPT = """
import asyncio, json, sys
from pathlib import Path
from migrations import up
print(json.dumps(asyncio.run(up(sys.argv[1], directory=Path(sys.argv[2])))))
"""


async def test_concurrent_processes_apply_each_migration_once(
    empty_db_dsn: str, tmp_path: Path
) -> None:
    directory = write_tree(tmp_path / "m", SMALL_TREE)
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _RUNNER_SCRIPT,
            empty_db_dsn,
            str(directory),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(3)
    ]
    outputs = await asyncio.gather(*(p.communicate() for p in processes))
    for process, (_, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr.decode()
    applied = [v for stdout, _ in outputs for v in json.loads(stdout)]
    assert sorted(applied) == [1, 2, 3]
    assert await recorded_versions(empty_db_dsn) == [1, 2, 3]


# -- failures --------------------------------------------------------------------------------


async def test_failing_statement_leaves_previous_version(empty_db_dsn: str, tmp_path: Path) -> None:
    bad = {
        "000002_bad.up.sql": """\
            CREATE TABLE half (id integer);

            INSERT INTO half VALUES (1);
            INSERT INTO no_such_table
            VALUES (1);
            """,
        "000002_bad.down.sql": "DROP TABLE half;\n",
    }
    files = {k: v for k, v in SMALL_TREE.items() if k.startswith("000001")}
    directory = write_tree(tmp_path / "m", {**files, **bad})
    with pytest.raises(MigrationFailed) as info:
        await up(empty_db_dsn, directory=directory)
    error = info.value
    assert error.path == directory / "000002_bad.up.sql"
    assert error.line == 4
    assert error.sqlstate == "42P01"
    assert str(error).startswith(f"{directory / '000002_bad.up.sql'}:4: statement ")
    assert "INSERT INTO no_such_table VALUES (1)" in str(error)
    assert 'relation "no_such_table" does not exist' in str(error)
    assert await user_tables(empty_db_dsn) == {"accounts"}
    assert await recorded_versions(empty_db_dsn) == [1]


async def test_run_time_error_without_position_is_located(
    empty_db_dsn: str, tmp_path: Path
) -> None:
    bad = {
        "000001_dupes.up.sql": """\
            CREATE TABLE t (id integer PRIMARY KEY);
            INSERT INTO t VALUES (1);
            DO $$ BEGIN PERFORM 1; END $$;
            INSERT INTO t VALUES (2),
                                 (1);
            SELECT 1;
            """,
        "000001_dupes.down.sql": "DROP TABLE t;\n",
    }
    directory = write_tree(tmp_path / "m", bad)
    with pytest.raises(MigrationFailed) as info:
        await up(empty_db_dsn, directory=directory)
    assert info.value.line == 4
    assert info.value.sqlstate == "23505"
    assert "duplicate key value" in str(info.value)
    assert "(key columns: id)" in str(info.value)  # the key's columns, never its values
    assert "(1)" not in str(info.value).partition("failed:")[2]
    assert await user_tables(empty_db_dsn) == set()


async def test_failing_fixture_names_the_fixture_and_keeps_nothing(
    empty_db_dsn: str, tmp_path: Path
) -> None:
    directory = write_tree(tmp_path / "m", SMALL_TREE)
    fixtures = write_tree(
        tmp_path / "f",
        {
            "000001_ok.sql": "INSERT INTO accounts VALUES (1, 'a@x');",
            "000003_bad.sql": (
                "INSERT INTO notes VALUES (1, 1, 'ok');\nINSERT INTO notes VALUES (2, 1, '');"
            ),
        },
    )
    with pytest.raises(MigrationFailed) as info:
        await up(empty_db_dsn, directory=directory, fixtures=fixtures)
    assert info.value.path == fixtures / "000003_bad.sql"
    assert info.value.line == 2
    assert "notes_body_check" in str(info.value)
    assert await recorded_versions(empty_db_dsn) == [1, 2]
    assert await user_tables(empty_db_dsn) == {"accounts"}


async def test_changed_applied_file_is_refused(empty_db_dsn: str, tmp_path: Path) -> None:
    directory = write_tree(tmp_path / "m", SMALL_TREE)
    await up(empty_db_dsn, directory=directory, target=2)
    edited = directory / "000001_create_accounts.up.sql"
    edited.write_text(edited.read_text() + "-- edited\n")
    with pytest.raises(ChecksumMismatch, match=r"000001_create_accounts\.up\.sql: changed after"):
        await up(empty_db_dsn, directory=directory)
    state = await status(empty_db_dsn, directory=directory)
    assert [type(p) for p in state.problems] == [ChecksumMismatch]
    # Reverting does not check checksums, so a local edit can be redone.
    assert await down(empty_db_dsn, directory=directory, steps=2) == [2, 1]
    assert await up(empty_db_dsn, directory=directory) == [1, 2, 3]


async def test_pending_version_below_applied_is_out_of_order(
    empty_db_dsn: str, tmp_path: Path
) -> None:
    directory = write_tree(tmp_path / "m", SMALL_TREE)
    await up(empty_db_dsn, directory=directory)
    # As if version 2 came in from a merge after 3 had been applied here.
    await execute(
        empty_db_dsn,
        "DROP INDEX accounts_email_idx; ALTER TABLE accounts DROP COLUMN name;"
        " DELETE FROM txstore_migrations WHERE version = 2;",
    )
    with pytest.raises(OutOfOrder, match=r"000002_add_account_name\.up\.sql: not applied") as info:
        await up(empty_db_dsn, directory=directory)
    assert info.value.highest_applied == 3
    assert "000003" in str(info.value)


async def test_applied_version_without_file_is_refused(empty_db_dsn: str, tmp_path: Path) -> None:
    directory = write_tree(tmp_path / "m", SMALL_TREE)
    await up(empty_db_dsn, directory=directory)
    older = write_tree(tmp_path / "old", {k: v for k, v in SMALL_TREE.items() if "0003" not in k})
    with pytest.raises(AppliedVersionMissing, match="version 000003 \\(create_notes\\)"):
        await up(empty_db_dsn, directory=older)
    with pytest.raises(AppliedVersionMissing):
        await down(empty_db_dsn, directory=older)


# -- outside a transaction ---------------------------------------------------------------------


async def test_no_transaction_migration_runs_concurrently_built_index(
    empty_db_dsn: str, tmp_path: Path
) -> None:
    concurrent = {
        "000002_index_email.up.sql": """\
            -- txstore:no-transaction
            CREATE INDEX CONCURRENTLY accounts_email_idx ON accounts (email);
            CREATE INDEX CONCURRENTLY accounts_id_email_idx ON accounts (id, email);
            """,
        "000002_index_email.down.sql": """\
            -- txstore:no-transaction
            DROP INDEX CONCURRENTLY accounts_id_email_idx;
            DROP INDEX CONCURRENTLY accounts_email_idx;
            """,
    }
    files = {k: v for k, v in SMALL_TREE.items() if k.startswith("000001")}
    directory = write_tree(tmp_path / "m", {**files, **concurrent})
    assert await up(empty_db_dsn, directory=directory) == [1, 2]
    rows = await fetch(
        empty_db_dsn, "SELECT indexname FROM pg_indexes WHERE tablename = 'accounts'"
    )
    assert {r["indexname"] for r in rows} >= {"accounts_email_idx", "accounts_id_email_idx"}
    assert await down(empty_db_dsn, directory=directory) == [2]
    rows = await fetch(
        empty_db_dsn, "SELECT indexname FROM pg_indexes WHERE tablename = 'accounts'"
    )
    assert {r["indexname"] for r in rows} == {"accounts_pkey"}


async def test_failing_no_transaction_migration_says_what_stayed(
    empty_db_dsn: str, tmp_path: Path
) -> None:
    concurrent = {
        "000002_index.up.sql": """\
            -- txstore:no-transaction
            CREATE INDEX CONCURRENTLY accounts_email_idx ON accounts (email);
            CREATE INDEX CONCURRENTLY missing_idx ON accounts (missing);
            """,
        "000002_index.down.sql": "DROP INDEX accounts_email_idx;\n",
    }
    files = {k: v for k, v in SMALL_TREE.items() if k.startswith("000001")}
    directory = write_tree(tmp_path / "m", {**files, **concurrent})
    with pytest.raises(MigrationFailed, match=r"000002_index\.up\.sql:3: statement") as info:
        await up(empty_db_dsn, directory=directory)
    assert "1 statement(s) before it stay applied" in str(info.value)
    assert await recorded_versions(empty_db_dsn) == [1]


# -- the runner's own session ------------------------------------------------------------

CHECK_INTERVAL_TREE = {
    # Records the interval the migration ran under, so the test can read it back.
    "000001_record_check_interval.up.sql": """\
        CREATE TABLE seen AS
            SELECT current_setting('client_connection_check_interval') AS interval;
        """,
    "000001_record_check_interval.down.sql": "DROP TABLE seen;\n",
}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", "1s"),  # the runner's default: a killed runner's statement ends within 1 s
        ("?client_connection_check_interval=100", "100ms"),  # the DSN's value stays
    ],
)
async def test_migrations_run_with_a_client_connection_check(
    empty_db_dsn: str, tmp_path: Path, query: str, expected: str
) -> None:
    directory = write_tree(tmp_path / "m", CHECK_INTERVAL_TREE)
    assert await up(empty_db_dsn + query, directory=directory) == [1]
    assert [r["interval"] for r in await fetch(empty_db_dsn, "SELECT interval FROM seen")] == [
        expected
    ]


# -- transaction control inside a file ----------------------------------------------------

ACCOUNTS_ONLY = {k: v for k, v in SMALL_TREE.items() if k.startswith("000001")}


async def assert_only_version_1(dsn: str) -> None:
    """The database exactly as after version 1: its table, its row, nothing else."""
    assert await user_tables(dsn) == {"accounts"}
    assert await recorded_versions(dsn) == [1]
    rows = await fetch(dsn, "SELECT nspname FROM pg_namespace WHERE nspname = 'kept'")
    assert rows == []
    assert await fetch(dsn, "SELECT gid FROM pg_prepared_xacts") == []


@pytest.mark.parametrize(
    ("body", "line"),
    [
        ("CREATE TABLE half (id int);\nCOMMIT;\nCREATE TABLE other (id int);\n", 2),
        ("BEGIN;\nCREATE TABLE half (id int);\nCOMMIT;\n", 1),
        ("CREATE TABLE half (id int);\nROLLBACK;\n", 2),
        ("CREATE TABLE half (id int);\nEND;\n", 2),
        ("CREATE TABLE half (id int);\nabort work;\n", 2),
        ("CREATE TABLE half (id int);\nCOMMIT AND CHAIN;\nCREATE TABLE other (id int);\n", 2),
        ("CREATE TABLE half (id int);\n/* done */ commit\n;\n", 2),
        ("START TRANSACTION;\nCREATE TABLE half (id int);\n", 1),
        ("SAVEPOINT s;\nCREATE TABLE half (id int);\nROLLBACK TO SAVEPOINT s;\n", 1),
        ("CREATE TABLE half (id int);\nSAVEPOINT s;\nRELEASE s;\n", 2),
        ("CREATE TABLE half (id int);\nPREPARE TRANSACTION 'x';\n", 2),
        ("CREATE TABLE half (id int);\nCOMMIT PREPARED 'x';\n", 2),
    ],
)
async def test_transaction_control_in_an_up_file_is_refused_and_nothing_kept(
    empty_db_dsn: str, tmp_path: Path, body: str, line: int
) -> None:
    directory = write_tree(tmp_path / "m", ACCOUNTS_ONLY)
    await up(empty_db_dsn, directory=directory)
    write_tree(
        directory, {"000002_wrap.up.sql": body, "000002_wrap.down.sql": "DROP TABLE half;\n"}
    )
    with pytest.raises(TransactionControl) as info:
        await up(empty_db_dsn, directory=directory)
    assert info.value.path == directory / "000002_wrap.up.sql"
    assert info.value.line == line
    assert str(info.value).startswith(f"{directory / '000002_wrap.up.sql'}:{line}: statement ")
    assert "nothing of this version was kept" in str(info.value)
    await assert_only_version_1(empty_db_dsn)


async def test_begin_commit_wrapper_with_a_failing_fixture_keeps_nothing(
    empty_db_dsn: str, tmp_path: Path
) -> None:
    directory = write_tree(
        tmp_path / "m",
        {
            **ACCOUNTS_ONLY,
            "000002_wrapped.up.sql": "BEGIN;\nCREATE TABLE half (id int PRIMARY KEY);\nCOMMIT;\n",
            "000002_wrapped.down.sql": "DROP TABLE half;\n",
        },
    )
    fixtures = write_tree(tmp_path / "f", {"000002_dupes.sql": "INSERT INTO half VALUES (1), (1);"})
    await up(empty_db_dsn, directory=directory, target=1)
    with pytest.raises(TransactionControl, match=r"000002_wrapped\.up\.sql:1: statement \"BEGIN\""):
        await up(empty_db_dsn, directory=directory, fixtures=fixtures)
    await assert_only_version_1(empty_db_dsn)


async def test_transaction_control_in_a_fixture_is_refused_before_any_version_runs(
    empty_db_dsn: str, tmp_path: Path
) -> None:
    directory = write_tree(tmp_path / "m", SMALL_TREE)
    fixtures = write_tree(
        tmp_path / "f",
        {"000003_notes.sql": "INSERT INTO accounts VALUES (1, 'a@x');\nCOMMIT;\n"},
    )
    with pytest.raises(TransactionControl) as info:
        await up(empty_db_dsn, directory=directory, fixtures=fixtures)
    assert (info.value.path, info.value.line) == (fixtures / "000003_notes.sql", 2)
    # Checked before the first version ran: versions 1 and 2 are not applied either.
    assert await user_tables(empty_db_dsn) == set()
    assert await recorded_versions(empty_db_dsn) == []


async def test_transaction_control_in_a_down_file_is_refused_and_nothing_reverted(
    empty_db_dsn: str, tmp_path: Path
) -> None:
    directory = write_tree(tmp_path / "m", ACCOUNTS_ONLY)
    await up(empty_db_dsn, directory=directory)
    (directory / "000001_create_accounts.down.sql").write_text("DROP TABLE accounts;\nCOMMIT;\n")
    with pytest.raises(TransactionControl, match=r"create_accounts\.down\.sql:2: statement"):
        await down(empty_db_dsn, directory=directory)
    await assert_only_version_1(empty_db_dsn)


async def test_transaction_control_in_a_no_transaction_file_is_refused(
    empty_db_dsn: str, tmp_path: Path
) -> None:
    directory = write_tree(tmp_path / "m", ACCOUNTS_ONLY)
    await up(empty_db_dsn, directory=directory)
    write_tree(
        directory,
        {
            "000002_grouped.up.sql": """\
                -- txstore:no-transaction
                CREATE INDEX CONCURRENTLY accounts_email_idx ON accounts (email);
                BEGIN;
                CREATE TABLE half (id int);
                COMMIT;
                """,
            "000002_grouped.down.sql": "DROP TABLE half;\n",
        },
    )
    with pytest.raises(TransactionControl, match=r"grouped\.up\.sql:3: .*no-transaction file"):
        await up(empty_db_dsn, directory=directory)
    await assert_only_version_1(empty_db_dsn)
    rows = await fetch(
        empty_db_dsn, "SELECT indexname FROM pg_indexes WHERE tablename = 'accounts'"
    )
    assert {r["indexname"] for r in rows} == {"accounts_pkey"}


@pytest.mark.parametrize(
    "body",
    [
        # The server refuses these inside the runner's transaction block.
        "CREATE TABLE half (id int);\nDO $$ BEGIN COMMIT; END $$;\n",
        "CREATE PROCEDURE pg_temp.done() LANGUAGE plpgsql AS $$ BEGIN COMMIT; END $$;\n"
        "CREATE TABLE half (id int);\nCALL pg_temp.done();\n",
    ],
)
async def test_commit_inside_a_block_or_procedure_fails_the_version(
    empty_db_dsn: str, tmp_path: Path, body: str
) -> None:
    directory = write_tree(tmp_path / "m", ACCOUNTS_ONLY)
    await up(empty_db_dsn, directory=directory)
    write_tree(
        directory, {"000002_block.up.sql": body, "000002_block.down.sql": "DROP TABLE half;\n"}
    )
    with pytest.raises(MigrationFailed, match="invalid transaction termination") as info:
        await up(empty_db_dsn, directory=directory)
    assert info.value.sqlstate == "2D000"
    await assert_only_version_1(empty_db_dsn)


# With standard_conforming_strings off, the server reads 'a\'' as a closed string
# (a backslash-escaped quote) where a standard reading sees one still open: the
# COMMIT after it is hidden from a scanner that ignores the setting.
HIDDEN_COMMIT = "SELECT 'a\\''; COMMIT; SELECT 'b';\n"


async def test_commit_hidden_by_legacy_strings_in_the_database_is_refused(
    empty_db_dsn: str, tmp_path: Path
) -> None:
    # Version 1 turns the setting off for new sessions, so version 2's session has it off.
    directory = write_tree(
        tmp_path / "m",
        {
            "000001_legacy_strings.up.sql": """\
                DO $$ BEGIN
                    EXECUTE format('ALTER DATABASE %I SET standard_conforming_strings = off',
                                   current_database());
                END $$;
                """,
            "000001_legacy_strings.down.sql": "SELECT 1;\n",
            "000002_sneaky.up.sql": "CREATE TABLE early (id int);\n" + HIDDEN_COMMIT,
            "000002_sneaky.down.sql": "SELECT 1;\n",
        },
    )
    with pytest.raises(TransactionControl) as info:
        await up(empty_db_dsn, directory=directory)
    assert (info.value.path, info.value.line) == (directory / "000002_sneaky.up.sql", 2)
    assert info.value.statement == "COMMIT"
    assert await user_tables(empty_db_dsn) == set()
    assert await recorded_versions(empty_db_dsn) == [1]


async def test_commit_hidden_by_legacy_strings_set_by_the_up_file_is_refused_in_its_fixture(
    empty_db_dsn: str, tmp_path: Path
) -> None:
    directory = write_tree(
        tmp_path / "m",
        {
            **ACCOUNTS_ONLY,
            "000002_legacy.up.sql": "SET LOCAL standard_conforming_strings = off;\n"
            "CREATE TABLE half (id int);\n",
            "000002_legacy.down.sql": "DROP TABLE half;\n",
        },
    )
    fixtures = write_tree(tmp_path / "f", {"000002_sneaky.sql": HIDDEN_COMMIT})
    await up(empty_db_dsn, directory=directory, target=1)
    with pytest.raises(TransactionControl) as info:
        await up(empty_db_dsn, directory=directory, fixtures=fixtures)
    assert (info.value.path, info.value.line) == (fixtures / "000002_sneaky.sql", 1)
    await assert_only_version_1(empty_db_dsn)


async def test_a_file_that_leaves_its_transaction_unseen_is_not_recorded(
    empty_db_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As if the scanner had a bug and missed the COMMIT: the runner still sees its
    # transaction replaced after the file ran, and records nothing.
    monkeypatch.setattr(_runner, "transaction_control", lambda statements: None)
    directory = write_tree(
        tmp_path / "m",
        {
            **ACCOUNTS_ONLY,
            "000002_sneaky.up.sql": "CREATE TABLE early (id int);\nCOMMIT;\nSELECT 1;\n",
            "000002_sneaky.down.sql": "SELECT 1;\n",
        },
    )
    with pytest.raises(TransactionControl) as info:
        await up(empty_db_dsn, directory=directory)
    assert info.value.path == directory / "000002_sneaky.up.sql"
    assert "ended or replaced the transaction" in str(info.value)
    assert "may have been committed; the version is not recorded" in str(info.value)
    assert await recorded_versions(empty_db_dsn) == [1]
    # What ran before the COMMIT stays: the documented limit of a check after the fact.
    assert await user_tables(empty_db_dsn) == {"accounts", "early"}


# -- each version on a clean session ---------------------------------------------------------

LEAKY_TREE = {
    # Everything a file can leave on its session, and none of it may reach version 2.
    "000001_leaky.up.sql": """\
        CREATE SCHEMA elsewhere;
        SET search_path = elsewhere, public;
        SET statement_timeout = '1min';
        SELECT set_config('app.tenant', 'acme', false);
        CREATE TEMP TABLE scratch (id int);
        PREPARE pick AS SELECT 1;
        SELECT pg_advisory_lock(42);
        LISTEN leaked;
        """,
    "000001_leaky.down.sql": "DROP SCHEMA elsewhere;\n",
    "000002_plain.up.sql": """\
        CREATE TABLE plain AS SELECT
            current_setting('search_path') AS search_path,
            current_setting('statement_timeout') AS statement_timeout,
            coalesce(current_setting('app.tenant', true), '') AS tenant,
            pg_catalog.to_regclass('pg_temp.scratch') IS NOT NULL AS temp_table,
            (SELECT count(*) FROM pg_catalog.pg_prepared_statements
              WHERE name = 'pick') AS prepared,
            (SELECT count(*) FROM pg_catalog.pg_locks
              WHERE locktype = 'advisory' AND pid = pg_catalog.pg_backend_pid()) AS advisory,
            (SELECT count(*) FROM pg_catalog.pg_listening_channels()) AS listening,
            current_setting('client_connection_check_interval') AS check_interval;
        """,
    "000002_plain.down.sql": "DROP TABLE plain;\n",
}


async def test_session_state_of_one_version_does_not_reach_the_next(
    empty_db_dsn: str, tmp_path: Path
) -> None:
    directory = write_tree(tmp_path / "m", LEAKY_TREE)
    assert await up(empty_db_dsn, directory=directory) == [1, 2]
    # The table is where a run applying version 2 alone would put it.
    rows = await fetch(empty_db_dsn, "SELECT schemaname FROM pg_tables WHERE tablename = 'plain'")
    assert [r["schemaname"] for r in rows] == ["public"]
    (seen,) = await fetch(empty_db_dsn, "SELECT * FROM public.plain")
    assert dict(seen) == {
        "search_path": '"$user", public',
        "statement_timeout": "0",
        "tenant": "",
        "temp_table": False,
        "prepared": 0,
        "advisory": 0,
        "listening": 0,
        "check_interval": "1s",  # the runner's own setting holds on every session
    }


# -- files that are not UTF-8 ------------------------------------------------------------------


async def test_non_utf8_migration_is_named_with_its_line_and_nothing_runs(
    empty_db_dsn: str, tmp_path: Path
) -> None:
    directory = write_tree(tmp_path / "m", SMALL_TREE)
    bad = directory / "000003_create_notes.up.sql"
    bad.write_bytes(b"CREATE TABLE notes (id int);\n-- caf\xe9\n")
    with pytest.raises(UndecodableFile) as info:
        await up(empty_db_dsn, directory=directory)
    assert (info.value.path, info.value.line, info.value.offset) == (bad, 2, 35)
    assert str(info.value) == (
        f"{bad}:2: not valid UTF-8 (byte 0xe9 at offset 35); save the file as UTF-8"
    )
    assert await user_tables(empty_db_dsn) == set()
    assert await recorded_versions(empty_db_dsn) == []


async def test_non_utf8_fixture_and_down_file_are_named(empty_db_dsn: str, tmp_path: Path) -> None:
    directory = write_tree(tmp_path / "m", SMALL_TREE)
    fixtures = write_tree(tmp_path / "f", {"000001_one.sql": ""})
    (fixtures / "000001_one.sql").write_bytes(b"\xff")
    with pytest.raises(UndecodableFile, match=r"000001_one\.sql:1: not valid UTF-8"):
        await up(empty_db_dsn, directory=directory, fixtures=fixtures)
    assert await recorded_versions(empty_db_dsn) == []

    await up(empty_db_dsn, directory=directory)
    (directory / "000003_create_notes.down.sql").write_bytes(b"DROP TABLE notes; -- \xc3(\n")
    with pytest.raises(UndecodableFile, match=r"create_notes\.down\.sql:1: .* at offset 21"):
        await down(empty_db_dsn, directory=directory, steps=2)
    assert await recorded_versions(empty_db_dsn) == [1, 2, 3]


async def test_a_failing_data_migration_never_quotes_the_rows(
    empty_db_dsn: str, tmp_path: Path
) -> None:
    tree = {
        "000001_users.up.sql": """\
            CREATE TABLE users (id integer PRIMARY KEY, hashed_password text NOT NULL);
            INSERT INTO users VALUES (1, 'S3CRET-hash-one'), (2, 'S3CRET-hash-one');
            """,
        "000001_users.down.sql": "DROP TABLE users;\n",
        "000002_unique.up.sql": "CREATE UNIQUE INDEX ON users (hashed_password);\n",
        "000002_unique.down.sql": "SELECT 1;\n",
        "000003_check.up.sql": "UPDATE users SET hashed_password = NULL WHERE id = 1;\n",
        "000003_check.down.sql": "SELECT 1;\n",
    }
    directory = write_tree(tmp_path / "m", {k: v for k, v in tree.items() if "3" not in k})
    await up(empty_db_dsn, directory=directory, target=1)
    with pytest.raises(MigrationFailed) as unique:
        await up(empty_db_dsn, directory=directory)
    assert unique.value.sqlstate == "23505"
    (directory / "000002_unique.up.sql").write_text("SELECT 1;\n")
    await execute(empty_db_dsn, "DELETE FROM txstore_migrations WHERE version > 1")
    write_tree(directory, {k: v for k, v in tree.items() if k.startswith("000003")})
    with pytest.raises(MigrationFailed) as not_null:
        await up(empty_db_dsn, directory=directory)
    assert not_null.value.sqlstate == "23502"
    for error in (unique.value, not_null.value):
        said = "".join(traceback.format_exception(error)) + repr(vars(error.__cause__))
        assert "S3CRET" not in f"{said} {error!r} {error.server_message}"
        assert error.line == 1


async def test_a_failing_cast_or_insert_never_quotes_the_value(
    empty_db_dsn: str, tmp_path: Path
) -> None:
    # Class 22 (data exception): the server's primary message itself quotes the value.
    tree = {
        "000001_keys.up.sql": """\
            CREATE TABLE keys (id integer PRIMARY KEY, token text NOT NULL);
            INSERT INTO keys VALUES (1, 'S3CRET-token');
            """,
        "000001_keys.down.sql": "DROP TABLE keys;\n",
        "000002_cast.up.sql": (
            "ALTER TABLE keys ALTER COLUMN token TYPE integer USING token::integer;\n"
        ),
        "000002_cast.down.sql": "SELECT 1;\n",
    }
    directory = write_tree(tmp_path / "m", tree)
    await up(empty_db_dsn, directory=directory, target=1)
    with pytest.raises(MigrationFailed) as cast:
        await up(empty_db_dsn, directory=directory)
    (directory / "000002_cast.up.sql").write_text(
        "INSERT INTO keys VALUES (2, 'x');\n"
        "INSERT INTO keys (id) SELECT token::integer FROM keys;\n"
    )
    with pytest.raises(MigrationFailed) as insert:
        await up(empty_db_dsn, directory=directory)
    for error in (cast.value, insert.value):
        assert error.sqlstate == "22P02"
        said = "".join(traceback.format_exception(error)) + repr(vars(error.__cause__))
        assert "S3CRET" not in f"{said} {error!r} {error.server_message}"
        assert "invalid input syntax for type integer" in str(error)
    assert insert.value.line == 2


async def test_a_role_one_file_takes_is_not_its_fixtures_or_the_ledgers(
    empty_db_dsn: str, tmp_path: Path
) -> None:
    role = f"txstore_r_{uuid.uuid4().hex[:10]}"
    await execute(
        empty_db_dsn, f"CREATE ROLE {role} NOLOGIN; GRANT CREATE ON SCHEMA public TO {role}"
    )
    try:
        directory = write_tree(
            tmp_path / "m",
            {
                "000001_owned.up.sql": f"SET ROLE {role};\nCREATE TABLE owned (id integer);\n",
                "000001_owned.down.sql": "DROP TABLE owned;\n",
            },
        )
        fixtures = write_tree(
            tmp_path / "f", {"000001_seed.sql": "CREATE TABLE seeded (id integer);\n"}
        )
        # The role may not write the ledger: recording the version as it fails.
        assert await up(empty_db_dsn, directory=directory, fixtures=fixtures) == [1]
        owners = {
            row["tablename"]: row["tableowner"]
            for row in await fetch(
                empty_db_dsn,
                "SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public'",
            )
        }
        runner = (await fetch(empty_db_dsn, "SELECT current_user AS u"))[0]["u"]
        assert owners == {"owned": role, "seeded": runner, "txstore_migrations": runner}
        assert await recorded_versions(empty_db_dsn) == [1]
    finally:
        await execute(
            empty_db_dsn,
            f"DROP TABLE IF EXISTS owned; REVOKE CREATE ON SCHEMA public FROM {role}; "
            f"DROP ROLE {role}",
        )
