"""Property: the diff built in SQL is ``audit.diff()``, entry by entry, on every auditable model.

Random old and new rows of each auditable table (JSON documents included)
are made typed values by PostgreSQL itself (``jsonb_populate_record`` of the table's row type), in a
session whose time zone is not UTC; the SQL diff (audit/_statement.py) runs
over them, and ``audit.diff`` over the same rows as asyncpg returns them.
"""

from __future__ import annotations

import datetime
import enum
import ipaddress
import json
import types
import typing
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import audit
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, JsonValue

from workspaces.auditing import TABLE

_CHARACTERS = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
_TEXT = st.text(_CHARACTERS, max_size=6)
_ZONES = st.sampled_from([datetime.UTC, datetime.timezone(datetime.timedelta(hours=5, minutes=45))])
_TIMES = st.datetimes(
    min_value=datetime.datetime(1, 1, 2),
    max_value=datetime.datetime(9999, 12, 30),
    timezones=_ZONES,
)


# JSON documents as a jsonb column holds them: no NUL in text, finite numbers,
# booleans beside the numbers they equal in Python (True == 1).
_JSON: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=6,
)

_V4 = (ipaddress.IPv4Address, ipaddress.IPv4Interface, ipaddress.IPv4Network)
_V6 = (ipaddress.IPv6Address, ipaddress.IPv6Interface, ipaddress.IPv6Network)


def _values(annotation: Any) -> st.SearchStrategy[Any]:
    """Values of a model field, as JSON text PostgreSQL's input functions read."""
    origin = typing.get_origin(annotation)
    if annotation is JsonValue:
        return _JSON
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        inner: st.SearchStrategy[Any] = st.one_of([_values(a) for a in members])
        return st.none() | inner if type(None) in typing.get_args(annotation) else inner
    if origin is list:
        (item,) = typing.get_args(annotation)
        return st.lists(_values(item), max_size=3)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return st.sampled_from([m.value for m in annotation])
    plain: dict[Any, st.SearchStrategy[Any]] = {
        bool: st.booleans(),
        int: st.integers(-(2**31), 2**31 - 1),
        str: _TEXT,
        uuid.UUID: st.uuids().map(str),
        bytes: st.binary(max_size=10).map(lambda b: "\\x" + b.hex()),
        datetime.datetime: _TIMES.map(lambda t: t.isoformat()),
        **{kind: st.ip_addresses(v=4).map(str) for kind in _V4},
        **{kind: st.ip_addresses(v=6).map(str) for kind in _V6},
    }
    return plain[annotation]


