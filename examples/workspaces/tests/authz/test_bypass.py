"""Attempts to get around the authorization layer, each refused."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import store
from authz import AuthzStore, Subject, as_subject, as_system, current_subject
from authz.errors import NotAuthorized

from tests._layers import with_authz
from workspaces.db import CONSTRAINTS, LoginType, Queries, User, UserStatus
from workspaces.policies import MODEL, SYSTEM_RESTRICTED

NOW = datetime.datetime(2026, 2, 1, tzinfo=datetime.UTC)
_STORE_API = {"fetch_one", "fetch_many", "execute", "execute_rows", "in_tx", "ping", "close"}


@pytest_asyncio.fixture
async def pg(db_dsn: str) -> AsyncIterator[Queries]:
    s = Queries(await store.connect(db_dsn, min_size=1, max_size=3, constraints=CONSTRAINTS))
    yield s
    await s.store.close()


async def _user(pg: Queries, name: str) -> User:
    return await pg.insert_user(
        id=uuid.uuid4(),
        email=f"{name}@example.com",
        username=name,
        name=name,
        hashed_password=b"x",
        status=UserStatus.ACTIVE,
        rbac_roles=["owner"],
        avatar_url=None,
        login_type=LoginType.PASSWORD,
        created_at=NOW,
    )


def test_no_public_attribute_leads_to_the_inner_store(pg: Queries) -> None:
    guarded = AuthzStore(pg.store, MODEL)
    public = {name for name in dir(guarded) if not name.startswith("_")}
    assert public <= _STORE_API | {"derived_queries", "model"}
    for name in ("inner", "store", "pool", "wrapped", "delegate"):
        with pytest.raises(AttributeError):
            getattr(guarded, name)
    assert not hasattr(guarded, "__dict__"), "slots only: nothing can be hung on it either"
    with pytest.raises(AttributeError):
        guarded.pool = object()  # type: ignore[attr-defined]  # the point of the test


async def test_a_task_cannot_change_who_its_parent_acts_as(pg: Queries) -> None:
    alice = Subject.user(uuid.uuid4())
    admin = Subject.user(uuid.uuid4(), site_roles=("owner",))

    async def forge() -> None:
        with as_subject(admin):
            await asyncio.sleep(0.01)  # the parent resumes while the task acts as admin

    with as_subject(alice):
        task = asyncio.create_task(forge())
        await asyncio.sleep(0)
        assert current_subject() is alice
        await task
        assert current_subject() is alice
        with pytest.raises(NotAuthorized):
            await with_authz(pg).get_user_by_id(id=(await _user(pg, "victim")).id)


def test_a_subject_cannot_be_edited_into_more_rights() -> None:
    alice = Subject.user(uuid.uuid4(), org_roles={uuid.uuid4(): ("org-member",)})
    with pytest.raises(dataclasses.FrozenInstanceError):
        alice.site_roles = frozenset({"owner"})  # type: ignore[misc]  # the point of the test
    with pytest.raises(TypeError):
        alice.org_roles[uuid.uuid4()] = frozenset({"org-admin"})  # type: ignore[index]  # read-only
    with pytest.raises(AttributeError):
        alice.site_roles.add("owner")  # type: ignore[attr-defined]  # a frozenset


@pytest.mark.parametrize("revocation", ["deleted", "suspended"])
async def test_a_revoked_users_subject_is_denied_everything(
    pg: Queries, revocation: str
) -> None:
    user = await _user(pg, "leaver")
    if revocation == "deleted":
        await pg.soft_delete_user(id=user.id)
    else:
        await pg.update_user_status(id=user.id, status=UserStatus.SUSPENDED, updated_at=NOW)
    guarded = with_authz(pg)
    # The session's subject still claims the owner role it had at login.
    with as_subject(Subject.user(user.id, site_roles=("owner",))):
        with pytest.raises(NotAuthorized):
            await guarded.get_user_by_id(id=user.id)
        with pytest.raises(NotAuthorized):
            await guarded.list_users(search=None, status=None, limit_rows=10, offset_rows=0)
    # An active user with the same claim is allowed: the refusal is the revocation.
    other = await _user(pg, "stayer")
    with as_subject(Subject.user(other.id, site_roles=("owner",))):
        assert (await guarded.get_user_by_id(id=user.id)).id == user.id


async def test_system_identities_are_not_checked_against_user_rows(pg: Queries) -> None:
    user = await _user(pg, "someone")
    with as_system(SYSTEM_RESTRICTED):
        assert (await with_authz(pg).get_user_by_id(id=user.id)).id == user.id
