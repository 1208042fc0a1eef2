"""The framework's own queries (locks, pub/sub) go through the same policies."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import store
from authz import AuthzStore, Subject, as_subject, as_system
from authz.errors import NoSubject, NotAuthorized
from store.locks import register, try_acquire
from store.pubsub import publish

from workspaces.db import CONSTRAINTS, Queries
from workspaces.policies import AUDIT_PURGER, MODEL

LOCK = register("tests.authz.framework")


@pytest_asyncio.fixture
async def guarded(db_dsn: str) -> AsyncIterator[AuthzStore]:
    pg = Queries(await store.connect(db_dsn, min_size=1, max_size=2, constraints=CONSTRAINTS))
    yield AuthzStore(pg.store, MODEL)
    await pg.store.close()


async def test_only_an_identity_granted_locks_may_take_one(guarded: AuthzStore) -> None:
    async def take(tx: store.Store) -> bool:
        return await try_acquire(tx, LOCK)

    with as_system(AUDIT_PURGER):
        assert await guarded.in_tx(take) is True
    with (
        as_subject(Subject.user(uuid.uuid4(), site_roles=("owner",))),
        pytest.raises(NotAuthorized),
    ):
        await guarded.in_tx(take)
    with pytest.raises(NoSubject):
        await guarded.in_tx(take)


async def test_any_subject_may_publish_but_not_no_subject(guarded: AuthzStore) -> None:
    with as_subject(Subject.user(uuid.uuid4())):
        await publish(guarded, "events", "hello")
    with pytest.raises(NoSubject):
        await publish(guarded, "events", "hello")
