"""Authorization costs: the decision, its cache, and AuthzStore against the bare store.

Run: ``.venv/bin/python -m bench.authz``. Starts a local PostgreSQL for the
store numbers; the decision numbers need no database.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable

import structlog
from tests.authz import _factories as f

import authz
import migrations
import store
from authz import Action, Object
from authz._store import _Guard
from authz._subject import Acting
from store._config import load_config
from store._localpg import LocalCluster


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
    query = store.QUERIES["get_workspace_by_id"]
    guard = _Guard(None, Acting(subject), None, None)  # type: ignore[arg-type]  # check() needs neither
    cache = authz.DecisionCache()
    cache.put(Action.UPDATE, obj, False)
    uncached = _per_call(lambda: authz.authorize(subject, Action.UPDATE, obj))
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
    await migrations.up(dsn, directory=load_config().migrations)
    pg = await store.connect(dsn, min_size=1, max_size=1)
    org = await f.organization(pg)
    owner = await f.user(pg)
    await f.member(pg, org, owner, ["org-member"])
    workspaces = [await f.workspace(pg, owner, org) for _ in range(10)]
    guarded = authz.AuthzStore(pg)
    ws = workspaces[0]

    def pk(s: store.Store) -> Callable[[], Awaitable[object]]:
        return lambda: s.get_workspace_by_id(id=ws.id)

    def listed(s: store.Store) -> Callable[[], Awaitable[object]]:
        return lambda: s.list_workspaces_by_organization_id(
            organization_id=org.id, after_created_at=None, after_id=None, limit_rows=10
        )

    with authz.as_subject(authz.Subject.user(owner.id, org_roles={org.id: ["org-member"]})):
        for label, make in (("primary-key read", pk), ("10-row filtered list", listed)):
            bare, checked = await _medians(make(pg), make(guarded))
            print(
                f"{label:22} PgStore {bare * 1e6:7.1f} us  AuthzStore {checked * 1e6:7.1f} us"
                f"  (+{(checked - bare) * 1e6:.1f} us)"
            )
    await pg.close()


def main() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    decisions()
    with LocalCluster() as cluster:
        asyncio.run(stores(cluster.dsn()))


if __name__ == "__main__":
    main()
