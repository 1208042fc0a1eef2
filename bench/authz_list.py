"""A filtered list at scale: 50 visible workspaces out of 100,000, the subject sees 1%.

Compares ``AuthzStore.list_workspaces`` (the predicate compiled from the
subject's grants) with the same query and a hand-written organization WHERE on
asyncpg, and prints the plan PostgreSQL picks for the derived SQL.

Run: ``.venv/bin/python -m bench.authz_list``.
"""

from __future__ import annotations

import asyncio
import datetime
import statistics
import time
import uuid

import asyncpg
import structlog
from workspaces.db import Queries
from workspaces.policies import MODEL
from workspaces.stack import MIGRATIONS

import migrations
import store
from authz import AuthzStore, Subject, as_subject
from store._localpg import LocalCluster

ORGS, USERS_PER_ORG, WORKSPACES_PER_USER = 100, 10, 100  # 100,000 workspaces
T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
HAND_SQL = """
SELECT * FROM workspaces
WHERE NOT deleted
  AND ($1::timestamptz IS NULL OR (created_at, id) < ($1, $2::uuid))
  AND organization_id = $4
ORDER BY created_at DESC, id DESC
LIMIT $3
"""


async def seed(dsn: str) -> uuid.UUID:
    await migrations.up(dsn, directory=MIGRATIONS)
    conn = await asyncpg.connect(dsn)
    try:
        orgs = [uuid.uuid4() for _ in range(ORGS)]
        await conn.copy_records_to_table(
            "organizations",
            records=[(o, f"org{n}", f"Org {n}", "", "", False, T0, T0) for n, o in enumerate(orgs)],
            columns=[
                "id",
                "name",
                "display_name",
                "description",
                "icon",
                "is_default",
                "created_at",
                "updated_at",
            ],
        )
        users = [(uuid.uuid4(), o) for o in orgs for _ in range(USERS_PER_ORG)]
        await conn.execute("SET session_replication_role = replica")  # skip FK checks: bulk seed
        await conn.executemany(
            "INSERT INTO users (id, email, username, name, hashed_password, status, rbac_roles,"
            " login_type, created_at, updated_at) VALUES ($1, $2 || '@bench.example', $2, $2,"
            " '\\x00', 'active', '{member}', 'password', $3, $3)",
            [(u, f"u{n}", T0) for n, (u, _) in enumerate(users)],
        )
        records = []
        for n, (user, org) in enumerate(users):
            for k in range(WORKSPACES_PER_USER):
                at = T0 + datetime.timedelta(seconds=n * WORKSPACES_PER_USER + k)
                records.append((uuid.uuid4(), user, org, f"w{n}-{k}", False, at, at, at))
        await conn.copy_records_to_table(
            "workspaces",
            records=records,
            columns=[
                "id",
                "owner_id",
                "organization_id",
                "name",
                "deleted",
                "last_used_at",
                "created_at",
                "updated_at",
            ],
        )
        await conn.execute("SET session_replication_role = DEFAULT")
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return orgs[ORGS // 2]


async def _median(call: object, rounds: int = 7, n: int = 200) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(n):
            await call()  # type: ignore[operator]  # a zero-argument coroutine function
        times.append((time.perf_counter() - started) / n)
    return statistics.median(times) * 1e6


async def main() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    with LocalCluster() as cluster:
        dsn = cluster.dsn()
        started = time.perf_counter()
        org = await seed(dsn)
        print(f"seeded 100,000 workspaces in {time.perf_counter() - started:.1f} s")
        pg = await store.connect(dsn, min_size=1, max_size=1)
        layer = AuthzStore(pg, MODEL)
        guarded = Queries(layer)
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1, reset=_no_reset)
        assert pool is not None
        subject = Subject.user(uuid.uuid4(), org_roles={org: ("org-admin",)})
        with as_subject(subject):
            rows = await guarded.list_workspaces(
                after_created_at=None, after_id=None, limit_rows=50
            )
            hand = await pool.fetch(HAND_SQL, None, None, 50, org)
            assert [r.id for r in rows] == [r["id"] for r in hand], "same rows both ways"
            assert len(rows) == 50
            assert all(r.organization_id == org for r in rows)
            authz_us = await _median(
                lambda: guarded.list_workspaces(after_created_at=None, after_id=None, limit_rows=50)
            )
            hand_us = await _median(lambda: pool.fetch(HAND_SQL, None, None, 50, org))
            derived_sql = next(iter(layer._table.filters._cache.values())).sql
            same_us = await _median(lambda: pool.fetch(derived_sql, None, None, 50, org))
        derived = next(iter(layer._table.filters._cache.values()))  # the SQL that ran
        conn = await asyncpg.connect(dsn)
        await conn.execute("SET plan_cache_mode = force_generic_plan")  # as a prepared statement
        values = {"authz_subject_id": subject.id, "authz_org": org, "authz_orgs": [org]}
        extra = [values[p.name] for p in derived.params[3:]]
        plan = await conn.fetch("EXPLAIN (COSTS OFF) " + derived.sql, None, None, 50, *extra)
        await conn.close()
        await pool.close()
        await pg.close()
    print(f"AuthzStore.list_workspaces (50 of 1,000 visible)  {authz_us:8.0f} µs")
    print(f"hand-written WHERE on asyncpg                      {hand_us:8.0f} µs")
    print(f"the derived SQL itself on asyncpg                   {same_us:8.0f} µs")
    print(f"ratio                                              {authz_us / hand_us:8.2f}x")
    print("derived SQL:", " ".join(derived.sql.split()))
    print("plan of the derived query (generic, as prepared):")
    for line in plan:
        print("   ", line[0])


async def _no_reset(conn: asyncpg.Connection) -> None:
    del conn


if __name__ == "__main__":
    asyncio.run(main())
