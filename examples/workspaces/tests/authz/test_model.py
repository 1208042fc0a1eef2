"""The application's authorization model: its checks, revocation and a row condition."""

from __future__ import annotations

import dataclasses
import datetime
import uuid

import authz
import pytest
import store
from authz.errors import NotAuthorized, PolicyError, UnknownRole

from tests.authz._model import variant
from tests.authz._world import World
from workspaces import db
from workspaces.db import Queries, UserStatus
from workspaces.policies import MODEL, POLICIES, RESOURCES, SITE_ROLES, SYSTEM_RESTRICTED

NOW = datetime.datetime(2026, 2, 1, tzinfo=datetime.UTC)

# "The default organization is readable by every user": a row condition beyond ownership.
OPEN_ORGANIZATION = dataclasses.replace(
    RESOURCES["organization"], open=authz.Open("is_default", True)
)
OPEN_MODEL = variant(
    policies={
        **POLICIES,
        "get_organization_by_id": authz.read(OPEN_ORGANIZATION),
        "list_organizations": authz.filtered(OPEN_ORGANIZATION),
    }
)


def test_a_role_granting_an_undeclared_action_names_the_applications_file() -> None:
    sloppy = authz.Role("sloppy", site=authz.perms({"workspace": ["teleport"], "ghost": ["read"]}))
    with pytest.raises(PolicyError) as raised:
        variant(site_roles=(*SITE_ROLES, sloppy))
    problems = raised.value.problems
    teleport = [p for p in problems if "undeclared action 'teleport'" in p]
    assert teleport
    assert all("workspaces/policies.py" in p for p in teleport)
    assert any("undeclared object type 'ghost'" in p for p in problems)


def test_a_policy_on_an_undeclared_object_type_is_refused() -> None:
    elsewhere = dataclasses.replace(RESOURCES["workspace"], type="spaceship")
    with pytest.raises(PolicyError, match="object type 'spaceship' is not declared"):
        variant(policies={**POLICIES, "get_workspace_by_id": authz.read(elsewhere)})


async def test_a_subject_with_an_undeclared_role_is_refused_at_its_first_query(
    pg: Queries, world: World
) -> None:
    s = Queries(authz.AuthzStore(pg.store, MODEL))
    with (
        authz.as_subject(authz.Subject.user(world.member_a.id, ["superuser"])),
        pytest.raises(UnknownRole, match="superuser"),
    ):
        await s.get_user_by_id(id=world.member_a.id)


async def test_revocation_is_the_applications_and_none_by_default(
    pg: Queries, world: World
) -> None:
    await pg.update_user_status(id=world.member_a.id, status=UserStatus.SUSPENDED, updated_at=NOW)
    subject = world.subject(world.member_a)
    with authz.as_subject(subject), pytest.raises(NotAuthorized):
        await Queries(authz.AuthzStore(pg.store, MODEL)).get_user_by_id(id=world.member_a.id)
    unrevoked = variant(revoked=None)
    with authz.as_subject(subject):
        found = await Queries(authz.AuthzStore(pg.store, unrevoked)).get_user_by_id(
            id=world.member_a.id
        )
    assert found.status is UserStatus.SUSPENDED


async def test_each_model_asks_its_own_revocation_in_one_binding(pg: Queries, world: World) -> None:
    # A binding remembers whether its subject is revoked per model: a model without
    # revocation answering first must not let a revoking model's store through.
    await pg.update_user_status(id=world.member_a.id, status=UserStatus.SUSPENDED, updated_at=NOW)
    lenient = Queries(authz.AuthzStore(pg.store, variant(revoked=None)))
    revoking = Queries(authz.AuthzStore(pg.store, MODEL))
    with authz.as_subject(world.subject(world.member_a)):
        for _ in range(2):
            assert (await lenient.get_user_by_id(id=world.member_a.id)).id == world.member_a.id
            with pytest.raises(NotAuthorized):
                await revoking.get_user_by_id(id=world.member_a.id)


async def test_an_open_row_is_readable_by_any_user_one_row_at_a_time(
    pg: Queries, world: World
) -> None:
    s = Queries(authz.AuthzStore(pg.store, OPEN_MODEL))
    stranger = authz.Subject.user(uuid.uuid4(), ["member"])  # in no organization
    with authz.as_subject(stranger):
        assert (await s.get_organization_by_id(id=world.org_a.id)).is_default
        with pytest.raises(NotAuthorized):
            await s.get_organization_by_id(id=world.org_b.id)
    with authz.as_subject(stranger), pytest.raises(NotAuthorized):
        # Without the condition the same read is denied: the grant is the row's.
        await Queries(authz.AuthzStore(pg.store, MODEL)).get_organization_by_id(id=world.org_a.id)
    with authz.as_system(SYSTEM_RESTRICTED):  # identities keep to their permission sets
        assert (await s.get_organization_by_id(id=world.org_b.id)).id == world.org_b.id


async def test_an_open_row_condition_filters_lists_in_sql(pg: Queries, world: World) -> None:
    s = Queries(authz.AuthzStore(pg.store, OPEN_MODEL))
    with authz.as_subject(authz.Subject.user(uuid.uuid4(), ["member"])):
        listed = await s.list_organizations(limit_rows=50, offset_rows=0)
    assert [o.id for o in listed] == [world.org_a.id]
    with authz.as_subject(world.subject(world.outsider)):  # org-admin of B: B and the open A
        listed = await s.list_organizations(limit_rows=50, offset_rows=0)
    assert {o.id for o in listed} == {world.org_a.id, world.org_b.id}


IS_REVOKED: store.Query[bool] = store.Query(
    name="is_user_revoked",
    kind=store.Kind.ONE,
    sql="SELECT (deleted OR status <> 'active') AS revoked FROM users WHERE id = $1",
    params=(store.Param("id", "uuid"),),
    decode=lambda row: bool(row["revoked"]),
    source="tests/authz/test_model.py",
)


async def test_revocation_may_be_a_query_of_the_application(pg: Queries, world: World) -> None:
    by_query = variant(revoked=IS_REVOKED)
    subject = world.subject(world.member_a)
    s = Queries(authz.AuthzStore(pg.store, by_query))
    with authz.as_subject(subject):
        assert (await s.get_user_by_id(id=world.member_a.id)).id == world.member_a.id
    await pg.soft_delete_user(id=world.member_a.id)
    with authz.as_subject(subject), pytest.raises(NotAuthorized):
        await s.get_user_by_id(id=world.member_a.id)
    with pytest.raises(PolicyError, match="revocation query"):
        variant(revoked=db.LIST_USERS)
