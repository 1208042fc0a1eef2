"""sqlc's query language: parameters, kinds and NULL analysis, checked against data.

The corpus (``language/``) is written for this project in the spelling query
files written for sqlc use. Its generated output is kept as golden files
(``TXSTORE_UPDATE_GOLDEN=1`` refreshes them).
"""

from __future__ import annotations

import datetime
import decimal
import importlib
from pathlib import Path
from typing import Any

import asyncpg
import pytest

import store
from store._gen import build_plan, generate, parse_queries
from store._gen._generate import migrate
from store._gen._model import Plan, QueryPlan
from store._gen.errors import GenError
from store._query import Query
from store.errors import NotFound
from tests.store.gen._package import assert_matches_golden

LANGUAGE = Path(__file__).parent / "language"
EXPECTED = LANGUAGE / "expected"


async def _plan(dsn: str) -> Plan:
    await migrate(dsn, LANGUAGE / "migrations")
    conn = await asyncpg.connect(dsn)
    try:
        return await build_plan(conn, parse_queries(LANGUAGE / "queries", root=LANGUAGE))
    finally:
        await conn.close()


def _query(plan: Plan, name: str) -> QueryPlan:
    (q,) = [q for q in plan.queries if q.parsed.name == name]
    return q


def _params(plan: Plan, name: str) -> dict[str, bool]:
    return {p.column: p.nullable for p in _query(plan, name).params}


def _non_null(q: QueryPlan) -> set[str]:
    fields = [q.scalar] if q.scalar is not None else list(q.model.fields) if q.model else []
    return {f.name for f in fields if not f.nullable}


async def test_language_corpus_matches_golden_files(empty_db_dsn: str) -> None:
    files, _ = await generate(
        queries=LANGUAGE / "queries",
        migration_dir=LANGUAGE / "migrations",
        dsn=empty_db_dsn,
        root=LANGUAGE,
    )
    assert_matches_golden(files, EXPECTED)


async def test_positional_parameters_are_named_from_what_they_meet(empty_db_dsn: str) -> None:
    plan = await _plan(empty_db_dsn)
    assert list(_params(plan, "GetCustomer")) == ["id"]
    assert list(_params(plan, "ListCustomersPage")) == ["score", "limit", "offset"]
    assert list(_params(plan, "CreateCustomer")) == ["id", "email", "nickname", "bonus"]
    # -- param: renames; BETWEEN would otherwise give placed_at, placed_at_2
    assert list(_params(plan, "OrdersBetween")) == ["start_at", "end_at"]
    # $1 keeps its number, @customer_id comes after it
    mixed = _query(plan, "MixedParams")
    assert [p.column for p in mixed.params] == ["total", "customer_id"]
    assert "customer_id = $2" in mixed.parsed.sql
    assert "total > $1" in mixed.parsed.sql
    # a name takes the lowest number no $n uses: @state fills $2 between $1 and $3
    gap = _query(plan, "OrdersInStateSince")
    assert [p.column for p in gap.params] == ["customer_id", "state", "placed_at"]
    assert "state = $2" in gap.parsed.sql


async def test_parameters_filling_nullable_columns_take_none(empty_db_dsn: str) -> None:
    plan = await _plan(empty_db_dsn)
    assert _params(plan, "CreateCustomer") == {
        "id": False,
        "email": False,
        "nickname": True,
        "bonus": True,
    }
    # -- required: nickname keeps it non-Optional; @bonus fills a nullable column
    assert _params(plan, "RenameCustomer") == {"id": False, "nickname": False, "bonus": True}
    assert _params(plan, "SearchCustomers") == {"nickname": True, "min_score": False}


async def test_slices_are_lists_bound_as_arrays(empty_db_dsn: str) -> None:
    plan = await _plan(empty_db_dsn)
    q = _query(plan, "OrdersOfCustomers")
    assert q.params[0].annotation == "list[int]"
    assert "= ANY($1)" in q.parsed.sql
    states = _query(plan, "OrdersNotInStates")
    assert states.params[0].annotation == "list[OrderState]"
    assert "<> ALL($1)" in states.parsed.sql


async def test_kinds_execresult_and_execlastid(empty_db_dsn: str) -> None:
    plan = await _plan(empty_db_dsn)
    touch = _query(plan, "TouchOrder")
    assert touch.parsed.kind == "execrows"
    last = _query(plan, "InsertOrderID")
    assert last.parsed.kind == "one"
    assert last.scalar is not None
    assert last.scalar.annotation == "int"


