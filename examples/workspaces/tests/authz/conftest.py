"""Fixtures shared by the authorization tests: a bare store and the small world on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
import store

from tests.authz._world import World, build
from workspaces.db import CONSTRAINTS, Queries


@pytest_asyncio.fixture
async def pg(db_dsn: str) -> AsyncIterator[Queries]:
    """The bare store (no authorization) on a fresh database."""
    pg = Queries(await store.connect(db_dsn, min_size=1, max_size=4, constraints=CONSTRAINTS))
    try:
        yield pg
    finally:
        await pg.store.close()


@pytest_asyncio.fixture
async def world(pg: Queries) -> World:
    """Two organizations and the people in them, written through the bare store."""
    return await build(pg)
