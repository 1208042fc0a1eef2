"""Upserts in the single statement, and PostgreSQL 18's RETURNING OLD form (audit/_statement.py).

Each test that runs an audited write does so in both shapes of the statement:
``lookup`` (the old row read by a locked lookup in the statement, every
supported version) and ``returning_old_new`` (``RETURNING OLD``, PostgreSQL 18
only: skipped on older servers).
"""

from __future__ import annotations

import asyncio
import datetime
import itertools
import json
import socket
import uuid
from typing import Any

import asyncpg
import audit
import pytest
import store
from authz import Subject, as_subject
from authz.errors import NotAuthorized
from store import ServerVersion
from store.errors import NotFound

from tests._layers import raw, with_authz
from tests.audit._support import (
    ACME,
    ALICE,
    BOB,
    GLOBEX,
    OWNER,
    SHAPES,
    audited_in,
    racing_bob_into_globex,
    search_entries,
    server_of,
)
from workspaces.auditing import AUDIT
from workspaces.db import Queries, models

NOW = datetime.datetime(2024, 7, 1, 9, 30, tzinfo=datetime.UTC)
OUTSIDER = Subject.user(uuid.uuid4(), org_roles={GLOBEX: ("org-admin",)})


async def _connect(db_dsn: str) -> asyncpg.Connection:
    """A side connection of the test's own (no prepared statements: the suite also runs
    through PgBouncer in transaction pooling)."""
    return await asyncpg.connect(db_dsn, statement_cache_size=0)


async def _upsert(s: Queries, roles: list[str], user: uuid.UUID = BOB) -> models.OrganizationMember:
    return await s.upsert_organization_member(
        organization_id=GLOBEX, user_id=user, roles=roles, created_at=NOW
    )


async def _entries(pg: Queries, user: uuid.UUID = BOB) -> list[models.SearchAuditLogsRow]:
    rows = await search_entries(pg, resource_type="organization_member", resource_id=user)
    return list(reversed(rows))  # oldest first


def _diff(entry: models.SearchAuditLogsRow) -> Any:
    """An entry's diff, a JSON object (typed as any JSON value)."""
    return entry.diff


def _facts(entries: list[models.SearchAuditLogsRow]) -> list[tuple[Any, ...]]:
    """What an entry says, without its id and time."""
    return [
        (e.action, e.resource_id, e.organization_id, e.user_id, e.diff, e.resource_target)
        for e in entries
    ]


async def _roles(pg: Queries, user: uuid.UUID = BOB) -> list[str]:
    return (await pg.get_organization_member(organization_id=GLOBEX, user_id=user)).roles


async def test_an_upsert_records_a_create_when_it_inserts_and_a_write_when_it_updates(
    pg: Queries, shape: ServerVersion
) -> None:
    audited = audited_in(pg, shape)
    with as_subject(OWNER):
        created = await _upsert(audited, ["org-member"])
        updated = await _upsert(audited, ["org-admin", "org-member"])
        await _upsert(audited, ["org-admin", "org-member"])  # nothing tracked changes

    assert created.roles == ["org-member"]
    assert updated.roles == ["org-admin", "org-member"]
    assert _facts(await _entries(pg)) == [
        (
            models.AuditAction.CREATE,
            str(BOB),
            GLOBEX,
            ALICE,
            {
                "user_id": {"old": None, "new": str(BOB)},
                "organization_id": {"old": None, "new": str(GLOBEX)},
                "roles": {"old": None, "new": ["org-member"]},
            },
            "",
        ),
        (
            models.AuditAction.WRITE,
            str(BOB),
            GLOBEX,
            ALICE,
            {"roles": {"old": ["org-member"], "new": ["org-admin", "org-member"]}},
            "",
        ),
    ]


