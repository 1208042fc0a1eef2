"""AuthzStore: construction checks, subjects in context, transactions, denials."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest
import structlog

import authz
import store
from authz._subject import acting
from authz.errors import NoSubject, NotAuthorized, PolicyError, QueryRefused
from store import Store
from store.errors import NotFound, OuterStoreUsedInTransaction
from tests.authz._world import World


def test_policy_table_covers_every_query_method() -> None:
    assert [str(p) for p in authz.check_policies()] == []


def test_store_without_a_policy_for_a_method_refuses_to_construct() -> None:
    policies = {n: p for n, p in authz.POLICIES.items() if n != "get_workspace_by_id"}
    with pytest.raises(PolicyError) as raised:
        authz.AuthzStore(None, policies=policies)  # type: ignore[arg-type]  # never reached
    message = str(raised.value)
    assert "get_workspace_by_id" in message
    assert "authz/_policies.py" in message


def test_stale_policy_is_a_problem_at_its_line() -> None:
    everything = {**store.QUERIES, **store.FRAMEWORK_QUERIES}
    queries = {n: q for n, q in everything.items() if n != "list_users"}
    problems = authz.check_policies(queries=queries)
    assert len(problems) == 1
    assert "list_users" in problems[0].message
    assert problems[0].file.endswith("authz/_policies.py")
    source = (authz.check_policies.__globals__["POLICIES_FILE"]).read_text().splitlines()
    assert '"list_users"' in source[problems[0].line - 1]


def test_filtered_list_without_marker_is_refused() -> None:
    query = store.QUERIES["list_users"]
    unmarked = dataclasses.replace(
        query, sql=query.sql.replace("TRUE /*authorize_filter*/", "TRUE"), authorize_filter=None
    )
    queries = {**store.QUERIES, "list_users": unmarked}
    with pytest.raises(PolicyError, match=r"list_users.*authorize_filter"):
        authz.AuthzStore(None, queries=queries)  # type: ignore[arg-type]  # never reached


def test_read_policy_on_a_write_is_refused() -> None:
    policies = {**authz.POLICIES, "delete_api_key": authz.POLICIES["get_api_key_by_id"]}
    problems = authz.check_policies(policies)
    assert [p.message for p in problems] == [
        "policy for delete_api_key: fetch-then-check would run the write to api_keys "
        "before checking"
    ]


async def test_no_subject_refuses_queries_transactions_and_ping(pg: store.PgStore) -> None:
    s = authz.AuthzStore(pg)
    assert authz.current_subject() is None
    with pytest.raises(NoSubject, match="get_default_organization"):
        await s.get_default_organization()
    with pytest.raises(NoSubject):
        await s.in_tx(lambda tx: tx.ping())
    with pytest.raises(NoSubject):
        await s.ping()


async def test_subject_reaches_awaits_and_spawned_tasks(pg: store.PgStore, world: World) -> None:
    s = authz.AuthzStore(pg)
    subject = world.subject(world.member_a)

    async def read() -> str:
        await asyncio.sleep(0)
        assert authz.current_subject() is subject
        return (await s.get_workspace_by_id(id=world.ws.id)).name

    with authz.as_subject(subject):
        names = await asyncio.gather(asyncio.create_task(read()), read())
    assert list(names) == [world.ws.name, world.ws.name]
    assert authz.current_subject() is None


async def test_denied_read_is_not_found_and_logs_no_row_data(
    pg: store.PgStore, world: World
) -> None:
    s = authz.AuthzStore(pg)
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
    pg: store.PgStore, world: World
) -> None:
    s = authz.AuthzStore(pg)

    async def rename_both(tx: Store) -> None:
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
    pg: store.PgStore, world: World
) -> None:
    s = authz.AuthzStore(pg)

    # The outer store inside its own closures, on purpose: the runtime check must catch it.
    async def misuse(tx: Store) -> Any:
        ws = world.ws.id
        return await s.get_workspace_by_id(id=ws)  # txstore-lint: ignore[outer-store-in-tx]

    async def nested(tx: Store) -> None:
        await s.in_tx(lambda tx2: tx2.ping())  # txstore-lint: ignore[outer-store-in-tx]

    with authz.as_subject(world.subject(world.member_a)):
        with pytest.raises(OuterStoreUsedInTransaction, match="get_workspace_by_id"):
            await s.in_tx(misuse, tx_id="poison")
        with pytest.raises(OuterStoreUsedInTransaction, match="in_tx"):
            await s.in_tx(nested, tx_id="poison")


async def test_derived_list_queries_are_reused_across_subjects(
    pg: store.PgStore, world: World
) -> None:
    s = authz.AuthzStore(pg)
    for who in (world.member_a, world.admin_a, world.outsider, world.member_a):
        with authz.as_subject(world.subject(who)):
            await s.list_oauth2_provider_apps(organization_id=None)
    # member_a, admin_a and outsider all read apps through one organization grant each.
    assert s.derived_queries == 1
    with authz.as_subject(world.subject(world.site_owner)):
        await s.list_oauth2_provider_apps(organization_id=None)
    assert s.derived_queries == 2


async def test_nested_savepoint_handles_are_wrapped_too(pg: store.PgStore, world: World) -> None:
    s = authz.AuthzStore(pg)

    async def outer(tx: Store) -> None:
        async def nested(sp: Store) -> None:
            await sp.get_workspace_by_id(id=world.ws_b.id)

        with pytest.raises(NotAuthorized):
            await tx.in_tx(nested)

    with authz.as_subject(world.subject(world.member_a)):
        await s.in_tx(outer)


async def test_a_query_outside_the_table_is_refused(pg: store.PgStore, world: World) -> None:
    s = authz.AuthzStore(pg)
    known = store.QUERIES["get_workspace_by_id"]
    forged = dataclasses.replace(known, sql="SELECT * FROM workspaces WHERE id = $1 OR TRUE")
    with authz.as_subject(world.subject(world.site_owner)), pytest.raises(QueryRefused):
        await s.fetch_one(forged, (world.ws.id,))


async def test_repeated_decisions_in_one_binding_hit_the_cache(
    pg: store.PgStore, world: World
) -> None:
    s = authz.AuthzStore(pg)
    with authz.as_subject(world.subject(world.member_a)):
        bound = acting()
        assert bound is not None
        for _ in range(3):
            await s.get_workspace_by_id(id=world.ws.id)
        assert (bound.decisions.hits, bound.decisions.misses) == (2, 1)
