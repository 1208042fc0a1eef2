"""Authorization costs: the decision, its cache, and AuthzStore against the bare store.

Run: ``.venv/bin/python -m bench.authz``. Starts a local PostgreSQL for the
store numbers; the decision numbers need no database.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable

import structlog
from workspaces import db
from workspaces.policies import MODEL
from workspaces.stack import MIGRATIONS

import authz
import migrations
import store
from authz import Action, Object
from authz._filter import Filters
from authz._store import _Guard, _Table
from authz._subject import Acting
from store.testing import LocalCluster


def _per_call(fn: Callable[[], object], rounds: int = 200_000) -> float:
    started = time.perf_counter()
    for _ in range(rounds):
        fn()
    return (time.perf_counter() - started) / rounds


def decisions() -> None:
    orgs = [uuid.uuid4() for _ in range(20)]
    subject = authz.Subject.user(
        uuid.uuid4(), ["member", "auditor"], {o: ["org-member", "org-auditor"] for o in orgs}
    )
    obj = Object("workspace", "w", uuid.uuid4(), orgs[-1])
    query = db.GET_WORKSPACE_BY_ID
    table = _Table(MODEL, Filters(), dict(MODEL.policies), dict(MODEL.queries))
    guard = _Guard(None, Acting(subject), table, None)  # type: ignore[arg-type]  # check() needs no store
    cache = authz.DecisionCache()
    cache.put(Action.UPDATE, obj, False)
    uncached = _per_call(lambda: MODEL.authorize(subject, Action.UPDATE, obj))
    hit = _per_call(lambda: cache.get(Action.UPDATE, obj))
    guard.check(query, Action.READ, obj)
    checked = _per_call(lambda: guard.check(query, Action.READ, obj))
    print(f"authorize(), 2 site + 2 org roles (denied)   {uncached * 1e6:6.2f} us")
    print(f"decision cache hit                           {hit * 1e6:6.2f} us")
    print(f"store-side check with a cache hit            {checked * 1e6:6.2f} us")


async def _medians(
    bare: Callable[[], Awaitable[object]],
    checked: Callable[[], Awaitable[object]],
    rounds: int = 3000,
) -> tuple[float, float]:
    """Interleaved, so load on the machine hits both alike."""
    times: tuple[list[float], list[float]] = ([], [])
    for i in range(rounds + 300):
        for fn, out in ((bare, times[0]), (checked, times[1])):
            started = time.perf_counter()
            await fn()
            if i >= 300:
                out.append(time.perf_counter() - started)
    return statistics.median(times[0]), statistics.median(times[1])


async def stores(dsn: str) -> None:
    await migrations.up(dsn, directory=MIGRATIONS)
    raw = await store.connect(dsn, min_size=1, max_size=1)
    pg = db.Queries(raw)
    now = datetime.datetime.now(datetime.UTC)
    org = await pg.insert_organization(
        id=uuid.uuid4(), name="bench", display_name="Bench", description="", icon="",
        is_default=False, created_at=now,
    )  # fmt: skip
    owner = await pg.insert_user(
        id=uuid.uuid4(), email="owner@example.com", username="owner", name="Owner",
        hashed_password=b"x", status=db.UserStatus.ACTIVE, rbac_roles=["member"],
        avatar_url=None, login_type=db.LoginType.PASSWORD, created_at=now,
    )  # fmt: skip
    await pg.insert_organization_member(
        organization_id=org.id, user_id=owner.id, roles=["org-member"], created_at=now
    )
    workspaces = [
        await pg.insert_workspace(
            id=uuid.uuid4(),
            owner_id=owner.id,
            organization_id=org.id,
            name=f"ws-{n}",
            autostart_schedule=None,
            ttl=None,
            created_at=now,
        )
        for n in range(10)
    ]
    guarded = db.Queries(authz.AuthzStore(raw, MODEL))
    ws = workspaces[0]

    def pk(s: db.Queries) -> Callable[[], Awaitable[object]]:
        return lambda: s.get_workspace_by_id(id=ws.id)

    def listed(s: db.Queries) -> Callable[[], Awaitable[object]]:
        return lambda: s.list_workspaces_by_organization_id(
            organization_id=org.id, after_created_at=None, after_id=None, limit_rows=10
        )

    with authz.as_subject(authz.Subject.user(owner.id, ["member"], {org.id: ["org-member"]})):
        for label, make in (("primary-key read", pk), ("10-row filtered list", listed)):
            bare, checked = await _medians(make(pg), make(guarded))
            print(
                f"{label:22} PgStore {bare * 1e6:7.1f} us  AuthzStore {checked * 1e6:7.1f} us"
                f"  (+{(checked - bare) * 1e6:.1f} us)"
            )
    await raw.close()


def main() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    decisions()
    with LocalCluster() as cluster:
        asyncio.run(stores(cluster.dsn()))


if __name__ == "__main__":
    main()
