"""txstore's layers as contenders, and the by-hand equivalents of what they do.

The acting subject is the owner of the listed workspaces, a member of their
organization; every layered contender runs its operations as that subject.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import secrets
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from prometheus_client import CollectorRegistry
from workspaces.auditing import AUDIT
from workspaces.db import (
    INSERT_WORKSPACE,
    UPDATE_WORKSPACE_NAME,
    UPDATE_WORKSPACES_TTL_BY_ORGANIZATION_ID,
    Queries,
)
from workspaces.policies import MODEL

import store
from audit import AuditStore
from authz import AuthzStore, Subject, as_subject
from bench._contenders import NOW, Contender, Op, World, store_ops
from store import Kind, Param, Query
from store._query import derive
from store.metrics import MetricsStore, StoreMetrics

GET_WS_SQL = "SELECT * FROM workspaces WHERE id = $1"
LOCK_WS_SQL = "SELECT * FROM workspaces WHERE id = $1 FOR UPDATE"
RENAME_SQL = "UPDATE workspaces SET name = $2, updated_at = now() WHERE id = $1 RETURNING *"
AUDIT_SQL = (
    "INSERT INTO audit_logs (id, time, user_id, organization_id, resource_type, resource_id,"
    " resource_target, action, diff) VALUES ($1, $2, $3, $4, 'workspace', $5, $6, 'write', $7)"
)


def _rename(i: int) -> str:
    return f"r{i}x{uuid.uuid4().hex[:10]}"


def layered_ops(s: Queries, world: World, prefix: str) -> dict[str, Op]:
    """The common operations on the acting owner's rows, plus authorized and audited ones."""
    ops = store_ops(s, dataclasses.replace(world, user_ids=[world.list_owner_id]), prefix)
    ops["authz_read"] = lambda i: s.get_workspace_by_id(id=world.workspace(i))
    ops["audited_update"] = lambda i: s.update_workspace_name(
        id=world.workspace(i), name=_rename(i)
    )
    bulk_org = world.bulk_org_id
    if bulk_org is not None:
        # A TTL no other call (of any contender) sets, so each of the BULK_ROWS rows
        # changes (and is audited).
        base = secrets.randbelow(2000) * 10**6
        ops["bulk_update"] = lambda i: s.update_workspaces_ttl_by_organization_id(
            ttl=base + i + 1, organization_id=bulk_org
        )
    return ops


def _acting(world: World) -> object:
    roles = {world.org_id: frozenset({"org-member"})}
    if world.bulk_org_id is not None:
        roles[world.bulk_org_id] = frozenset({"org-admin"})
    subject = Subject(world.list_owner_id, site_roles=frozenset({"member"}), org_roles=roles)
    # Entered for the life of the process (every task the runner starts copies
    # it); the caller keeps the manager alive so it is never finalized early.
    manager = as_subject(subject)
    manager.__enter__()
    return manager


async def _layered(
    dsn: str, world: World, label: str, build: Callable[[store.PgStore], store.Store]
) -> Contender:
    pg = await store.connect(dsn, min_size=8, max_size=8)
    acting = _acting(world)
    ops = layered_ops(Queries(build(pg)), world, "l")
    return Contender(label, ops, pg.close, extra={"acting": acting})


async def txstore_pg_layered(dsn: str, world: World) -> Contender:
    """The bare PgStore on the authorized/audited operations too (no checks, no entries)."""
    return await _layered(dsn, world, "txstore PgStore", lambda pg: pg)


async def txstore_metrics(dsn: str, world: World) -> Contender:
    metrics = StoreMetrics(CollectorRegistry())
    return await _layered(dsn, world, "MetricsStore", lambda pg: MetricsStore(pg, metrics))


async def txstore_authz(dsn: str, world: World) -> Contender:
    return await _layered(dsn, world, "AuthzStore", lambda pg: AuthzStore(pg, MODEL))


async def txstore_audit(dsn: str, world: World) -> Contender:
    return await _layered(
        dsn, world, "AuditStore", lambda pg: AuditStore(pg, AUDIT, server=pg.server_version)
    )


async def txstore_full(dsn: str, world: World) -> Contender:
    metrics = StoreMetrics(CollectorRegistry())
    return await _layered(
        dsn,
        world,
        "full stack (audit→authz→metrics→pg)",
        # The version asked as connect_stack asks it: PostgreSQL 18 takes RETURNING OLD.
        lambda pg: AuditStore(
            AuthzStore(MetricsStore(pg, metrics), MODEL), AUDIT, server=pg.server_version
        ),
    )


