"""Query identity: which objects a layer may take for a declared query (store/_query.py)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from workspaces.db import GET_USER_BY_ID, GET_WORKSPACE_BY_ID

import store
from store import Kind, Param, Query
from store._query import PRIMITIVE_KINDS, derive
from store.errors import WrongPrimitive

_DECLARED: Query[Any] = GET_WORKSPACE_BY_ID


def test_a_copy_is_the_same_and_any_changed_field_is_named() -> None:
    assert dataclasses.replace(_DECLARED).same_as(_DECLARED)
    changed = dataclasses.replace(
        _DECLARED, params=(Param("owner_id", "uuid"),), decode=lambda row: row, kind=Kind.MANY
    )
    assert not changed.same_as(_DECLARED)
    assert changed.differences(_DECLARED) == ["kind", "params", "decode"]
    assert dataclasses.replace(_DECLARED).differences(_DECLARED) == []


def test_the_locking_form_is_made_once_and_recognised_by_identity() -> None:
    locking = _DECLARED.for_update()
    assert locking is _DECLARED.for_update()
    assert locking.sql.endswith("FOR UPDATE")
    assert locking.is_variant_of(_DECLARED)
    assert locking.is_variant_of(dataclasses.replace(_DECLARED))  # an equal declared copy
    by_hand = dataclasses.replace(_DECLARED, sql=locking.sql)
    assert by_hand.same_as(locking)
    assert not by_hand.is_variant_of(_DECLARED)
    assert not locking.is_variant_of(GET_USER_BY_ID)


def test_a_derived_variant_stands_for_its_base_only_where_asked() -> None:
    sql = _DECLARED.sql + " AND TRUE"
    derived = derive(_DECLARED, sql=sql, params=_DECLARED.params)
    assert derived is derive(_DECLARED, sql=sql, params=_DECLARED.params)
    assert derived.is_variant_of(_DECLARED, derived=True)
    assert not derived.is_variant_of(_DECLARED)  # the authorization layer takes no filtered form
    assert not dataclasses.replace(derived).is_variant_of(_DECLARED, derived=True)


@pytest.mark.parametrize(
    ("kind", "primitives"),
    [
        (Kind.ONE, ["fetch_one"]),
        (Kind.MANY, ["fetch_many"]),
        (Kind.EXEC, ["execute", "execute_rows"]),  # execute_rows only adds the row count
        (Kind.EXECROWS, ["execute_rows"]),
        (Kind.COPYFROM, ["execute_batch"]),
        (Kind.BATCHEXEC, ["execute_batch"]),
        (Kind.BATCHMANY, ["fetch_batch"]),
        (Kind.BATCHONE, ["fetch_batch"]),
    ],
)
def test_each_kind_runs_only_through_its_own_primitives(kind: Kind, primitives: list[str]) -> None:
    assert [p for p, kinds in PRIMITIVE_KINDS.items() if kind in kinds] == primitives


def test_a_variant_derived_for_the_layers_below_is_accepted_there_only() -> None:
    sql = "WITH c AS (" + _DECLARED.sql + ") SELECT * FROM c"
    params = (*_DECLARED.params, Param("audit_user_id", "uuid"))
    variant = derive(
        _DECLARED,
        sql=sql,
        params=params,
        authorize_filter=_DECLARED.authorize_filter,
        for_below=True,
    )
    assert variant.authorize_filter == _DECLARED.authorize_filter
    assert variant.is_variant_of(_DECLARED, above=True)
    assert variant.is_variant_of(_DECLARED, derived=True)
    assert not variant.is_variant_of(_DECLARED)
    other = derive(_DECLARED, sql=sql + " LIMIT 1", params=params)  # derived, not for below
    assert not other.is_variant_of(_DECLARED, above=True)
    by_hand = dataclasses.replace(_DECLARED, sql=sql, params=params)
    assert not by_hand.is_variant_of(_DECLARED, above=True)


_MISMATCHED = [
    (p, kind) for p, kinds in PRIMITIVE_KINDS.items() for kind in Kind if kind not in kinds
]


@pytest.mark.parametrize(("primitive", "kind"), _MISMATCHED)
async def test_the_bare_store_refuses_a_query_of_another_kind_before_running_it(
    empty_db_dsn: str, primitive: str, kind: Kind
) -> None:
    pg = await store.connect(empty_db_dsn, min_size=1, max_size=2)
    try:
        await pg.ping()
        conn = await pg.pool.take()
        await conn.execute(
            "CREATE TABLE counter (n integer NOT NULL); INSERT INTO counter VALUES (0)"
        )
        pg.pool.put(conn)
        bump = store.Query(
            name="bump",
            kind=kind,
            sql="UPDATE counter SET n = n + 1 RETURNING n",
            params=(),
            decode=(lambda row: row["n"]) if kind in (Kind.ONE, Kind.MANY) else None,
            source="tests/store/test_query.py:1",
        )

        async def through(s: store.Store) -> None:
            with pytest.raises(WrongPrimitive) as caught:
                await getattr(s, primitive)(bump, ())
            assert str(caught.value) == (
                f"cannot run bump through {primitive}: it is a :{kind} query, run by "
                f"{next(p for p, kinds in PRIMITIVE_KINDS.items() if kind in kinds)}"
            )

        await through(pg)
        await pg.in_tx(through)
        conn = await pg.pool.take()
        assert await conn.fetchval("SELECT n FROM counter") == 0  # nothing ran
        pg.pool.put(conn)
    finally:
        await pg.close()
