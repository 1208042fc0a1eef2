"""Property: the diff built in SQL is ``audit.diff()``, entry by entry, on every auditable model.

Random old and new rows of each auditable table are made typed values by
PostgreSQL itself (``jsonb_populate_record`` of the table's row type), in a
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
from pydantic import BaseModel

from workspaces.auditing import TABLE

_CHARACTERS = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
_TEXT = st.text(_CHARACTERS, max_size=6)
_ZONES = st.sampled_from(
    [datetime.UTC, datetime.timezone(datetime.timedelta(hours=5, minutes=45))]
)
_TIMES = st.datetimes(
    min_value=datetime.datetime(1, 1, 2),
    max_value=datetime.datetime(9999, 12, 30),
    timezones=_ZONES,
)


_V4 = (ipaddress.IPv4Address, ipaddress.IPv4Interface, ipaddress.IPv4Network)
_V6 = (ipaddress.IPv6Address, ipaddress.IPv6Interface, ipaddress.IPv6Network)


def _values(annotation: Any) -> st.SearchStrategy[Any]:
    """Values of a model field, as JSON text PostgreSQL's input functions read."""
    origin = typing.get_origin(annotation)
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
    """A connection in a time zone with a 45-minute offset (not UTC)."""
    connection = await asyncpg.connect(db_dsn)
    await connection.execute("SET TimeZone = 'Asia/Kathmandu'")
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
        row = await conn.fetchrow(
            select,
            json.dumps(old),
            json.dumps(new),
        )
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
        assert json.loads(row["diff"]) == python, (label, entry.table)


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
