"""Helpers for the audit tests: reference ids, subjects, and the ledger of written secrets."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime
import json
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from typing import Any, TypeVar

import asyncpg
import audit
import store
import structlog
from authz import Subject, as_subject
from store import ServerVersion

from tests._layers import raw
from workspaces.auditing import AUDIT
from workspaces.db import Queries, models

ACME = uuid.UUID("0a000000-0000-4000-8000-000000000001")
GLOBEX = uuid.UUID("0a000000-0000-4000-8000-000000000002")
ALICE = uuid.UUID("0b000000-0000-4000-8000-000000000001")
BOB = uuid.UUID("0b000000-0000-4000-8000-000000000002")
APP = uuid.UUID("0d000000-0000-4000-8000-000000000001")
_T0 = datetime.datetime(2024, 1, 2, 9, 0, tzinfo=datetime.UTC)

#: Alice is the site owner and an admin of acme.
OWNER = Subject.user(ALICE, site_roles=("owner", "member"), org_roles={ACME: ("org-admin",)})


class Ledger:
    """Every secret value a test wrote, in the encodings it could leak in."""

    def __init__(self) -> None:
        self.needles: set[str] = set()

    def secret(self, value: bytes) -> bytes:
        """Register ``value`` (a hash or raw secret) and return it."""
        assert len(value) >= 8, "short secrets would match by accident"
        self.needles.update(
            {
                value.hex(),
                base64.b64encode(value).decode(),
                base64.urlsafe_b64encode(value).decode(),
                repr(value)[2:-1],
            }
        )
        with contextlib.suppress(UnicodeDecodeError):
            self.needles.add(value.decode())
        return value

    def leaks(self, texts: Iterable[str]) -> list[str]:
        """The registered secrets found in ``texts``."""
        return sorted({n for text in texts for n in self.needles if n in text})


#: One ledger for the whole run: every test's logs and rows are scanned against all of it.
LEDGER = Ledger()


def event_texts(events: Iterable[Mapping[str, object]]) -> list[str]:
    """Each captured structlog event as the text a renderer could print."""
    return [repr(e) + json.dumps(e, default=str) for e in events]


async def audit_row_texts(dsn: str) -> list[str]:
    """Every row of ``audit_logs`` as JSON text (read on a side connection)."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT row_to_json(a)::text AS t FROM audit_logs a")
    finally:
        await conn.close()
    return [str(r["t"]) for r in rows]


async def seed(pg: Queries) -> None:
    """Two organizations, Alice and Bob, and an OAuth2 app of acme, written unaudited."""
    for org, name in ((ACME, "acme"), (GLOBEX, "globex")):
        await pg.insert_organization(
            id=org,
            name=name,
            display_name=name.title(),
            description="",
            icon="",
            is_default=org == ACME,
            created_at=_T0,
        )
    for user, name in ((ALICE, "alice"), (BOB, "bob")):
        await pg.insert_user(
            id=user,
            email=f"{name}@acme.example",
            username=name,
            name=f"{name.title()} Builder",
            hashed_password=b"not-a-real-hash",
            status=models.UserStatus.ACTIVE,
            rbac_roles=["member"],
            avatar_url=None,
            login_type=models.LoginType.PASSWORD,
            created_at=_T0,
        )
        await pg.insert_organization_member(
            organization_id=ACME, user_id=user, roles=["org-member"], created_at=_T0
        )
    await pg.insert_oauth2_provider_app(
        id=APP,
        organization_id=ACME,
        name="acme-ci",
        callback_url="https://ci.acme.example/callback",
        icon="",
        metadata={"contacts": ["ci@acme.example"], "logo_uri": None},
        created_at=_T0,
    )


#: The two shapes of the single statement, by the server version that selects each.
SHAPES = {"lookup": ServerVersion(15, 0), "returning_old_new": ServerVersion(18, 0)}


async def server_of(pg: Queries) -> ServerVersion:
    """The version of the server below ``pg``'s layers."""
    pg_store = raw(pg)
    assert isinstance(pg_store, store.PgStore)
    return await pg_store.server_version()


def audited_in(s: Queries | store.Store, shape: ServerVersion) -> Queries:
    """The reference application's audit layer over ``s``'s PgStore, in ``shape``."""
    return Queries(audit.AuditStore(raw(s), AUDIT, server=shape))


async def waiting_for_a_lock(conn: asyncpg.Connection) -> None:
    """Until some other backend of this database waits for a row lock (a transaction's)."""
    # Polled: the server has no notification for another session starting to wait.
    while not await conn.fetchval(  # noqa: ASYNC110
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
    ):
        await asyncio.sleep(0.01)


T = TypeVar("T")


async def racing_bob_into_globex(
    db_dsn: str, write: Callable[[], Awaitable[T]]
) -> tuple[T, list[MutableMapping[str, Any]]]:
    """``write`` (as the owner) while another transaction holds Bob's globex membership
    inserted and uncommitted; that transaction commits once ``write`` waits on it.

    Returns what ``write`` returned and the structlog events of the run. Bob's row
    was committed after ``write``'s snapshot: the race an upsert must get right.
    """
    # No prepared statements: the suite also runs through PgBouncer in transaction pooling.
    other = await asyncpg.connect(db_dsn, statement_cache_size=0)
    watcher = await asyncpg.connect(db_dsn, statement_cache_size=0)
    try:
        tx = other.transaction()
        await tx.start()
        await other.execute(
            "INSERT INTO organization_members (organization_id, user_id, roles) "
            "VALUES ($1, $2, ARRAY['org-auditor'])",
            GLOBEX,
            BOB,
        )
        with structlog.testing.capture_logs() as events, as_subject(OWNER):
            running = asyncio.ensure_future(write())
            await asyncio.wait_for(waiting_for_a_lock(watcher), 30)
            await tx.commit()
            result = await asyncio.wait_for(running, 30)
    finally:
        await other.close()
        await watcher.close()
    return result, events


async def search_entries(
    s: Queries,
    *,
    resource_type: str | None = None,
    resource_id: object = None,
    organization_id: uuid.UUID | None = None,
) -> list[models.SearchAuditLogsRow]:
    """The audit entries ``s`` may see (newest first), of a resource type, one resource
    (any id, as text) or an organization: the application's own search, unpaged."""
    return await s.search_audit_logs(
        resource_type=resource_type,
        resource_id=None if resource_id is None else str(resource_id),
        user_id=None,
        organization_id=organization_id,
        action=None,
        from_time=None,
        to_time=None,
        limit_rows=1000,
        offset_rows=0,
    )
