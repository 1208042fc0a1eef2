"""Hostile values through the generated methods: stored exactly, or refused with a clear error."""

from __future__ import annotations

import datetime
import ipaddress
import string
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from workspaces.db import Queries, models

import store
from store.errors import DatabaseError

T0 = datetime.datetime(2024, 3, 1, 12, 0, tzinfo=datetime.UTC)
USER = uuid.UUID("0b000000-0000-4000-8000-0000000000b1")
HOSTILE = [
    "'; DROP TABLE organizations; --",
    'Robert"); DELETE FROM users; --',
    "$1 $2 ::text \\x00 \\' %s %(name)s {0}",
    "emoji 🐘 and RTL \u202e and combining e\u0301",
    "x" * (1 << 20),  # 1 MB
]


@pytest_asyncio.fixture
async def pg(db_dsn: str) -> AsyncIterator[Queries]:
    pg = Queries(await store.connect(db_dsn, min_size=1, max_size=2))
    await pg.insert_user(
        id=USER,
        email="u@example.com",
        username="u",
        name="U",
        hashed_password=b"h" * 16,
        status=models.UserStatus.ACTIVE,
        rbac_roles=[],
        avatar_url=None,
        login_type=models.LoginType.PASSWORD,
        created_at=T0,
    )
    try:
        yield pg
    finally:
        await pg.store.close()


async def _org(pg: Queries, **overrides: Any) -> models.Organization:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "name": f"o{uuid.uuid4().hex[:12]}",
        "display_name": "",
        "description": "",
        "icon": "",
        "is_default": False,
        "created_at": T0,
    }
    values.update(overrides)
    return await pg.insert_organization(**values)


@pytest.mark.parametrize("text", HOSTILE, ids=["quote", "paren", "placeholders", "unicode", "1mb"])
async def test_hostile_text_is_stored_exactly(pg: Queries, text: str) -> None:
    org = await _org(pg, description=text, display_name=text[:100])
    again = await pg.get_organization_by_id(id=org.id)
    assert again.description == text
    assert again.display_name == text[:100]
    assert await pg.get_organization_by_name(name=org.name) == again


async def test_a_nul_in_text_is_a_clear_error_and_the_store_goes_on(pg: Queries) -> None:
    with pytest.raises(DatabaseError, match="character not in repertoire") as refused:
        await _org(pg, description="before\x00after")
    assert refused.value.sqlstate == "22021"  # character_not_in_repertoire

    async def closure(tx: Queries) -> None:
        await _org(tx, description="\x00")

    with pytest.raises(DatabaseError, match="character not in repertoire"):
        await pg.in_tx(closure)
    assert await pg.list_organizations(limit_rows=10, offset_rows=0) == []
    await _org(pg, description="fine")  # nothing stuck


async def test_bytes_keep_nuls_and_invalid_utf8(pg: Queries) -> None:
    raw = b"\x00\xff\xfe\xc3\x28" + bytes(range(256))
    user = await pg.update_user_hashed_password(hashed_password=raw, id=USER)
    assert user.hashed_password == raw
    assert (await pg.get_user_by_id(id=USER)).hashed_password == raw


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"description": "lone surrogate \udcff"}, "surrogates not allowed"),
        ({"description": b"bytes for text"}, "expected str"),
        ({"name": None}, "not-null|null value"),
        ({"id": "not-a-uuid"}, "invalid UUID|invalid input"),
        ({"created_at": datetime.datetime(2024, 3, 1, 12, 0)}, "naive datetime"),
        ({"created_at": "2024-03-01"}, "expected a datetime"),
    ],
    ids=["surrogate", "bytes-for-text", "null", "bad-uuid", "naive-datetime", "str-for-datetime"],
)
async def test_values_of_the_wrong_kind_are_refused_clearly(
    pg: Queries, overrides: dict[str, Any], match: str
) -> None:
    with pytest.raises(DatabaseError, match=match):
        await _org(pg, **overrides)
    assert await pg.list_organizations(limit_rows=10, offset_rows=0) == []


