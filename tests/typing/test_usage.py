"""What a caller's type checker sees, checked by ``mypy --strict`` and run for real.

Each ``assert_type`` is a claim about the public API's static types; mypy
fails the build when one stops holding. The calls also run against a real
database, so the runtime values agree with the static ones.
"""

from __future__ import annotations

import datetime
import uuid
from typing import assert_type

import pytest
from workspaces.db import CONSTRAINTS, Queries, constraints, models

import audit
import authz
import store
from store import Store
from store.errors import UniqueViolation
from store.metrics import MetricsStore

T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)

# Every layer is a full Store, statically; one generic class each.
_pg: type[Store] = store.PgStore
_tx: type[Store] = store.PgTx
_metrics: type[Store] = MetricsStore
_replica: type[Store] = store.ReplicaRoutingStore
_authz: type[Store] = authz.AuthzStore
_audit: type[Store] = audit.AuditStore
_audit_tx: type[Store] = audit.AuditTx


async def _user(s: Queries, email: str) -> models.User:
    return await s.insert_user(
        id=uuid.uuid4(), email=email, username=email.split("@")[0], name="Typed",
        hashed_password=b"x", status=models.UserStatus.ACTIVE, rbac_roles=["member"],
        avatar_url=None, login_type=models.LoginType.PASSWORD, created_at=T0,
    )  # fmt: skip


async def test_query_methods_return_their_declared_types(db_dsn: str) -> None:
    pg = await store.connect(db_dsn, min_size=1, max_size=2)
    s = Queries(pg)
    try:
        user = await _user(s, "typed@example.com")
        assert_type(user, models.User)
        assert_type(user.last_seen_at, datetime.datetime | None)  # nullable column
        assert_type(user.created_at, datetime.datetime)  # NOT NULL column
        found = await s.get_user_by_id(id=user.id)
        assert_type(found, models.User)
        users = await s.list_users(search=None, status=None, limit_rows=10, offset_rows=0)
        assert_type(users, list[models.User])
        await s.update_user_last_seen_at(id=user.id, last_seen_at=T0)  # :exec, returns None
        revoked = await s.delete_api_keys_by_user_id(user_id=user.id)
        assert_type(revoked, int)
        per_org = await s.count_workspaces_per_organization()
        assert_type(per_org, list[models.CountWorkspacesPerOrganizationRow])
        assert found == user
        assert [u.id for u in users] == [user.id]
        assert revoked == 0
    finally:
        await pg.close()


async def test_in_tx_returns_what_the_closure_returns(db_dsn: str) -> None:
    pg = await store.connect(db_dsn, min_size=1, max_size=2)
    try:

        async def create(tx: Queries) -> models.User:
            assert_type(tx, Queries)  # the closure keeps the typed methods
            return await _user(tx, "tx@example.com")

        created = await Queries(pg).in_tx(create, tx_id="typed_create")
        assert_type(created, models.User)
        assert created.email == "tx@example.com"
    finally:
        await pg.close()


async def test_constraint_errors_carry_the_generated_enum(db_dsn: str) -> None:
    pg = await store.connect(db_dsn, min_size=1, max_size=2, constraints=CONSTRAINTS)
    s = Queries(pg)
    try:
        await _user(s, "twice@example.com")
        with pytest.raises(UniqueViolation) as raised:
            await _user(s, "TWICE@example.com")
    finally:
        await pg.close()
    assert raised.value.constraint is constraints.UniqueConstraint.USERS_EMAIL_LOWER_KEY
