"""Property: a SQL-filtered list returns exactly the rows ``authorize`` allows one by one.

Organizations here carry a row condition beyond ownership (the default
organization is readable by every user), so the property covers it too.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import uuid
from collections.abc import AsyncIterator
from typing import Any

import authz
import pytest_asyncio
import store
from authz import Action
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests._layers import raw
from tests.authz import _factories as f
from tests.authz._model import variant
from workspaces.db import CONSTRAINTS, Queries, models
from workspaces.policies import APPLICATION_CONNECT, MODEL, POLICIES, RESOURCES

# The default organization (the one new users join) is open for reading to every user.
OPEN_ORGANIZATION = dataclasses.replace(
    RESOURCES["organization"], open=authz.Open("is_default", True)
)
OPEN_MODEL = variant(
    policies={
        **POLICIES,
        "list_organizations": authz.filtered(OPEN_ORGANIZATION),
        "get_organization_by_id": authz.read(OPEN_ORGANIZATION),
    }
)
OPEN_RESOURCES = {**RESOURCES, "organization": OPEN_ORGANIZATION}


class _Rollback(Exception):
    pass


@pytest_asyncio.fixture
async def base(db_dsn: str) -> AsyncIterator[tuple[Queries, list[Any], list[Any]]]:
    pg = Queries(await store.connect(db_dsn, min_size=1, max_size=2, constraints=CONSTRAINTS))
    try:
        orgs = [await f.organization(pg, is_default=i == 0) for i in range(3)]
        users = [await f.user(pg) for _ in range(4)]
        yield pg, orgs, users
    finally:
        await pg.store.close()


_roles = st.frozensets(st.sampled_from(sorted(MODEL.site_roles)), max_size=2)
_org_roles = st.frozensets(st.sampled_from(sorted(MODEL.org_roles)), max_size=2)
_world = st.fixed_dictionaries(
    {
        "who": st.integers(0, 4),  # 4: a subject owning nothing
        "site": _roles,
        "orgs": st.lists(_org_roles, min_size=3, max_size=3),
        "scope": st.sampled_from([authz.Scope.ALL, APPLICATION_CONNECT]),
        "workspaces": st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2)), max_size=10),
        "keys": st.lists(st.integers(0, 3), max_size=6),
        "logs": st.lists(st.tuples(st.integers(0, 4), st.none() | st.integers(0, 2)), max_size=6),
    }
)


async def _allowed(tx: Queries, subject: authz.Subject, kind: str, rows: list[Any]) -> list[Any]:
    resource = OPEN_RESOURCES[kind]
    kept = []
    for row in rows:
        obj = await resource.object(row.__getattribute__, tx.store, row=True)
        if OPEN_MODEL.authorize(subject, Action.READ, obj):
            kept.append(row.id)
    return kept


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=_world)
async def test_filtered_lists_equal_authorize_row_by_row(
    base: tuple[Queries, list[Any], list[Any]], world: dict[str, Any]
) -> None:
    pg, orgs, users = base
    ids = [u.id for u in users] + [uuid.uuid4()]
    subject = authz.Subject(
        ids[world["who"]],
        world["site"],
        {o.id: r for o, r in zip(orgs, world["orgs"], strict=True) if r},
        scope=world["scope"],
    )

    async def check(tx: Queries) -> None:
        for i, (owner, org) in enumerate(world["workspaces"]):
            at = f.NOW + datetime.timedelta(seconds=i)
            await f.workspace(tx, users[owner], orgs[org], created_at=at)
        for actor, org in world["logs"]:
            await f.audit_log(tx, ids[actor], None if org is None else orgs[org].id)
        for owner in world["keys"]:
            await f.api_key(tx, users[owner])
        guarded = Queries(authz.AuthzStore(raw(tx), OPEN_MODEL))
        for user in users:
            keys = await tx.list_api_keys_by_user_id(user_id=user.id, limit_rows=100, offset_rows=0)
            with authz.as_subject(subject):
                seen_keys = await guarded.list_api_keys_by_user_id(
                    user_id=user.id, limit_rows=100, offset_rows=0
                )
            assert [r.id for r in seen_keys] == await _allowed(tx, subject, "api_key", keys)
        all_users = await tx.list_users(search=None, status=None, limit_rows=100, offset_rows=0)
        with authz.as_subject(subject):
            seen_users = await guarded.list_users(
                search=None, status=None, limit_rows=100, offset_rows=0
            )
        assert [r.id for r in seen_users] == await _allowed(tx, subject, "user", all_users)
        for org in orgs:
            everything = await tx.list_workspaces_by_organization_id(
                organization_id=org.id, after_created_at=None, after_id=None, limit_rows=100
            )
            with authz.as_subject(subject):
                seen = await guarded.list_workspaces_by_organization_id(
                    organization_id=org.id, after_created_at=None, after_id=None, limit_rows=100
                )
            assert [r.id for r in seen] == await _allowed(tx, subject, "workspace", everything)
        logs: list[models.SearchAuditLogsRow] = await tx.search_audit_logs(
            resource_type=None, resource_id=None, user_id=None, organization_id=None, action=None,
            from_time=None, to_time=None, limit_rows=100, offset_rows=0,
        )  # fmt: skip
        with authz.as_subject(subject):
            seen_logs = await guarded.search_audit_logs(
                resource_type=None, resource_id=None, user_id=None, organization_id=None,
                action=None, from_time=None, to_time=None, limit_rows=100, offset_rows=0,
            )  # fmt: skip
        assert [r.id for r in seen_logs] == await _allowed(tx, subject, "audit_log", logs)
        all_orgs = await tx.list_organizations(limit_rows=100, offset_rows=0)
        with authz.as_subject(subject):
            seen_orgs = await guarded.list_organizations(limit_rows=100, offset_rows=0)
        assert [r.id for r in seen_orgs] == await _allowed(tx, subject, "organization", all_orgs)
        raise _Rollback

    with contextlib.suppress(_Rollback):
        await pg.in_tx(check)
