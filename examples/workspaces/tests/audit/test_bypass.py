"""Attempts to change an audited table without its entry, each refused (audit/_store.py).

Every audited mutation writes exactly one entry whichever primitive runs it,
or is refused before anything runs; the layer audits the declared query,
never a hand-built ``Query`` standing in for it.
"""

from __future__ import annotations

import dataclasses
import datetime
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import audit
import authz
import pytest
from authz import AuthzStore, as_subject
from store import Kind, Query, Store
from store.errors import NotFound

from tests.audit._support import ACME, ALICE, APP, BOB, OWNER, search_entries
from workspaces.auditing import AUDIT
from workspaces.db import QUERIES, Queries
from workspaces.policies import MODEL

T = TypeVar("T")
NOW = datetime.datetime(2024, 7, 1, 9, 30, tzinfo=datetime.UTC)
_REFUSED = (audit.errors.QueryRefused, authz.errors.QueryRefused)
_OTHERS = ("execute", "execute_rows", "fetch_many", "execute_batch", "fetch_batch")
_NEW_ORG = uuid.UUID("0a000000-0000-4000-8000-0000000000ff")


def _stack(pg: Queries, order: str) -> Store:
    if order == "audit":
        return audit.AuditStore(pg.store, AUDIT)
    if order == "audit>authz":
        return audit.AuditStore(AuthzStore(pg.store, MODEL), AUDIT)
    return AuthzStore(audit.AuditStore(pg.store, AUDIT), MODEL)


async def _on(s: Store, where: str, run: Callable[[Store], Awaitable[T]]) -> T:
    if where == "store":
        return await run(s)
    if where == "transaction":
        return await s.in_tx(run)

    async def nested(tx: Store) -> T:
        return await tx.in_tx(run)

    return await s.in_tx(nested)


def _call(
    primitive: str, query: Query[Any], args: tuple[object, ...]
) -> Callable[[Store], Awaitable[Any]]:
    async def run(handle: Store) -> Any:
        batch = primitive in ("execute_batch", "fetch_batch")  # many argument sets
        return await getattr(handle, primitive)(query, [args] if batch else args)

    return run


def _args(query: Query[Any], values: Mapping[str, object]) -> tuple[object, ...]:
    return tuple(values[p.name] for p in query.params)


async def _entries(pg: Queries, resource_type: str, resource_id: object) -> int:
    rows = await search_entries(pg, resource_type=resource_type, resource_id=resource_id)
    return len(rows)


_PROFILE: dict[str, object] = {
    "email": "bob@acme.example",
    "username": "bob",
    "name": "Robert",
    "avatar_url": None,
    "updated_at": NOW,
    "id": BOB,
}
#: One audited mutation of each statement: (query, arguments, resource type, resource id).
_MUTATIONS: dict[str, tuple[str, dict[str, object], str, uuid.UUID]] = {
    "insert": (
        "insert_organization",
        {
            "id": _NEW_ORG,
            "name": "initech",
            "display_name": "Initech",
            "description": "",
            "icon": "",
            "is_default": False,
            "created_at": NOW,
        },
        "organization",
        _NEW_ORG,
    ),
    "update": ("update_user_profile", _PROFILE, "user", BOB),
    "delete": ("delete_oauth2_provider_app", {"id": APP}, "oauth2_app", APP),
}


async def _state(pg: Queries) -> tuple[object, ...]:
    bob = await pg.get_user_by_id(id=BOB)
    apps = await pg.list_oauth2_provider_apps(organization_id=ACME)
    try:
        await pg.get_organization_by_id(id=_NEW_ORG)
        created = True
    except NotFound:
        created = False
    return bob.name, [a.id for a in apps], created


@pytest.mark.parametrize("mutation", list(_MUTATIONS))
@pytest.mark.parametrize("where", ["store", "transaction", "savepoint"])
@pytest.mark.parametrize("order", ["audit", "audit>authz", "authz>audit"])
async def test_an_audited_mutation_writes_one_entry_or_is_refused_whatever_the_primitive(
    pg: Queries, mutation: str, where: str, order: str
) -> None:
    name, values, resource_type, resource_id = _MUTATIONS[mutation]
    query = QUERIES[name]
    args = _args(query, values)
    layered = _stack(pg, order)
    before = await _state(pg)
    with as_subject(OWNER):
        for primitive in _OTHERS:
            with pytest.raises(_REFUSED, match=f"{name} through {primitive}"):
                await _on(layered, where, _call(primitive, query, args))
            assert await _state(pg) == before, primitive
            assert await _entries(pg, resource_type, resource_id) == 0, primitive
        await _on(layered, where, _call("fetch_one", query, args))
    assert await _state(pg) != before
    assert await _entries(pg, resource_type, resource_id) == 1


def _forged(kind: str, query: Query[Any]) -> Query[Any]:
    if kind == "relabelled params":
        names = [p.name for p in query.params]
        names = names[1:] + names[:1] if len(names) > 1 else ["user_id"]
        params = tuple(
            dataclasses.replace(p, name=n) for p, n in zip(query.params, names, strict=True)
        )
        return dataclasses.replace(query, params=params)
    if kind == "swapped decode":
        decode = query.decode
        assert decode is not None
        return dataclasses.replace(query, decode=lambda row: decode(row))
    if kind == "different kind":
        return dataclasses.replace(query, kind=Kind.MANY if query.mutates is None else Kind.EXEC)
    if kind == "different sql":  # every row instead of one
        return dataclasses.replace(query, sql=query.sql.replace("WHERE id", "WHERE TRUE OR id"))
    assert kind == "unknown name"  # and claims to write nothing
    return dataclasses.replace(query, name=query.name + "_quietly", mutates=None)


@pytest.mark.parametrize(
    "forgery",
    ["relabelled params", "swapped decode", "different kind", "different sql", "unknown name"],
)
@pytest.mark.parametrize("where", ["store", "savepoint"])
@pytest.mark.parametrize("order", ["audit", "audit>authz"])
async def test_a_forged_query_is_refused_by_the_audit_layer(
    pg: Queries, forgery: str, where: str, order: str
) -> None:
    update = _forged(forgery, QUERIES["update_user_profile"])
    read = _forged(forgery, QUERIES["get_user_by_id"])
    runs = {Kind.ONE: "fetch_one", Kind.MANY: "fetch_many", Kind.EXEC: "execute"}
    layered = _stack(pg, order)
    with as_subject(OWNER):
        with pytest.raises(audit.errors.QueryRefused, match=update.name):
            await _on(layered, where, _call(runs[update.kind], update, _args(update, _PROFILE)))
        with pytest.raises(audit.errors.QueryRefused, match=read.name):
            await _on(layered, where, _call(runs[read.kind], read, (BOB,)))
    assert [(await pg.get_user_by_id(id=u)).name for u in (ALICE, BOB)] == [
        "Alice Builder",
        "Bob Builder",
    ]
    assert await _entries(pg, "user", BOB) == await _entries(pg, "user", ALICE) == 0


async def test_a_copy_equal_in_every_field_is_audited_as_the_declared_query(
    pg: Queries,
) -> None:
    copy = dataclasses.replace(QUERIES["update_user_profile"])
    with as_subject(OWNER):
        renamed = await audit.AuditStore(pg.store, AUDIT).fetch_one(copy, _args(copy, _PROFILE))
    assert renamed.name == "Robert"
    assert await _entries(pg, "user", BOB) == 1