@pytest.mark.parametrize(
    ("lifetime", "hashed", "match"),
    [
        (2**63, b"h" * 16, "out of int64 range"),
        (-(2**63) - 1, b"h" * 16, "out of int64 range"),
        (86400, "str for bytea", "bytes-like object is required"),
    ],
)
async def test_out_of_range_integers_and_str_for_bytea_are_refused(
    pg: Queries, lifetime: int, hashed: Any, match: str
) -> None:
    with pytest.raises(DatabaseError, match=match):
        await pg.insert_api_key(
            id="abcdefghij",
            hashed_secret=hashed,
            user_id=USER,
            expires_at=T0,
            created_at=T0,
            login_type=models.LoginType.PASSWORD,
            lifetime_seconds=lifetime,
            ip_address=None,
            scopes=["all"],
            token_name=None,
        )


async def test_an_aware_datetime_in_any_zone_is_the_same_instant(pg: Queries) -> None:
    st_johns = datetime.timezone(datetime.timedelta(hours=-3, minutes=-30))
    local = datetime.datetime(2024, 3, 1, 8, 30, 0, 123456, tzinfo=st_johns)
    org = await _org(pg, created_at=local)
    assert org.created_at == local  # equal instants, whatever zone the server reports in


# -- round trip over the reference schema's column types ------------------------------

_text = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"))
_aware = st.datetimes(
    min_value=datetime.datetime(1, 1, 2),  # hypothesis bounds are naive
    max_value=datetime.datetime(9999, 12, 30),
    timezones=st.sampled_from(
        [
            datetime.UTC,
            datetime.timezone(datetime.timedelta(hours=-3, minutes=-30)),
            datetime.timezone(datetime.timedelta(hours=14)),
        ]
    ),
)
_inet = st.one_of(st.ip_addresses(), st.none())
_json: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=8,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    key_id=st.text(string.ascii_letters + string.digits, min_size=10, max_size=10),
    secret=st.binary(max_size=64),
    expires=_aware,
    login=st.sampled_from(list(models.LoginType)),
    lifetime=st.integers(1, 2**63 - 1),
    ip=_inet,
    scopes=st.lists(st.sampled_from(["all", "application_connect"]), min_size=1, max_size=3),
    token_name=st.one_of(st.none(), _text.filter(lambda t: 1 <= len(t) <= 64)),
    diff=st.dictionaries(_text, _json, max_size=4),
    action=st.sampled_from(list(models.AuditAction)),
)
async def test_values_round_trip_through_insert_and_get(
    pg: Queries,
    key_id: str,
    secret: bytes,
    expires: datetime.datetime,
    login: models.LoginType,
    lifetime: int,
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None,
    scopes: list[str],
    token_name: str | None,
    diff: dict[str, Any],
    action: models.AuditAction,
) -> None:
    key = await pg.insert_api_key(
        id=key_id,
        hashed_secret=secret,
        user_id=USER,
        expires_at=expires,
        created_at=T0,
        login_type=login,
        lifetime_seconds=lifetime,
        ip_address=ip,
        scopes=scopes,
        token_name=token_name,
    )
    got = await pg.get_api_key_by_id(id=key_id)
    assert got == key
    assert (got.hashed_secret, got.expires_at, got.login_type) == (secret, expires, login)
    assert (got.lifetime_seconds, got.ip_address, got.scopes) == (lifetime, ip, scopes)
    assert got.token_name == token_name
    await pg.delete_api_key(id=key_id)

    entry = await pg.insert_audit_log(
        id=uuid.uuid4(),
        time=expires,
        user_id=USER,
        org_id=None,
        ip=ip,
        user_agent=token_name,
        request_id=None,
        resource_type="api_key",
        resource_id=key_id,
        resource_target=token_name or "",
        action=action,
        diff=diff,
        status_code=200,
        additional_fields={"scopes": list[Any](scopes)},
    )
    again = await pg.get_audit_log_by_id(id=entry.id)
    assert again == entry
    assert (again.diff, again.time, again.action) == (diff, expires, action)
