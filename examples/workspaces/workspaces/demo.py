"""The demo: txstore walked through as a new user would, on an embedded PostgreSQL.

``txstore demo`` (``make demo``) runs it: ``[tool.txstore] demo`` names
:func:`demo`, which txstore calls with a fresh database. It uses every layer,
through the reference application's stack and public names only.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import time
import uuid

import migrations
import structlog
from authz import as_subject, as_system
from authz.errors import NotAuthorized
from prometheus_client import CollectorRegistry
from store import connect
from store.errors import OuterStoreUsedInTransaction
from store.metrics import StoreMetrics
from store.pubsub import Event, Message, PubSub, publish

from workspaces import stack
from workspaces.db import AuditAction, LoginType, Queries, User, UserStatus, Workspace
from workspaces.policies import MODEL, SYSTEM_RESTRICTED

__all__ = ["demo"]

_NOW = datetime.datetime.now(datetime.UTC)


def _say(title: str, text: str = "") -> None:
    print(f"  {title:<30} {text}".rstrip(), flush=True)


def _step(title: str) -> None:
    print(f"\n== {title}", flush=True)


async def _user(s: Queries, name: str, roles: tuple[str, ...], password: bytes) -> User:
    return await s.insert_user(
        id=uuid.uuid4(),
        email=f"{name}@example.com",
        username=name,
        name=name.title(),
        hashed_password=password,
        status=UserStatus.ACTIVE,
        rbac_roles=list(roles),
        avatar_url=None,
        login_type=LoginType.PASSWORD,
        created_at=_NOW,
    )


async def _workspace(s: Queries, owner: User, org_id: uuid.UUID, name: str) -> Workspace:
    return await s.insert_workspace(
        id=uuid.uuid4(),
        owner_id=owner.id,
        organization_id=org_id,
        name=name,
        autostart_schedule=None,
        ttl=None,
        created_at=_NOW,
    )


async def _walk(dsn: str) -> None:
    _step("migrations")
    started = time.perf_counter()
    applied = await migrations.up(dsn, directory=stack.MIGRATIONS)
    took = (time.perf_counter() - started) * 1e3
    _say("applied", f"{len(applied)} migration(s) in {took:.0f} ms")
    state = await migrations.status(dsn, directory=stack.MIGRATIONS)
    _say("schema version", f"{state.current} ({len(state.pending)} pending)")

    metrics = StoreMetrics(CollectorRegistry())
    s = await stack.connect(dsn, metrics=metrics, min_size=1, max_size=4)
    # below every layer, to show what landed
    raw = Queries(await connect(dsn, min_size=1, max_size=2))
    try:
        await _tour(s, raw, dsn)
        _step("metrics")
        for sample in _samples(metrics):
            _say(*sample)
    finally:
        metrics.close()
        await s.store.close()
        await raw.store.close()


def _samples(metrics: StoreMetrics) -> list[tuple[str, str]]:
    rows = []
    for family in metrics.registry.collect():
        for sample in family.samples:
            if sample.name == "txstore_transactions_total":
                label = f"{sample.labels['tx_id']} {sample.labels['outcome']}"
                rows.append((f"transactions {label}", f"{sample.value:.0f}"))
    return sorted(rows)


async def _tour(s: Queries, raw: Queries, dsn: str) -> None:
    admin = MODEL.user(uuid.uuid4(), site_roles=("owner",))
    _step("an organization and its people (as a site owner)")
    with as_subject(admin):
        org = await s.insert_organization(
            id=uuid.uuid4(),
            name="acme",
            display_name="Acme",
            description="",
            icon="",
            is_default=True,
            created_at=_NOW,
        )
        alice = await _user(s, "alice", ("member",), b"alice-hash-v1")
        bob = await _user(s, "bob", ("member",), b"bob-hash-v1")
        for person, roles in ((alice, ["org-admin"]), (bob, ["org-member"])):
            await s.insert_organization_member(
                organization_id=org.id, user_id=person.id, roles=roles, created_at=_NOW
            )
    _say("organization", f"{org.name} {org.id}")
    _say("users", "alice (org-admin), bob (org-member)")

    as_alice = MODEL.user(alice.id, ["member"], {org.id: ["org-admin"]})
    as_bob = MODEL.user(bob.id, ["member"], {org.id: ["org-member"]})
    _step("workspaces, each created by its owner")
    with as_subject(as_alice):
        private = await _workspace(s, alice, org.id, "alice-dev")
    with as_subject(as_bob):
        await _workspace(s, bob, org.id, "bob-dev")
        mine = await s.list_workspaces_by_organization_id(
            organization_id=org.id, after_created_at=None, after_id=None, limit_rows=10
        )
    _say("bob lists the organization", ", ".join(w.name for w in mine) + " (filtered in SQL)")

    _step("a denied read")
    with as_subject(as_bob):
        try:
            await s.get_workspace_by_id(id=private.id)
        except NotAuthorized as denied:
            _say("bob reads alice-dev", f"{type(denied).__name__}: {denied}")
            _say("", "(a NotFound: the API answers 404 and reveals nothing)")

    _step("the outer store used inside in_tx")

    async def careless(tx: Queries) -> None:
        await tx.get_user_by_id(id=alice.id)
        await s.get_user_by_id(id=alice.id)  # txstore-lint: ignore[outer-store-in-tx] -- on purpose

    with as_subject(as_alice):
        try:
            await s.in_tx(careless, tx_id="update_profile")
        except OuterStoreUsedInTransaction as caught:
            _say("caught", str(caught))

    _step("an audited update with a secret field")
    with as_subject(admin):
        await s.update_user_hashed_password(id=alice.id, hashed_password=b"alice-hash-v2")
        await s.update_user_profile(
            id=alice.id,
            email=alice.email,
            username=alice.username,
            name="Alice Liddell",
            avatar_url=None,
            updated_at=_NOW,
        )
    with as_system(SYSTEM_RESTRICTED):
        entries = await raw.search_audit_logs(
            resource_type="user",
            resource_id=str(alice.id),
            user_id=None,
            organization_id=None,
            action=AuditAction.WRITE,
            from_time=None,
            to_time=None,
            limit_rows=10,
            offset_rows=0,
        )
    for entry in reversed(entries):
        _say(f"audit {entry.action} user", json.dumps(entry.diff, sort_keys=True))
    _say("", "(hashed_password changed: shown as secret, never its value)")

    _step("pub/sub: delivered on commit only")
    received: asyncio.Queue[Event] = asyncio.Queue()

    async def on_event(event: Event) -> None:
        received.put_nowait(event)

    async with PubSub(dsn) as bus:
        await bus.subscribe("workspace_events", on_event)
        with as_subject(as_alice):
            await _publish(s, "workspace_events", "rolled back", commit=False)
            await _publish(s, "workspace_events", "alice-dev renamed", commit=True)
        delivered = await asyncio.wait_for(received.get(), 5)
        await asyncio.sleep(0.1)  # time for anything else to arrive
        payload = delivered.payload if isinstance(delivered, Message) else repr(delivered)
        _say("published twice", "once in a rolled-back transaction, once committed")
        _say("received", f"{payload!r}, and {received.qsize()} other message(s)")

    _step("a purge tick (as the audit-purger identity)")
    with as_system(SYSTEM_RESTRICTED):
        await raw.insert_audit_log(
            id=uuid.uuid4(),
            time=_NOW - datetime.timedelta(days=400),
            user_id=admin.id,
            org_id=org.id,
            ip=None,
            user_agent=None,
            request_id=None,
            resource_type="workspace",
            resource_id=str(private.id),
            resource_target="ancient",
            action=AuditAction.WRITE,
            diff={},
            status_code=200,
            additional_fields={},
        )
    result = await stack.purge_worker(s.store).tick()
    _say("purged", f"{result}")


async def _publish(s: Queries, channel: str, payload: str, *, commit: bool) -> None:
    async def send(tx: Queries) -> None:
        await publish(tx.store, channel, payload)
        if not commit:
            raise _Rollback

    with contextlib.suppress(_Rollback):
        await s.in_tx(send, tx_id="notify")


class _Rollback(Exception):
    pass


async def demo(dsn: str, config: object) -> None:
    """The reference walk-through, run by ``txstore demo`` on a fresh database.

    ``config`` is the project's settings; the application knows its own paths.
    """
    del config
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))  # errors only
    await _walk(dsn)
