"""Failover under load with pg_auto_failover: the full stack on a multi-host DSN.

A monitor, a primary and a synchronous secondary run on this machine. Writers
insert organizations through the audit and authorization layers while the
primary is killed (SIGKILL of its keeper, postmaster and backends), the
secondary is promoted, the old primary rejoins, and then the new primary is
killed in turn (fail-back). Run with ``make test-ha``.
"""

from __future__ import annotations

import asyncio
import datetime
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import asyncpg
import pytest
from workspaces import stack as app
from workspaces.db import Queries

from authz import Subject, as_subject
from migrations import up
from store.errors import DatabaseUnavailable
from tests.ha._autofailover import Formation, Node

pytestmark = pytest.mark.ha

OWNER = Subject.user(uuid.uuid4(), site_roles=("owner", "member"))
T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
#: No call may take longer than this, whatever the server does.
CALL_BOUND_S = 10.0
#: The store must write again within this long of the monitor's promotion.
RECOVERY_BOUND_S = 10.0


@pytest.fixture(scope="module")
def formation() -> Iterator[Formation]:
    f = Formation()
    try:
        f.start()
        yield f
    finally:
        if os.environ.get("TXSTORE_HA_KEEP_LOGS"):
            for node in [f.monitor, *f.nodes]:
                print(f"--- {node.name}\n{f.log_tail(node, 200)}")
        f.stop()


@dataclass
class Load:
    """What the writers saw: committed ids, unknown outcomes, errors, call times."""

    committed: set[uuid.UUID] = field(default_factory=set)
    attempted: set[uuid.UUID] = field(default_factory=set)
    unavailable: list[str] = field(default_factory=list)
    unexpected: list[BaseException] = field(default_factory=list)
    slowest_failure_s: float = 0.0
    last_commit: float = 0.0


async def _writer(db: Queries, load: Load, stop: asyncio.Event) -> None:
    with as_subject(OWNER):
        while not stop.is_set():
            org = uuid.uuid4()
            load.attempted.add(org)
            started = time.monotonic()
            try:
                async with asyncio.timeout(CALL_BOUND_S):
                    await db.in_tx(
                        lambda q, org=org: q.insert_organization(  # type: ignore[misc]
                            id=org,
                            name=f"org-{org.hex}",
                            display_name="Org",
                            description="",
                            icon="",
                            is_default=False,
                            created_at=T0,
                        ),
                        tx_id="create_org",
                    )
            except DatabaseUnavailable as exc:  # CommitOutcomeUnknown is one too
                load.unavailable.append(type(exc).__name__)
                load.slowest_failure_s = max(load.slowest_failure_s, time.monotonic() - started)
                await asyncio.sleep(0.02)
                continue
            except BaseException as exc:  # a hang (TimeoutError) or a raw driver error
                load.unexpected.append(exc)
                if not isinstance(exc, Exception):
                    raise
                await asyncio.sleep(0.02)
                continue
            load.committed.add(org)
            load.last_commit = time.monotonic()


async def _fail_over(
    formation: Formation, load: Load, victim: Node, survivor: Node
) -> tuple[float, float]:
    """Kill ``victim``; return (seconds to promotion, seconds from promotion to the
    first write the store committed on ``survivor``)."""
    killed = time.monotonic()
    await asyncio.to_thread(formation.kill, victim)
    await asyncio.to_thread(formation.wait_roles, primary=survivor, secondary=None, timeout=60)
    promoted = time.monotonic()
    while load.last_commit <= promoted:
        assert time.monotonic() - promoted < 3 * RECOVERY_BOUND_S, "the store never recovered"
        await asyncio.sleep(0.01)
    return promoted - killed, load.last_commit - promoted


async def test_writes_survive_failover_and_failback(formation: Formation) -> None:
    node1, node2 = formation.nodes
    dsn = formation.dsn()
    await up(dsn, directory=app.MIGRATIONS)
    db = await app.connect(dsn, min_size=0, max_size=8, acquire_timeout=5.0)
    load = Load()
    stop = asyncio.Event()
    writers = [asyncio.create_task(_writer(db, load, stop)) for _ in range(6)]
    try:
        await asyncio.sleep(1.0)
        before_first = len(load.committed)
        to_promote_1, to_write_1 = await _fail_over(formation, load, node1, node2)

        await asyncio.to_thread(formation.restart, node1)
        await asyncio.to_thread(formation.wait_roles, primary=node2, secondary=node1, timeout=90)
        await asyncio.sleep(1.0)
        to_promote_2, to_write_2 = await _fail_over(formation, load, node2, node1)
        await asyncio.sleep(0.5)
    finally:
        stop.set()
        await asyncio.gather(*writers)
        await db.store.close()

    print(  # the measured numbers, for docs/scaling.md
        f"\nfailover: promotion {to_promote_1:.2f} s after the kill, store writing "
        f"{to_write_1:.2f} s after promotion; failback: {to_promote_2:.2f} s, "
        f"{to_write_2:.2f} s; committed {len(load.committed)}, unavailable "
        f"{len(load.unavailable)} ({sorted(set(load.unavailable))}), slowest failed call "
        f"{load.slowest_failure_s:.2f} s"
    )
    assert load.unexpected == []
    assert before_first > 0
    assert load.unavailable, "the kills were not seen by any call"
    assert to_write_1 < RECOVERY_BOUND_S
    assert to_write_2 < RECOVERY_BOUND_S

    conn = await asyncpg.connect(formation.node_dsn(node1))
    try:
        orgs = {r["id"] for r in await conn.fetch("SELECT id FROM organizations")}
        entries = await conn.fetch(
            "SELECT resource_id, action::text AS action FROM audit_logs "
            "WHERE resource_type = 'organization'"
        )
    finally:
        await conn.close()
    assert load.committed <= orgs, "a transaction that reported commit was lost"
    assert orgs <= load.attempted
    audited = sorted(e["resource_id"] for e in entries)
    assert audited == sorted(str(o) for o in orgs), "audit entries do not match the rows 1:1"
