"""Every mapped type, read and written through generated code on real data.

The corpus (``types/``) has a column of every type the generator maps, the
composite types (nested, arrays of them, over a domain, holding enums and an
hstore) and hstore itself. The tests generate the package, import it, and run
its methods over a real store: each value read must be an instance of the
field's annotation, and equal to what was written. Its output is also kept as
golden files (``TXSTORE_UPDATE_GOLDEN=1`` refreshes them).
"""

from __future__ import annotations

import datetime
import decimal
import importlib
import ipaddress
import json
import types
import typing
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from pydantic import BaseModel, JsonValue

import store
from store._gen import generate
from store._gen.errors import GenError
from tests.store.gen._package import (
    assert_imports_type_checks_and_lints,
    assert_matches_golden,
    write_package,
)

TYPES = Path(__file__).parent / "types"
EXPECTED = TYPES / "expected"


async def _files(dsn: str) -> dict[str, str]:
    files, _ = await generate(
        queries=TYPES / "queries", migration_dir=TYPES / "migrations", dsn=dsn, root=TYPES
    )
    return files


class Generated:
    """The imported generated package, and ``Queries`` over a real store."""

    def __init__(self, models: types.ModuleType, queries: Any, dsn: str) -> None:
        self.models, self.q, self.dsn = models, queries, dsn


_COUNT = iter(range(1_000_000))


@pytest.fixture
async def gen(
    empty_db_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Generated]:
    name = f"types_gen_{next(_COUNT)}"  # a fresh module per test: sys.modules caches imports
    write_package(await _files(empty_db_dsn), tmp_path, name)
    monkeypatch.syspath_prepend(str(tmp_path))
    models = importlib.import_module(f"{name}.models")
    queries = importlib.import_module(f"{name}.queries")
    db = await store.connect(empty_db_dsn, min_size=1, max_size=2)
    try:
        yield Generated(models, queries.Queries(db), empty_db_dsn)
    finally:
        await db.close()


