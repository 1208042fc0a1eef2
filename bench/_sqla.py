"""SQLAlchemy 2 async contenders (Core and ORM) over the same tables."""

from __future__ import annotations

import datetime
import secrets
import uuid
from typing import cast

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    String,
    Table,
    Uuid,
    event,
    inspect,
    not_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ENUM, JSONB
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from bench._contenders import NOW, Contender, Op, World


class Base(DeclarativeBase):
    pass


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    email: Mapped[str] = mapped_column(String)
    username: Mapped[str] = mapped_column(String)
    name: Mapped[str] = mapped_column(String)
    deleted: Mapped[bool] = mapped_column(Boolean)
    last_seen_at: Mapped[datetime.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True))


class WorkspaceRow(Base):
    __tablename__ = "workspaces"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    organization_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    name: Mapped[str] = mapped_column(String)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    autostart_schedule: Mapped[str | None] = mapped_column(String)
    ttl: Mapped[int | None]
    last_used_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True))


_ACTION_TYPE = ENUM(
    "create",
    "write",
    "delete",
    "start",
    "stop",
    "login",
    "logout",
    name="audit_action",
    create_type=False,
)


class AuditLogRow(Base):
    __tablename__ = "audit_logs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    time: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True))
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    organization_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    resource_type: Mapped[str] = mapped_column(String)
    resource_id: Mapped[str] = mapped_column(String)
    resource_target: Mapped[str] = mapped_column(String)
    action: Mapped[str] = mapped_column(_ACTION_TYPE)
    diff: Mapped[dict[str, object]] = mapped_column(JSONB)


class AuditedSession(Session):
    """A session whose flush records an audit row per changed workspace."""

    actor: uuid.UUID | None = None


@event.listens_for(AuditedSession, "before_flush")
def _audit_hook(session: Session, flush_context: object, instances: object) -> None:
    """Record creates and changes of workspaces, as txstore's audit layer does."""
    changes: list[tuple[WorkspaceRow, str, dict[str, object]]] = []
    for obj in list(session.new):
        if isinstance(obj, WorkspaceRow):
            fields = ("name", "owner_id", "organization_id", "deleted", "ttl")
            changes.append((obj, "create", {f: {"new": str(getattr(obj, f))} for f in fields}))
    for obj in list(session.dirty):
        if not isinstance(obj, WorkspaceRow):
            continue
        state = inspect(obj)
        diff: dict[str, object] = {}
        for attr in ("name", "owner_id", "organization_id", "deleted", "ttl"):
            history = state.attrs[attr].history
            if history.has_changes():
                old, new = list(history.deleted or ()), list(history.added or ())
                diff[attr] = {"old": str(old[:1]), "new": str(new[:1])}
        if diff:
            changes.append((obj, "write", diff))
    for obj, action, diff in changes:
        session.add(
            AuditLogRow(
                id=uuid.uuid4(),
                time=datetime.datetime.now(datetime.UTC),
                user_id=cast(AuditedSession, session).actor,
                organization_id=obj.organization_id,
                resource_type="workspace",
                resource_id=str(obj.id),
                resource_target=obj.name,
                action=action,
                diff=diff,
            )
        )


def _url(dsn: str) -> str:
    return dsn.replace("postgresql://", "postgresql+asyncpg://", 1)


_users = cast(Table, UserRow.__table__)
_workspaces = cast(Table, WorkspaceRow.__table__)


def _list_stmt(owner: uuid.UUID):  # type: ignore[no-untyped-def]  # SQLAlchemy's Select generics are noisy
    # NOT deleted (not "deleted IS false") so the planner can use the partial
    # index on (owner_id, created_at DESC, id DESC) WHERE NOT deleted.
    return (
        select(WorkspaceRow)
        .where(WorkspaceRow.owner_id == owner, not_(WorkspaceRow.deleted))
        .order_by(WorkspaceRow.created_at.desc(), WorkspaceRow.id.desc())
        .limit(10)
    )


