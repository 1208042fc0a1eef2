"""Role assignment has a ceiling: a subject grants or takes away only roles it may assign."""

from __future__ import annotations

import datetime
import uuid

import authz
import pytest
import store
from authz.errors import NotAuthorized, UnknownRole

from tests._layers import with_audit, with_authz
from tests.authz._world import World
from workspaces.db import Queries, models
from workspaces.policies import MODEL, SYSTEM_RESTRICTED

T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
EVERY_SITE_ROLE = frozenset(MODEL.site_roles)
EVERY_ORG_ROLE = frozenset(MODEL.org_roles)
assignable = MODEL.assignable


def test_every_assigned_role_is_a_declared_role() -> None:
    for role in (*MODEL.site_roles.values(), *MODEL.org_roles.values()):
        assert role.assigns <= EVERY_SITE_ROLE | EVERY_ORG_ROLE, role.name


def test_what_each_built_in_role_may_assign() -> None:
    org, other = uuid.uuid4(), uuid.uuid4()

    def subject(site: list[str], here: list[str] | None = None) -> authz.Subject:
        return authz.Subject.user(uuid.uuid4(), site, {org: here} if here else None)

    everything = EVERY_SITE_ROLE | EVERY_ORG_ROLE
    assert assignable(subject(["owner"]), org) == everything
    assert assignable(subject(["user-admin"]), org) == everything - {"owner"}
    assert assignable(subject(["member"], ["org-admin"]), org) == EVERY_ORG_ROLE
    assert assignable(subject(["member"], ["org-admin"]), other) == frozenset()
    assert assignable(subject(["member"], ["org-admin"])) == frozenset()  # site roles
    for name in ("member", "auditor"):
        assert assignable(subject([name], ["org-member", "org-auditor"]), org) == frozenset()
    with authz.as_system(SYSTEM_RESTRICTED):
        system = authz.current_subject()
    assert system is not None
    assert assignable(system, org) == frozenset()


async def test_a_user_admin_cannot_make_anyone_owner(pg: Queries, world: World) -> None:
    s = with_authz(pg)
    with authz.as_subject(world.subject(world.user_admin)):
        for who in (world.loner, world.user_admin):
            with pytest.raises(NotAuthorized):
                await s.update_user_rbac_roles(rbac_roles=["member", "owner"], id=who.id)
        # Below the ceiling it may.
        changed = await s.update_user_rbac_roles(rbac_roles=["auditor"], id=world.loner.id)
    assert changed.rbac_roles == ["auditor"]
    assert (await pg.get_user_by_id(id=world.user_admin.id)).rbac_roles == ["user-admin"]


async def test_taking_a_role_away_needs_the_right_to_assign_it(pg: Queries, world: World) -> None:
    s = with_authz(pg)
    with (
        authz.as_subject(world.subject(world.user_admin)),
        pytest.raises(NotAuthorized),
    ):
        await s.update_user_rbac_roles(rbac_roles=["member"], id=world.site_owner.id)
    assert (await pg.get_user_by_id(id=world.site_owner.id)).rbac_roles == ["owner"]
    with authz.as_subject(world.subject(world.site_owner)):
        demoted = await s.update_user_rbac_roles(rbac_roles=["member"], id=world.user_admin.id)
    assert demoted.rbac_roles == ["member"]


async def test_a_user_admin_cannot_create_an_owner(pg: Queries, world: World) -> None:
    s = with_authz(pg)
    new_id = uuid.uuid4()
    with (
        authz.as_subject(world.subject(world.user_admin)),
        pytest.raises(NotAuthorized),
    ):
        await s.insert_user(
            id=new_id, email="boss@example.com", username="boss", name="Boss",
            hashed_password=b"x", status=models.UserStatus.ACTIVE, rbac_roles=["owner"],
            avatar_url=None, login_type=models.LoginType.PASSWORD, created_at=T0,
        )  # fmt: skip
    with pytest.raises(store.errors.NotFound):
        await pg.get_user_by_id(id=new_id)


async def test_organization_roles_are_assigned_only_where_held(pg: Queries, world: World) -> None:
    s = with_authz(pg)
    with authz.as_subject(world.subject(world.admin_a)):
        promoted = await s.update_member_roles(
            roles=["org-admin"], organization_id=world.org_a.id, user_id=world.member_a.id
        )
        assert promoted.roles == ["org-admin"]
        # The organization B membership is not theirs to change, nor to create.
        with pytest.raises(NotAuthorized):
            await s.insert_organization_member(
                organization_id=world.org_b.id,
                user_id=world.admin_a.id,
                roles=["org-admin"],
                created_at=T0,
            )
    with authz.as_subject(world.subject(world.member_a)), pytest.raises(NotAuthorized):
        await s.update_member_roles(
            roles=["org-admin"], organization_id=world.org_b.id, user_id=world.member_a.id
        )


@pytest.mark.parametrize("kind", ["site", "org"])
async def test_unknown_role_names_are_refused_before_writing(
    pg: Queries, world: World, kind: str
) -> None:
    s = with_authz(pg)

    async def assign() -> None:
        if kind == "site":
            await s.update_user_rbac_roles(rbac_roles=["superuser"], id=world.loner.id)
        else:
            await s.update_member_roles(
                roles=["boss"], organization_id=world.org_a.id, user_id=world.member_a.id
            )

    with authz.as_subject(world.subject(world.site_owner)), pytest.raises(UnknownRole) as raised:
        await assign()
    assert ("superuser" if kind == "site" else "boss") in str(raised.value)
    assert (await pg.get_user_by_id(id=world.loner.id)).rbac_roles == ["member"]
    member = await pg.get_organization_member(
        organization_id=world.org_a.id, user_id=world.member_a.id
    )
    assert member.roles == ["org-member"]


async def test_through_the_audited_stack_a_denied_assignment_leaves_no_entry(
    pg: Queries, world: World
) -> None:
    s = with_audit(with_authz(pg))
    with (
        authz.as_subject(world.subject(world.user_admin)),
        pytest.raises(NotAuthorized),
    ):
        await s.update_user_rbac_roles(rbac_roles=["owner"], id=world.loner.id)
    assert (await pg.get_user_by_id(id=world.loner.id)).rbac_roles == ["member"]
    entries = await pg.search_audit_logs(
        resource_type="user", resource_id=str(world.loner.id), user_id=None,
        organization_id=None, action=None, from_time=None, to_time=None,
        limit_rows=10, offset_rows=0,
    )  # fmt: skip
    assert entries == []
