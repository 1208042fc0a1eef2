"""Bulk upserts audited per row in one statement (audit/_statement.py, audit/_store.py).

``upsert_organization_members`` adds several users to an organization, or adds
roles to those already in it: one entry per row it changed, a create where it
inserted, a write with the diff where it updated. Each test that runs it does
so in both shapes of the statement: ``lookup`` (the existing rows read and
locked in the statement, every supported version) and ``returning_old_new``
(``RETURNING OLD``, PostgreSQL 18 only: skipped on older servers).
"""

from __future__ import annotations

import dataclasses
import datetime
import uuid
from typing import Any

import asyncpg
import audit
import pytest
import store
import structlog
from audit import Audited
from authz import Subject, as_subject
from authz.errors import NotAuthorized
from store import ServerVersion

from tests._layers import raw, with_authz
from tests.audit._config import variant
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
)
from workspaces import db
from workspaces.auditing import AUDIT, MUTATIONS
from workspaces.db import Queries, models

NOW = datetime.datetime(2024, 7, 1, 9, 30, tzinfo=datetime.UTC)
OUTSIDER = Subject.user(uuid.uuid4(), org_roles={GLOBEX: ("org-admin",)})
RAN_AGAIN = "audit upsert ran again: a row was inserted concurrently"


async def _add(
    s: Queries, users: list[uuid.UUID], roles: list[str], org: uuid.UUID = GLOBEX
) -> list[models.OrganizationMember]:
    return await s.upsert_organization_members(
        organization_id=org, user_ids=users, roles=roles, created_at=NOW
    )


async def _entries(pg: Queries, org: uuid.UUID = GLOBEX) -> list[tuple[Any, ...]]:
    """The organization's member entries as (action, member, diff), in a stable order."""
    rows = await search_entries(pg, resource_type="organization_member", organization_id=org)
    assert all(e.user_id == ALICE for e in rows)
    return sorted(
        ((e.action, e.resource_id, e.diff) for e in rows), key=lambda e: (str(e[0]), e[1])
    )


def _created(user: uuid.UUID, roles: list[str]) -> dict[str, Any]:
    return {
        "user_id": {"old": None, "new": str(user)},
        "organization_id": {"old": None, "new": str(GLOBEX)},
        "roles": {"old": None, "new": roles},
    }


async def _members(db_dsn: str, org: uuid.UUID = GLOBEX) -> dict[uuid.UUID, list[str]]:
    conn = await asyncpg.connect(db_dsn, statement_cache_size=0)
    try:
        rows = await conn.fetch(
            "SELECT user_id, roles FROM organization_members WHERE organization_id = $1", org
        )
    finally:
        await conn.close()
    return {r["user_id"]: list(r["roles"]) for r in rows}


async def test_a_bulk_upsert_records_a_create_per_added_member_and_a_write_per_changed_one(
    pg: Queries, shape: ServerVersion
) -> None:
    audited = audited_in(pg, shape)
    with as_subject(OWNER):
        first = await _add(audited, [ALICE], ["org-member"])
        # One statement: Alice gains a role (a write), Bob is added (a create).
        second = await _add(audited, [ALICE, BOB], ["org-admin"])
        # Nothing to add: the DO UPDATE's own WHERE leaves both alone, no entry.
        third = await _add(audited, [ALICE, BOB], ["org-admin"])
    assert [m.roles for m in first] == [["org-member"]]
    assert sorted((m.user_id, m.roles) for m in second) == sorted(
        [(ALICE, ["org-admin", "org-member"]), (BOB, ["org-admin"])]
    )
    assert third == []
    assert await _entries(pg) == sorted(
        [
            (models.AuditAction.CREATE, str(ALICE), _created(ALICE, ["org-member"])),
            (models.AuditAction.CREATE, str(BOB), _created(BOB, ["org-admin"])),
            (
                models.AuditAction.WRITE,
                str(ALICE),
                {"roles": {"old": ["org-member"], "new": ["org-admin", "org-member"]}},
            ),
        ],
        key=lambda e: (str(e[0]), e[1]),
    )


