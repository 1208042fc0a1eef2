"""AuthzStore: construction checks, subjects in context, transactions, denials."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import authz
import pytest
import structlog
from authz.errors import NoSubject, NotAuthorized, PolicyError, QueryRefused
from store.errors import NotFound, OuterStoreUsedInTransaction

from tests._layers import with_authz
from tests.authz._model import variant
from tests.authz._world import World
from workspaces import db
from workspaces.db import Queries
from workspaces.policies import MODEL, ORG_ROLES, POLICIES


def test_policy_table_covers_every_query_method() -> None:
    assert [str(p) for p in MODEL.problems()] == []


def test_a_model_without_a_policy_for_a_method_refuses_to_construct() -> None:
    policies = {n: p for n, p in POLICIES.items() if n != "get_workspace_by_id"}
    with pytest.raises(PolicyError) as raised:
        variant(policies=policies)
    message = str(raised.value)
    assert "get_workspace_by_id" in message
    assert "workspaces/policies.py" in message  # the application's file, not txstore's


def test_stale_policy_is_a_problem_at_its_line() -> None:
    queries = {n: q for n, q in MODEL.queries.items() if n != "list_users"}
    problems = authz.check_policies(MODEL.policies, queries, file=MODEL.source)
    assert len(problems) == 1
    assert "list_users" in problems[0].message
    assert problems[0].file.endswith("workspaces/policies.py")
    source = MODEL.source.read_text().splitlines()
    assert '"list_users"' in source[problems[0].line - 1]


def test_filtered_list_without_marker_is_refused() -> None:
    query = db.LIST_USERS
    unmarked = dataclasses.replace(
        query, sql=query.sql.replace("TRUE /*authorize_filter*/", "TRUE"), authorize_filter=None
    )
    with pytest.raises(PolicyError, match=r"list_users.*authorize_filter"):
        variant(queries={**db.QUERIES, "list_users": unmarked})


def test_read_policy_on_a_write_is_refused() -> None:
    policies = {**MODEL.policies, "delete_api_key": POLICIES["get_api_key_by_id"]}
    problems = authz.check_policies(policies, MODEL.queries, file=MODEL.source)
    assert [p.message for p in problems] == [
        "policy for delete_api_key: fetch-then-check would run the write to api_keys "
        "before checking"
    ]


async def test_no_subject_refuses_queries_transactions_and_ping(pg: Queries) -> None:
    s = with_authz(pg)
    assert authz.current_subject() is None
    with pytest.raises(NoSubject, match="get_default_organization"):
        await s.get_default_organization()
    with pytest.raises(NoSubject):
        await s.in_tx(lambda tx: tx.store.ping())
    with pytest.raises(NoSubject):
        await s.store.ping()


async def test_subject_reaches_awaits_and_spawned_tasks(pg: Queries, world: World) -> None:
    s = with_authz(pg)
    subject = world.subject(world.member_a)

    async def read() -> str:
        await asyncio.sleep(0)
        assert authz.current_subject() is subject
        return (await s.get_workspace_by_id(id=world.ws.id)).name

    with authz.as_subject(subject):
        names = await asyncio.gather(asyncio.create_task(read()), read())
    assert list(names) == [world.ws.name, world.ws.name]
    assert authz.current_subject() is None


async def test_denied_read_is_not_found_and_logs_no_row_data(pg: Queries, world: World) -> None:
    s = with_authz(pg)
    with (
        structlog.testing.capture_logs() as logs,
        authz.as_subject(world.subject(world.outsider)),
        pytest.raises(NotFound) as raised,
    ):
        await s.get_workspace_by_id(id=world.ws.id)
    assert isinstance(raised.value, NotAuthorized)
    assert world.ws.name not in str(raised.value)
    denials = [e for e in logs if e["event"] == "authorization denied"]
    assert len(denials) == 1
    denial = denials[0]
    assert denial["subject_id"] == str(world.outsider.id)
    assert (denial["action"], denial["object_type"]) == ("read", "workspace")
    assert denial["object_id"] == str(world.ws.id)
    assert world.ws.name not in repr(denial)


async def test_transaction_handle_is_checked_with_the_same_subject(
    pg: Queries, world: World
) -> None:
    s = with_authz(pg)

    async def rename_both(tx: Queries) -> None:
        await tx.update_workspace_name(name="mine", id=world.ws.id)
        await tx.update_workspace_name(name="theirs", id=world.ws_b.id)

    with authz.as_subject(world.subject(world.member_a)):
        with pytest.raises(NotAuthorized):
            await s.in_tx(rename_both, tx_id="rename")
        assert (await s.get_workspace_by_id(id=world.ws.id)).name == world.ws.name  # rolled back
        renamed = await s.in_tx(
            lambda tx: tx.update_workspace_name(name="mine", id=world.ws.id), tx_id="rename"
        )
    assert renamed.name == "mine"


async def test_outer_store_inside_its_transaction_is_still_poisoned(
    pg: Queries, world: World
) -> None:
    s = with_authz(pg)

    # The outer store inside its own closures, on purpose: the runtime check must catch it.
    async def misuse(tx: Queries) -> Any:
        ws = world.ws.id
        return await s.get_workspace_by_id(id=ws)  # txstore-lint: ignore[outer-store-in-tx]

    async def nested(tx: Queries) -> None:
        await s.in_tx(lambda tx2: tx2.store.ping())  # txstore-lint: ignore[outer-store-in-tx]

    with authz.as_subject(world.subject(world.member_a)):
        with pytest.raises(OuterStoreUsedInTransaction, match="get_workspace_by_id"):
            await s.in_tx(misuse, tx_id="poison")
        with pytest.raises(OuterStoreUsedInTransaction, match="in_tx"):
            await s.in_tx(nested, tx_id="poison")


async def test_derived_list_queries_are_reused_across_subjects(pg: Queries, world: World) -> None:
    layer = authz.AuthzStore(pg.store, MODEL)
    s = Queries(layer)
    for who in (world.member_a, world.admin_a, world.outsider, world.member_a):
        with authz.as_subject(world.subject(who)):
            await s.list_oauth2_provider_apps(organization_id=None)
    # member_a, admin_a and outsider all read apps through one organization grant each.
    assert layer.derived_queries == 1
    with authz.as_subject(world.subject(world.site_owner)):
        await s.list_oauth2_provider_apps(organization_id=None)
    assert layer.derived_queries == 2


async def test_nested_savepoint_handles_are_wrapped_too(pg: Queries, world: World) -> None:
    s = with_authz(pg)

    async def outer(tx: Queries) -> None:
        async def nested(sp: Queries) -> None:
            await sp.get_workspace_by_id(id=world.ws_b.id)

        with pytest.raises(NotAuthorized):
            await tx.in_tx(nested)

    with authz.as_subject(world.subject(world.member_a)):
        await s.in_tx(outer)


async def test_a_query_outside_the_table_is_refused(pg: Queries, world: World) -> None:
    s = with_authz(pg)
    known = db.GET_WORKSPACE_BY_ID
    forged = dataclasses.replace(known, sql="SELECT * FROM workspaces WHERE id = $1 OR TRUE")
    with authz.as_subject(world.subject(world.site_owner)), pytest.raises(QueryRefused):
        await s.store.fetch_one(forged, (world.ws.id,))


async def test_repeated_decisions_in_one_binding_hit_the_cache(pg: Queries, world: World) -> None:
    s = with_authz(pg)
    with authz.as_subject(world.subject(world.member_a)):
        decisions = authz.current_decisions()
        assert decisions is not None
        for _ in range(3):
            await s.get_workspace_by_id(id=world.ws.id)
        assert (decisions.hits, decisions.misses) == (2, 1)


def _lenient_and_strict(pg: Queries) -> tuple[Queries, Queries]:
    """The application's model, and one where an organization member may not read apps."""
    members_read_no_apps = tuple(
        dataclasses.replace(r, org=authz.perms({"organization": ["read"]}))
        if r.name == "org-member"
        else r
        for r in ORG_ROLES
    )
    return (
        Queries(authz.AuthzStore(pg.store, MODEL)),
        Queries(authz.AuthzStore(pg.store, variant(org_roles=members_read_no_apps))),
    )


async def test_two_models_in_one_binding_each_filter_by_their_own_grants(
    pg: Queries, world: World
) -> None:
    # A list filter's grants are summarised once per binding; a second model must not
    # get the first one's.
    lenient, strict = _lenient_and_strict(pg)
    with authz.as_subject(world.subject(world.member_a)):
        for _ in range(2):
            assert [
                a.id for a in await lenient.list_oauth2_provider_apps(organization_id=None)
            ] == [world.app.id]
            assert await strict.list_oauth2_provider_apps(organization_id=None) == []


async def test_two_models_in_one_binding_each_decide_by_their_own_roles(
    pg: Queries, world: World
) -> None:
    # The binding's decision cache answers for the model that asked: a read the first
    # model allowed is decided again, and refused, by a model that does not allow it.
    lenient, strict = _lenient_and_strict(pg)
    with authz.as_subject(world.subject(world.member_a)):
        for _ in range(2):
            assert (await lenient.get_oauth2_provider_app_by_id(id=world.app.id)).id == world.app.id
            with pytest.raises(NotAuthorized):
                await strict.get_oauth2_provider_app_by_id(id=world.app.id)
