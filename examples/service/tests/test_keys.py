"""API keys: the token's shape, what is stored, and the subject a token acts as."""

from __future__ import annotations

import datetime

import pytest
from authz import Scope
from workspaces.db import Queries
from workspaces.policies import APPLICATION_CONNECT

from workspaces_service.keys import (
    ID_LENGTH,
    SECRET_LENGTH,
    InvalidKey,
    authenticate,
    hash_secret,
    issue_key,
    parse_token,
)
from workspaces_service.seed import seed_user


@pytest.mark.parametrize(
    "token",
    [
        "",
        "a" * ID_LENGTH,
        "a" * ID_LENGTH + "-",
        "a" * (ID_LENGTH - 1) + "-" + "b" * SECRET_LENGTH,
        "a" * ID_LENGTH + "-" + "b" * (SECRET_LENGTH + 1),
        "a" * ID_LENGTH + "-" + "b" * (SECRET_LENGTH - 1) + "-",
        "a" * ID_LENGTH + "-" + "b" * (SECRET_LENGTH - 1) + "é",
    ],
)
def test_a_token_of_another_shape_is_invalid(token: str) -> None:
    with pytest.raises(InvalidKey, match="malformed"):
        parse_token(token)


async def test_only_the_hash_of_the_secret_is_stored(bare: Queries) -> None:
    alice = await seed_user(bare, "alice")
    key_id, secret = parse_token(alice.key.token)
    stored = await bare.get_api_key_by_id(id=key_id)
    assert stored.hashed_secret == hash_secret(secret)
    assert secret.encode() not in stored.hashed_secret
    assert alice.key.token not in repr(alice.key)


async def test_a_token_acts_as_its_user_with_site_and_organization_roles(bare: Queries) -> None:
    alice = await seed_user(bare, "alice", org_roles=("org-admin",))
    subject = await authenticate(bare, alice.key.token)
    assert subject.id == alice.user.id
    assert subject.site_roles == frozenset({"member"})
    assert subject.org_roles == {alice.organization.id: frozenset({"org-admin"})}
    assert subject.scope == Scope.ALL


async def test_a_scoped_key_carries_its_scope(bare: Queries) -> None:
    alice = await seed_user(bare, "alice", key_scopes=("application_connect",))
    assert (await authenticate(bare, alice.key.token)).scope == APPLICATION_CONNECT


async def test_a_key_is_invalid_from_its_expiry_on(bare: Queries) -> None:
    alice = await seed_user(bare, "alice")
    expiry = alice.key.row.expires_at
    await authenticate(bare, alice.key.token, now=expiry - datetime.timedelta(seconds=1))
    with pytest.raises(InvalidKey, match="expired"):
        await authenticate(bare, alice.key.token, now=expiry)


async def test_a_wrong_secret_and_an_unknown_id_fail_alike(bare: Queries) -> None:
    alice = await seed_user(bare, "alice")
    other = await issue_key(bare, alice.user.id)
    key_id, _ = parse_token(alice.key.token)
    _, other_secret = parse_token(other.token)
    reasons = []
    for token in (f"{key_id}-{other_secret}", f"{'0' * ID_LENGTH}-{other_secret}"):
        with pytest.raises(InvalidKey) as raised:
            await authenticate(bare, token)
        reasons.append(raised.value.reason)
    assert reasons[0] == reasons[1]
