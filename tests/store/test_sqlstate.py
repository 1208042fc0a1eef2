"""Translated errors name the query, constraint, column and SQLSTATE, never a value."""

from __future__ import annotations

import datetime
import traceback
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import pytest
import pytest_asyncio
import structlog
from structlog.testing import capture_logs
from workspaces.db import CONSTRAINTS, LoginType, Queries, UserStatus

import store
from store.errors import (
    CheckViolation,
    DatabaseError,
    ForeignKeyViolation,
    NotNullViolation,
    UniqueViolation,
)

NOW = datetime.datetime(2026, 3, 8, 5, 30, tzinfo=datetime.UTC)
HASH = b"S3CRET-hash-7f3a9c"  # a password hash: the row's SECRET field
EMAIL = "s3cret-mail-b5e1@example.com"  # a key value the DETAIL line would quote
#: A str where bytes belong: asyncpg's message quotes it, and so does its codec's error.
WRONG_HASH = "S3CRET-as-str"
#: Every spelling a value can take in a message: raw, bytea hex, lower case.
SECRETS = ("S3CRET", HASH.hex(), "s3cret-mail", "b5e1")


@pytest_asyncio.fixture
async def pg(db_dsn: str) -> AsyncIterator[Queries]:
    s = await store.connect(db_dsn, min_size=1, max_size=2, constraints=CONSTRAINTS)
    yield Queries(s)
    await s.close()


def _user(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "email": EMAIL,
        "username": "ada",
        "name": "Ada",
        "hashed_password": HASH,
        "status": UserStatus.ACTIVE,
        "rbac_roles": [],
        "avatar_url": None,
        "login_type": LoginType.PASSWORD,
        "created_at": NOW,
    }
    values.update(overrides)
    return values


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or any(e is s for s in seen):
            continue
        seen.append(e)
        todo += [e.__cause__, e.__context__]
    return seen


def _everything_said_about(exc: BaseException, events: Sequence[object]) -> str:
    """str, repr and attributes of the error and its whole chain, its traceback, log events."""
    parts = ["".join(traceback.format_exception(exc))]
    for e in _chain(exc):
        parts += [str(e), repr(e), repr(e.args), repr(vars(e))]
    rendered = structlog.processors.format_exc_info(None, "error", {"exc_info": exc})
    parts += [repr(rendered), repr(events)]
    return "\n".join(parts)


def _assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret.lower() not in text.lower(), f"{secret!r} leaked:\n{text}"


async def _refused(
    call: Callable[[], Awaitable[object]], kind: type[DatabaseError]
) -> tuple[DatabaseError, str]:
    with capture_logs() as events:
        with pytest.raises(kind) as caught:
            await call()
        structlog.get_logger("app").error("request failed", exc_info=caught.value)
    return caught.value, _everything_said_about(caught.value, events)


async def _violations(s: Queries) -> list[tuple[DatabaseError, str]]:
    user = await s.insert_user(**_user())
    found = [
        await _refused(lambda: s.insert_user(**_user(username="bob")), UniqueViolation),
        await _refused(lambda: s.insert_user(**_user(email="no-at-sign")), CheckViolation),
        await _refused(lambda: s.insert_user(**_user(email="x@y.z", name=None)), NotNullViolation),
        await _refused(
            lambda: s.insert_organization_member(
                organization_id=uuid.uuid4(),
                user_id=user.id,
                created_at=NOW,
                roles=[],
            ),
            ForeignKeyViolation,
        ),
        # wrongly typed arguments: asyncpg quotes the value, its codec's error again
        await _refused(
            lambda: s.insert_user(**_user(email="x@y.z", hashed_password=WRONG_HASH)),
            DatabaseError,
        ),
        await _refused(lambda: s.insert_user(**_user(id="S3CRET-not-a-uuid")), DatabaseError),
        # a server-side data exception quotes the value in its primary message
        await _refused(
            lambda: s.insert_user(**_user(email="x@y.z", status="S3CRET-status")), DatabaseError
        ),
    ]
    return found


async def test_errors_never_carry_row_or_argument_values(pg: Queries) -> None:
    for error, said in await _violations(pg):
        _assert_no_secret(said)
        assert error.sqlstate
        assert f"SQLSTATE {error.sqlstate}" in str(error)
        assert str(error).startswith(("insert_user:", "insert_organization_member:"))


async def test_errors_inside_a_transaction_never_carry_values(pg: Queries) -> None:
    def in_savepoint(make: Callable[[Queries], Awaitable[object]], tx: Queries) -> Any:
        # each violation aborts its savepoint level only, so the next one can run
        return lambda: tx.in_tx(make)

    async def closure(tx: Queries) -> list[str]:
        await tx.insert_user(**_user())
        cases: list[tuple[Callable[[Queries], Awaitable[object]], type[DatabaseError]]] = [
            (lambda t: t.insert_user(**_user(username="bob")), UniqueViolation),
            (lambda t: t.insert_user(**_user(email="no-at-sign")), CheckViolation),
            (lambda t: t.insert_user(**_user(email="x@y.z", name=None)), NotNullViolation),
            (
                lambda t: t.insert_user(**_user(email="x@y.z", hashed_password=WRONG_HASH)),
                DatabaseError,
            ),
            (lambda t: t.insert_user(**_user(email="x@y.z", status="S3CRET-st")), DatabaseError),
        ]
        return [(await _refused(in_savepoint(make, tx), kind))[1] for make, kind in cases]

    for said in await pg.in_tx(closure):
        _assert_no_secret(said)


async def test_errors_name_the_constraint_table_column_and_sqlstate(pg: Queries) -> None:
    errors = [error for error, _ in await _violations(pg)]
    unique, check, not_null, fk, wrong_type, bad_uuid, bad_enum = errors
    assert str(unique) == (
        'insert_user: duplicate key value violates unique constraint "users_email_lower_key" '
        "(SQLSTATE 23505, constraint users_email_lower_key, table users, column lower(email))"
    )
    assert isinstance(unique, UniqueViolation)
    assert unique.column == "lower(email)"
    assert "users_email_check" in str(check)
    assert isinstance(not_null, NotNullViolation)
    assert not_null.column == "name"
    assert isinstance(fk, ForeignKeyViolation)
    assert fk.column == "organization_id"
    assert str(wrong_type) == (
        "insert_user: invalid input for query argument $5 (hashed_password bytea); got str: "
        "a bytes-like object is required, not 'str' (SQLSTATE 22000)"
    )
    assert "$1 (id uuid); got str: ValueError (the value is not shown)" in str(bad_uuid)
    assert str(bad_enum) == (
        "insert_user: invalid input value for enum user_status (SQLSTATE 22P02)"
    )


async def test_the_application_can_opt_in_to_values_in_errors(db_dsn: str) -> None:
    raw = await store.connect(
        db_dsn, min_size=1, max_size=1, values_in_errors=True, constraints=CONSTRAINTS
    )
    pg = Queries(raw)
    try:
        await pg.insert_user(**_user())
        with pytest.raises(UniqueViolation, match="Key \\(lower\\(email\\)\\)=\\(s3cret-mail"):
            await pg.insert_user(**_user(username="bob"))
        with pytest.raises(DatabaseError, match=WRONG_HASH) as caught:
            await pg.insert_user(**_user(email="x@y.z", hashed_password=WRONG_HASH))
        assert isinstance(caught.value.__cause__, Exception)  # the driver's error, untouched
    finally:
        await raw.close()