async def test_duplicate_and_unnamed_result_columns_get_distinct_fields(
    empty_db_dsn: str,
) -> None:
    q = _query(await _plan(empty_db_dsn), "OrderPairs")
    assert q.model is not None
    assert [f.name for f in q.model.fields] == ["id", "id_2", "column_3"]


EXPECTED_NON_NULL = {
    "CustomerStats": {
        "id",
        "paid",
        "lonely",
        "doubled",
        "tier",
        "display",
        "email_lower",
        "top_score",
        "has_at",
        "seen_at",
    },
    "TotalSpent": {"n"},
    "CustomerTotals": {"id", "email", "orders"},
    "CategoryTree": {"id", "label", "depth"},
    "OrderPairs": {"id", "id_2", "column_3"},
    "Nicknames": set(),  # public.customers.nickname is nullable ...
    "ArchivedNicknames": {"nickname"},  # ... archive.customers.nickname is not
    "CustomersWithOrderCounts": {"id", "order_count"},  # one row of count(*), always
    "Series": {"i", "doubled", "n"},  # unnest's v can be NULL
    "SeriesInSelect": {"n"},  # a NULL bound gives no rows, never a NULL
    "OrderIDSequence": {"last_value", "is_called"},
    "ScoreOffsets": {"id", "shifted"},  # $1 is typed int; maybe is int | None
    "TopScoresRollup": set(),  # ROLLUP's total row exists for no rows; to_char(x, '') is NULL
}

ARGS: dict[str, tuple[object, ...]] = {
    "GetCustomer": (1,),
    "ListCustomersPage": (0, 10, 0),
    "OrdersBetween": (
        datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC),
        datetime.datetime(2100, 1, 1, tzinfo=datetime.UTC),
    ),
    "OrdersOfCustomers": ([1, 2],),
    "OrdersOfEach": (1, 0),  # a batch query run once: its argument and batch index
    "NicknameOfEach": (1, 0),
    "OrdersNotInStates": (["shipped"],),
    "SearchCustomers": (None, 0),
    "MixedParams": (decimal.Decimal(0), 1),
    "OrderMarks": (1,),
    "OrdersInStateSince": (1, "open", datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)),
    "Series": (3,),
    "ScoreOffsets": (1, None),
    "SeriesInSelect": (None,),
}

DATA = """
INSERT INTO customers (id, email, nickname, score, bonus) VALUES
    (1, 'a@example.com', NULL, 0, NULL), (2, 'b@example.com', 'bee', 20, 3),
    (3, 'c', NULL, 5, NULL);
INSERT INTO orders (id, customer_id, state, total, note) VALUES
    (1, 1, 'paid', 10, NULL), (2, 1, 'open', 5, 'x'), (3, 2, 'shipped', 7, NULL);
INSERT INTO categories (id, parent_id, label) VALUES (1, NULL, 'root'), (2, 1, 'leaf');
INSERT INTO archive.customers (id, email, nickname) VALUES (1, NULL, 'old');
"""


@pytest.mark.parametrize("data", [True, False], ids=["rows-with-nulls", "empty-tables"])
async def test_non_null_claims_hold_on_data(empty_db_dsn: str, data: bool) -> None:
    plan = await _plan(empty_db_dsn)
    for name, expected in EXPECTED_NON_NULL.items():
        assert _non_null(_query(plan, name)) == expected, name
    conn = await asyncpg.connect(empty_db_dsn)
    try:
        if data:
            await conn.execute(DATA)
        for q in plan.queries:
            if q.parsed.mutates or (q.scalar is None and q.model is None):
                continue
            rows = await conn.fetch(q.parsed.sql, *ARGS.get(q.parsed.name, ()))
            claims = _column_claims(q)
            assert len(claims) == len(q.columns), q.parsed.name
            claimed = [i for i, claim in enumerate(claims) if claim]
            for row in rows:
                for i in claimed:
                    assert row[i] is not None, f"{q.parsed.name}: column {q.columns[i]} is NULL"
    finally:
        await conn.close()


def _column_claims(q: QueryPlan) -> list[bool]:
    """Per result column: whether the plan claims it is never NULL (embeds unfolded)."""
    if q.scalar is not None:
        return [not q.scalar.nullable]
    assert q.model is not None
    claims = []
    for f in q.model.fields:
        if f.embed is None:
            claims.append(not f.nullable)
        else:
            claims += [not f.nullable and not g.nullable for g in f.embed.fields]
    return claims


