"""The codecs the store's connections get: json values, and hstore as a dict when installed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import asyncpg

import store
from store._query import Kind, Param, Query


def _first(record: Mapping[str, Any]) -> Any:
    return next(iter(record.values()))


def _echo(pg_type: str) -> Query[Any]:
    return Query(
        name=f"echo_{pg_type.replace('.', '_')}",
        kind=Kind.ONE,
        sql=f"SELECT $1::{pg_type} AS v",
        params=(Param("v", pg_type),),
        decode=_first,
        source="tests/store/test_codecs.py",
    )


async def _sql(dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def test_hstore_is_read_and_written_as_a_dict(empty_db_dsn: str) -> None:
    await _sql(empty_db_dsn, "CREATE EXTENSION hstore")
    db = await store.connect(empty_db_dsn, min_size=2, max_size=2)
    try:
        value = {"a": "1", "b": None}
        assert await db.fetch_one(_echo("hstore"), (value,)) == value
        assert await db.fetch_one(_echo("hstore[]"), ([value, {}],)) == [value, {}]
        # Every connection of the pool has the codec, not only the one that looked.
        async with db.pool.acquire() as a, db.pool.acquire() as b:
            for conn in (a, b):
                assert await conn.fetchval("SELECT 'k=>v'::hstore") == {"k": "v"}
    finally:
        await db.close()


async def test_hstore_in_another_schema_is_found(empty_db_dsn: str) -> None:
    await _sql(empty_db_dsn, "CREATE SCHEMA ext; CREATE EXTENSION hstore SCHEMA ext")
    db = await store.connect(empty_db_dsn, min_size=1, max_size=1)
    try:
        assert await db.fetch_one(_echo("ext.hstore"), ({"x": "y"},)) == {"x": "y"}
    finally:
        await db.close()


async def test_a_database_without_hstore_keeps_the_json_codecs(empty_db_dsn: str) -> None:
    db = await store.connect(empty_db_dsn, min_size=1, max_size=1)
    try:
        assert await db.fetch_one(_echo("jsonb"), ({"a": [1]},)) == {"a": [1]}
    finally:
        await db.close()


async def test_hstore_installed_after_the_pool_looked_is_read_as_text(empty_db_dsn: str) -> None:
    db = await store.connect(empty_db_dsn, min_size=1, max_size=2)
    try:
        await _sql(empty_db_dsn, "CREATE EXTENSION hstore")
        # As documented: the pool asked once; reopening the store picks the codec up.
        async with db.pool.acquire() as a, db.pool.acquire() as b:
            for conn in (a, b):
                assert await conn.fetchval("SELECT 'k=>v'::hstore") == '"k"=>"v"'
    finally:
        await db.close()


async def test_hstore_dropped_after_the_pool_looked_does_not_break_new_connections(
    empty_db_dsn: str,
) -> None:
    await _sql(empty_db_dsn, "CREATE EXTENSION hstore")
    db = await store.connect(empty_db_dsn, min_size=1, max_size=2)
    try:
        await _sql(empty_db_dsn, "DROP EXTENSION hstore")
        async with db.pool.acquire() as a, db.pool.acquire() as b:
            assert await a.fetchval("SELECT 1") == await b.fetchval("SELECT 1") == 1
    finally:
        await db.close()
