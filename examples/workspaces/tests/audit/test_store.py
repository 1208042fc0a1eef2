"""AuditStore: entries in the transaction of the change, or neither (audit/_store.py)."""

from __future__ import annotations

import asyncio
import base64
import datetime
import ipaddress
import os
import uuid
from typing import Any

import asyncpg
import audit
import pytest
import store
import structlog
from authz import Subject, as_subject
from store.errors import (
    CheckViolation,
    NotFound,
    OuterStoreUsedInTransaction,
    SerializationFailure,
)

from tests._layers import with_audit
from tests.audit._support import ACME, ALICE, APP, BOB, OWNER, Ledger, event_texts, search_entries
from workspaces.auditing import AUDIT
from workspaces.db import Queries, models

NOW = datetime.datetime(2024, 7, 1, 9, 30, tzinfo=datetime.UTC)


async def _entries(pg: Queries, resource_type: str, resource_id: object) -> list[Any]:
    rows = await search_entries(pg, resource_type=resource_type, resource_id=resource_id)
    return list(reversed(rows))  # oldest first


async def _rename(s: Queries, name: str, user: uuid.UUID = BOB) -> models.User:
    current = await s.get_user_by_id(id=user)
    return await s.update_user_profile(
        email=current.email,
        username=current.username,
        name=name,
        avatar_url=current.avatar_url,
        updated_at=NOW,
        id=user,
    )


class _Failing:
    async def record(self, tx: store.Store, entry: audit.AuditEntry) -> None:
        raise RuntimeError("auditor down")


class _BadRow:
    """Writes a row the database refuses (status code out of range)."""

    async def record(self, tx: store.Store, entry: audit.AuditEntry) -> None:
        await Queries(tx).insert_audit_log(
            id=entry.id,
            time=entry.time,
            user_id=entry.actor_id,
            org_id=None,
            ip=None,
            user_agent=None,
            request_id=None,
            resource_type=entry.resource_type,
            resource_id=entry.resource_id,
            resource_target="",
            action=models.AuditAction(entry.action),
            diff=entry.diff_json(),
            status_code=999,
            additional_fields={},
        )


async def test_a_mutation_outside_a_transaction_records_one_entry(pg: Queries) -> None:
    audited = with_audit(pg)
    request = uuid.uuid4()
    with (
        as_subject(OWNER),
        audit.request_metadata(ip="203.0.113.7", user_agent="pytest/1", request_id=request),
    ):
        user = await _rename(audited, "Robert Builder")

    [entry] = await _entries(pg, "user", BOB)
    assert user.name == "Robert Builder"
    assert entry.action is models.AuditAction.WRITE
    assert entry.user_id == ALICE
    assert entry.resource_target == "bob"
    assert entry.organization_id is None
    assert entry.diff == {"name": {"old": "Bob Builder", "new": "Robert Builder"}}
    assert entry.ip == ipaddress.ip_address("203.0.113.7")
    assert entry.user_agent == "pytest/1"
    assert entry.request_id == request


async def test_create_and_delete_record_the_whole_row_with_secrets_hidden(
    pg: Queries, ledger: Ledger
) -> None:
    audited = with_audit(pg)
    secret_id = uuid.uuid4()
    with as_subject(OWNER):
        await audited.insert_oauth2_provider_app_secret(
            id=secret_id,
            app_id=APP,
            hashed_secret=ledger.secret(os.urandom(32)),
            display_secret="x9Zq",  # noqa: S106  # the non-secret display hint
            secret_prefix="pfx" + secret_id.hex[:8],
            created_at=NOW,
        )
        await audited.delete_oauth2_provider_app_secret(id=secret_id)

    created, deleted = await _entries(pg, "oauth2_app_secret", secret_id)
    assert created.action is models.AuditAction.CREATE
    assert created.organization_id == ACME  # found through the app
    assert created.resource_target == "pfx" + secret_id.hex[:8]
    assert created.diff["hashed_secret"] == {"secret": True}
    assert created.diff["app_id"] == {"old": None, "new": str(APP)}
    assert deleted.action is models.AuditAction.DELETE
    assert deleted.diff["display_secret"] == {"old": "x9Zq", "new": None}
    assert deleted.diff["hashed_secret"] == {"secret": True}