def _conforms(value: object, hint: Any) -> bool:
    """Whether ``value`` is an instance of the (resolved) annotation ``hint``."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is None or hint is type(None):
        return value is None
    if hint is JsonValue:
        return bool(json.loads(json.dumps(value)) == value)
    if origin in (typing.Union, types.UnionType):
        return any(_conforms(value, a) for a in args)
    if origin is list:
        return isinstance(value, list) and all(_conforms(v, args[0]) for v in value)
    if origin is tuple:
        if not isinstance(value, tuple):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_conforms(v, args[0]) for v in value)
        return len(args) == len(value) and all(map(_conforms, value, args))
    if origin is dict:
        return isinstance(value, dict) and all(
            _conforms(k, args[0]) and _conforms(v, args[1]) for k, v in value.items()
        )
    if origin is not None:  # asyncpg.Range[int]: the class, and its bounds
        bounds = [b for b in (getattr(value, "lower", None), getattr(value, "upper", None)) if b]
        return isinstance(value, origin) and all(_conforms(b, args[0]) for b in bounds)
    if hint is object:
        return True
    if isinstance(hint, type) and issubclass(hint, BaseModel):
        return type(value) is hint and _model_conforms(value)
    return isinstance(value, hint)


def _model_conforms(model: BaseModel) -> bool:
    hints = typing.get_type_hints(type(model))
    return all(_conforms(getattr(model, name), hints[name]) for name in type(model).model_fields)


def _mismatches(model: BaseModel) -> list[str]:
    hints = typing.get_type_hints(type(model))
    return [
        f"{name}: {getattr(model, name)!r} is not {hints[name]}"
        for name in type(model).model_fields
        if not _conforms(getattr(model, name), hints[name])
    ]


async def test_types_corpus_matches_golden_files(empty_db_dsn: str) -> None:
    files = await _files(empty_db_dsn)
    assert_matches_golden(files, EXPECTED)


async def test_types_corpus_generates_code_that_imports_type_checks_and_lints(
    empty_db_dsn: str, tmp_path: Path
) -> None:
    package = write_package(await _files(empty_db_dsn), tmp_path, "types_gen")
    await assert_imports_type_checks_and_lints(package)


async def test_composite_types_are_generated_models_with_optional_fields(gen: Generated) -> None:
    m = gen.models
    money, item = m.MoneyAmount2, m.PricedItem  # the table money_amounts took MoneyAmount
    hints = typing.get_type_hints(item)
    assert hints["price"] == money | None
    assert hints["history"] == list[money] | None  # type: ignore[valid-type]  # a class from the generated module
    assert typing.get_type_hints(m.Feeling)["mood"] == m.Mood | None
    basket = typing.get_type_hints(m.Basket)
    assert basket["items"] == list[item]  # type: ignore[valid-type]  # as above
    assert basket["feeling"] == m.Feeling
    assert basket["cap"] == money | None  # a domain over a composite
    # NOT NULL of a domain does not hold inside a row value: Optional like every attribute.
    assert typing.get_type_hints(m.Query2)["Query_"] == str | None


async def test_composites_round_trip_through_generated_methods(gen: Generated) -> None:
    m = gen.models
    item = m.PricedItem(
        label="pen",
        price=m.MoneyAmount2(amount=decimal.Decimal("1.50"), currency="EUR"),
        history=[
            m.MoneyAmount2(amount=decimal.Decimal("2"), currency=None),
            m.MoneyAmount2(amount=None, currency=None),
        ],
        tags=["a", "b"],
    )
    feeling = m.Feeling(mood=m.Mood.SAD, moods=[m.Mood.HAPPY, m.Mood.SAD], since=None)
    query = m.Query2(Query_="x", class_=3, column_1st={"k": "v", "n": None})
    await gen.q.insert_basket(
        id=1,
        item=item,
        items=[item, m.PricedItem(label=None, price=None, history=None, tags=None)],
        feeling=feeling,
        cap=m.MoneyAmount2(amount=decimal.Decimal(0), currency="USD"),
        q=query,
        attrs={"a": "1", "b": None},
        attrs_list=[{"x": "y"}, {}],
    )
    await gen.q.insert_basket(
        id=2,
        item=None,
        items=[],
        feeling=m.Feeling(mood=None, moods=None, since=datetime.date(2020, 1, 2)),
        cap=None,
        q=None,
        attrs=None,
        attrs_list=None,
    )
    first = await gen.q.get_basket(id=1)
    assert _mismatches(first) == []
    assert first.item == item
    assert first.items[1].price is None
    assert first.feeling == feeling
    assert first.feeling.mood is m.Mood.SAD
    assert first.q == query
    assert first.attrs == {"a": "1", "b": None}
    assert first.attrs_list == [{"x": "y"}, {}]
    second = await gen.q.get_basket(id=2)
    assert _mismatches(second) == []
    assert (second.item, second.items, second.cap, second.q) == (None, [], None, None)
    assert second.feeling.since == datetime.date(2020, 1, 2)
    # The models validate as pydantic models too: a decoded value dumps and reloads.
    assert m.Basket.model_validate(first.model_dump()) == first

    echoed = await gen.q.echo_item(item=item)
    assert echoed == item
    assert type(echoed.price) is m.MoneyAmount2
    assert await gen.q.basket_item(id=2) is None
    assert await gen.q.basket_items(id=1) == first.items
    parts = await gen.q.basket_parts()
    assert [p.price for p in parts] == [item.price, None]
    assert [p.amount for p in parts] == [decimal.Decimal("1.50"), None]
    assert all(_mismatches(p) == [] for p in parts)
    merged = await gen.q.merge_attrs(id=1, extra={"b": "2", "c": None})
    assert merged == {"a": "1", "b": "2", "c": None}


async def test_null_array_elements_of_composites_are_read_as_none(gen: Generated) -> None:
    feeling = gen.models.Feeling(mood=None, moods=None, since=None)
    await gen.q.insert_basket(
        id=1, item=None, items=[], feeling=feeling, cap=None, q=None, attrs=None, attrs_list=None
    )
    conn = await asyncpg.connect(gen.dsn)
    try:
        await conn.execute(
            "UPDATE baskets SET items = ARRAY[NULL, ROW('x', NULL, NULL, NULL)]::priced_item[]"
        )
    finally:
        await conn.close()
    items = (await gen.q.get_basket(id=1)).items
    assert items[0] is None
    assert items[1].label == "x"


async def test_a_domain_over_a_composite_keeps_its_check(gen: Generated) -> None:
    m = gen.models
    with pytest.raises(store.errors.CheckViolation):
        await gen.q.insert_basket(
            id=1,
            item=None,
            items=[],
            feeling=m.Feeling(mood=None, moods=None, since=None),
            cap=m.MoneyAmount2(amount=decimal.Decimal(-1), currency=None),
            q=None,
            attrs=None,
            attrs_list=None,
        )


async def test_a_naive_datetime_inside_a_composite_parameter_is_refused(gen: Generated) -> None:
    # asyncpg would read it as UTC: a wall-clock time stored hours off, nested in a
    # composite or an array of them as much as at the top level.
    m = gen.models
    aware = datetime.datetime(2024, 3, 1, 12, 0, tzinfo=datetime.UTC)
    naive = aware.replace(tzinfo=None)

    def stamped(at: datetime.datetime, seen: datetime.datetime) -> Any:
        return m.Stamped(label="x", at=at, seen=[aware, seen], wall=naive)

    fine = m.StampLog(first=stamped(aware, aware), rest=[stamped(aware, aware)])
    assert await gen.q.echo_stamp_log(log=fine) == fine  # a zoneless timestamp takes a naive one
    for log in (
        m.StampLog(first=stamped(naive, aware), rest=[]),
        m.StampLog(first=stamped(aware, naive), rest=None),
        m.StampLog(first=None, rest=[stamped(aware, aware), stamped(aware, naive)]),
    ):
        with pytest.raises(
            store.errors.DatabaseError, match=r"\$1 \(log stamp_log\).*naive datetime inside"
        ):
            await gen.q.echo_stamp_log(log=log)


def _every_type_values(m: types.ModuleType, user: str) -> dict[str, tuple[object, object]]:
    """Column -> (the value written, the value read back)."""
    at = datetime.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=datetime.UTC)
    same = {
        "i2": -2,
        "i4": 4,
        "i8": 2**40,
        "o": 7,
        "f4": 1.5,
        "f8": 2.25,
        "num": decimal.Decimal("1.25"),
        "txt": "t",
        "vc": "v",
        "ci": "CaSe",
        "nm": "name",
        "ch": b"c",  # the one-byte "char"
        "b": True,
        "u": uuid.uuid4(),
        "tstz": at,
        "ts": at.replace(tzinfo=None),
        "d": at.date(),
        "t": at.time(),
        "ttz": datetime.time(1, 2, tzinfo=datetime.UTC),
        "iv": datetime.timedelta(days=1, seconds=3),
        "by": b"\x00\x01",
        "js": {"a": [1, None, "x"]},
        "jsb": [1, "x", {"b": False}],
        "ip": ipaddress.IPv4Address("10.0.0.1"),
        "net": ipaddress.IPv6Network("2001:db8::/32"),
        "mac": "08:00:2b:01:02:03",
        "mac8": "08:00:2b:01:02:03:04:05",
        "bits": asyncpg.BitString.from_int(10, 4),
        "vbits": asyncpg.BitString.from_int(1, 1),
        "pt": asyncpg.Point(1, 2),
        "bx": asyncpg.Box((1, 1), (0, 0)),
        "seg": asyncpg.LineSegment((0, 0), (1, 1)),
        "ln": asyncpg.Line(1, 2, 3),
        "pth": asyncpg.Path((0, 0), (1, 1)),
        "poly": asyncpg.Polygon((0, 0), (1, 1), (1, 0)),
        "circ": asyncpg.Circle(asyncpg.Point(0, 0), 1),
        "x": 5,
        "x8": 6,
        "c": 7,
        "lsn": 0x16B3748,
        "ti": (1, 2),
        "doc": "<a/>",
        "snap": (10, 20, (12, 15)),
        "snap8": (10, 20, (12,)),
        "rc": "pg_class",
        "rt": "integer",
        "rp": "now",
        "rpd": "now()",
        "ro": "||/",
        "ror": "+(integer,integer)",
        "rcf": "english",
        "rd": "simple",
        "rn": "public",
        "rr": user,
        "acl": f"{user}=r/{user}",
        "cur": "c",
        "tree": "a.b",
        "ints": asyncpg.Range(1, 5),
        "times": asyncpg.Range(at, at + datetime.timedelta(hours=1)),
        "multi": [asyncpg.Range(1, 3), asyncpg.Range(5, 7)],
        "arr": [1, 2],
        "texts": ["a", "b"],
        "moods": [m.Mood.HAPPY],
        "m": m.Mood.SAD,
    }
    normalised: dict[str, tuple[object, object]] = {
        "bp": ("ab", "ab "),
        "cash": ("12.50", "$12.50"),
        "vec": ("b a", "'a' 'b'"),
        "tq": ("a & b", "'a' & 'b'"),
        "rcl": ('"C"', '"C"'),
        "jp": ("$.a", '$."a"'),
    }
    return {**{k: (v, v) for k, v in same.items()}, **normalised}


async def test_every_mapped_type_round_trips_through_generated_code(gen: Generated) -> None:
    conn = await asyncpg.connect(gen.dsn)
    try:
        user = await conn.fetchval("SELECT current_user")
        try:
            await conn.fetchval("SELECT xmlparse(content '<a/>')")
            xml = True
        except asyncpg.FeatureNotSupportedError:
            xml = False  # a server built without libxml (the embedded PostgreSQL 18)
    finally:
        await conn.close()
    values = _every_type_values(gen.models, user)
    if not xml:
        values["doc"] = (None, None)  # the column still exists and maps; only NULL fits it
    await gen.q.insert_every_type(id=1, **{k: w for k, (w, _) in values.items()})
    row = await gen.q.get_every_type(id=1)
    assert _mismatches(row) == []
    written = set(type(row).model_fields) - {"id", "st"}
    assert written == set(values), "every column of every_type is written"
    read = {k: getattr(row, k) for k in values}
    assert read == {k: r for k, (_, r) in values.items()}
    assert row.st == "x"

    nulls = {k: None for k in values}
    await gen.q.insert_every_type(id=2, **nulls)
    empty = await gen.q.get_every_type(id=2)
    assert _mismatches(empty) == []
    assert {k: getattr(empty, k) for k in values} == nulls


async def test_read_only_types_are_what_asyncpg_returns(gen: Generated) -> None:
    row = await gen.q.read_only_types()
    assert _mismatches(row) == []
    assert (row.rec, row.i2v, row.ov, row.nothing) == ((1, "a"), [1, 2], [1, 2], None)
    assert row.cast_row == gen.models.MoneyAmount2(amount=decimal.Decimal(1), currency="2")
    assert row.cs == "c"
    assert row.node is not None
    assert row.node.startswith("{COERCETODOMAIN")  # st's DEFAULT 'x' (a domain)


async def test_extended_statistics_types_are_what_asyncpg_returns(gen: Generated) -> None:
    conn = await asyncpg.connect(gen.dsn)
    try:
        await conn.execute(
            "INSERT INTO every_type (id, i2, i4)"
            " SELECT i, i % 6, i % 3 FROM generate_series(1, 60) i;"
            "ANALYZE every_type"
        )
    finally:
        await conn.close()
    row = await gen.q.extended_statistics()
    assert _mismatches(row) == []
    assert None not in (row.stxdndistinct, row.stxddependencies, row.stxdmcv)


async def test_a_composite_asyncpg_cannot_read_is_a_problem_naming_file_and_line(
    empty_db_dsn: str, tmp_path: Path
) -> None:
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "000001_t.up.sql").write_text(
        "CREATE EXTENSION ltree;\nCREATE TYPE labelled AS (path ltree);\n"
        "CREATE TYPE nothing AS ();\n"
        "CREATE TABLE t (id int PRIMARY KEY, l labelled, n nothing);\n"
    )
    (tmp_path / "migrations" / "000001_t.down.sql").write_text("DROP TABLE t;\n")
    (tmp_path / "queries").mkdir()
    (tmp_path / "queries" / "t.sql").write_text(
        "-- name: GetID :one\nSELECT id FROM t WHERE id = @id;\n\n"
        "-- name: GetT :one\nSELECT l FROM t WHERE id = @id;\n\n"
        "-- name: GetN :one\nSELECT n FROM t WHERE id = @id;\n\n"
        "-- name: GetIDAgain :one\nSELECT id FROM t WHERE id = @id;\n"
    )
    with pytest.raises(GenError) as raised:
        await generate(
            queries=tmp_path / "queries",
            migration_dir=tmp_path / "migrations",
            dsn=empty_db_dsn,
            root=tmp_path,
        )
    # Only the queries that read the composites: a column no query reads is no error.
    problems = [str(p) for p in raised.value.problems]
    assert problems[0] == (
        'queries/t.sql:4: GetT: asyncpg cannot decode type "public"."labelled": '
        "text encoding of composite types is not supported"
    )
    assert problems[1].startswith("queries/t.sql:7: GetN: asyncpg cannot read its types: ")
    assert len(problems) == 2
