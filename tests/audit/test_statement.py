"""The single statement of an upsert, on a table of the test's own (audit/_statement.py).

The reference application's upsert has no ``DO UPDATE ... WHERE`` of its own
and no table alias; these hand-declared queries have both, and run in both
shapes of the statement on a real server.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from pydantic import BaseModel

import store
from audit import Field
from audit._statement import Statement, derive
from store import Kind, Param, Query
from store.errors import NotFound

ACTOR = uuid.UUID("0b000000-0000-4000-8000-00000000000a")


class Setting(BaseModel):
    key: str
    value: int
    note: str | None


def _setting(row: Mapping[str, Any]) -> Setting:
    return Setting.model_validate(dict(row))


_COLUMNS = ("key", "value", "note")

#: Raise a setting, never lower it: the DO UPDATE has a WHERE of its own, and an alias.
RAISE = Query(
    name="raise_setting",
    kind=Kind.ONE,
    sql=(
        "INSERT INTO app.settings AS s (key, value, note) VALUES ($1, $2, $3)\n"
        "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, note = EXCLUDED.note\n"
        "WHERE s.value < EXCLUDED.value\n"
        "RETURNING *"
    ),
    params=(Param("key", "text"), Param("value", "integer"), Param("note", "text", True)),
    decode=_setting,
    source="app/settings.sql:1",
    tables=("settings",),
    mutates="settings",
    columns=_COLUMNS,
)
GET = Query(
    name="get_setting",
    kind=Kind.ONE,
    sql="SELECT * FROM app.settings WHERE key = $1",
    params=(Param("key", "text"),),
    decode=_setting,
    source="app/settings.sql:9",
    tables=("settings",),
    columns=_COLUMNS,
)
SINK: Query[None] = Query(
    name="insert_setting_log",
    kind=Kind.EXEC,
    sql=(
        "INSERT INTO app.setting_log (id, user_id, resource_id, action, diff)\n"
        "VALUES ($1, $2, $3, $4, $5)"
    ),
    params=(
        Param("id", "uuid"),
        Param("user_id", "uuid"),
        Param("resource_id", "text"),
        Param("action", "text"),
        Param("diff", "jsonb"),
    ),
    decode=None,
    source="app/settings.sql:13",
    tables=("setting_log",),
    mutates="setting_log",
)


def _statement(old_new: bool) -> Statement:
    return derive(
        RAISE,
        model=Setting,
        fields={"key": Field.TRACK, "value": Field.TRACK, "note": Field.IGNORE},
        statement="UPSERT",
        lookup=GET.for_update(),
        lookup_args=(0,),
        key=(),
        resource_type="setting",
        resource_id="key",
        resource_target=None,
        org=None,
        action="write",
        sink=SINK,
        created="create",
        old_new=old_new,
    )


@pytest_asyncio.fixture
async def pg(db_dsn: str) -> AsyncIterator[store.PgStore]:
    conn = await asyncpg.connect(db_dsn)
    try:
        await conn.execute(
            "CREATE SCHEMA app;"
            "CREATE TABLE app.settings (key text PRIMARY KEY, value integer NOT NULL, note text);"
            "CREATE TABLE app.setting_log (id uuid PRIMARY KEY, user_id uuid NOT NULL,"
            " resource_id text NOT NULL, action text NOT NULL, diff jsonb NOT NULL,"
            " at timestamptz NOT NULL DEFAULT clock_timestamp())"
        )
    finally:
        await conn.close()
    pg = await store.connect(db_dsn, max_size=2)
    try:
        yield pg
    finally:
        await pg.close()


@pytest.fixture(params=[False, True], ids=["lookup", "returning_old_new"])
async def statement(request: pytest.FixtureRequest, pg: store.PgStore) -> Statement:
    old_new: bool = request.param
    if old_new and not (await pg.server_version()).returning_old_new:
        pytest.skip("RETURNING OLD needs PostgreSQL 18")
    return _statement(old_new)


async def _log(db_dsn: str) -> list[tuple[str, str, Any]]:
    conn = await asyncpg.connect(db_dsn)
    try:
        rows = await conn.fetch("SELECT resource_id, action, diff FROM app.setting_log ORDER BY at")
    finally:
        await conn.close()
    return [(r["resource_id"], r["action"], json.loads(r["diff"])) for r in rows]


async def test_an_upsert_with_a_where_of_its_own_records_only_what_it_changed(
    pg: store.PgStore, statement: Statement, db_dsn: str
) -> None:
    async def run(value: int, note: str) -> Setting:
        return await pg.fetch_one(statement.query, ("limit", value, note, ACTOR))

    assert statement.bound == ("user_id",)
    assert (await run(5, "first")).value == 5
    assert (await run(9, "raised")).note == "raised"
    with pytest.raises(NotFound):
        await run(3, "lowered")  # the upsert's own WHERE leaves the row alone
    assert await _log(db_dsn) == [
        (
            "limit",
            "create",
            {"key": {"old": None, "new": "limit"}, "value": {"old": None, "new": 5}},
        ),
        ("limit", "write", {"value": {"old": 5, "new": 9}}),
    ]


def test_only_the_lookup_shape_runs_again_when_no_row_comes_back() -> None:
    lookup, returning = _statement(False), _statement(True)
    assert lookup.rerun_when_empty
    assert not returning.rerun_when_empty
    assert "RETURNING WITH (OLD AS" in returning.query.sql
    assert "audit_lock" not in returning.query.sql
