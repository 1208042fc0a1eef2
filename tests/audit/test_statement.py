"""The single statement of an upsert, on a table of the test's own (audit/_statement.py).

The reference application's upsert has no ``DO UPDATE ... WHERE`` of its own
and no table alias; these hand-declared queries have both, and run in both
shapes of the statement on a real server.
"""

from __future__ import annotations

import asyncio
import dataclasses
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
from audit._statement import Statement, derive, raced
from audit.errors import NoSingleStatement
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
async def old_new(request: pytest.FixtureRequest, pg: store.PgStore) -> bool:
    """The shape of the statements: RETURNING OLD (PostgreSQL 18 only), or a locked lookup."""
    returning: bool = request.param
    if returning and not (await pg.server_version()).returning_old_new:
        pytest.skip("RETURNING OLD needs PostgreSQL 18")
    return returning


@pytest.fixture
def statement(old_new: bool) -> Statement:
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


#: Raise several settings, never lower one: the rows come from arrays (unnest), filtered
#: by the authorization marker, and the DO UPDATE has a WHERE of its own.
RAISE_MANY = Query(
    name="raise_settings",
    kind=Kind.MANY,
    sql=(
        "INSERT INTO app.settings AS s (key, value, note)\n"
        "SELECT u.key, u.value, $3 FROM unnest($1::text[], $2::int[]) AS u(key, value)\n"
        "WHERE TRUE /*authorize_filter*/\n"
        "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, note = EXCLUDED.note\n"
        "WHERE s.value < EXCLUDED.value\n"
        "RETURNING *"
    ),
    params=(Param("keys", "text[]"), Param("values", "integer[]"), Param("note", "text", True)),
    decode=_setting,
    source="app/settings.sql:20",
    tables=("settings",),
    mutates="settings",
    columns=_COLUMNS,
    authorize_filter="u",
)
#: Add to two settings, creating them at the amount: rows of VALUES, a DO UPDATE that
#: reads the row it replaces (applied twice, it would add twice).
ADD_TWO: Query[None] = Query(
    name="add_to_settings",
    kind=Kind.EXECROWS,
    sql=(
        "INSERT INTO app.settings (key, value) VALUES ($1, $2), ($3, $4)\n"
        "ON CONFLICT (key) DO UPDATE SET value = settings.value + EXCLUDED.value"
    ),
    params=(
        Param("first", "text"),
        Param("first_amount", "integer"),
        Param("second", "text"),
        Param("second_amount", "integer"),
    ),
    decode=None,
    source="app/settings.sql:30",
    tables=("settings",),
    mutates="settings",
)