async def _every_kind_of_write(audited: Queries) -> None:
    """An upsert that inserts and one that updates, a one-row and a bulk UPDATE, a soft
    delete and a DELETE: every statement whose old row the two shapes read apart."""
    await _upsert(audited, ["org-auditor"])
    await _upsert(audited, ["org-member"])
    await audited.update_member_roles(organization_id=GLOBEX, user_id=BOB, roles=["org-admin"])
    workspaces = [
        await audited.insert_workspace(
            id=uuid.uuid4(),
            owner_id=BOB,
            organization_id=GLOBEX,
            name=f"shape{n}",
            autostart_schedule=None,
            ttl=None,
            created_at=NOW,
        )
        for n in range(2)
    ]
    await audited.update_workspaces_ttl_by_organization_id(ttl=10, organization_id=GLOBEX)
    await audited.soft_delete_workspace(id=workspaces[0].id)
    await audited.delete_organization_member(organization_id=GLOBEX, user_id=BOB)


async def _all_entries(pg: Queries, db_dsn: str) -> list[tuple[Any, ...]]:
    """Globex's entries as (resource type, row, action, diff), in a stable order; a
    workspace is named by its name, and its id left out of diffs (it differs between runs)."""
    rows = await search_entries(pg, organization_id=GLOBEX)
    side = await _connect(db_dsn)
    try:
        rows_by_id = await side.fetch("SELECT id, name FROM workspaces")
        names = {str(r["id"]): r["name"] for r in rows_by_id}
    finally:
        await side.close()
    assert all(e.user_id == ALICE for e in rows)
    return sorted(
        (
            (
                e.resource_type,
                names.get(e.resource_id, e.resource_id),
                e.action,
                {k: v for k, v in _diff(e).items() if k != "id"},
            )
            for e in rows
        ),
        key=lambda e: (e[0], e[1], str(e[2]), json.dumps(e[3], sort_keys=True)),
    )


async def test_both_shapes_write_the_same_entries(pg: Queries, db_dsn: str) -> None:
    if not (await server_of(pg)).returning_old_new:
        pytest.skip("RETURNING OLD needs PostgreSQL 18")
    seen: dict[str, list[tuple[Any, ...]]] = {}
    side = await _connect(db_dsn)
    try:
        for name, version in SHAPES.items():
            with as_subject(OWNER):
                await _every_kind_of_write(audited_in(pg, version))
            seen[name] = await _all_entries(pg, db_dsn)
            await side.execute("DELETE FROM audit_logs")
            await side.execute("DELETE FROM workspaces WHERE organization_id = $1", GLOBEX)
    finally:
        await side.close()
    assert len(seen["lookup"]) == 9
    assert seen["lookup"] == seen["returning_old_new"]


async def test_every_kind_of_write_records_its_old_rows_in_either_shape(
    pg: Queries, shape: ServerVersion, db_dsn: str
) -> None:
    with as_subject(OWNER):
        await _every_kind_of_write(audited_in(pg, shape))
    member, workspace = "organization_member", "workspace"
    write, delete = models.AuditAction.WRITE, models.AuditAction.DELETE
    changes = [e for e in await _all_entries(pg, db_dsn) if e[2] is not models.AuditAction.CREATE]
    assert changes == [
        (
            member,
            str(BOB),
            delete,
            {
                "user_id": {"old": str(BOB), "new": None},
                "organization_id": {"old": str(GLOBEX), "new": None},
                "roles": {"old": ["org-admin"], "new": None},
            },
        ),
        (member, str(BOB), write, {"roles": {"old": ["org-member"], "new": ["org-admin"]}}),
        (member, str(BOB), write, {"roles": {"old": ["org-auditor"], "new": ["org-member"]}}),
        (workspace, "shape0", delete, {"deleted": {"old": False, "new": True}}),
        (workspace, "shape0", write, {"ttl": {"old": None, "new": 10}}),
        (workspace, "shape1", write, {"ttl": {"old": None, "new": 10}}),
    ]


