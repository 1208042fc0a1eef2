"""Cross-organization isolation: an org-admin of B reaches nothing of A, pages included."""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator

import authz
import pytest
import pytest_asyncio
import store
from authz.errors import NotAuthorized

from tests._layers import with_authz
from tests.authz import _factories as f
from tests.authz._world import World, build
from tests.authz.test_coverage import CASES
from workspaces.db import CONSTRAINTS, Queries, models


@pytest_asyncio.fixture
async def setup(db_dsn: str) -> AsyncIterator[tuple[Queries, Queries, World]]:
    pg = Queries(await store.connect(db_dsn, min_size=1, max_size=2, constraints=CONSTRAINTS))
    try:
        yield pg, with_authz(pg), await build(pg)
    finally:
        await pg.store.close()


async def test_org_admin_of_b_is_denied_every_method_on_a(
    setup: tuple[Queries, Queries, World],
) -> None:
    _, s, w = setup
    with authz.as_subject(w.subject(w.outsider)):
        for name, case in sorted(CASES.items()):
            if case.target is None:
                with pytest.raises(NotAuthorized):
                    await case.run(s, w)
            else:
                rows = await case.run(s, w)
                assert case.target(w) not in [case.key(r) for r in rows], name
                assert all(getattr(r, "organization_id", w.org_b.id) == w.org_b.id for r in rows)


async def test_pages_of_another_organization_are_empty_and_own_pages_complete(
    setup: tuple[Queries, Queries, World],
) -> None:
    pg, s, w = setup
    for i in range(5):
        at = f.NOW + datetime.timedelta(minutes=i)
        await f.workspace(pg, w.member_a, w.org_a, created_at=at)
        await f.workspace(pg, w.outsider, w.org_b, created_at=at)
        joined = await f.user(pg)
        await f.member(pg, w.org_a, joined, ["org-member"])
        await f.member(pg, w.org_b, joined, ["org-member"])

    async def keyset(org: models.Organization) -> list[object]:
        seen: list[object] = []
        after: models.Workspace | None = None
        while True:
            page = await s.list_workspaces_by_organization_id(
                organization_id=org.id,
                after_created_at=after.created_at if after else None,
                after_id=after.id if after else None,
                limit_rows=2,
            )
            if not page:
                return seen
            seen += [r.id for r in page]
            after = page[-1]

    async def offsets(org: models.Organization) -> list[object]:
        seen: list[object] = []
        for offset in range(0, 20, 3):
            page = await s.list_organization_members(
                organization_id=org.id, limit_rows=3, offset_rows=offset
            )
            seen += [(r.organization_id, r.user_id) for r in page]
        return seen

    with authz.as_subject(w.subject(w.outsider)):
        assert await keyset(w.org_a) == []
        assert await offsets(w.org_a) == []
        # a cursor taken from A's rows leads nowhere either
        last_a = (await pg.list_workspaces_by_organization_id(
            organization_id=w.org_a.id, after_created_at=None, after_id=None, limit_rows=1
        ))[0]  # fmt: skip
        assert await s.list_workspaces_by_organization_id(
            organization_id=w.org_a.id, after_created_at=last_a.created_at, after_id=last_a.id,
            limit_rows=10,
        ) == []  # fmt: skip
        own = await keyset(w.org_b)
        assert len(own) == len(set(own)) == 6  # ws_b and the five above
        assert len(await offsets(w.org_b)) == 6  # the outsider and five joiners
        apps = await s.list_oauth2_provider_apps(organization_id=None)
        assert apps == []
        orgs = await s.list_organizations(limit_rows=10, offset_rows=0)
        assert [o.id for o in orgs] == [w.org_b.id]

    with authz.as_subject(w.subject(w.admin_a)):
        assert await keyset(w.org_b) == []
        assert len(await keyset(w.org_a)) == 6
        with pytest.raises(NotAuthorized):
            await s.update_workspace_name(name="taken", id=w.ws_b.id)
        with pytest.raises(NotAuthorized):  # no self-invitation into B
            await s.insert_organization_member(
                organization_id=w.org_b.id, user_id=w.admin_a.id, roles=["org-admin"],
                created_at=f.NOW,
            )  # fmt: skip