async def test_a_secret_only_change_is_recorded_without_its_value(
    pg: Queries, ledger: Ledger
) -> None:
    audited = with_audit(with_audit(pg, audit.LogAuditor()))  # two layers, two logs
    with as_subject(OWNER), structlog.testing.capture_logs() as events:
        await audited.update_user_hashed_password(
            hashed_password=ledger.secret(os.urandom(32)), id=BOB
        )

    entries = await _entries(pg, "user", BOB)
    assert [e.diff for e in entries] == [{"hashed_password": {"secret": True}}]
    [logged] = [e for e in events if e["event"] == "audit"]
    assert logged["diff"] == {"hashed_password": {"secret": True}}
    assert {e["event"] for e in events} >= {"query", "transaction commit"}  # store events too
    assert ledger.leaks(event_texts(events)) == []


def test_the_secret_scan_finds_a_leak_in_any_encoding(ledger: Ledger) -> None:
    value = os.urandom(16)
    scratch = Ledger()
    scratch.secret(value)
    for leaked in (value, value.hex(), base64.b64encode(value).decode(), {"v": value}):
        assert scratch.leaks(event_texts([{"event": "x", "field": leaked}]))
    assert ledger is not scratch


async def test_an_ignore_only_change_writes_no_entry(pg: Queries) -> None:
    audited = with_audit(pg)
    with as_subject(OWNER):
        user = await audited.update_user_status(
            status=models.UserStatus.ACTIVE, updated_at=NOW, id=BOB
        )

    assert user.updated_at == NOW
    assert await _entries(pg, "user", BOB) == []


async def test_a_failure_after_the_mutation_leaves_neither_change_nor_entry(
    pg: Queries,
) -> None:
    audited = with_audit(pg)

    async def change_then_fail(tx: Queries) -> None:
        await _rename(tx, "Never Committed")
        assert len(await _entries(tx, "user", BOB)) == 1  # written, in the transaction
        raise RuntimeError("injected before commit")

    with as_subject(OWNER), pytest.raises(RuntimeError, match="injected"):
        await audited.in_tx(change_then_fail, tx_id="inject")

    assert (await pg.get_user_by_id(id=BOB)).name == "Bob Builder"
    assert await _entries(pg, "user", BOB) == []


async def test_a_failing_auditor_rolls_the_change_back(pg: Queries) -> None:
    audited = with_audit(pg, audit.combine(AUDIT.auditor, _Failing()))
    with as_subject(OWNER), pytest.raises(RuntimeError, match="auditor down"):
        await _rename(audited, "Not Audited, Not Changed")

    assert (await pg.get_user_by_id(id=BOB)).name == "Bob Builder"
    assert await _entries(pg, "user", BOB) == []


async def test_a_refused_entry_undoes_its_change_even_if_the_caller_carries_on(
    pg: Queries,
) -> None:
    audited = with_audit(pg, _BadRow())

    async def carry_on(tx: Queries) -> None:
        with pytest.raises(CheckViolation):
            await _rename(tx, "Swallowed")
        await tx.update_user_last_seen_at(last_seen_at=NOW, id=BOB)  # unaudited, commits

    with as_subject(OWNER):
        await audited.in_tx(carry_on)

    bob = await pg.get_user_by_id(id=BOB)
    assert bob.name == "Bob Builder"
    assert bob.last_seen_at == NOW


async def test_a_failed_change_writes_no_entry(pg: Queries) -> None:
    await pg.soft_delete_user(id=BOB)  # the lookup finds the row, the update does not
    audited = with_audit(pg)
    with as_subject(OWNER), pytest.raises(NotFound, match="update_user_profile"):
        await _rename(audited, "Ghost")
    assert await _entries(pg, "user", BOB) == []


async def test_a_retried_serializable_transaction_writes_exactly_one_entry(
    pg: Queries, db_dsn: str
) -> None:
    audited = with_audit(pg)
    other = await asyncpg.connect(db_dsn)
    attempts = 0

    async def conflicting(tx: Queries) -> None:
        nonlocal attempts
        attempts += 1
        await tx.get_user_by_id(id=BOB)  # takes the snapshot
        if attempts == 1:
            await other.execute("UPDATE users SET name = 'Concurrent' WHERE id = $1", BOB)
        await _rename(tx, "After Retry")

    try:
        with as_subject(OWNER):
            await audited.in_tx(conflicting, isolation="serializable", tx_id="retry")
    finally:
        await other.close()

    assert attempts == 2
    [entry] = await _entries(pg, "user", BOB)
    assert entry.diff == {"name": {"old": "Concurrent", "new": "After Retry"}}


async def test_a_transaction_that_never_succeeds_writes_no_entry(pg: Queries) -> None:
    audited = with_audit(pg)

    async def always_conflicts(tx: Queries) -> None:
        await _rename(tx, "Doomed")
        raise SerializationFailure("injected", attempts=1, sqlstate="40001")

    with as_subject(OWNER), pytest.raises(SerializationFailure):
        await audited.in_tx(always_conflicts, retries=0)
    assert await _entries(pg, "user", BOB) == []


