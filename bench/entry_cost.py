"""What an audit entry costs the server: the same update with its entry going to tables
that differ only in their checks and indexes.

Run: ``.venv/bin/python -m bench.entry_cost``. Starts a local PostgreSQL with
``pg_stat_statements``, seeds it as ``python -m bench`` does, and prints each
statement's mean server execution time (no client, no network), interleaved
round by round. docs/audit.md ("What an entry costs") quotes a run.
"""

from __future__ import annotations

import asyncio
import datetime
import os
import secrets
import uuid

import asyncpg

from bench.__main__ import seed
from store._localpg import TEST_SETTINGS, LocalCluster

#: The reference application's checks on ``audit_logs`` (migration 000006).
_CHECKS = (
    "resource_type ~ '^[a-z0-9_]+$'",
    "char_length(resource_id) BETWEEN 1 AND 128",
    "jsonb_typeof(diff) = 'object'",
    "jsonb_typeof(additional_fields) = 'object'",
    "status_code BETWEEN 100 AND 599",
)
_INDEXES = (
    "CREATE INDEX ON {t} (resource_type, resource_id, time DESC)",
    "CREATE INDEX ON {t} (user_id, time DESC)",
    "CREATE INDEX ON {t} (organization_id, time DESC) WHERE organization_id IS NOT NULL",
    "CREATE INDEX ON {t} (time DESC)",
)
_PKEY = "ALTER TABLE {t} ADD PRIMARY KEY (id)"

#: Entry tables: a copy of audit_logs' columns and defaults, then these statements.
TABLES: dict[str, tuple[str, ...]] = {
    "no index, no check": (),
    "one CHECK": (f"ALTER TABLE {{t}} ADD CHECK ({_CHECKS[-1]})",),
    "five CHECKs": tuple(f"ALTER TABLE {{t}} ADD CHECK ({c})" for c in _CHECKS),
    "the five as one CHECK": ("ALTER TABLE {t} ADD CHECK (" + " AND ".join(_CHECKS) + ")",),
    "primary key (random uuid)": (_PKEY,),
    "five indexes": (_PKEY, *_INDEXES),
}

UPDATE = "UPDATE workspaces SET name = $1, updated_at = now() WHERE id = $2 AND NOT deleted"
WITH_ENTRY = (
    f"WITH c AS (\n{UPDATE}\nRETURNING *\n),\n"
    "e AS (\nINSERT INTO {t} (id, time, user_id, organization_id, resource_type, resource_id,"
    " resource_target, action, diff)\nSELECT gen_random_uuid(), $3::timestamptz, $4::uuid,"
    " c.organization_id, 'workspace', c.id::text, c.name, 'write',"
    """ '{{"name": {{"old": "before", "new": "after"}}}}'::jsonb FROM c\n)\n"""
    "SELECT *, 0 AS {{form}} FROM c"
)


async def measure(dsn: str, rounds: int, calls: int) -> list[tuple[str, float]]:
    """Mean server execution time (µs) of each form, in the order printed."""
    world = await seed(dsn)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        forms = {"the update alone": f"{UPDATE}\nRETURNING *, 0 AS {{form}}"}
        forms["+ an entry into audit_logs"] = WITH_ENTRY.format(t="audit_logs")
        for n, (label, ddl) in enumerate(TABLES.items()):
            table = f"bench_entries_{n}"
            await conn.execute(f"CREATE TABLE {table} (LIKE audit_logs INCLUDING DEFAULTS)")
            for ddl_statement in ddl:
                await conn.execute(ddl_statement.format(t=table))
            forms[f"+ an entry, {label}"] = WITH_ENTRY.format(t=table)
        # An output column's name tells the forms apart in pg_stat_statements.
        prepared = [
            await conn.prepare(sql.replace("{form}", f"bench_form_{n}"))
            for n, sql in enumerate(forms.values())
        ]
        owner = uuid.UUID(world["list_owner_id"])
        workspaces = [uuid.UUID(w) for w in world["workspace_ids"]]
        await conn.execute("SELECT pg_stat_statements_reset()")
        for _ in range(rounds):
            for statement in prepared:
                for i in range(calls):
                    args: list[object] = [
                        f"e{secrets.token_hex(5)}",
                        workspaces[i % len(workspaces)],
                    ]
                    if len(statement.get_parameters()) > 2:
                        args += [datetime.datetime.now(datetime.UTC), owner]
                    await statement.fetch(*args)
        rows = await conn.fetch("SELECT query, mean_exec_time FROM pg_stat_statements")
    finally:
        await conn.close()
    found = []
    for n, label in enumerate(forms):
        row = next(r for r in rows if f"bench_form_{n} " in r["query"] + " ")
        found.append((label, row["mean_exec_time"] * 1000))
    return found


def main() -> None:
    rounds = int(os.environ.get("ROUNDS", "20"))
    settings = {**TEST_SETTINGS, "shared_preload_libraries": "pg_stat_statements"}
    with LocalCluster(settings=settings) as cluster:
        found = asyncio.run(measure(cluster.dsn(), rounds, 100))
        print(
            f"PostgreSQL {cluster.binaries.major}, {rounds} x 100 runs of each form,"
            " mean server execution time"
        )
    base = found[0][1]
    for label, us in found:
        extra = f"  (+{us - base:.0f} µs)" if us != base else ""
        print(f"{label:52s} {us:6.0f} µs{extra}")


if __name__ == "__main__":
    main()
