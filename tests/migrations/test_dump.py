"""The schema dump: stable across runs, without the bookkeeping table, checkable."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from migrations import (
    SchemaDumpError,
    SchemaDumpStale,
    UndecodableFile,
    check_schema_dump,
    dump_schema,
    up,
)
from migrations._dump import normalize_dump
from store.testing import TestServer

TREE = {
    "000001_accounts.up.sql": (
        "CREATE TABLE accounts (id integer PRIMARY KEY, email text NOT NULL CHECK (email <> ''));\n"
        "CREATE INDEX accounts_email_idx ON accounts (email);\n"
        "CREATE FUNCTION account_count() RETURNS bigint LANGUAGE sql"
        " AS $$ SELECT count(*) FROM accounts; $$;\n"
    ),
    "000001_accounts.down.sql": "DROP FUNCTION account_count();\nDROP TABLE accounts;\n",
}


def pg_dump_of(server: TestServer) -> str:
    return server.binaries.tool("pg_dump") if server.binaries else "pg_dump"


async def migrated(dsn: str, tmp_path: Path) -> None:
    directory = tmp_path / "m"
    directory.mkdir()
    for name, text in TREE.items():
        (directory / name).write_text(text)
    await up(dsn, directory=directory)


async def test_dump_is_stable_and_leaves_out_bookkeeping(
    empty_db_dsn: str, pg_server: TestServer, tmp_path: Path
) -> None:
    await migrated(empty_db_dsn, tmp_path)
    pg_dump = pg_dump_of(pg_server)
    out = tmp_path / "schema" / "schema.sql"
    first = await asyncio.to_thread(dump_schema, empty_db_dsn, out, pg_dump=pg_dump)
    second = await asyncio.to_thread(dump_schema, empty_db_dsn, tmp_path / "b.sql", pg_dump=pg_dump)
    assert first == second == out.read_text()
    assert "CREATE TABLE public.accounts" in first
    assert "accounts_email_idx" in first
    assert "txstore_migrations" not in first
    assert "Dumped" not in first
    assert not any(
        line.startswith(("SET ", "\\restrict", "SELECT pg_catalog.set_config"))
        for line in first.splitlines()
    )
    assert "\n\n\n" not in first
    assert first.endswith(");\n") or first.endswith("--\n")


async def test_check_fails_when_the_dump_is_stale(
    empty_db_dsn: str, pg_server: TestServer, tmp_path: Path
) -> None:
    await migrated(empty_db_dsn, tmp_path)
    pg_dump = pg_dump_of(pg_server)
    out = tmp_path / "schema.sql"
    with pytest.raises(SchemaDumpStale, match=r"schema\.sql: schema dump is stale"):
        await asyncio.to_thread(check_schema_dump, empty_db_dsn, out, pg_dump=pg_dump)
    await asyncio.to_thread(dump_schema, empty_db_dsn, out, pg_dump=pg_dump)
    await asyncio.to_thread(check_schema_dump, empty_db_dsn, out, pg_dump=pg_dump)

    conn = await asyncpg.connect(empty_db_dsn)
    try:
        await conn.execute("ALTER TABLE accounts ADD COLUMN nickname text")
    finally:
        await conn.close()
    with pytest.raises(SchemaDumpStale) as info:
        await asyncio.to_thread(check_schema_dump, empty_db_dsn, out, pg_dump=pg_dump)
    assert "+    nickname text" in info.value.diff


async def test_check_names_a_dump_that_is_not_utf8(
    empty_db_dsn: str, pg_server: TestServer, tmp_path: Path
) -> None:
    await migrated(empty_db_dsn, tmp_path)
    out = tmp_path / "schema.sql"
    out.write_bytes(b"--\n-- PostgreSQL database dump\n-- \xa9 2026\n")
    with pytest.raises(UndecodableFile) as info:
        await asyncio.to_thread(check_schema_dump, empty_db_dsn, out, pg_dump=pg_dump_of(pg_server))
    assert str(info.value) == (
        f"{out}:3: not valid UTF-8 (byte 0xa9 at offset 34); save the file as UTF-8"
    )


def test_missing_pg_dump_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SchemaDumpError, match="no-pg_dump not found"):
        dump_schema("postgresql://x@127.0.0.1:1/x", tmp_path / "s.sql", pg_dump="no-pg_dump")


def test_normalize_drops_unstable_lines() -> None:
    raw = (
        "--\n-- PostgreSQL database dump\n--\n\n"
        "\\restrict AbC123randomKey\n\n"
        "-- Dumped from database version 17.6 (Debian 17.6-1)\n"
        "-- Dumped by pg_dump version 17.6\n\n"
        "SET statement_timeout = 0;\nSET client_encoding = 'UTF8';\n"
        "SELECT pg_catalog.set_config('search_path', '', false);\n\n\n\n"
        "CREATE TABLE public.t (\n    id integer   \n);\n\n\n"
        "\\unrestrict AbC123randomKey\n\n"
    )
    assert normalize_dump(raw) == (
        "--\n-- PostgreSQL database dump\n--\n\nCREATE TABLE public.t (\n    id integer\n);\n"
    )
