"""PgStore through an application's generated, typed methods (the reference schema)."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from workspaces.db import (
    CONSTRAINTS,
    ForeignKeyConstraint,
    LoginType,
    Queries,
    UniqueConstraint,
    User,
    UserStatus,
)

import store
from store.errors import (
    DatabaseUnavailable,
    ForeignKeyViolation,
    NotFound,
    OuterStoreUsedInTransaction,
    UniqueViolation,
)

NOW = datetime.datetime(2026, 3, 8, 5, 30, tzinfo=datetime.UTC)  # St. John's DST starts that day


@pytest_asyncio.fixture
async def pg(db_dsn: str) -> AsyncIterator[Queries]:
    s = await store.connect(db_dsn, min_size=1, max_size=4, constraints=CONSTRAINTS)
    yield Queries(s)
    await s.close()


async def _user(s: Queries, name: str = "ada") -> User:
    return await s.insert_user(
        id=uuid.uuid4(),
        email=f"{name}@example.com",
        username=name,
        name=name.title(),
        hashed_password=b"\x00hash",
        status=UserStatus.ACTIVE,
        rbac_roles=["member"],
        avatar_url=None,
        login_type=LoginType.PASSWORD,
        created_at=NOW,
    )


async def test_typed_round_trip_keeps_values_and_time_zone(pg: Queries) -> None:
    created = await _user(pg)
    fetched = await pg.get_user_by_id(id=created.id)
    assert fetched == created
    assert isinstance(fetched, User)
    assert fetched.status is UserStatus.ACTIVE
    assert fetched.created_at == NOW  # same instant, whatever the session time zone
    assert fetched.hashed_password == b"\x00hash"
    assert await pg.get_user_by_email(email="ADA@example.com") == created


async def test_one_query_without_row_raises_not_found(pg: Queries) -> None:
    with pytest.raises(NotFound, match="get_user_by_id: no row found"):
        await pg.get_user_by_id(id=uuid.uuid4())


async def test_unique_violation_names_the_generated_constraint(pg: Queries) -> None:
    await _user(pg)
    with pytest.raises(UniqueViolation) as caught:
        await pg.insert_user(
            id=uuid.uuid4(),
            email="Ada@Example.com",
            username="someone",
            name="Other",
            hashed_password=b"h",
            status=UserStatus.ACTIVE,
            rbac_roles=[],
            avatar_url=None,
            login_type=LoginType.PASSWORD,
            created_at=NOW,
        )
    assert caught.value.constraint is UniqueConstraint.USERS_EMAIL_LOWER_KEY


async def test_foreign_key_violation_names_the_generated_constraint(pg: Queries) -> None:
    with pytest.raises(ForeignKeyViolation) as caught:
        await pg.insert_organization_member(
            organization_id=uuid.uuid4(), user_id=uuid.uuid4(), roles=[], created_at=NOW
        )
    assert isinstance(caught.value.constraint, ForeignKeyConstraint)


async def test_execrows_counts_affected_rows(pg: Queries) -> None:
    user = await _user(pg)
    assert await pg.delete_api_keys_by_user_id(user_id=user.id) == 0


async def test_tx_handle_keeps_typed_methods_and_poisons_the_outer(pg: Queries) -> None:
    async def work(tx: Queries) -> User:
        user = await _user(tx)
        with pytest.raises(OuterStoreUsedInTransaction, match="get_user_by_id"):
            await pg.get_user_by_id(id=user.id)
        return await tx.get_user_by_id(id=user.id)

    user = await pg.in_tx(work, tx_id="signup")
    assert (await pg.get_user_by_id(id=user.id)).username == "ada"


async def test_ping(pg: Queries) -> None:
    await pg.store.ping()


@pytest.mark.parametrize(
    ("dsn", "expected"),
    [
        (
            "postgresql://u:hunter2@127.0.0.1:1/db",
            r"cannot connect to 127\.0\.0\.1:1/db.*reachable",
        ),
        ("postgresql://u:hunter2@127.0.0.1:99999/db", r"127\.0\.0\.1.*DSN is malformed"),
        ("postgresql://u:hunter2@[::1/db", r"DSN is malformed"),
    ],
)
async def test_unusable_dsn_is_one_clear_error_without_password(dsn: str, expected: str) -> None:
    with pytest.raises(DatabaseUnavailable, match=expected) as caught:
        await store.connect(dsn)
    assert "hunter2" not in str(caught.value)


async def test_wrong_password_is_named_without_echoing_it(empty_db_dsn: str) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(empty_db_dsn)
    admin = await store.connect(empty_db_dsn, min_size=1, max_size=1)
    try:
        conn = await admin.pool.acquire()
        try:
            await conn.execute("CREATE ROLE app LOGIN PASSWORD 'right-password'")
        finally:
            await admin.pool.release(conn)
    finally:
        await admin.close()
    # The test cluster trusts local logins; a role without a database shows the
    # same one-line error shape. A wrong database name is a login failure too.
    bad = f"postgresql://app:wrong-secret@{parts.hostname}:{parts.port}/no_such_db"
    with pytest.raises(DatabaseUnavailable, match="does not exist") as caught:
        await store.connect(bad)
    assert "wrong-secret" not in str(caught.value)
    assert caught.value.host.endswith("/no_such_db")


async def test_list_users_search_is_plain_text_not_a_like_pattern(pg: Queries) -> None:
    plain = await _user(pg, "plain")
    percent = await pg.insert_user(
        id=uuid.uuid4(),
        email="per%cent_under\\back@example.com",
        username="percent",
        name="Per%cent",
        hashed_password=b"h",
        status=UserStatus.ACTIVE,
        rbac_roles=[],
        avatar_url=None,
        login_type=LoginType.PASSWORD,
        created_at=NOW,
    )

    async def search(term: str) -> list[uuid.UUID]:
        found = await pg.list_users(search=term, status=None, limit_rows=10, offset_rows=0)
        return [u.id for u in found]

    assert await search("%") == [percent.id]
    assert await search("_") == [percent.id]
    assert await search("\\") == [percent.id]
    assert await search("R%C") == [percent.id]  # still case-insensitive
    assert await search("p_a") == []  # `_` is not "any character"
    assert await search("LAIN") == [plain.id]
