"""API keys: ``<id>-<secret>`` tokens, of which only the id and a hash of the secret are stored.

The secret is 32 random characters (about 190 bits), so a fast hash is enough: there
is nothing to guess that a slow hash would protect. Verification compares digests in
constant time, and an unknown id costs the same comparison as a wrong secret, so the
response time tells a caller nothing about which ids exist.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets
import string
import uuid
from dataclasses import dataclass

from authz import Scope, Subject, as_system
from store.errors import NotFound
from workspaces.db import APIKey, LoginType, Queries, UserStatus
from workspaces.policies import APPLICATION_CONNECT, MODEL, SYSTEM_RESTRICTED

__all__ = [
    "ID_LENGTH",
    "SECRET_LENGTH",
    "InvalidKey",
    "NewKey",
    "authenticate",
    "hash_secret",
    "issue_key",
    "parse_token",
]

ID_LENGTH = 10
SECRET_LENGTH = 32
_ALPHABET = string.ascii_letters + string.digits
# Compared against when the id is unknown, so that path does the same work.
_NO_KEY = hashlib.sha256(b"no such key").digest()


class InvalidKey(Exception):
    """The token is malformed, unknown, wrong, expired, or its user may not sign in.

    One class for every reason: the HTTP answer (401) must not say which. ``reason``
    is for the server's log and never holds the token.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class NewKey:
    """A freshly issued key: ``token`` is shown once to its owner and stored nowhere."""

    token: str
    row: APIKey

    def __repr__(self) -> str:
        return f"NewKey(id={self.row.id!r}, token=<hidden>)"


def hash_secret(secret: str) -> bytes:
    """The stored form of a key's secret (SHA-256). Raises nothing."""
    return hashlib.sha256(secret.encode()).digest()


def parse_token(token: str) -> tuple[str, str]:
    """Split ``<id>-<secret>`` into its parts.

    Raises:
        InvalidKey: the token does not have that shape.
    """
    key_id, sep, secret = token.partition("-")
    if (
        not sep
        or len(key_id) != ID_LENGTH
        or len(secret) != SECRET_LENGTH
        or not (key_id + secret).isascii()
        or not (key_id + secret).isalnum()
    ):
        raise InvalidKey("malformed token")
    return key_id, secret


async def issue_key(
    queries: Queries,
    user_id: uuid.UUID,
    *,
    lifetime: datetime.timedelta = datetime.timedelta(days=1),
    scopes: tuple[str, ...] = ("all",),
    token_name: str | None = None,
    now: datetime.datetime | None = None,
) -> NewKey:
    """Store a new key for ``user_id`` and return it with its token.

    ``queries`` is a store allowed to insert the key: the user's own full stack, or a
    bare store when seeding.

    Raises:
        store.errors.ConstraintViolation: e.g. a duplicate ``token_name``.
        authz.errors.NotAuthorized: the acting subject may not create the key.
    """
    now = now or datetime.datetime.now(datetime.UTC)
    key_id = "".join(secrets.choice(_ALPHABET) for _ in range(ID_LENGTH))
    secret = "".join(secrets.choice(_ALPHABET) for _ in range(SECRET_LENGTH))
    row = await queries.insert_api_key(
        id=key_id,
        hashed_secret=hash_secret(secret),
        user_id=user_id,
        expires_at=now + lifetime,
        created_at=now,
        login_type=LoginType.NONE,
        lifetime_seconds=max(1, int(lifetime.total_seconds())),
        ip_address=None,
        scopes=list(scopes),
        token_name=token_name,
    )
    return NewKey(token=f"{key_id}-{secret}", row=row)


async def authenticate(
    queries: Queries, token: str, *, now: datetime.datetime | None = None
) -> Subject:
    """The subject a token acts as: its user's site roles, organization roles and scope.

    Looks the key and the user up as the application's ``system-restricted``
    identity (the caller is not known yet).

    Raises:
        InvalidKey: the token is malformed, unknown, wrong or expired, or its user is
            deleted or not active.
        store.errors.DatabaseUnavailable: the database cannot be reached.
    """
    key_id, secret = parse_token(token)
    now = now or datetime.datetime.now(datetime.UTC)
    with as_system(SYSTEM_RESTRICTED):
        try:
            key: APIKey | None = await queries.get_api_key_by_id(id=key_id)
        except NotFound:
            key = None
        stored = _NO_KEY if key is None else key.hashed_secret
        if not hmac.compare_digest(hash_secret(secret), stored) or key is None:
            raise InvalidKey("unknown key or wrong secret")
        if key.expires_at <= now:
            raise InvalidKey(f"key {key.id} expired")
        try:
            user = await queries.get_user_by_id(id=key.user_id)
        except NotFound:
            raise InvalidKey(f"key {key.id}: its user is gone") from None
        if user.deleted or user.status != UserStatus.ACTIVE:
            raise InvalidKey(f"key {key.id}: its user may not sign in")
        org_roles: dict[uuid.UUID, list[str]] = {}
        for org in await queries.list_organizations_by_user_id(user_id=user.id):
            member = await queries.get_organization_member(organization_id=org.id, user_id=user.id)
            org_roles[org.id] = list(member.roles)
    scope = Scope.ALL if "all" in key.scopes else APPLICATION_CONNECT
    return MODEL.user(user.id, user.rbac_roles, org_roles, scope=scope)
