"""Generated decoders turn asyncpg records into correctly typed models."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Mapping
from typing import Any, cast

import asyncpg
from workspaces.db import (
    COUNT_WORKSPACES_PER_ORGANIZATION,
    INSERT_USER,
    LoginType,
    User,
    UserStatus,
)


async def test_decode_builds_the_model_with_enum_members(db_dsn: str) -> None:
    conn = await asyncpg.connect(db_dsn)
    try:
        now = datetime.datetime.now(datetime.UTC)
        user_id = uuid.uuid4()
        args = (user_id, "a@example.com", "alice", "Alice", b"hash", "active", ["member"], None)
        record = await conn.fetchrow(INSERT_USER.sql, *args, "password", now)
        assert record is not None
        assert INSERT_USER.decode is not None
        # Query.decode is typed over Mapping; asyncpg-stubs' Record is not one.
        user = INSERT_USER.decode(cast("Mapping[str, Any]", record))
    finally:
        await conn.close()
    assert type(user) is User
    assert user.id == user_id
    assert user.status is UserStatus.ACTIVE
    assert user.login_type is LoginType.PASSWORD
    assert user.rbac_roles == ["member"]
    assert user.avatar_url is None
    assert user.model_dump()["username"] == "alice"
    assert User.model_validate(user.model_dump()) == user
    assert COUNT_WORKSPACES_PER_ORGANIZATION.decode is not None