async def test_an_upsert_that_does_nothing_on_conflict_records_only_what_it_inserts(
    pg: Queries, shape: ServerVersion
) -> None:
    audited = audited_in(pg, shape)
    with as_subject(OWNER):
        first = await audited.insert_organization_member_if_absent(
            organization_id=GLOBEX, user_id=BOB, roles=["org-member"], created_at=NOW
        )
        again = await audited.insert_organization_member_if_absent(
            organization_id=GLOBEX, user_id=BOB, roles=["org-admin"], created_at=NOW
        )
    assert (first, again) == (1, 0)
    assert await _roles(pg) == ["org-member"]
    [entry] = await _entries(pg)
    assert entry.action is models.AuditAction.CREATE
    assert _diff(entry)["roles"] == {"old": None, "new": ["org-member"]}


@pytest.mark.parametrize("in_tx", [False, True], ids=["alone", "in_tx"])
async def test_an_upsert_that_meets_a_concurrent_insert_records_a_write_against_it(
    pg: Queries, shape: ServerVersion, db_dsn: str, in_tx: bool
) -> None:
    # Another connection inserts the member and holds its transaction open; the audited
    # upsert's snapshot cannot see that row, yet ON CONFLICT waits for it and then takes
    # the update path. The entry must be a write against that row, never a create; in a
    # READ COMMITTED transaction the statement runs again in the same transaction.
    audited = audited_in(pg, shape)

    async def upsert() -> models.OrganizationMember:
        if in_tx:
            return await audited.in_tx(lambda tx: _upsert(tx, ["org-admin"]))
        return await _upsert(audited, ["org-admin"])

    member, events = await racing_bob_into_globex(db_dsn, upsert)

    assert member.roles == ["org-admin"]
    assert _facts(await _entries(pg)) == [
        (
            models.AuditAction.WRITE,
            str(BOB),
            GLOBEX,
            ALICE,
            {"roles": {"old": ["org-auditor"], "new": ["org-admin"]}},
            "",
        )
    ]
    # The lookup shape left the row alone and ran again; RETURNING OLD needed no second run.
    reruns = [e for e in events if e["event"] == "audit upsert ran again: no row came back"]
    assert len(reruns) == (0 if shape.returning_old_new else 1)


async def _assert_one_chain(pg: Queries, *, writes: int) -> None:
    """Bob's entries are one create and ``writes`` writes, each write's old roles what the
    previous change left: one path from the create to the roles Bob has now."""
    found = await _entries(pg)
    [create] = [e for e in found if e.action is models.AuditAction.CREATE]
    changes: list[Any] = [_diff(e)["roles"] for e in found if e.action is models.AuditAction.WRITE]
    assert len(changes) == writes
    step = {tuple(w["old"]): w["new"] for w in changes}
    value, seen = _diff(create)["roles"]["new"], 0
    while tuple(value) in step:
        value, seen = step[tuple(value)], seen + 1
    assert seen == len(changes)
    assert value == await _roles(pg)


async def test_concurrent_upserts_of_one_member_chain_their_entries(
    pg: Queries, shape: ServerVersion
) -> None:
    names = ("org-admin", "org-member", "org-auditor")
    choices = [list(p) for n in (1, 2, 3) for p in itertools.permutations(names, n)][:12]
    audited = audited_in(pg, shape)
    with as_subject(OWNER):
        await asyncio.gather(*(_upsert(audited, roles) for roles in choices))
    # every value is distinct: each change but the create is recorded as a write
    await _assert_one_chain(pg, writes=len(choices) - 1)


async def test_concurrent_updates_of_one_member_chain_their_entries(
    pg: Queries, shape: ServerVersion
) -> None:
    names = ("org-admin", "org-member", "org-auditor")
    choices = [list(p) for n in (2, 3) for p in itertools.permutations(names, n)]
    audited = audited_in(pg, shape)
    with as_subject(OWNER):
        await _upsert(audited, ["org-member"])
        await asyncio.gather(
            *(
                audited.update_member_roles(organization_id=GLOBEX, user_id=BOB, roles=roles)
                for roles in choices
            )
        )
    await _assert_one_chain(pg, writes=len(choices))