async def core_contender(dsn: str, world: World) -> Contender:
    engine = create_async_engine(_url(dsn), pool_size=8, max_overflow=0)

    async def pk(i: int) -> object:
        async with engine.connect() as conn:
            return (await conn.execute(select(_users).where(_users.c.id == world.user(i)))).first()

    async def list10(i: int) -> object:
        stmt = (
            select(_workspaces)
            .where(_workspaces.c.owner_id == world.list_owner_id, not_(_workspaces.c.deleted))
            .order_by(_workspaces.c.created_at.desc(), _workspaces.c.id.desc())
            .limit(10)
        )
        async with engine.connect() as conn:
            return (await conn.execute(stmt)).all()

    async def insert(i: int) -> object:
        values = {
            "id": uuid.uuid4(),
            "owner_id": world.user(i),
            "organization_id": world.org_id,
            "name": f"c{i}x{uuid.uuid4().hex[:10]}",
            "deleted": False,
            "last_used_at": NOW,
            "created_at": NOW,
            "updated_at": NOW,
        }
        async with engine.begin() as conn:
            return (
                await conn.execute(_workspaces.insert().values(values).returning(_workspaces))
            ).first()

    async def tx2(i: int) -> object:
        async with engine.begin() as conn:
            row = (await conn.execute(select(_users).where(_users.c.id == world.user(i)))).first()
            await conn.execute(
                update(_users).where(_users.c.id == world.user(i)).values(last_seen_at=NOW)
            )
            return row

    return Contender(
        "SQLAlchemy 2 async Core",
        {"pk": pk, "list10": list10, "insert": insert, "tx2": tx2},
        engine.dispose,
    )


async def orm_contender(dsn: str, world: World) -> Contender:
    engine = create_async_engine(_url(dsn), pool_size=8, max_overflow=0)
    sessions = async_sessionmaker(
        engine, expire_on_commit=False, class_=AsyncSession, sync_session_class=AuditedSession
    )
    AuditedSession.actor = world.list_owner_id

    async def pk(i: int) -> object:
        async with sessions() as session:
            return await session.get(UserRow, world.user(i))

    async def list10(i: int) -> object:
        async with sessions() as session:
            return (await session.scalars(_list_stmt(world.list_owner_id))).all()

    async def insert(i: int) -> object:
        async with sessions() as session, session.begin():
            row = WorkspaceRow(
                id=uuid.uuid4(),
                owner_id=world.user(i),
                organization_id=world.org_id,
                name=f"o{i}x{uuid.uuid4().hex[:10]}",
                deleted=False,
                last_used_at=NOW,
                created_at=NOW,
                updated_at=NOW,
            )
            session.add(row)
        return row

    async def tx2(i: int) -> object:
        async with sessions() as session, session.begin():
            user = await session.get(UserRow, world.user(i))
            assert user is not None
            user.last_seen_at = NOW + datetime.timedelta(microseconds=i)
            return user

    async def authz_read(i: int) -> object:
        async with sessions() as session:
            row = await session.get(WorkspaceRow, world.workspace(i))
            if row is None or row.owner_id != world.list_owner_id:
                raise LookupError("not found")
            return row

    async def audited_update(i: int) -> object:
        async with sessions() as session, session.begin():
            row = await session.get(WorkspaceRow, world.workspace(i), with_for_update=True)
            if row is None or row.owner_id != world.list_owner_id:
                raise LookupError("not found")
            row.name = f"q{i}x{uuid.uuid4().hex[:10]}"
            return row

    base = secrets.randbelow(2000) * 10**6  # a TTL no other contender's call sets

    async def bulk_update(i: int) -> object:
        # The ORM's way to audit each row of a bulk change: load them (locked),
        # change each, and let the flush hook record one audit row per object.
        async with sessions() as session, session.begin():
            rows = (
                await session.scalars(
                    select(WorkspaceRow)
                    .where(WorkspaceRow.organization_id == world.bulk_org_id)
                    .where(WorkspaceRow.deleted.is_(False))
                    .with_for_update()
                )
            ).all()
            for row in rows:
                row.ttl = base + i + 1
                row.updated_at = NOW + datetime.timedelta(microseconds=i)
            return len(rows)

    ops: dict[str, Op] = {
        "pk": pk,
        "list10": list10,
        "insert": insert,
        "tx2": tx2,
        "authz_read": authz_read,
        "audited_update": audited_update,
    }
    if world.bulk_org_id is not None:
        ops["bulk_update"] = bulk_update
    return Contender("SQLAlchemy 2 async ORM", ops, engine.dispose)
