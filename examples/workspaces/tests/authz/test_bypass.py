"""Attempts to get around the authorization layer, each refused."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import Any, TypeVar

import pytest
import pytest_asyncio
import store
import structlog
from authz import AuthzStore, Subject, as_subject, as_system, current_subject
from authz.errors import NotAuthorized, QueryRefused
from store import Kind, Query, Store

from tests._layers import with_authz
from tests.authz._world import World
from workspaces.db import CONSTRAINTS, QUERIES, LoginType, Queries, User, UserStatus, models
from workspaces.policies import MODEL, SYSTEM_RESTRICTED

T = TypeVar("T")
_PRIMITIVES = ("fetch_one", "fetch_many", "execute", "execute_rows", "execute_batch", "fetch_batch")
_WHERE = ("store", "transaction", "savepoint")

NOW = datetime.datetime(2026, 2, 1, tzinfo=datetime.UTC)
_STORE_API = {
    "fetch_one",
    "fetch_many",
    "execute",
    "execute_rows",
    "execute_batch",
    "fetch_batch",
    "in_tx",
    "ping",
    "close",
}


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
async def test_a_revoked_users_subject_is_denied_everything(pg: Queries, revocation: str) -> None:
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


async def _on(s: Store, where: str, run: Callable[[Store], Awaitable[T]]) -> T:
    """``run`` on the store itself, on a transaction handle, or on a savepoint handle."""
    if where == "store":
        return await run(s)
    if where == "transaction":
        return await s.in_tx(run)

    async def nested(tx: Store) -> T:
        return await tx.in_tx(run)

    return await s.in_tx(nested)


def _args(query: Query[Any], values: Mapping[str, object]) -> tuple[object, ...]:
    return tuple(values[p.name] for p in query.params)


def _call(
    primitive: str, query: Query[Any], args: tuple[object, ...]
) -> Callable[[Store], Awaitable[Any]]:
    """Run ``query`` with ``primitive`` on whatever handle it is given."""

    async def run(handle: Store) -> Any:
        batch = primitive in ("execute_batch", "fetch_batch")  # many argument sets
        return await getattr(handle, primitive)(query, [args] if batch else args)

    return run


def _denials(events: Iterable[Mapping[str, Any]], query: str) -> int:
    return sum(1 for e in events if e["event"] == "authorization denied" and e["query"] == query)


async def _snapshot(pg: Queries, world: World) -> tuple[object, ...]:
    ws = await pg.get_workspace_by_id(id=world.ws.id)
    mine = await pg.list_workspaces(after_created_at=None, after_id=None, limit_rows=100)
    return ws.name, ws.deleted, ws.last_used_at, sorted(str(w.id) for w in mine)


@pytest.mark.parametrize("write", ["insert", "update", "delete", "exec"])
@pytest.mark.parametrize("where", _WHERE)
async def test_a_denied_write_raises_and_logs_through_every_primitive(
    pg: Queries, world: World, write: str, where: str
) -> None:
    cases: dict[str, tuple[str, dict[str, object]]] = {
        "insert": (
            "insert_workspace",
            {
                "id": uuid.uuid4(),
                "owner_id": world.outsider.id,
                "organization_id": world.org_a.id,
                "name": "planted",
                "autostart_schedule": None,
                "ttl": None,
                "created_at": NOW,
            },
        ),
        "update": ("update_workspace_name", {"name": "stolen", "id": world.ws.id}),
        "delete": ("soft_delete_workspace", {"id": world.ws.id}),
        "exec": ("update_workspace_last_used_at", {"last_used_at": NOW, "id": world.ws.id}),
    }
    name, values = cases[write]
    query = QUERIES[name]
    args = _args(query, values)
    guarded = AuthzStore(pg.store, MODEL)
    before = await _snapshot(pg, world)
    for primitive in _PRIMITIVES:
        with (
            as_subject(world.subject(world.outsider)),  # an admin of B only: ws is in A
            structlog.testing.capture_logs() as events,
            pytest.raises(NotAuthorized),
        ):
            await _on(guarded, where, _call(primitive, query, args))
        assert _denials(events, name) == 1, (primitive, events)
        assert await _snapshot(pg, world) == before, primitive


async def test_a_write_through_another_primitive_is_refused_even_when_allowed(
    pg: Queries, world: World
) -> None:
    query = QUERIES["update_workspace_name"]
    guarded = AuthzStore(pg.store, MODEL)
    with as_subject(world.subject(world.member_a)):  # the workspace's owner may rename it
        for primitive in ("execute", "execute_rows", "fetch_many"):
            with pytest.raises(QueryRefused, match=f"update_workspace_name through {primitive}"):
                await getattr(guarded, primitive)(query, ("renamed", world.ws.id))
        assert (await pg.get_workspace_by_id(id=world.ws.id)).name == world.ws.name
        renamed = await guarded.fetch_one(query, ("renamed", world.ws.id))
    assert renamed.name == "renamed"


def _forged(kind: str, query: Query[Any]) -> Query[Any]:
    if kind == "relabelled params":
        names = [p.name for p in query.params]
        names = names[1:] + names[:1] if len(names) > 1 else ["owner_id"]
        return dataclasses.replace(
            query,
            params=tuple(
                dataclasses.replace(p, name=n) for p, n in zip(query.params, names, strict=True)
            ),
        )
    if kind == "swapped decode":
        decode = query.decode
        assert decode is not None
        return dataclasses.replace(query, decode=lambda row: decode(row))
    if kind == "different kind":
        return dataclasses.replace(query, kind=Kind.MANY if query.mutates is None else Kind.EXEC)
    if kind == "different sql":
        return dataclasses.replace(query, sql=query.sql.replace("WHERE id", "WHERE TRUE OR id"))
    assert kind == "unknown name"
    return dataclasses.replace(query, name=query.name + "_anywhere")


_FORGERIES = [
    "relabelled params",
    "swapped decode",
    "different kind",
    "different sql",
    "unknown name",
]


@pytest.mark.parametrize("forgery", _FORGERIES)
@pytest.mark.parametrize("where", _WHERE)
async def test_a_forged_query_is_refused_whoever_asks(
    pg: Queries, world: World, forgery: str, where: str
) -> None:
    read = _forged(forgery, QUERIES["get_workspace_by_id"])
    write = _forged(forgery, QUERIES["update_workspace_name"])
    runs = {Kind.ONE: "fetch_one", Kind.MANY: "fetch_many", Kind.EXEC: "execute"}
    guarded = AuthzStore(pg.store, MODEL)
    with (
        as_subject(world.subject(world.site_owner)),  # allowed everything the declared queries do
        structlog.testing.capture_logs() as events,
    ):
        with pytest.raises(QueryRefused, match=read.name):
            await _on(guarded, where, _call(runs[read.kind], read, (world.ws.id,)))
        with pytest.raises(QueryRefused, match=write.name):
            await _on(guarded, where, _call(runs[write.kind], write, ("forged", world.ws.id)))
    assert _denials(events, read.name) == _denials(events, write.name) == 1
    assert (await pg.get_workspace_by_id(id=world.ws.id)).name == world.ws.name


async def test_relabelled_parameters_cannot_create_a_row_for_another_owner(
    pg: Queries, world: World
) -> None:
    declared = QUERIES["insert_workspace"]
    # The policy reads owner_id by name: label the row's id "owner_id" and the
    # real owner_id column "id", and the check would see the caller as owner.
    labels = {"id": "owner_id", "owner_id": "id"}
    forged = dataclasses.replace(
        declared,
        params=tuple(
            dataclasses.replace(p, name=labels.get(p.name, p.name)) for p in declared.params
        ),
    )
    values = {
        "id": world.member_a.id,
        "owner_id": world.site_owner.id,
        "organization_id": world.org_a.id,
        "name": "planted",
        "autostart_schedule": None,
        "ttl": None,
        "created_at": NOW,
    }
    guarded = AuthzStore(pg.store, MODEL)
    with as_subject(world.subject(world.member_a)):  # may create its own workspaces in A
        with pytest.raises(NotAuthorized):  # not one for another owner
            await guarded.fetch_one(declared, _args(declared, {**values, "id": uuid.uuid4()}))
        with pytest.raises(
            QueryRefused, match=r"differs from the declared insert_workspace \(.*\) in params;"
        ):
            await guarded.fetch_one(forged, _args(declared, values))
    owned = await pg.list_workspaces_by_owner_id(
        owner_id=world.site_owner.id, limit_rows=10, offset_rows=0
    )
    assert owned == []


async def test_a_swapped_decoder_cannot_read_another_organizations_row(
    pg: Queries, world: World
) -> None:
    declared = QUERIES["get_workspace_by_id"]
    mine = world.org_b.id

    def as_mine(row: Mapping[str, Any]) -> models.Workspace:
        return models.Workspace.model_validate({**dict(row), "organization_id": mine})

    forged = dataclasses.replace(declared, decode=as_mine)
    guarded = AuthzStore(pg.store, MODEL)
    with as_subject(world.subject(world.outsider)):  # an admin of B; ws is in A
        with pytest.raises(NotAuthorized):
            await guarded.fetch_one(declared, (world.ws.id,))
        with pytest.raises(QueryRefused, match="in decode"):
            await guarded.fetch_one(forged, (world.ws.id,))


async def test_a_copy_equal_in_every_field_runs_as_the_declared_query(
    pg: Queries, world: World
) -> None:
    declared = QUERIES["get_workspace_by_id"]
    copy = dataclasses.replace(declared)
    assert copy is not declared
    assert copy.same_as(declared)
    guarded = AuthzStore(pg.store, MODEL)
    with as_subject(world.subject(world.member_a)):
        assert (await guarded.fetch_one(copy, (world.ws.id,))).id == world.ws.id
    with as_subject(world.subject(world.outsider)), pytest.raises(NotAuthorized):
        await guarded.fetch_one(copy, (world.ws.id,))


def test_a_hand_built_locking_form_is_not_the_framework_variant() -> None:
    declared = QUERIES["get_workspace_by_id"]
    assert declared.for_update() is declared.for_update()
    assert declared.for_update().is_variant_of(declared)
    by_hand = dataclasses.replace(declared, sql=declared.for_update().sql)
    assert by_hand.same_as(declared.for_update())
    assert by_hand.is_variant_of(declared) is False
