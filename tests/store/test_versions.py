"""ServerVersion: what the connected server can do, checked on PostgreSQL 15 and 18."""

from __future__ import annotations

import asyncpg
import pytest

import store
from store._localpg import LocalCluster, find_binaries
from store._query import Kind, Param, Query
from store.errors import DatabaseError

RENAME: Query[dict[str, str]] = Query(
    name="rename_item",
    kind=Kind.ONE,
    sql="UPDATE items SET label = $2 WHERE id = $1 "
    "RETURNING old.label AS before, new.label AS after",
    params=(Param("id", "int4"), Param("label", "text")),
    decode=dict,
    source="tests/store/test_versions.py",
)


@pytest.mark.parametrize("major", [15, 18])
async def test_server_version_says_whether_returning_old_new_works(major: int) -> None:
    with LocalCluster(binaries=find_binaries(major)) as cluster:
        conn = await asyncpg.connect(cluster.dsn())
        await conn.execute("CREATE TABLE items (id int PRIMARY KEY, label text NOT NULL)")
        await conn.execute("INSERT INTO items VALUES (1, 'before')")
        await conn.close()
        pg = await store.connect(cluster.dsn(), min_size=1, max_size=1)
        try:
            version = await pg.server_version()
            assert version.major == major
            assert version >= store.ServerVersion(15, 0)
            assert version.returning_old_new is (major >= 18)
            assert version.file_copy_clone is (major >= 18)
            if version.returning_old_new:
                row = await pg.fetch_one(RENAME, (1, "after"))
                assert row == {"before": "before", "after": "after"}
            else:
                with pytest.raises(DatabaseError) as refused:
                    await pg.fetch_one(RENAME, (1, "after"))
                assert refused.value.sqlstate == "42P01"  # no table "old" before 18
        finally:
            await pg.close()