async def asyncpg_by_hand(dsn: str, world: World) -> Contender:
    """What the layers do, written by hand on asyncpg's pool: the fair baseline for them.

    The authorized read checks ownership in Python after fetching; the audited
    update locks the old row, updates, diffs and inserts the audit row in one
    transaction.
    """
    pool = await asyncpg.create_pool(dsn, min_size=8, max_size=8)
    assert pool is not None
    actor = world.list_owner_id

    async def authz_read(i: int) -> object:
        row = await pool.fetchrow(GET_WS_SQL, world.workspace(i))
        if row is None or row["owner_id"] != actor:
            raise LookupError("not found")
        return row

    async def audited_update(i: int) -> object:
        async with pool.acquire() as conn, conn.transaction():
            old = await conn.fetchrow(LOCK_WS_SQL, world.workspace(i))
            if old is None or old["owner_id"] != actor:
                raise LookupError("not found")
            new = await conn.fetchrow(RENAME_SQL, world.workspace(i), _rename(i))
            if new is None:
                raise LookupError("not found")
            diff = {
                k: {"old": str(old[k]), "new": str(new[k])}
                for k in ("name", "owner_id", "organization_id", "deleted")
                if old[k] != new[k]
            }
            await conn.execute(
                AUDIT_SQL,
                uuid.uuid4(),
                datetime.datetime.now(datetime.UTC),
                actor,
                new["organization_id"],
                str(new["id"]),
                new["name"],
                json.dumps(diff),
            )
            return new

    return Contender(
        "asyncpg by hand (pool)",
        {"authz_read": authz_read, "audited_update": audited_update},
        pool.close,
    )


def with_fixed_entry(base: Query[Any], action: str) -> Query[Any]:
    """``base`` plus one fixed audit entry per written row, in the same statement.

    No old row, no diff, no layer: the least an audited write costs on this
    schema (the entry row's insert into ``audit_logs``, its indexes and checks),
    whatever builds it. The entry's time and actor are its last two parameters.
    """
    mutation = base.sql.strip().rstrip(";")
    if base.kind is not Kind.ONE:
        mutation += "\nRETURNING *"
    n = len(base.params)
    sql = (
        f"WITH audit_change AS (\n{mutation}\n),\n"
        "audit_entries AS (\nINSERT INTO audit_logs (id, time, user_id, organization_id,"
        " resource_type, resource_id, resource_target, action, diff)\n"
        f"SELECT gen_random_uuid(), ${n + 1}::timestamptz, ${n + 2}::uuid, c.organization_id,"
        f" 'workspace', c.id::text, c.name, '{action}',"
        """ '{"name": {"old": "before", "new": "after"}}'::jsonb FROM audit_change AS c\n)\n"""
        "SELECT "
        + (", ".join(base.columns) if base.kind is Kind.ONE else "1")
        + " FROM audit_change"
    )
    params = (*base.params, Param("audit_time", "timestamptz"), Param("audit_user_id", "uuid"))
    return derive(base, sql=sql, params=params)


async def txstore_floor(dsn: str, world: World) -> Contender:
    """PgStore running each audited write with a fixed entry row: the floor the layers build on."""
    pg = await store.connect(dsn, min_size=8, max_size=8)
    insert = with_fixed_entry(INSERT_WORKSPACE, "create")
    rename = with_fixed_entry(UPDATE_WORKSPACE_NAME, "write")
    bulk = with_fixed_entry(UPDATE_WORKSPACES_TTL_BY_ORGANIZATION_ID, "write")
    actor = world.list_owner_id

    def entry() -> tuple[object, ...]:
        return (datetime.datetime.now(datetime.UTC), actor)

    def add(i: int) -> Awaitable[object]:
        name = f"f{i}x{uuid.uuid4().hex[:10]}"
        row = (uuid.uuid4(), actor, world.org_id, name, None, None, NOW)
        return pg.fetch_one(insert, row + entry())

    ops: dict[str, Op] = {
        "insert": add,
        "audited_update": lambda i: pg.fetch_one(
            rename, (_rename(i), world.workspace(i), *entry())
        ),
    }
    bulk_org = world.bulk_org_id
    if bulk_org is not None:
        base = secrets.randbelow(2000) * 10**6 + 10**9  # apart from the layered contenders'
        ops["bulk_update"] = lambda i: pg.execute_rows(bulk, (base + i + 1, bulk_org, *entry()))
    return Contender("PgStore: write + fixed entry (the floor)", ops, pg.close)


LAYERED = {
    "asyncpg-by-hand": asyncpg_by_hand,
    "txstore-pg-layered": txstore_pg_layered,
    "txstore-metrics": txstore_metrics,
    "txstore-authz": txstore_authz,
    "txstore-audit": txstore_audit,
    "txstore-full": txstore_full,
    "txstore-floor": txstore_floor,
}