async def test_concurrent_updates_of_one_row_produce_entries_that_chain(
    pg: Queries,
) -> None:
    audited = with_audit(pg)
    with as_subject(OWNER):
        await asyncio.gather(*(_rename(audited, f"Bob {i:03}") for i in range(100)))

    entries = await _entries(pg, "user", BOB)
    assert len(entries) == 100
    by_old = {e.diff["name"]["old"]: e.diff["name"]["new"] for e in entries}
    assert len(by_old) == 100  # no two entries saw the same old value
    name, seen = "Bob Builder", 0
    while name in by_old:
        name, seen = by_old[name], seen + 1
    assert seen == 100
    assert name == (await pg.get_user_by_id(id=BOB)).name


async def test_an_audited_mutation_needs_a_subject(pg: Queries) -> None:
    audited = with_audit(pg)
    with pytest.raises(audit.errors.MissingActor, match="update_user_profile"):
        await _rename(audited, "Anonymous")
    assert (await pg.get_user_by_id(id=BOB)).name == "Bob Builder"


async def test_an_undeclared_write_of_an_auditable_table_is_refused(pg: Queries) -> None:
    sneaky: store.Query[None] = store.Query(
        name="sneaky_rename",
        kind=store.Kind.EXEC,
        sql="UPDATE users SET name = 'x'",
        params=(),
        decode=None,
        source="tests/audit/test_store.py",
        tables=("users",),
        mutates="users",
    )
    audited = audit.AuditStore(pg.store, AUDIT)
    # Not among the declared queries: refused before it runs, whatever it claims to write.
    with as_subject(OWNER), pytest.raises(audit.errors.QueryRefused, match="sneaky_rename"):
        await audited.execute(sneaky, ())
    assert (await pg.get_user_by_id(id=BOB)).name == "Bob Builder"


async def test_unaudited_and_read_queries_pass_through(pg: Queries) -> None:
    audited = with_audit(pg)
    await audited.store.ping()
    await audited.update_user_last_seen_at(last_seen_at=NOW, id=BOB)
    assert (await audited.get_user_by_id(id=BOB)).last_seen_at == NOW
    assert await audited.delete_expired_api_keys(before=NOW, batch_size=10) >= 0
    assert await _entries(pg, "user", BOB) == []


async def test_an_api_key_lifecycle_is_audited_under_its_owner(pg: Queries, ledger: Ledger) -> None:
    audited = with_audit(pg, audit.combine(AUDIT.auditor, audit.LogAuditor()))
    raw = ledger.secret(os.urandom(24).hex().encode())  # the token's secret part
    subject = Subject.user(BOB)
    with as_subject(subject):
        key = await audited.insert_api_key(
            id="Tk" + uuid.uuid4().hex[:8],
            hashed_secret=ledger.secret(bytes.fromhex(raw.decode())[::-1] * 2),
            user_id=BOB,
            expires_at=NOW + datetime.timedelta(days=30),
            created_at=NOW,
            login_type=models.LoginType.PASSWORD,
            lifetime_seconds=86400,
            ip_address=ipaddress.ip_address("198.51.100.4"),
            scopes=["all"],
            token_name="deploy",  # noqa: S106  # a token's display name
        )
        await audited.delete_api_key(id=key.id)

    created, deleted = await _entries(pg, "api_key", key.id)
    assert created.user_id == BOB
    assert created.resource_target == "deploy"
    assert created.diff["scopes"] == {"old": None, "new": ["all"]}
    assert "ip_address" not in created.diff
    assert deleted.action is models.AuditAction.DELETE


async def test_the_outer_audit_store_is_poisoned_inside_its_closures(pg: Queries) -> None:
    audited = with_audit(pg)

    async def misuse(tx: Queries) -> None:
        await _rename(audited, "Outer")  # txstore-lint: ignore[outer-store-in-tx]

    with as_subject(OWNER), pytest.raises(OuterStoreUsedInTransaction):
        await audited.in_tx(misuse, tx_id="poisoned")
    assert await _entries(pg, "user", BOB) == []


async def test_nested_transactions_on_the_audited_handle_are_audited(pg: Queries) -> None:
    audited = with_audit(pg)

    async def inner(tx: Queries) -> None:
        await _rename(tx, "Nested")

    async def outer(tx: Queries) -> None:
        await tx.in_tx(inner)

    with as_subject(OWNER):
        await audited.in_tx(outer)
    [entry] = await _entries(pg, "user", BOB)
    assert entry.diff == {"name": {"old": "Bob Builder", "new": "Nested"}}