async def test_gaps_in_positional_parameters_are_reported(tmp_path: Path) -> None:
    (tmp_path / "q.sql").write_text("-- name: Gap :many\nSELECT $1::int, $3::int;\n")
    with pytest.raises(GenError, match=r"q.sql:1: Gap: parameter \$2 is never used"):
        parse_queries(tmp_path, root=tmp_path)


async def test_generated_package_decodes_real_rows(
    empty_db_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files, _ = await generate(
        queries=LANGUAGE / "queries",
        migration_dir=LANGUAGE / "migrations",
        dsn=empty_db_dsn,
        root=LANGUAGE,
    )
    package = tmp_path / "shop_gen"
    package.mkdir()
    for name, text in files.items():
        (package / name).write_text(text, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    generated = importlib.import_module("shop_gen.queries")
    queries: dict[str, Query[Any]] = generated.QUERIES
    conn = await asyncpg.connect(empty_db_dsn)
    try:
        await conn.execute(DATA)
        await conn.execute("INSERT INTO customers (id, email) VALUES (9, 'lonely@example.com')")
        await conn.execute("INSERT INTO orders (id, customer_id, total) VALUES (9, 9, 1)")

        async def run(name: str, *args: object) -> list[Any]:
            query = queries[name]
            assert query.decode is not None
            rows: list[Any] = await conn.fetch(query.sql, *args)  # Records, as the store's
            return [query.decode(r) for r in rows]

        pairs = await run("orders_with_customers")
        assert [(p.o.id, p.c.email if p.c else None) for p in pairs] == [
            (1, "a@example.com"),
            (2, "a@example.com"),
            (3, "b@example.com"),
            (9, "lonely@example.com"),
        ]
        assert pairs[0].order_note is None
        assert [r.id for r in await run("orders_of_customers", [2, 9])] == [3, 9]
        states = await run("orders_not_in_states", ["open", "shipped"])
        assert states == [1]  # order 9 is open
        assert [s.value for s in await run("list_order_states")] == ["open", "paid", "shipped"]
        marks = await run("order_marks", 1)  # SELECT FROM: one empty row per order of 1
        assert len(marks) == 2
        assert all(type(m).__name__ == "OrderMarksRow" and m.model_dump() == {} for m in marks)
    finally:
        await conn.close()


async def test_generated_batch_methods_run_through_a_store(
    empty_db_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files, _ = await generate(
        queries=LANGUAGE / "queries",
        migration_dir=LANGUAGE / "migrations",
        dsn=empty_db_dsn,
        root=LANGUAGE,
    )
    package = tmp_path / "batch_gen"
    package.mkdir()
    for name, text in files.items():
        (package / name).write_text(text, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    gen = importlib.import_module("batch_gen")
    db = gen.Queries(await store.connect(empty_db_dsn, min_size=1, max_size=2))
    try:
        copied = await db.copy_customers(
            [gen.CopyCustomersParams(f"c{i}@example.com", i, None) for i in range(1, 6)]
        )
        assert copied == 5
        await db.add_scores([gen.AddScoresParams(10, 1), gen.AddScoresParams(5, 2)])
        renamed = await db.rename_each(
            [gen.RenameEachParams("one", 1), gen.RenameEachParams(None, 2)]
        )
        assert [(c.id, c.nickname, c.score) for c in renamed] == [(1, "one", 10), (2, None, 5)]
        with pytest.raises(NotFound):
            await db.rename_each([gen.RenameEachParams("x", 3), gen.RenameEachParams("y", 99)])
        nicknames = await db.nickname_of_each([gen.NicknameOfEachParams(i) for i in (3, 1)])
        assert nicknames == [None, "one"]  # customer 3 kept no nickname: nothing was written
        conn = await asyncpg.connect(empty_db_dsn)
        try:
            await conn.execute(
                "INSERT INTO orders (id, customer_id, total) VALUES (7, 2, 1), (8, 1, 2), (9, 1, 3)"
            )
        finally:
            await conn.close()
        groups = await db.orders_of_each([gen.OrdersOfEachParams(c) for c in (1, 4, 2)])
        assert [[o.id for o in group] for group in groups] == [[8, 9], [], [7]]
    finally:
        await db.store.close()