@pytest.mark.parametrize("in_tx", [False, True], ids=["alone", "in_tx"])
async def test_a_bulk_upsert_that_meets_a_concurrent_insert_records_a_write_against_it(
    pg: Queries, shape: ServerVersion, db_dsn: str, in_tx: bool
) -> None:
    # Another connection adds Bob and holds its transaction open; the bulk upsert's
    # snapshot cannot see that row, yet ON CONFLICT waits for it and then takes the
    # update path. Bob's entry must be a write against that row, never a create, and
    # Alice (inserted by the same statement) must get exactly one create.
    audited = audited_in(pg, shape)

    async def add() -> list[models.OrganizationMember]:
        if in_tx:
            return await audited.in_tx(lambda tx: _add(tx, [ALICE, BOB], ["org-admin"]))
        return await _add(audited, [ALICE, BOB], ["org-admin"])

    members, events = await racing_bob_into_globex(db_dsn, add)

    assert sorted((m.user_id, m.roles) for m in members) == sorted(
        [(ALICE, ["org-admin"]), (BOB, ["org-admin", "org-auditor"])]
    )
    assert await _entries(pg) == [
        (models.AuditAction.CREATE, str(ALICE), _created(ALICE, ["org-admin"])),
        (
            models.AuditAction.WRITE,
            str(BOB),
            {"roles": {"old": ["org-auditor"], "new": ["org-admin", "org-auditor"]}},
        ),
    ]
    # The lookup shape wrote nothing and ran again; RETURNING OLD needed no second run.
    assert len([e for e in events if e["event"] == RAN_AGAIN]) == (
        0 if shape.returning_old_new else 1
    )


async def _failing_inserts(db_dsn: str, raising: str) -> None:
    """Every insert into organization_members fails with ``raising`` (a PL/pgSQL
    statement); a sequence, untouched by rollbacks, counts the statements that ran."""
    conn = await asyncpg.connect(db_dsn, statement_cache_size=0)
    try:
        # Test-owned DDL: the text is the test's own constant, not input.
        await conn.execute(
            "CREATE SEQUENCE member_insert_runs;\n"
            "CREATE FUNCTION fail_member_insert() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN PERFORM nextval('member_insert_runs'); {raising}; RETURN NEW; END $$;\n"
            "CREATE TRIGGER fail_member_insert BEFORE INSERT ON organization_members\n"
            "FOR EACH STATEMENT EXECUTE FUNCTION fail_member_insert()"
        )
    finally:
        await conn.close()


async def _runs(db_dsn: str) -> int:
    conn = await asyncpg.connect(db_dsn, statement_cache_size=0)
    try:
        runs: int = await conn.fetchval("SELECT last_value FROM member_insert_runs")
    finally:
        await conn.close()
    return runs


async def test_a_bulk_upsert_raced_in_every_run_gives_up_after_three_saying_so(
    pg: Queries, db_dsn: str
) -> None:
    # A race in each of three runs (here every run fails as the race check fails, naming
    # its relation): the layer stops, nothing is written, and the caller learns why.
    await _failing_inserts(db_dsn, """PERFORM 'txstore_audit_upsert_raced_1'::regclass""")
    audited = audited_in(pg, SHAPES["lookup"])
    with (
        structlog.testing.capture_logs() as events,
        as_subject(OWNER),
        pytest.raises(store.errors.SerializationFailure) as failed,
    ):
        await _add(audited, [ALICE, BOB], ["org-admin"])
    assert failed.value.attempts == 3
    assert "upsert_organization_members: in each of 3 runs" in str(failed.value)
    assert await _runs(db_dsn) == 3
    assert len([e for e in events if e["event"] == RAN_AGAIN]) == 2
    assert await _members(db_dsn) == {}
    assert await _entries(pg) == []


@pytest.mark.parametrize(
    "raising",
    [
        "PERFORM 'some_missing_table'::regclass",  # the race check's SQLSTATE, another name
        "PERFORM width_bucket(0.0::float8, 0.0::float8, 0.0::float8, 1)",  # any other error
    ],
    ids=["undefined-table", "width-bucket"],
)
async def test_a_bulk_upsert_failing_otherwise_is_not_run_again(
    pg: Queries, db_dsn: str, raising: str
) -> None:
    await _failing_inserts(db_dsn, raising)
    audited = audited_in(pg, SHAPES["lookup"])
    with as_subject(OWNER), pytest.raises(store.errors.DatabaseError) as failed:
        await _add(audited, [ALICE, BOB], ["org-admin"])
    assert not isinstance(failed.value, store.errors.SerializationFailure)
    assert await _runs(db_dsn) == 1
    assert await _members(db_dsn) == {}


async def test_a_denied_bulk_upsert_is_neither_changed_noraudited(
    pg: Queries, shape: ServerVersion, db_dsn: str
) -> None:
    for authorized in (
        Queries(audit.AuditStore(raw(with_authz(pg)), AUDIT, server=shape)),
        with_authz(audited_in(pg, shape)),  # either order of the layers
    ):
        # An admin of globex only: Bob's acme membership is not its to change.
        with as_subject(OUTSIDER), pytest.raises(NotAuthorized):
            await _add(authorized, [ALICE, BOB], ["org-admin"], org=ACME)
    assert await _members(db_dsn, ACME) == {ALICE: ["org-member"], BOB: ["org-member"]}
    assert await _entries(pg, ACME) == []