def _pair(model: type[BaseModel]) -> st.SearchStrategy[tuple[dict[str, Any], dict[str, Any]]]:
    """An old row and a new one that keeps some of the old row's values."""
    fields = {n: _values(f.annotation) for n, f in model.model_fields.items()}
    old = st.fixed_dictionaries(fields)
    changed = st.fixed_dictionaries({n: st.booleans() for n in fields})

    @st.composite
    def pair(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
        before = draw(old)
        fresh = draw(st.fixed_dictionaries(fields))
        which = draw(changed)
        return before, {n: fresh[n] if which[n] else before[n] for n in fields}

    return pair()


@pytest_asyncio.fixture
async def conn(db_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection in a time zone with a 45-minute offset (not UTC), jsonb decoded."""
    connection = await asyncpg.connect(db_dsn)
    await connection.execute("SET TimeZone = 'Asia/Kathmandu'")
    # JSON values decoded as the store decodes them (json.loads), not left as text.
    await connection.set_type_codec(
        "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
    )
    try:
        yield connection
    finally:
        await connection.close()


async def _both(
    conn: asyncpg.Connection, entry: audit.Auditable, old: dict[str, Any], new: dict[str, Any]
) -> None:
    table = '"' + entry.table + '"'
    fields = entry.classification()
    cases = (
        ("update", lambda c: f'o."{c}"', lambda c: f'n."{c}"'),
        ("create", None, lambda c: f'n."{c}"'),
        ("delete", lambda c: f'o."{c}"', None),
    )
    for label, before, after in cases:
        sql = audit.diff_sql(entry.model, fields, old=before, new=after)
        # The table name comes from the application's classification table.
        select = (
            f"SELECT ({sql})::text AS diff, to_jsonb(o) AS o_row, o.*, n.* "  # noqa: S608
            f"FROM jsonb_populate_record(NULL::{table}, $1::jsonb) AS o, "
            f"jsonb_populate_record(NULL::{table}, $2::jsonb) AS n"
        )
        row = await conn.fetchrow(select, old, new)  # the codec writes the JSON
        assert row is not None
        names = list(entry.model.model_fields)
        values = list(row.values())[2:]
        old_model = entry.model.model_validate(dict(zip(names, values[: len(names)], strict=True)))
        new_model = entry.model.model_validate(dict(zip(names, values[len(names) :], strict=True)))
        python = audit.diff_json(
            audit.diff(
                old_model if before is not None else None,
                new_model if after is not None else None,
                fields=fields,
            )
        )
        assert _strict(json.loads(row["diff"])) == _strict(python), (label, entry.table)


def _strict(value: Any) -> Any:
    """``value`` with its booleans tagged, so ``==`` never finds ``true`` equal to ``1``."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strict(v) for v in value]
    return value


def _case(entry: audit.Auditable) -> Any:
    @settings(
        max_examples=30,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(rows=_pair(entry.model))
    async def test(conn: asyncpg.Connection, rows: tuple[dict[str, Any], dict[str, Any]]) -> None:
        await _both(conn, entry, *rows)

    test.__doc__ = f"The SQL diff of {entry.table} rows is audit.diff()."
    return test


# One test per auditable model of the application's classification table.
for _entry in TABLE:
    globals()[f"test_sql_diff_equals_python_diff_for_{_entry.table}"] = _case(_entry)


_APP = next(e for e in TABLE if e.table == "oauth2_provider_apps")
_APP_ROW = {
    "id": str(uuid.UUID(int=1)),
    "organization_id": str(uuid.UUID(int=2)),
    "name": "app",
    "callback_url": "https://example.com",
    "icon": "",
    "created_at": "2026-12-02T10:00:00+00:00",
    "updated_at": "2026-12-02T10:00:00+00:00",
}


async def test_a_json_number_becoming_the_boolean_it_equals_in_python_is_a_change(
    conn: asyncpg.Connection,
) -> None:
    old = {**_APP_ROW, "metadata": {"verified": 1}}
    new = {**_APP_ROW, "metadata": {"verified": True}}
    await _both(conn, _APP, old, new)  # the same diff in SQL and Python
    old_model = _APP.model.model_validate(old)
    new_model = _APP.model.model_validate(new)
    changes = audit.diff(old_model, new_model, fields=_APP.classification())
    assert list(changes) == ["metadata"]


async def test_a_json_null_and_an_sql_null_are_the_same_value_in_the_sql_diff(
    conn: asyncpg.Connection,
) -> None:
    # asyncpg reads both as None, so audit.diff() sees no change; the SQL agrees.
    sql = audit.diff_sql(
        _APP.model,
        _APP.classification(),
        old=lambda c: "'null'::jsonb" if c == "metadata" else f"n.{c}",
        new=lambda c: f"n.{c}",
    )
    select = f"SELECT ({sql})::text FROM jsonb_populate_record(NULL::oauth2_provider_apps, $1) AS n"  # noqa: S608
    assert json.loads(await conn.fetchval(select, {**_APP_ROW, "metadata": None})) == {}
    changed = {**_APP_ROW, "metadata": {"a": None}}
    assert json.loads(await conn.fetchval(select, changed)) == {
        "metadata": {"old": None, "new": {"a": None}}
    }
