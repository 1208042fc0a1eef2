"""The committed reference output agrees with PostgreSQL and is current."""

from __future__ import annotations

import asyncio
import datetime
import decimal
import ipaddress
import subprocess
import sys
import types
import typing
import uuid
from pathlib import Path
from typing import Any

import asyncpg
from pydantic import BaseModel, JsonValue
from store import Kind

from workspaces.db import QUERIES, Queries, models
from workspaces.db import queries as generated

ROOT = Path(__file__).resolve().parents[1]

_BASE: dict[str, object] = {
    "int2": int,
    "int4": int,
    "int8": int,
    "float8": float,
    "numeric": decimal.Decimal,
    "text": str,
    "varchar": str,
    "bool": bool,
    "uuid": uuid.UUID,
    "timestamptz": datetime.datetime,
    "date": datetime.date,
    "interval": datetime.timedelta,
    "bytea": bytes,
    "jsonb": JsonValue,
    "json": JsonValue,
    "inet": ipaddress.IPv4Address
    | ipaddress.IPv6Address
    | ipaddress.IPv4Interface
    | ipaddress.IPv6Interface,
}


async def _expected(conn: asyncpg.Connection, oid: int) -> tuple[str, object]:
    """(pg type name as Param spells it, the Python type) of a server type, independently."""
    row = await conn.fetchrow(
        "SELECT typname::text, typtype::text, typelem::int8, typbasetype::int8, typcategory::text"
        " FROM pg_type WHERE oid = $1",
        oid,
    )
    assert row is not None
    name, kind, elem, base, category = row
    if category == "A" and elem:
        inner_name, inner = await _expected(conn, elem)
        return inner_name + "[]", list[inner]  # type: ignore[valid-type]  # built at run time
    if kind == "d":
        return name, (await _expected(conn, base))[1]
    if kind == "e":
        return name, getattr(models, "".join(w.capitalize() for w in name.split("_")))
    return name, _BASE[name]


def _matches(hint: object, expected: object, nullable_ok: bool = True) -> bool:
    if hint == expected:
        return True
    # X | None is a types.UnionType, or a typing.Union when X is an alias (JsonValue)
    union = typing.get_origin(hint) in (typing.Union, types.UnionType)
    if nullable_ok and union and type(None) in typing.get_args(hint):
        rest = [a for a in typing.get_args(hint) if a is not type(None)]
        return typing.Union[tuple(rest)] == expected or (len(rest) == 1 and rest[0] == expected)  # noqa: UP007  # a runtime union
    return False


async def test_reference_queries_agree_with_the_server(db_dsn: str) -> None:
    conn = await asyncpg.connect(db_dsn)
    try:
        for method, query in QUERIES.items():
            stmt = await conn.prepare(query.sql)
            hints = typing.get_type_hints(getattr(Queries, method), vars(generated))
            params = stmt.get_parameters()
            assert len(params) == len(query.params), method
            for param, server in zip(query.params, params, strict=True):
                pg_name, py = await _expected(conn, server.oid)
                assert param.pg_type == pg_name, (method, param)
                assert _matches(hints[param.name], py, nullable_ok=param.nullable), (method, param)
                assert param.nullable == (type(None) in typing.get_args(hints[param.name]))
            attributes = stmt.get_attributes()
            if query.kind in (Kind.EXEC, Kind.EXECROWS):
                continue
            assert query.columns == tuple(a.name for a in attributes), method
            result: Any = hints["return"]
            if query.kind == Kind.MANY:
                result = typing.get_args(result)[0]
            if len(attributes) == 1:
                assert _matches(result, (await _expected(conn, attributes[0].type.oid))[1])
                continue
            assert isinstance(result, type), method
            assert issubclass(result, BaseModel), method
            fields = typing.get_type_hints(result)
            assert list(fields) == list(query.columns), method
            for attribute in attributes:
                py = (await _expected(conn, attribute.type.oid))[1]
                assert _matches(fields[attribute.name], py), (method, attribute.name)
    finally:
        await conn.close()


async def test_gen_check_passes_on_the_committed_reference_output(empty_db_dsn: str) -> None:
    txstore = Path(sys.executable).parent / "txstore"
    result = await asyncio.to_thread(
        subprocess.run,
        [str(txstore), "gen", "--check", "--dsn", empty_db_dsn],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.count("\n") == 1


def test_the_generated_module_passes_the_applications_ruff_settings() -> None:
    ruff = Path(sys.executable).parent / "ruff"
    result = subprocess.run(
        [str(ruff), "check", "--no-cache", "workspaces/db"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout


def test_the_generated_module_imports_only_public_framework_names() -> None:
    for path in (ROOT / "workspaces" / "db").glob("*.py"):
        text = path.read_text()
        assert "from store._" not in text, path.name
        assert "import store._" not in text, path.name
