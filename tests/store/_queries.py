"""Hand-written Query objects over a tiny table, for testing the runtime on its own."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from store._query import BATCH_INDEX, Kind, Param, Query

SCHEMA = """
CREATE TABLE counters (
    name text PRIMARY KEY,
    value bigint NOT NULL DEFAULT 0 CONSTRAINT counters_value_check CHECK (value >= 0)
);
CREATE TABLE items (id int PRIMARY KEY, label text NOT NULL);
"""


def _row(record: Mapping[str, Any]) -> dict[str, Any]:
    return dict(record)


def _value(record: Mapping[str, Any]) -> int:
    return int(next(iter(record.values())))


INSERT_ITEM: Query[None] = Query(
    name="insert_item",
    kind=Kind.EXEC,
    sql="INSERT INTO items (id, label) VALUES ($1, $2)",
    params=(Param("id", "int4"), Param("label", "text")),
    decode=None,
    source="tests/store/_queries.py",
)
GET_ITEM: Query[dict[str, Any]] = Query(
    name="get_item",
    kind=Kind.ONE,
    sql="SELECT id, label FROM items WHERE id = $1",
    params=(Param("id", "int4"),),
    decode=_row,
    source="tests/store/_queries.py",
)
LIST_ITEMS: Query[dict[str, Any]] = Query(
    name="list_items",
    kind=Kind.MANY,
    sql="SELECT id, label FROM items ORDER BY id",
    params=(),
    decode=_row,
    source="tests/store/_queries.py",
)
DELETE_ITEMS: Query[None] = Query(
    name="delete_items",
    kind=Kind.EXECROWS,
    sql="DELETE FROM items WHERE id >= $1",
    params=(Param("min_id", "int4"),),
    decode=None,
    source="tests/store/_queries.py",
)
ENSURE_COUNTER: Query[None] = Query(
    name="ensure_counter",
    kind=Kind.EXEC,
    sql="INSERT INTO counters (name) VALUES ($1) ON CONFLICT DO NOTHING",
    params=(Param("name", "text"),),
    decode=None,
    source="tests/store/_queries.py",
)
GET_COUNTER: Query[int] = Query(
    name="get_counter",
    kind=Kind.ONE,
    sql="SELECT value FROM counters WHERE name = $1",
    params=(Param("name", "text"),),
    decode=_value,
    source="tests/store/_queries.py",
)
SET_COUNTER: Query[None] = Query(
    name="set_counter",
    kind=Kind.EXEC,
    sql="UPDATE counters SET value = $2 WHERE name = $1",
    params=(Param("name", "text"), Param("value", "int8")),
    decode=None,
    source="tests/store/_queries.py",
)
SLEEP: Query[None] = Query(
    name="sleep",
    kind=Kind.EXEC,
    sql="SELECT pg_sleep($1)",
    params=(Param("seconds", "float8"),),
    decode=None,
    source="tests/store/_queries.py",
)
INSERT_ITEM_LATE: Query[None] = Query(
    name="insert_item_late",
    kind=Kind.EXEC,
    sql="INSERT INTO items (id, label) SELECT $1, $2 FROM pg_sleep($3)",
    params=(Param("id", "int4"), Param("label", "text"), Param("after", "float8")),
    decode=None,
    source="tests/store/_queries.py",
)
SHOW_TIMEOUTS: Query[dict[str, Any]] = Query(
    name="show_timeouts",
    kind=Kind.ONE,
    sql="SELECT current_setting('statement_timeout') AS statement_timeout, "
    "current_setting('lock_timeout') AS lock_timeout",
    params=(),
    decode=_row,
    source="tests/store/_queries.py",
)


def _item(record: Any) -> dict[str, Any]:
    # By position, as generated decoders read: the batch index column comes last.
    return {"id": record[0], "label": record[1]}


# -- batches: the shapes ``txstore gen`` writes for :batchexec, :copyfrom,
# :batchmany and :batchone (the batch index is the last parameter and column).

INSERT_ITEMS: Query[None] = Query(
    name="insert_items",
    kind=Kind.BATCHEXEC,
    sql="INSERT INTO items (id, label) VALUES ($1, $2)",
    params=(Param("id", "int4"), Param("label", "text")),
    decode=None,
    source="tests/store/_queries.py",
    tables=("items",),
    mutates="items",
)
COPY_ITEMS: Query[None] = Query(
    name="copy_items",
    kind=Kind.COPYFROM,
    sql="INSERT INTO items (id, label) VALUES ($1, $2)",
    params=(Param("id", "int4"), Param("label", "text")),
    decode=None,
    source="tests/store/_queries.py",
    tables=("items",),
    mutates="items",
    columns=("id", "label"),
)
ITEMS_FROM: Query[dict[str, Any]] = Query(
    name="items_from",
    kind=Kind.BATCHMANY,
    sql=(
        "SELECT q.*, $2::int4 AS txstore_batch_index FROM (SELECT id, label FROM items "
        "WHERE id >= $1 ORDER BY id DESC) AS q"
    ),
    params=(Param("id", "int4"), Param(BATCH_INDEX, "int4")),
    decode=_item,
    source="tests/store/_queries.py",
    tables=("items",),
    columns=("id", "label"),
)
RENAME_ITEM: Query[dict[str, Any]] = Query(
    name="rename_item",
    kind=Kind.BATCHONE,
    sql="UPDATE items SET label = $2 WHERE id = $1 RETURNING id, label\n, $3::int4",
    params=(Param("id", "int4"), Param("label", "text"), Param(BATCH_INDEX, "int4")),
    decode=_item,
    source="tests/store/_queries.py",
    tables=("items",),
    mutates="items",
    columns=("id", "label"),
)
SLEEP_EACH: Query[None] = Query(
    name="sleep_each",
    kind=Kind.BATCHEXEC,
    sql="SELECT pg_sleep($1)",
    params=(Param("seconds", "float8"),),
    decode=None,
    source="tests/store/_queries.py",
)
