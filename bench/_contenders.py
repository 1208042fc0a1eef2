"""The contenders: the same operations written with each library.

Each contender is built by an async factory from the DSN and the seeded world,
and exposes the operations it supports as ``async (i: int) -> object``.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from workspaces.db import Queries, Workspace

import store

Op = Callable[[int], Awaitable[object]]

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


@dataclass
class World:
    """Rows the seed step wrote; every contender reads and writes the same ones."""

    org_id: uuid.UUID
    user_ids: list[uuid.UUID]
    list_owner_id: uuid.UUID  # owns >= 10 live workspaces
    workspace_ids: list[uuid.UUID]  # the list owner's workspaces

    def user(self, i: int) -> uuid.UUID:
        return self.user_ids[i % len(self.user_ids)]

    def workspace(self, i: int) -> uuid.UUID:
        return self.workspace_ids[i % len(self.workspace_ids)]

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> World:
        return cls(
            org_id=uuid.UUID(raw["org_id"]),
            user_ids=[uuid.UUID(u) for u in raw["user_ids"]],
            list_owner_id=uuid.UUID(raw["list_owner_id"]),
            workspace_ids=[uuid.UUID(w) for w in raw["workspace_ids"]],
        )


@dataclass
class Contender:
    name: str
    ops: dict[str, Op]
    close: Callable[[], Awaitable[None]]
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _ws_name(prefix: str, i: int) -> str:
    return f"{prefix}{i}x{uuid.uuid4().hex[:10]}"


PK_SQL = "SELECT * FROM users WHERE id = $1"
LIST_SQL = (
    "SELECT * FROM workspaces WHERE owner_id = $1 AND NOT deleted"
    " ORDER BY created_at DESC, id DESC LIMIT 10"
)
INSERT_SQL = (
    "INSERT INTO workspaces (id, owner_id, organization_id, name, last_used_at, created_at,"
    " updated_at) VALUES ($1, $2, $3, $4, $5, $5, $5) RETURNING *"
)
SEEN_SQL = "UPDATE users SET last_seen_at = $2 WHERE id = $1"


async def asyncpg_held(dsn: str, world: World) -> Contender:
    """One connection, prepared statements: the physical limit on this machine."""
    conn = await asyncpg.connect(dsn)
    pk = await conn.prepare(PK_SQL)
    lst = await conn.prepare(LIST_SQL)
    ins = await conn.prepare(INSERT_SQL)
    seen = await conn.prepare(SEEN_SQL)

    async def tx2(i: int) -> object:
        async with conn.transaction():
            row = await pk.fetchrow(world.user(i))
            await seen.fetch(world.user(i), NOW)
            return row

    return Contender(
        "asyncpg (held connection, prepared)",
        {
            "pk": lambda i: pk.fetchrow(world.user(i)),
            "list10": lambda i: lst.fetch(world.list_owner_id),
            "insert": lambda i: ins.fetchrow(
                uuid.uuid4(), world.user(i), world.org_id, _ws_name("h", i), NOW
            ),
            "tx2": tx2,
        },
        conn.close,
        notes="not safe for concurrency: one connection; concurrent rows are skipped",
        extra={"sequential_only": True},
    )


async def asyncpg_pool(dsn: str, world: World) -> Contender:
    """asyncpg's pool with its defaults (statement cache, reset on release)."""
    pool = await asyncpg.create_pool(dsn, min_size=8, max_size=8)
    assert pool is not None

    async def tx2(i: int) -> object:
        async with pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(PK_SQL, world.user(i))
            await conn.execute(SEEN_SQL, world.user(i), NOW)
            return row

    return Contender(
        "asyncpg (pool, defaults)",
        {
            "pk": lambda i: pool.fetchrow(PK_SQL, world.user(i)),
            "list10": lambda i: pool.fetch(LIST_SQL, world.list_owner_id),
            "insert": lambda i: pool.fetchrow(
                INSERT_SQL, uuid.uuid4(), world.user(i), world.org_id, _ws_name("p", i), NOW
            ),
            "tx2": tx2,
        },
        pool.close,
    )


def store_ops(s: Queries, world: World, prefix: str) -> dict[str, Op]:
    """The operations through any txstore layer stack, typed by the application's ``Queries``."""

    async def tx2(i: int) -> object:
        async def work(tx: Queries) -> object:
            user = await tx.get_user_by_id(id=world.user(i))
            await tx.update_user_last_seen_at(id=world.user(i), last_seen_at=NOW)
            return user

        return await s.in_tx(work, tx_id="bench_tx2")

    async def insert(i: int) -> Workspace:
        return await s.insert_workspace(
            id=uuid.uuid4(),
            owner_id=world.user(i),
            organization_id=world.org_id,
            name=_ws_name(prefix, i),
            autostart_schedule=None,
            ttl=None,
            created_at=NOW,
        )

    return {
        "pk": lambda i: s.get_user_by_id(id=world.user(i)),
        "list10": lambda i: s.list_workspaces_by_owner_id(
            owner_id=world.list_owner_id, limit_rows=10, offset_rows=0
        ),
        "insert": insert,
        "tx2": tx2,
    }


async def txstore_pg(dsn: str, world: World) -> Contender:
    """The bare PgStore: generated methods on its pool."""
    s = await store.connect(dsn, min_size=8, max_size=8)
    return Contender("txstore PgStore", store_ops(Queries(s), world, "t"), s.close)


async def sqlalchemy_core(dsn: str, world: World) -> Contender:
    from bench._sqla import core_contender

    return await core_contender(dsn, world)


async def sqlalchemy_orm(dsn: str, world: World) -> Contender:
    from bench._sqla import orm_contender

    return await orm_contender(dsn, world)


CONTENDERS: dict[str, Callable[[str, World], Awaitable[Contender]]] = {
    "asyncpg-held": asyncpg_held,
    "asyncpg-pool": asyncpg_pool,
    "txstore-pg": txstore_pg,
    "sqlalchemy-core": sqlalchemy_core,
    "sqlalchemy-orm": sqlalchemy_orm,
}