async def test_a_denied_upsert_is_neither_changed_noraudited(
    pg: Queries, shape: ServerVersion
) -> None:
    audited = Queries(audit.AuditStore(raw(with_authz(pg)), AUDIT, server=shape))
    with as_subject(OWNER):
        await _upsert(audited, ["org-member"])
    with as_subject(OUTSIDER), pytest.raises(NotAuthorized):
        await audited.upsert_organization_member(
            organization_id=ACME, user_id=BOB, roles=["org-admin"], created_at=NOW
        )
    with as_subject(OUTSIDER), pytest.raises(NotAuthorized):
        await audited.upsert_organization_member(
            organization_id=ACME, user_id=uuid.uuid4(), roles=["org-member"], created_at=NOW
        )
    assert (await pg.get_organization_member(organization_id=ACME, user_id=BOB)).roles == [
        "org-member"
    ]
    acme = await search_entries(pg, resource_type="organization_member", organization_id=ACME)
    assert acme == []
    assert len(await _entries(pg)) == 1  # the owner's own create in globex


async def test_a_rolled_back_savepoint_keeps_neither_its_upsert_nor_its_entry(
    pg: Queries, shape: ServerVersion
) -> None:
    audited = audited_in(pg, shape)

    async def fails(tx: Queries) -> None:
        await _upsert(tx, ["org-admin"])
        raise RuntimeError("undo the savepoint")

    async def outer(tx: Queries) -> None:
        await _upsert(tx, ["org-member"])
        with pytest.raises(RuntimeError):
            await tx.in_tx(fails)
        await _upsert(tx, ["org-auditor"])

    with as_subject(OWNER):
        await audited.in_tx(outer)
    assert await _roles(pg) == ["org-auditor"]
    assert [(e.action, _diff(e)["roles"]) for e in await _entries(pg)] == [
        (models.AuditAction.CREATE, {"old": None, "new": ["org-member"]}),
        (models.AuditAction.WRITE, {"old": ["org-member"], "new": ["org-auditor"]}),
    ]


async def test_a_retried_transaction_records_its_upsert_once(
    pg: Queries, shape: ServerVersion, db_dsn: str
) -> None:
    audited = audited_in(pg, shape)
    with as_subject(OWNER):
        await _upsert(audited, ["org-member"])
    other = await _connect(db_dsn)
    attempts = 0

    async def conflicting(tx: Queries) -> None:
        nonlocal attempts
        attempts += 1
        await tx.get_organization_member(organization_id=GLOBEX, user_id=BOB)  # the snapshot
        if attempts == 1:
            await other.execute(
                "UPDATE organization_members SET roles = ARRAY['org-auditor'] "
                "WHERE organization_id = $1 AND user_id = $2",
                GLOBEX,
                BOB,
            )
        await _upsert(tx, ["org-admin"])

    try:
        with as_subject(OWNER):
            await audited.in_tx(conflicting, isolation="repeatable read", tx_id="retry")
    finally:
        await other.close()
    assert attempts == 2
    assert [(e.action, _diff(e)["roles"]) for e in await _entries(pg)] == [
        (models.AuditAction.CREATE, {"old": None, "new": ["org-member"]}),
        (models.AuditAction.WRITE, {"old": ["org-auditor"], "new": ["org-admin"]}),
    ]


async def test_an_upsert_of_a_member_of_a_missing_organization_changes_nothing(
    pg: Queries, shape: ServerVersion
) -> None:
    audited = audited_in(pg, shape)
    with as_subject(OWNER), pytest.raises(store.errors.ForeignKeyViolation):
        await audited.upsert_organization_member(
            organization_id=uuid.uuid4(), user_id=BOB, roles=["org-member"], created_at=NOW
        )
    assert await _entries(pg) == []
    with pytest.raises(NotFound):
        await pg.get_organization_member(organization_id=GLOBEX, user_id=BOB)


def test_an_upsert_a_log_cannot_take_in_one_statement_is_refused_at_construction(
    pg: Queries,
) -> None:
    with pytest.raises(audit.errors.AuditConfigError) as refused:
        audit.AuditStore(raw(pg), AUDIT, audit.LogAuditor())
    assert "upsert_organization_member (db/queries/organizations.sql:" in str(refused.value)
    assert "is an upsert (INSERT ... ON CONFLICT)" in str(refused.value)