async def test_a_bulk_upsert_with_a_failing_row_writes_nothing(
    pg: Queries, shape: ServerVersion, db_dsn: str
) -> None:
    audited = audited_in(pg, shape)
    with as_subject(OWNER):
        await _add(audited, [ALICE], ["org-member"])
        with pytest.raises(store.errors.ForeignKeyViolation):
            # The second user does not exist: Alice's new role and Bob are not written.
            await _add(audited, [ALICE, BOB, uuid.uuid4()], ["org-admin"])
    assert await _members(db_dsn) == {ALICE: ["org-member"]}
    assert [e[:2] for e in await _entries(pg)] == [(models.AuditAction.CREATE, str(ALICE))]


async def test_a_rolled_back_savepoint_keeps_neither_its_bulk_upsert_nor_its_entries(
    pg: Queries, shape: ServerVersion, db_dsn: str
) -> None:
    audited = audited_in(pg, shape)

    async def fails(tx: Queries) -> None:
        await _add(tx, [ALICE, BOB], ["org-admin"])
        raise RuntimeError("undo the savepoint")

    async def outer(tx: Queries) -> None:
        await _add(tx, [ALICE], ["org-member"])
        with pytest.raises(RuntimeError):
            await tx.in_tx(fails)
        await _add(tx, [BOB], ["org-auditor"])

    with as_subject(OWNER):
        await audited.in_tx(outer)
    assert await _members(db_dsn) == {ALICE: ["org-member"], BOB: ["org-auditor"]}
    assert await _entries(pg) == [
        (models.AuditAction.CREATE, str(ALICE), _created(ALICE, ["org-member"])),
        (models.AuditAction.CREATE, str(BOB), _created(BOB, ["org-auditor"])),
    ]


async def test_a_retried_transaction_records_its_bulk_upsert_once(
    pg: Queries, shape: ServerVersion, db_dsn: str
) -> None:
    audited = audited_in(pg, shape)
    with as_subject(OWNER):
        await _add(audited, [ALICE], ["org-member"])
    other = await asyncpg.connect(db_dsn, statement_cache_size=0)
    attempts = 0

    async def conflicting(tx: Queries) -> None:
        nonlocal attempts
        attempts += 1
        await tx.get_organization_member(organization_id=GLOBEX, user_id=ALICE)  # the snapshot
        if attempts == 1:
            await other.execute(
                "UPDATE organization_members SET roles = ARRAY['org-auditor'] "
                "WHERE organization_id = $1 AND user_id = $2",
                GLOBEX,
                ALICE,
            )
        await _add(tx, [ALICE, BOB], ["org-admin"])

    try:
        with as_subject(OWNER):
            await audited.in_tx(conflicting, isolation="repeatable read", tx_id="retry")
    finally:
        await other.close()
    assert attempts == 2
    assert await _entries(pg) == [
        (models.AuditAction.CREATE, str(ALICE), _created(ALICE, ["org-member"])),
        (models.AuditAction.CREATE, str(BOB), _created(BOB, ["org-admin"])),
        (
            models.AuditAction.WRITE,
            str(ALICE),
            {"roles": {"old": ["org-auditor"], "new": ["org-admin", "org-auditor"]}},
        ),
    ]


def test_a_bulk_upsert_a_log_cannot_take_per_row_is_refused_at_construction(
    pg: Queries,
) -> None:
    with pytest.raises(audit.errors.AuditConfigError) as refused:
        audit.AuditStore(raw(pg), AUDIT, audit.LogAuditor())
    assert "upsert_organization_members (db/queries/organizations.sql:" in str(refused.value)


def test_a_bulk_upsert_on_a_named_constraint_is_refused_at_construction(pg: Queries) -> None:
    # ON CONFLICT ON CONSTRAINT names no columns the statement could lock the existing
    # rows by (before PostgreSQL 18): refused, naming the query, never run unaudited.
    declared = db.UPSERT_ORGANIZATION_MEMBERS
    named = dataclasses.replace(
        declared,
        sql=declared.sql.replace(
            "ON CONFLICT (organization_id, user_id)",
            "ON CONFLICT ON CONSTRAINT organization_members_pkey",
        ),
    )
    config = variant(
        queries={**AUDIT.queries, declared.name: named},
        mutations={**MUTATIONS, declared.name: Audited(models.AuditAction.WRITE)},
    )
    with pytest.raises(audit.errors.AuditConfigError) as refused:
        audit.AuditStore(raw(pg), config)
    message = str(refused.value)
    assert "upsert_organization_members (db/queries/organizations.sql:" in message
    assert "ON CONFLICT ON CONSTRAINT" in message