def _bulk(query: Query[Any], old_new: bool) -> Statement:
    return derive(
        query,
        model=Setting,
        fields={"key": Field.TRACK, "value": Field.TRACK, "note": Field.IGNORE},
        statement="UPSERT",
        lookup=None,
        lookup_args=(),
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


#: What the authorization layer replaces with its predicate (authz.MARKER).
MARKER = "TRUE /*authorize_filter*/"


def _allowing_all(statement: Statement) -> Query[Any]:
    """The statement as the authorization layer would run it for a subject allowed every row."""
    return dataclasses.replace(statement.query, sql=statement.query.sql.replace(MARKER, "TRUE"))


async def test_a_bulk_upsert_records_a_create_per_inserted_row_and_a_write_per_updated_one(
    pg: store.PgStore, old_new: bool, db_dsn: str
) -> None:
    bulk = _bulk(RAISE_MANY, old_new)
    assert bulk.bound == ("user_id",)
    query = _allowing_all(bulk)
    await pg.fetch_many(query, (["a", "b"], [1, 2], "first", ACTOR))
    # a is raised, b is not (its own WHERE), c is new: one statement, mixed.
    rows = await pg.fetch_many(query, (["a", "b", "c"], [5, 1, 7], "second", ACTOR))
    assert sorted((r.key, r.value, r.note) for r in rows) == [
        ("a", 5, "second"),
        ("c", 7, "second"),
    ]
    assert sorted(await _log(db_dsn), key=lambda e: (e[1], e[0])) == [
        ("a", "create", {"key": {"old": None, "new": "a"}, "value": {"old": None, "new": 1}}),
        ("b", "create", {"key": {"old": None, "new": "b"}, "value": {"old": None, "new": 2}}),
        ("c", "create", {"key": {"old": None, "new": "c"}, "value": {"old": None, "new": 7}}),
        ("a", "write", {"value": {"old": 1, "new": 5}}),
    ]


async def test_a_bulk_upsert_of_rows_of_values_records_each_row_against_the_row_it_replaced(
    pg: store.PgStore, old_new: bool, db_dsn: str
) -> None:
    bulk = _bulk(ADD_TWO, old_new)
    assert await pg.execute_rows(bulk.query, ("x", 3, "y", 4, ACTOR)) == 2
    assert await pg.execute_rows(bulk.query, ("y", 10, "z", 1, ACTOR)) == 2
    entries = await _log(db_dsn)
    assert sorted(e for e in entries if e[1] == "write") == [
        ("y", "write", {"value": {"old": 4, "new": 14}})
    ]
    assert sorted(e[0] for e in entries if e[1] == "create") == ["x", "y", "z"]


async def test_a_bulk_upsert_filtered_in_its_statement_leaves_a_denied_row_alone(
    pg: store.PgStore, old_new: bool, db_dsn: str
) -> None:
    # The authorization layer fills its predicate where the marker is: a row the subject
    # may not write is neither inserted, nor updated, nor recorded, nor taken for a race.
    bulk = _bulk(RAISE_MANY, old_new)
    await pg.fetch_many(_allowing_all(bulk), (["denied"], [1], None, ACTOR))
    filtered = dataclasses.replace(
        bulk.query, sql=bulk.query.sql.replace(MARKER, "u.key NOT IN ('denied', 'hidden')")
    )
    rows = await pg.fetch_many(filtered, (["denied", "fresh", "hidden"], [9, 9, 9], None, ACTOR))
    assert [r.key for r in rows] == ["fresh"]
    filtered = dataclasses.replace(
        bulk.query, sql=bulk.query.sql.replace(MARKER, "u.key = 'fresh'")
    )
    assert [r.key for r in await pg.fetch_many(filtered, (["hidden"], [9], None, ACTOR))] == []
    conn = await asyncpg.connect(db_dsn)
    try:
        settings = await conn.fetch("SELECT key, value FROM app.settings ORDER BY key")
    finally:
        await conn.close()
    assert [(r["key"], r["value"]) for r in settings] == [("denied", 1), ("fresh", 9)]
    assert sorted((e[0], e[1]) for e in await _log(db_dsn)) == [
        ("denied", "create"),
        ("fresh", "create"),
    ]


async def test_a_bulk_upsert_with_a_failing_row_writes_nothing(
    pg: store.PgStore, old_new: bool, db_dsn: str
) -> None:
    query = _allowing_all(_bulk(RAISE_MANY, old_new))
    await pg.fetch_many(query, (["a"], [1], None, ACTOR))
    with pytest.raises(store.errors.NotNullViolation):
        # b's value is NULL: the whole statement fails, a is neither raised nor recorded.
        await pg.fetch_many(query, (["a", "b"], [5, None], None, ACTOR))
    assert [e[1] for e in await _log(db_dsn)] == ["create"]
    assert (await pg.fetch_one(GET, ("a",))).value == 1


async def test_a_bulk_upsert_that_meets_a_row_it_cannot_see_fails_whole(
    pg: store.PgStore, db_dsn: str
) -> None:
    # Before PostgreSQL 18: a row committed after the statement's snapshot is invisible
    # to its lock, yet ON CONFLICT waits for it and would update it. The statement must
    # then write nothing at all (no made-up create, no unrecorded update) and say so.
    bulk = _bulk(ADD_TWO, False)
    assert bulk.rerun_when_raced
    assert not bulk.rerun_when_empty
    other = await asyncpg.connect(db_dsn)
    watcher = await asyncpg.connect(db_dsn)
    try:
        tx = other.transaction()
        await tx.start()
        await other.execute("INSERT INTO app.settings (key, value) VALUES ('late', 100)")
        running = asyncio.create_task(pg.execute_rows(bulk.query, ("early", 1, "late", 1, ACTOR)))
        while not await watcher.fetchval(  # noqa: ASYNC110  # no notification to wait on
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"
        ):
            await asyncio.sleep(0.01)
        await tx.commit()
        with pytest.raises(store.errors.DatabaseError) as failed:
            await asyncio.wait_for(running, 30)
        settings = await watcher.fetch("SELECT key, value FROM app.settings ORDER BY key")
    finally:
        await other.close()
        await watcher.close()
    assert raced(failed.value)
    assert 'relation "txstore_audit_upsert_raced_1" does not exist' in str(failed.value)
    assert [(r["key"], r["value"]) for r in settings] == [("late", 100)]
    assert await _log(db_dsn) == []
    # A new statement sees the row: a write against it, the early row a create.
    assert await pg.execute_rows(bulk.query, ("early", 1, "late", 1, ACTOR)) == 2
    assert sorted((e[0], e[1], e[2]) for e in await _log(db_dsn)) == [
        (
            "early",
            "create",
            {"key": {"old": None, "new": "early"}, "value": {"old": None, "new": 1}},
        ),
        ("late", "write", {"value": {"old": 100, "new": 101}}),
    ]


@pytest.mark.parametrize(
    ("sql", "why"),
    [
        (
            "INSERT INTO app.settings (key, value) VALUES ($1, 1), ($2, 2)\n"
            "ON CONFLICT ON CONSTRAINT settings_pkey DO UPDATE SET value = EXCLUDED.value",
            "ON CONFLICT ON CONSTRAINT",
        ),
        (
            "INSERT INTO app.settings VALUES ($1, 1), ($2, 2)\n"
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            "must name its columns",
        ),
        (
            "INSERT INTO app.settings (key, value) VALUES ($1, 1), ($2, 2)\n"
            "ON CONFLICT (key) WHERE value > 0 DO UPDATE SET value = EXCLUDED.value",
            "no index predicate",
        ),
        (
            "INSERT INTO app.settings (key, value) VALUES ($1, DEFAULT), ($2, 2)\n"
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            "no DEFAULT",
        ),
        (
            "INSERT INTO app.settings (value, note) SELECT 1, $1 || $2\n"
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            "conflict column 'key'",
        ),
        (
            "INSERT INTO app.settings (key, value) VALUES ($1, 1), ($2, 2)\n"
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, key = EXCLUDED.key || 'x'",
            "must not set a conflict column",
        ),
        (
            "INSERT INTO app.settings (key, value) VALUES ($1, 1), ($2, 2)\n"
            "ON CONFLICT (key) DO UPDATE SET (value, note) = (EXCLUDED.value, 'n')",
            "must not set a conflict column",
        ),
    ],
)
def test_a_bulk_upsert_the_statement_cannot_lock_by_its_columns_is_refused(
    sql: str, why: str
) -> None:
    query = dataclasses.replace(
        ADD_TWO, sql=sql, params=(Param("first", "text"), Param("second", "text"))
    )
    with pytest.raises(NoSingleStatement, match=why):
        _bulk(query, False)
    assert not _bulk(query, True).rerun_when_raced  # RETURNING OLD needs no lock