async def test_the_connected_stack_takes_the_shape_of_its_server(pg: Queries, db_dsn: str) -> None:
    from workspaces import stack

    full = await stack.connect(db_dsn)
    try:
        # The stack's first use is a transaction: the version is asked before it.
        _, events = await racing_bob_into_globex(
            db_dsn, lambda: full.in_tx(lambda tx: _upsert(tx, ["org-admin"]))
        )
    finally:
        await full.store.close()
    # The version the pool reports (from the start-up message, also through PgBouncer)
    # is the server's own.
    side = await _connect(db_dsn)
    try:
        number = int(await side.fetchval("SHOW server_version_num"))
    finally:
        await side.close()
    assert (await server_of(pg)).major == number // 10000
    reran = any(e["event"] == "audit upsert ran again: no row came back" for e in events)
    assert reran is not (await server_of(pg)).returning_old_new
    [entry] = await _entries(pg)
    assert entry.diff == {"roles": {"old": ["org-auditor"], "new": ["org-admin"]}}


async def test_an_upsert_audited_below_the_authorization_layer_keeps_its_statement(
    pg: Queries, shape: ServerVersion
) -> None:
    from authz import AuthzStore

    from workspaces.policies import MODEL

    audited = Queries(AuthzStore(audit.AuditStore(raw(pg), AUDIT, server=shape), MODEL))
    with as_subject(OWNER):
        await _upsert(audited, ["org-member"])
        await _upsert(audited, ["org-admin"])
    with as_subject(OUTSIDER), pytest.raises(NotAuthorized):
        await audited.upsert_organization_member(
            organization_id=ACME, user_id=BOB, roles=["org-auditor"], created_at=NOW
        )
    assert (await pg.get_organization_member(organization_id=ACME, user_id=BOB)).roles == [
        "org-member"
    ]
    assert [(e.action, _diff(e)["roles"]) for e in await _entries(pg)] == [
        (models.AuditAction.CREATE, {"old": None, "new": ["org-member"]}),
        (models.AuditAction.WRITE, {"old": ["org-member"], "new": ["org-admin"]}),
    ]


async def test_an_upsert_variant_without_a_statement_is_refused(
    pg: Queries, shape: ServerVersion
) -> None:
    # A variant the framework derived (here the locking form) reaches the audit layer
    # without a single statement; the transaction form cannot tell an insert from an
    # update of a row committed concurrently, so the upsert is refused, never guessed.
    from workspaces import db

    audited = audit.AuditStore(raw(pg), AUDIT, server=shape)
    variant = db.UPSERT_ORGANIZATION_MEMBER.for_update()
    with as_subject(OWNER), pytest.raises(audit.errors.QueryRefused, match="only in its single"):
        await audited.fetch_one(variant, (GLOBEX, BOB, ["org-member"], NOW))
    assert await _entries(pg) == []


async def test_the_connected_stack_asks_its_server_before_its_first_transaction(
    pg: Queries, db_dsn: str
) -> None:
    # The version is asked for lazily; a first use inside a transaction must not
    # touch the outer store (poisoned there) to learn it.
    from workspaces import stack

    full = await stack.connect(db_dsn)
    try:
        with as_subject(OWNER):
            await full.in_tx(lambda tx: _upsert(tx, ["org-member"]))
            await full.in_tx(lambda tx: _upsert(tx, ["org-admin"]))
    finally:
        await full.store.close()
    assert [(e.action, _diff(e)["roles"]) for e in await _entries(pg)] == [
        (models.AuditAction.CREATE, {"old": None, "new": ["org-member"]}),
        (models.AuditAction.WRITE, {"old": ["org-member"], "new": ["org-admin"]}),
    ]


async def test_the_stack_connects_while_its_server_is_down() -> None:
    from workspaces import stack

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    full = await stack.connect(f"postgresql://nobody@127.0.0.1:{port}/none", min_size=0)
    try:
        with as_subject(OWNER), pytest.raises(store.errors.DatabaseUnavailable):
            await _upsert(full, ["org-member"])
    finally:
        await full.store.close()
